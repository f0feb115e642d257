// The loop-device ioctls, one function each, on fds TypeScript opened. Each comes as `name(...)` -> Promise
// (libuv thread pool: configure and clear freeze the queue and can sleep) and `nameSync(...)`. Failures are
// errno numbers, never thrown: TypeScript knows the device and the operation and builds the DmError.
#include "loop.h"

#include "worker.h"

#include <linux/loop.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

namespace dm {

namespace {

#ifndef LOOP_CONFIGURE  // headers older than Linux 5.8: the kernel may still have it
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
  __u32 fd;
  __u32 block_size;
  struct loop_info64 info;
  __u64 __reserved[8];
};
#endif

// What one ioctl produced: its errno (0 on success), LOOP_CTL_GET_FREE's number, LOOP_GET_STATUS64's info.
struct Outcome {
  int err = 0;
  int number = -1;
  loop_info64 info{};
};

using Work = std::function<Outcome()>;
using ToJs = Napi::Value (*)(Napi::Env, const Outcome &);

Outcome Ioctl(int fd, unsigned long request, unsigned long arg) {
  Outcome o;
  int rc = ioctl(fd, request, arg);
  if (rc < 0) o.err = errno;
  else o.number = rc;
  return o;
}

Outcome IoctlPtr(int fd, unsigned long request, void *arg) {
  Outcome o;
  if (ioctl(fd, request, arg) < 0) o.err = errno;
  return o;
}

int IntArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "loop: expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

uint64_t U64Field(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : 0;
}

Napi::Object ObjectArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "loop: expected an object argument");
  return info[i].As<Napi::Object>();
}

// { offset, sizeLimit, flags, fileName } -> loop_info64; the name is cut to the kernel's 63 bytes (sysfs has
// the whole path).
loop_info64 ToInfo(const Napi::Object &o) {
  loop_info64 li{};
  li.lo_offset = U64Field(o, "offset");
  li.lo_sizelimit = U64Field(o, "sizeLimit");
  li.lo_flags = static_cast<uint32_t>(U64Field(o, "flags"));
  Napi::Value name = o.Get("fileName");
  if (name.IsString()) {
    std::string s = name.As<Napi::String>().Utf8Value();
    std::memcpy(li.lo_file_name, s.data(), std::min(s.size(), sizeof(li.lo_file_name) - 1));
  }
  return li;
}

Napi::Value ErrnoOnly(Napi::Env env, const Outcome &o) { return Napi::Number::New(env, o.err); }

Napi::Value FreeNumber(Napi::Env env, const Outcome &o) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", o.err);
  if (o.err == 0) out.Set("number", o.number);
  return out;
}

Napi::Value Status(Napi::Env env, const Outcome &o) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("errno", o.err);
  if (o.err != 0) return out;
  const loop_info64 &li = o.info;
  out.Set("device", Napi::BigInt::New(env, static_cast<uint64_t>(li.lo_device)));
  out.Set("inode", Napi::BigInt::New(env, static_cast<uint64_t>(li.lo_inode)));
  out.Set("rdevice", Napi::BigInt::New(env, static_cast<uint64_t>(li.lo_rdevice)));
  out.Set("offset", static_cast<double>(li.lo_offset));
  out.Set("sizeLimit", static_cast<double>(li.lo_sizelimit));
  out.Set("number", li.lo_number);
  out.Set("flags", li.lo_flags);
  const char *name = reinterpret_cast<const char *>(li.lo_file_name);
  out.Set("fileName", std::string(name, strnlen(name, sizeof(li.lo_file_name))));
  return out;
}

// One loop ioctl on the thread pool (native/worker.h).
struct LoopJob {
  Work work;
  ToJs toJs;
  Outcome out;

  void Execute() { out = work(); }
  Napi::Value Settle(Napi::Env env, bool &) { return toJs(env, out); }
};

// Arguments are read on the JS thread into a Work; it runs here (sync) or on the thread pool (async).
template <Work (*Prepare)(const Napi::CallbackInfo &), ToJs Convert, bool Async>
Napi::Value Op(const Napi::CallbackInfo &info) {
  Work work = Prepare(info);
  if (!Async) return Convert(info.Env(), work());
  return QueueJob(info.Env(), "devmapper:loop", LoopJob{std::move(work), Convert, {}});
}

