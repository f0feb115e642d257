// The native Control object: one /dev/mapper/control fd, and one method per DM ioctl in two forms,
// `name(request)` -> Promise (runs on the libuv thread pool) and `nameSync(request)`. `batch(requests)` sends
// several requests in one thread-pool hop, stopping at the first failure (create = DEV_CREATE + TABLE_LOAD +
// resume costs one hop, not three). Validation, defaults and orchestration live in TypeScript.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

#include <napi.h>

#include "convert.h"
#include "loop.h"
#include "poll.h"
#include "request.h"
#include "udev.h"

namespace dm {

namespace {

struct AddonState {
  Napi::FunctionReference errorClass;  // DmError from TypeScript, registered once per environment
};

// The fd outlives Control.close() while a worker still uses it, so a closed fd number is never reused mid-ioctl.
struct ControlFd {
  int fd;
  explicit ControlFd(int f) : fd(f) {}
  ~ControlFd() { ::close(fd); }
};

Napi::FunctionReference *ErrorClass(Napi::Env env) {
  AddonState *s = env.GetInstanceData<AddonState>();
  return s ? &s->errorClass : nullptr;
}

class SendWorker : public Napi::AsyncWorker {
 public:
  SendWorker(Napi::Env env, std::shared_ptr<ControlFd> fd, std::vector<Request> reqs, bool batch)
      : Napi::AsyncWorker(env, "devmapper:ioctl"),
        fd_(std::move(fd)),
        reqs_(std::move(reqs)),
        batch_(batch),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (const Request &r : reqs_) {
      replies_.push_back(Send(fd_->fd, r));
      if (replies_.back().err != 0) break;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (batch_) {
      deferred_.Resolve(BatchResult(env, reqs_, replies_));
      return;
    }
    const Reply &r = replies_[0];
    if (r.err != 0) {
      deferred_.Reject(MakeError(env, ErrorClass(env), r.err, kCommands[reqs_[0].cmd].name, DeviceLabel(reqs_[0])).Value());
    } else {
      deferred_.Resolve(FromReply(env, reqs_[0], r));
    }
  }

  // Batch results: one entry per request that ran, the reply or { error } for the one that failed.
  static Napi::Array BatchResult(Napi::Env env, const std::vector<Request> &reqs, const std::vector<Reply> &replies) {
    Napi::Array out = Napi::Array::New(env, replies.size());
    for (size_t i = 0; i < replies.size(); i++) {
      if (replies[i].err != 0) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("error", MakeError(env, ErrorClass(env), replies[i].err, kCommands[reqs[i].cmd].name,
                                 DeviceLabel(reqs[i])).Value());
        out.Set(static_cast<uint32_t>(i), e);
      } else {
        out.Set(static_cast<uint32_t>(i), FromReply(env, reqs[i], replies[i]));
      }
    }
    return out;
  }

 private:
  std::shared_ptr<ControlFd> fd_;
  std::vector<Request> reqs_;
  std::vector<Reply> replies_;
  bool batch_;
  Napi::Promise::Deferred deferred_;
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
    // Names are kept alive by kCommands; "<method>Sync" strings are built once and leaked on purpose.
    (props.push_back(InstanceMethod<&Control::Run<static_cast<Cmd>(Ns)>>(kCommands[Ns].method)), ...);
    (props.push_back(InstanceMethod<&Control::RunSync<static_cast<Cmd>(Ns)>>(
         (new std::string(std::string(kCommands[Ns].method) + "Sync"))->c_str())),
     ...);
  }

  // Opens the control device on first use; throws the open error with the path as the device.
  std::shared_ptr<ControlFd> Open(Napi::Env env) {
    if (fd_) return fd_;
    int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw MakeError(env, ErrorClass(env), errno, "open", path_);
    fd_ = std::make_shared<ControlFd>(fd);
    return fd_;
  }

  template <Cmd C>
  Napi::Value Run(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto fd = Open(env);
    std::vector<Request> reqs{ToRequest(C, info[0])};
    auto *w = new SendWorker(env, std::move(fd), std::move(reqs), false);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  template <Cmd C>
  Napi::Value RunSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto fd = Open(env);
    Request req = ToRequest(C, info[0]);
    Reply r = Send(fd->fd, req);
    if (r.err != 0) throw MakeError(env, ErrorClass(env), r.err, kCommands[C].name, DeviceLabel(req));
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
    auto *w = new SendWorker(info.Env(), std::move(fd), std::move(reqs), true);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value BatchSync(const Napi::CallbackInfo &info) {
    std::vector<Request> reqs = ToRequests(info);
    auto fd = Open(info.Env());
    std::vector<Reply> replies;
    for (const Request &r : reqs) {
      replies.push_back(Send(fd->fd, r));
      if (replies.back().err != 0) break;
    }
    return SendWorker::BatchResult(info.Env(), reqs, replies);
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

// setErrorClass(DmError): errors are then created as instances of it, with { message, code, errno, operation,
// device } passed to its constructor.
Napi::Value SetErrorClass(const Napi::CallbackInfo &info) {
  AddonState *s = info.Env().GetInstanceData<AddonState>();
  if (info[0].IsFunction()) s->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *state = new AddonState();
  env.SetInstanceData(state);  // one per environment, so the addon also loads in worker threads
  Napi::Function control = Control::Define(env);
  exports.Set("Control", control);
  exports.Set("Poller", DefinePoller(env));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
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
  exports.Set("loop", LoopExports(env));
  return exports;
}

}  // namespace dm

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return dm::Init(env, exports); }

NODE_API_MODULE(devmapper, InitAddon)
