// The native Control object: one /dev/mapper/control fd, and one method per DM ioctl in two forms,
// `name(request)` -> Promise (runs on the libuv thread pool) and `nameSync(request)`. `batch(requests)` sends
// several requests in one thread-pool hop, stopping at the first failure (create = DEV_CREATE + TABLE_LOAD +
// resume costs one hop, not three). Validation, defaults and orchestration live in TypeScript.
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

Napi::Value ErrorFor(Napi::Env env, const Request &req, const Reply &r) {
  return MakeError(env, ErrorFactory(env), r.err, kCommands[req.cmd].name, DeviceLabel(req)).Value();
}

// Sends requests in order, stopping at the first failure.
std::vector<Reply> SendAll(int fd, const std::vector<Request> &reqs) {
  std::vector<Reply> replies;
  for (const Request &r : reqs) {
    replies.push_back(Send(fd, r));
    if (replies.back().err != 0) break;
  }
  return replies;
}

// Batch results: one entry per request that ran, the reply or { error } for the one that failed.
Napi::Array BatchResult(Napi::Env env, const std::vector<Request> &reqs, const std::vector<Reply> &replies) {
  Napi::Array out = Napi::Array::New(env, replies.size());
  for (size_t i = 0; i < replies.size(); i++) {
    if (replies[i].err != 0) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("error", ErrorFor(env, reqs[i], replies[i]));
      out.Set(static_cast<uint32_t>(i), e);
    } else {
      out.Set(static_cast<uint32_t>(i), FromReply(env, reqs[i], replies[i]));
    }
  }
  return out;
}

// One command (rejects with its error) or a batch (resolves with BatchResult), on the thread pool.
struct SendJob {
  std::shared_ptr<ControlFd> fd;
  std::vector<Request> reqs;
  bool batch;
  std::vector<Reply> replies;

  void Execute() { replies = SendAll(fd->fd, reqs); }

  Napi::Value Settle(Napi::Env env, bool &reject) {
    if (batch) return BatchResult(env, reqs, replies);
    reject = replies[0].err != 0;
    return reject ? ErrorFor(env, reqs[0], replies[0]) : FromReply(env, reqs[0], replies[0]);
  }
};

class Control : public Napi::ObjectWrap<Control> {
 public:
  static Napi::Function Define(Napi::Env env) {
    std::vector<PropertyDescriptor> props = {
        InstanceMethod<&Control::Batch>("batch"),
        InstanceMethod<&Control::BatchSync>("batchSync"),
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
    auto fd = Open(env);
    return QueueJob(env, "devmapper:ioctl", SendJob{std::move(fd), {ToRequest(C, info[0])}, false, {}});
  }

  template <Cmd C>
  Napi::Value RunSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto fd = Open(env);
    Request req = ToRequest(C, info[0]);
    Reply r = Send(fd->fd, req);
    if (r.err != 0) throw MakeError(env, ErrorFactory(env), r.err, kCommands[C].name, DeviceLabel(req));
    return FromReply(env, req, r);
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
    auto fd = Open(info.Env());
    return QueueJob(info.Env(), "devmapper:ioctl", SendJob{std::move(fd), std::move(reqs), true, {}});
  }

  Napi::Value BatchSync(const Napi::CallbackInfo &info) {
    std::vector<Request> reqs = ToRequests(info);
    auto fd = Open(info.Env());
    return BatchResult(info.Env(), reqs, SendAll(fd->fd, reqs));
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    fd_.reset();
    return info.Env().Undefined();
  }

  // The open fd number (opening it if needed), for polling the control device from JS-side machinery.
  Napi::Value Fd(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), Open(info.Env())->fd); }

  std::string path_;
  std::shared_ptr<ControlFd> fd_;
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
