// The native Control object: one /dev/mapper/control fd, and one method per DM ioctl in two forms,
// `name(name, uuid, flags, eventNr, major, minor, payload)` -> Promise (runs on the libuv thread pool) and
// `nameSync(..., scratch?)`, each resolving to
// the kernel's reply bytes (ts/core/abi.ts decodes them; a sync reply that fits goes into `scratch`). `batch(requests)` sends several requests in one
// thread-pool hop, skipping the rest after a failure except those marked `ifOk` (create = DEV_CREATE +
// TABLE_LOAD + resume, and suspend + message + resume, cost one hop). `statusAll(flags)` lists the devices and
// reads every one's status or table in one call. Validation, decoding and orchestration live in TypeScript.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include <napi.h>

#include "convert.h"
#include "lock.h"
#include "loop.h"
#include "poll.h"
#include "request.h"
#include "udev.h"
#include "worker.h"

namespace dm {

namespace {

struct AddonState {
  Napi::FunctionReference errorFactory;  // (errno, operation, device) => DmError, registered once per environment
};

// The fd outlives Control.close() while a worker still uses it, so a closed fd number is never reused mid-ioctl.
struct ControlFd {
  int fd;
  explicit ControlFd(int f) : fd(f) {}
  ~ControlFd() { ::close(fd); }
};

Napi::FunctionReference *ErrorFactory(Napi::Env env) {
  AddonState *s = env.GetInstanceData<AddonState>();
  return s ? &s->errorFactory : nullptr;
}

// One API call's native work. Run() does the ioctls (on the JS thread for sync calls, on a libuv worker for
// promises: one hop per call, however many ioctls); Result() makes the JS value on the JS thread, or throws the
// DmError of the failure.
struct Job {
  virtual ~Job() = default;
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
};

// One command; resolves to the reply bytes (header + payload) as a Buffer.
class SingleJob : public Job {
 public:
  SingleJob(std::shared_ptr<ControlFd> fd, std::shared_ptr<BufferPool> pool, Request req)
      : fd_(std::move(fd)), pool_(std::move(pool)), req_(std::move(req)) {}
  ~SingleJob() override {
    Scrub(req_, buf_);
    pool_->Give(std::move(buf_));
  }
  void Run() override {
    buf_ = pool_->Take();
    reply_ = Send(fd_->fd, req_, *pool_, buf_);
  }
  Napi::Value Result(Napi::Env env) override {
    if (reply_.err != 0) throw MakeError(env, ErrorFactory(env), reply_.err, kCommands[req_.cmd].name, DeviceLabel(req_));
    return Napi::Buffer<char>::Copy(env, buf_.data(), reply_.len);
  }

  // Sync calls: the reply is copied into the caller's scratch Buffer when it fits (returning its length), so
  // a cheap command allocates nothing; a longer reply comes back as a new Buffer.
  Napi::Value ResultInto(Napi::Env env, const Napi::Value &scratch) {
    if (reply_.err == 0 && scratch.IsBuffer()) {
      auto into = scratch.As<Napi::Buffer<char>>();
      if (reply_.len <= into.Length()) {
        memcpy(into.Data(), buf_.data(), reply_.len);
        return Napi::Number::New(env, static_cast<double>(reply_.len));
      }
    }
    return Result(env);
  }

 private:
  std::shared_ptr<ControlFd> fd_;
  std::shared_ptr<BufferPool> pool_;
  Request req_;
  std::vector<char> buf_;
  Reply reply_;
};

// Several commands in order. After a failure the rest are skipped, except one with `ifOk: i`, sent iff request i
// succeeded (the resume after a failed message). Result: one entry per request: the reply bytes, { error }, or
// undefined if skipped.
class BatchJob : public Job {
 public:
  BatchJob(std::shared_ptr<ControlFd> fd, std::shared_ptr<BufferPool> pool, std::vector<Request> reqs)
      : fd_(std::move(fd)), pool_(std::move(pool)), reqs_(std::move(reqs)), errs_(reqs_.size(), 0),
        ran_(reqs_.size(), false), replies_(reqs_.size()) {}
  void Run() override {
    std::vector<char> buf = pool_->Take();
    bool failed = false;
    for (size_t i = 0; i < reqs_.size(); i++) {
      int dep = reqs_[i].ifOk;
      bool send = dep >= 0 ? static_cast<size_t>(dep) < i && ran_[dep] && errs_[dep] == 0 : !failed;
      if (!send) continue;
      Reply r = Send(fd_->fd, reqs_[i], *pool_, buf);
      ran_[i] = true;
      errs_[i] = r.err;
      if (r.err != 0) failed = true;
      else replies_[i].assign(buf.data(), buf.data() + r.len);
      Scrub(reqs_[i], buf);
    }
    pool_->Give(std::move(buf));
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, reqs_.size());
    for (size_t i = 0; i < reqs_.size(); i++) {
      if (!ran_[i]) {
        out.Set(static_cast<uint32_t>(i), env.Undefined());
      } else if (errs_[i] != 0) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("error", MakeError(env, ErrorFactory(env), errs_[i], kCommands[reqs_[i].cmd].name, DeviceLabel(reqs_[i])).Value());
        out.Set(static_cast<uint32_t>(i), e);
      } else {
        out.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, replies_[i].data(), replies_[i].size()));
      }
    }
    return out;
  }

 private:
  std::shared_ptr<ControlFd> fd_;
  std::shared_ptr<BufferPool> pool_;
  std::vector<Request> reqs_;
  std::vector<int> errs_;
  std::vector<bool> ran_;
  std::vector<std::vector<char>> replies_;
};

