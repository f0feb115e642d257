// SysV semaphores in libdm's cookie layout, so the stock 95-dm-notify.rules (`dmsetup udevcomplete <cookie>`)
// can signal us, plus mknod for the no-udev fallback. Failures are returned as errno numbers, never thrown:
// TypeScript knows the operation and device and builds the DmError.
#include "udev.h"

#include "worker.h"

#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <string>

namespace dm {

namespace {

constexpr uint32_t kCookieMagic = 0x0D4D;  // semaphore key = (magic << 16) | cookie base, as libdm
constexpr int kCreateAttempts = 64;        // bases already taken (by libdm or us) are skipped

// Not declared by glibc: the caller defines it (semctl(2)).
union SemUn {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

int SemOp(int semid, short delta, int flags) {
  struct sembuf op = {0, delta, static_cast<short>(flags)};
  int rc;
  do {
    rc = semop(semid, &op, 1);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno : 0;
}

int SemRemove(int semid) { return semctl(semid, 0, IPC_RMID) < 0 ? errno : 0; }

// libdm's dm_udev_wait: drop our own reference, wait (here: at most timeoutMs) for udev's `udevcomplete` to
// bring the value to zero, and remove the semaphore whatever happened. Returns 0 or the errno of the first
// failure (EAGAIN when the time ran out).
int DropWaitRemove(int semid, uint32_t timeoutMs) {
  int err = SemOp(semid, -1, IPC_NOWAIT);
  if (err == 0) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeoutMs / 1000;
    deadline.tv_nsec += static_cast<long>(timeoutMs % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
    for (;;) {
      // semtimedop takes a relative timeout: recompute it after every EINTR so signals cannot extend the wait.
      struct timespec now, left;
      clock_gettime(CLOCK_MONOTONIC, &now);
      left.tv_sec = deadline.tv_sec - now.tv_sec;
      left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
      if (left.tv_nsec < 0) left.tv_sec--, left.tv_nsec += 1000000000L;
      if (left.tv_sec < 0) left.tv_sec = 0, left.tv_nsec = 0;
      struct sembuf op = {0, 0, 0};  // wait for zero
      if (semtimedop(semid, &op, 1, &left) == 0) break;
      if (errno != EINTR) {
        err = errno;
        break;
      }
    }
  }
  int rmErr = SemRemove(semid);
  return err != 0 ? err : rmErr;
}

uint32_t Arg(const Napi::CallbackInfo &info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Uint32Value() : 0;
}

int32_t SemidArg(const Napi::CallbackInfo &info) {
  return info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
}

// cookieCreate(flags) -> { semid, cookie } or { errno }: a new semaphore at value 1 (our reference), then +1
// for the ioctl about to be sent (udev's reference), exactly as libdm's dm_task_set_cookie.
Napi::Value CookieCreate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t flags = Arg(info, 0) & 0xffff;
  Napi::Object out = Napi::Object::New(env);
  int err = EEXIST;
  for (int attempt = 0; attempt < kCreateAttempts && err == EEXIST; attempt++) {
    uint16_t base = 0;
    while (base == 0) {
      // Never block on an unseeded pool (early boot): a cookie base needs to be unlikely to collide, not secret.
      if (getrandom(&base, sizeof(base), GRND_NONBLOCK) != sizeof(base)) base = static_cast<uint16_t>(rand());
    }
    int semid = semget(static_cast<key_t>((kCookieMagic << 16) | base), 1, 0600 | IPC_CREAT | IPC_EXCL);
    if (semid < 0) {
      err = errno;
      continue;
    }
    SemUn arg;
    arg.val = 1;
    err = semctl(semid, 0, SETVAL, arg) < 0 ? errno : SemOp(semid, 1, 0);
    if (err != 0) {
      SemRemove(semid);
      break;
    }
    out.Set("semid", semid);
    out.Set("cookie", (flags << 16) | base);
    return out;
  }
  out.Set("errno", err);
  return out;
}

// cookieComplete(semid) -> errno: udev's reference dropped by us, when the ioctl failed or sent no uevent.
Napi::Value CookieComplete(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), SemOp(SemidArg(info), -1, IPC_NOWAIT));
}

// cookieRemove(semid) -> errno
Napi::Value CookieRemove(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), SemRemove(SemidArg(info)));
}

// Drops our reference and waits for udev on the thread pool, resolving with the errno.
struct WaitJob {
  int semid;
  uint32_t timeoutMs;
  int err = 0;

  void Execute() { err = DropWaitRemove(semid, timeoutMs); }
  Napi::Value Settle(Napi::Env env, bool &) { return Napi::Number::New(env, err); }
};

// cookieWait(semid, timeoutMs) -> Promise<errno>, on the thread pool so the JS thread never blocks on udev.
Napi::Value CookieWait(const Napi::CallbackInfo &info) {
  return QueueJob(info.Env(), "devmapper:udev-wait", WaitJob{SemidArg(info), Arg(info, 1)});
}

// cookieWaitSync(semid, timeoutMs) -> errno
Napi::Value CookieWaitSync(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), DropWaitRemove(SemidArg(info), Arg(info, 1)));
}

// mknod(path, major, minor, mode, char = false) -> errno: a block node (the fallback's only call Node's fs cannot
// make), or with `char` a character node (/dev/loop-control).
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "mknod: path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // The raw syscall, not mknod(3): glibc 2.33 turned mknod into a new versioned symbol, which would stop the
  // addon loading on older glibc (Debian 10, RHEL 8); mknodat exists on every Linux architecture.
  // The kernel takes the device number as 32 bits (as glibc's own mknodat passes it).
  dev_t dev = makedev(Arg(info, 1), Arg(info, 2));
  auto kdev = static_cast<unsigned int>(dev);
  if (kdev != dev) return Napi::Number::New(env, EINVAL);
  mode_t type = info.Length() > 4 && info[4].ToBoolean() ? S_IFCHR : S_IFBLK;
  long rc = syscall(SYS_mknodat, AT_FDCWD, path.c_str(), static_cast<unsigned int>(type | (Arg(info, 3) & 07777)), kdev);
  return Napi::Number::New(env, rc < 0 ? errno : 0);
}

}  // namespace

Napi::Object UdevExports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("cookieCreate", Napi::Function::New(env, CookieCreate, "cookieCreate"));
  o.Set("cookieComplete", Napi::Function::New(env, CookieComplete, "cookieComplete"));
  o.Set("cookieWait", Napi::Function::New(env, CookieWait, "cookieWait"));
  o.Set("cookieWaitSync", Napi::Function::New(env, CookieWaitSync, "cookieWaitSync"));
  o.Set("cookieRemove", Napi::Function::New(env, CookieRemove, "cookieRemove"));
  o.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  return o;
}

}  // namespace dm