// getFree(controlFd) -> { errno, number }: the first unbound loop device, created if there is none.
Work GetFree(const Napi::CallbackInfo &info) {
  int ctl = IntArg(info, 0);
  return [ctl] { return Ioctl(ctl, LOOP_CTL_GET_FREE, 0); };
}

// configure(fd, fileFd, { offset, sizeLimit, flags, blockSize, fileName }) -> errno (Linux 5.8+).
Work Configure(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  loop_config cfg{};
  cfg.fd = static_cast<uint32_t>(IntArg(info, 1));
  Napi::Object o = ObjectArg(info, 2);
  cfg.block_size = static_cast<uint32_t>(U64Field(o, "blockSize"));
  cfg.info = ToInfo(o);
  return [fd, cfg]() mutable { return IoctlPtr(fd, LOOP_CONFIGURE, &cfg); };
}

// setFd(fd, fileFd) -> errno: the pre-5.8 first step (binds with defaults; setStatus follows).
Work SetFd(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  unsigned long file = static_cast<unsigned long>(IntArg(info, 1));
  return [fd, file] { return Ioctl(fd, LOOP_SET_FD, file); };
}

// setStatus(fd, { offset, sizeLimit, flags, fileName }) -> errno
Work SetStatus(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  loop_info64 li = ToInfo(ObjectArg(info, 1));
  return [fd, li]() mutable { return IoctlPtr(fd, LOOP_SET_STATUS64, &li); };
}

// getStatus(fd) -> { errno } | { errno: 0, device, inode, rdevice (bigint), offset, sizeLimit, number, flags,
// fileName }
Work GetStatus(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  return [fd] {
    Outcome o;
    if (ioctl(fd, LOOP_GET_STATUS64, &o.info) < 0) o.err = errno;
    return o;
  };
}

// clrFd(fd) -> errno
Work ClrFd(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  return [fd] { return Ioctl(fd, LOOP_CLR_FD, 0); };
}

// setCapacity(fd) -> errno: re-reads the backing file's size
Work SetCapacity(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  return [fd] { return Ioctl(fd, LOOP_SET_CAPACITY, 0); };
}

// setDirectIo(fd, on) -> errno
Work SetDirectIo(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  unsigned long on = info.Length() > 1 && info[1].ToBoolean().Value() ? 1 : 0;
  return [fd, on] { return Ioctl(fd, LOOP_SET_DIRECT_IO, on); };
}

// setBlockSize(fd, bytes) -> errno
Work SetBlockSize(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0);
  unsigned long size = static_cast<unsigned long>(IntArg(info, 1));
  return [fd, size] { return Ioctl(fd, LOOP_SET_BLOCK_SIZE, size); };
}

template <Work (*Prepare)(const Napi::CallbackInfo &), ToJs Convert>
void Both(Napi::Env env, Napi::Object &o, const std::string &name) {
  o.Set(name, Napi::Function::New(env, Op<Prepare, Convert, true>, name));
  o.Set(name + "Sync", Napi::Function::New(env, Op<Prepare, Convert, false>, name + "Sync"));
}

}  // namespace

Napi::Object LoopExports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  Both<GetFree, FreeNumber>(env, o, "getFree");
  Both<Configure, ErrnoOnly>(env, o, "configure");
  Both<SetFd, ErrnoOnly>(env, o, "setFd");
  Both<SetStatus, ErrnoOnly>(env, o, "setStatus");
  Both<GetStatus, Status>(env, o, "getStatus");
  Both<ClrFd, ErrnoOnly>(env, o, "clrFd");
  Both<SetCapacity, ErrnoOnly>(env, o, "setCapacity");
  Both<SetDirectIo, ErrnoOnly>(env, o, "setDirectIo");
  Both<SetBlockSize, ErrnoOnly>(env, o, "setBlockSize");
  return o;
}

}  // namespace dm
