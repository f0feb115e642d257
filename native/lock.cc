// flock(fd, op) and blkdiscard(fd, start, length), synchronous, each returning 0 or the errno. Callers pass
// LOCK_NB for flock so the event loop never blocks; they retry with a timer in TypeScript.
#include "lock.h"

#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>

namespace dm {

namespace {

Napi::Value Flock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "flock(fd, op): fd and op must be numbers");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int op = info[1].As<Napi::Number>().Int32Value();
  int rc;
  do {
    rc = ::flock(fd, op);
  } while (rc < 0 && errno == EINTR);
  return Napi::Number::New(env, rc < 0 ? errno : 0);
}

// BLKDISCARD takes {start, length} in bytes, both multiples of the logical block size.
Napi::Value BlkDiscard(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "blkdiscard(fd, start, length): all must be numbers");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t range[2] = {static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value()),
                       static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value())};
  int rc = ::ioctl(fd, BLKDISCARD, &range);
  return Napi::Number::New(env, rc < 0 ? errno : 0);
}

}  // namespace

Napi::Object LockExports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("flock", Napi::Function::New(env, Flock, "flock"));
  o.Set("blkdiscard", Napi::Function::New(env, BlkDiscard, "blkdiscard"));
  o.Set("LOCK_SH", LOCK_SH);
  o.Set("LOCK_EX", LOCK_EX);
  o.Set("LOCK_NB", LOCK_NB);
  o.Set("LOCK_UN", LOCK_UN);
  return o;
}

}  // namespace dm