// LIST_DEVICES and the TABLE_STATUS of every device: resolves to the framed status replies in one Buffer.
class StatusAllJob : public Job {
 public:
  StatusAllJob(std::shared_ptr<ControlFd> fd, std::shared_ptr<BufferPool> pool, uint32_t flags)
      : fd_(std::move(fd)), pool_(std::move(pool)), flags_(flags) {}
  ~StatusAllJob() override {
    if (flags_ & DM_SECURE_DATA_FLAG) explicit_bzero(out_.data(), out_.size());
    pool_->Give(std::move(out_));
  }
  void Run() override {
    // The output buffer is pooled too: a fresh ~100 KiB vector per call, allocated on a worker thread's malloc
    // arena and freed on the JS thread's, left RSS growing across calls.
    out_ = pool_->Take();
    out_.clear();
    err_ = StatusAll(fd_->fd, flags_, *pool_, out_, failed_);
  }
  Napi::Value Result(Napi::Env env) override {
    if (err_ != 0) throw MakeError(env, ErrorFactory(env), err_, kCommands[failed_.cmd].name, DeviceLabel(failed_));
    return Napi::Buffer<char>::Copy(env, out_.data(), out_.size());
  }

 private:
  std::shared_ptr<ControlFd> fd_;
  std::shared_ptr<BufferPool> pool_;
  uint32_t flags_;
  int err_ = 0;
  Request failed_;
  std::vector<char> out_;
};

// A Job as native/worker.h's promise worker wants it: Execute() on the pool, Settle() on the JS thread.
struct QueuedJob {
  std::unique_ptr<Job> job;
  void Execute() { job->Run(); }
  Napi::Value Settle(Napi::Env env, bool &reject) {
    try {
      return job->Result(env);
    } catch (const Napi::Error &e) {
      reject = true;
      return e.Value();
    }
  }
};

Napi::Promise Queue(Napi::Env env, std::unique_ptr<Job> job) {
  return QueueJob(env, "devmapper:ioctl", QueuedJob{std::move(job)});
}

class Control : public Napi::ObjectWrap<Control> {
 public:
  static Napi::Function Define(Napi::Env env) {
    std::vector<PropertyDescriptor> props = {
        InstanceMethod<&Control::Batch>("batch"),
        InstanceMethod<&Control::BatchSync>("batchSync"),
        InstanceMethod<&Control::StatusAllAsync>("statusAll"),
        InstanceMethod<&Control::StatusAllSync>("statusAllSync"),
        InstanceMethod<&Control::Close>("close"),
        InstanceMethod<&Control::Fd>("fd"),
    };
    AddCommands(props, std::make_integer_sequence<unsigned, CMD_COUNT>{});
    return DefineClass(env, "Control", props);
  }

  // new Control(path = '/dev/mapper/control')
  explicit Control(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Control>(info) {
    path_ = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "/dev/mapper/control";
  }

 private:
  template <unsigned... Ns>
  static void AddCommands(std::vector<PropertyDescriptor> &props, std::integer_sequence<unsigned, Ns...>) {
    // Names are kept alive by kCommands; the "<method>Sync" strings are made once per process (not per worker
    // thread) and never freed, so no exit-time destructor races a thread that is still starting up.
    static const std::string *syncNames = new std::string[sizeof...(Ns)]{(std::string(kCommands[Ns].method) + "Sync")...};
    (props.push_back(InstanceMethod<&Control::Run<static_cast<Cmd>(Ns)>>(kCommands[Ns].method)), ...);
    (props.push_back(InstanceMethod<&Control::RunSync<static_cast<Cmd>(Ns)>>(syncNames[Ns].c_str())), ...);
  }

  // Opens the control device on first use; throws the open error with the path as the device.
  std::shared_ptr<ControlFd> Open(Napi::Env env) {
    if (fd_) return fd_;
    int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw MakeError(env, ErrorFactory(env), errno, "open", path_);
    fd_ = std::make_shared<ControlFd>(fd);
    return fd_;
  }

  template <Cmd C>
  Napi::Value Run(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto job = std::make_unique<SingleJob>(Open(env), pool_, ToRequest(C, info));
    return Queue(env, std::move(job));
  }

  template <Cmd C>
  Napi::Value RunSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    SingleJob job(Open(env), pool_, ToRequest(C, info));
    job.Run();
    return job.ResultInto(env, info[7]);
  }

  // batch([{ cmd, ...request }]): cmd is the command number.
  static std::vector<Request> ToRequests(const Napi::CallbackInfo &info) {
    std::vector<Request> reqs;
    if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "batch expects an array of requests");
    Napi::Array arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      uint32_t cmd = v.IsObject() ? v.As<Napi::Object>().Get("cmd").ToNumber().Uint32Value() : CMD_COUNT;
      if (cmd >= CMD_COUNT) throw Napi::TypeError::New(info.Env(), "batch: unknown command number");
      reqs.push_back(ToRequest(static_cast<Cmd>(cmd), v));
    }
    return reqs;
  }

  Napi::Value Batch(const Napi::CallbackInfo &info) {
    std::vector<Request> reqs = ToRequests(info);
    return Queue(info.Env(), std::make_unique<BatchJob>(Open(info.Env()), pool_, std::move(reqs)));
  }

  Napi::Value BatchSync(const Napi::CallbackInfo &info) {
    BatchJob job(Open(info.Env()), pool_, ToRequests(info));
    job.Run();
    return job.Result(info.Env());
  }

  // statusAll(flags): flags of every TABLE_STATUS (STATUS_TABLE for tables, NOFLUSH, SECURE_DATA).
  static uint32_t FlagsArg(const Napi::CallbackInfo &info) {
    return info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  }

  Napi::Value StatusAllAsync(const Napi::CallbackInfo &info) {
    return Queue(info.Env(), std::make_unique<StatusAllJob>(Open(info.Env()), pool_, FlagsArg(info)));
  }

  Napi::Value StatusAllSync(const Napi::CallbackInfo &info) {
    StatusAllJob job(Open(info.Env()), pool_, FlagsArg(info));
    job.Run();
    return job.Result(info.Env());
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    fd_.reset();
    return info.Env().Undefined();
  }

  // The open fd number (opening it if needed), for polling the control device from JS-side machinery.
  Napi::Value Fd(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), Open(info.Env())->fd); }

  std::string path_;
  std::shared_ptr<ControlFd> fd_;
  std::shared_ptr<BufferPool> pool_ = std::make_shared<BufferPool>();  // outlives close(): sizes stay learnt
};

// setErrorFactory((errno, operation, device) => Error): every failed open or ioctl is reported as what it returns.
Napi::Value SetErrorFactory(const Napi::CallbackInfo &info) {
  AddonState *s = info.Env().GetInstanceData<AddonState>();
  if (info[0].IsFunction()) s->errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// strerror(errno): the C library's description, for the messages TypeScript composes.
Napi::Value StrError(const Napi::CallbackInfo &info) {
  int err = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  return Napi::String::New(info.Env(), strerror(err));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *state = new AddonState();
  env.SetInstanceData(state);  // one per environment, so the addon also loads in worker threads
  Napi::Function control = Control::Define(env);
  exports.Set("Control", control);
  exports.Set("Poller", DefinePoller(env));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
  exports.Set("strerror", Napi::Function::New(env, StrError, "strerror"));
  Napi::Object commands = Napi::Object::New(env);
  for (unsigned i = 0; i < CMD_COUNT; i++) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("nr", i);
    c.Set("name", kCommands[i].name);
    c.Set("minVersion", Napi::Array::New(env));
    for (uint32_t j = 0; j < 3; j++) c.Get("minVersion").As<Napi::Array>().Set(j, kCommands[i].minVersion[j]);
    commands.Set(kCommands[i].method, c);
  }
  exports.Set("commands", commands);
  exports.Set("udev", UdevExports(env));
  exports.Set("lock", LockExports(env));
  exports.Set("loop", LoopExports(env));
  return exports;
}

}  // namespace dm

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return dm::Init(env, exports); }

NODE_API_MODULE(devmapper, InitAddon)
