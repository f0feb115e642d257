// A libuv poll handle on a device-mapper control fd. The kernel marks an armed control fd readable when any
// device raises an event; TypeScript re-arms, lists the devices and compares event counters (ts/event-poller.ts).
// This file only delivers "readable" (or a poll error) to a JS callback: no ioctls, no state beyond the handle.
#include "poll.h"

#include <uv.h>

#include <memory>

namespace dm {

namespace {

class Poller;

// The uv handle lives apart from the JS object: uv_close completes on a later loop turn, possibly after the
// object was collected, so the close callback owns (and frees) this memory.
struct PollHandle {
  uv_poll_t poll;
  Poller *owner;
};

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {
                           InstanceMethod<&Poller::Start>("start"),
                           InstanceMethod<&Poller::Stop>("stop"),
                           InstanceMethod<&Poller::RefHandle>("ref"),
                           InstanceMethod<&Poller::UnrefHandle>("unref"),
                           InstanceMethod<&Poller::Close>("close"),
                       });
  }

  // new Poller(fd, onReadable(errno, events)). The fd stays owned by the caller and must outlive close().
  explicit Poller(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "Poller expects (fd, callback)");
    }
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "devmapper:poll");
    uv_loop_t *loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "Poller: no libuv loop in this environment");
    }
    auto *h = new PollHandle{};
    int r = uv_poll_init(loop, &h->poll, info[0].As<Napi::Number>().Int32Value());
    if (r != 0) {
      delete h;
      throw Napi::Error::New(env, std::string("Poller: uv_poll_init: ") + uv_strerror(r));
    }
    h->owner = this;
    h->poll.data = h;
    // A watcher alone must not keep the process alive; callers that wait for a result ref() it meanwhile.
    uv_unref(reinterpret_cast<uv_handle_t *>(&h->poll));
    handle_ = h;
    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hookAdded_ = true;
  }

  ~Poller() override {
    if (hookAdded_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    CloseHandle();
  }

 private:
  static void CleanupHook(void *arg) {
    auto *self = static_cast<Poller *>(arg);
    self->hookAdded_ = false;
    self->active_ = false;  // the environment is going away: no reference bookkeeping, just close the handle
    self->CloseHandle();
  }

  static void OnPoll(uv_poll_t *poll, int status, int events) {
    auto *h = static_cast<PollHandle *>(poll->data);
    if (h->owner != nullptr) h->owner->Deliver(status, events);
  }

  static void OnClose(uv_handle_t *handle) { delete static_cast<PollHandle *>(handle->data); }

  void Deliver(int status, int events) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // libuv reports a failed poll as a negative errno; JS gets the positive errno, 0 when readable.
    Napi::Value args[] = {Napi::Number::New(env, status < 0 ? -status : 0), Napi::Number::New(env, events)};
    try {
      // MakeCallback, not Call: this runs from the bare event loop, and promise jobs the callback queues must
      // run before the loop goes back to sleep.
      callback_.MakeCallback(Value(), {args[0], args[1]}, *context_);
    } catch (const Napi::Error &e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  void CloseHandle() {
    if (handle_ == nullptr) return;
    uv_poll_stop(&handle_->poll);
    handle_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t *>(&handle_->poll), OnClose);
    handle_ = nullptr;
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  Napi::Value Start(const Napi::CallbackInfo &info) {
    if (handle_ == nullptr) throw Napi::Error::New(info.Env(), "Poller is closed");
    int r = uv_poll_start(&handle_->poll, UV_READABLE, OnPoll);
    if (r != 0) throw Napi::Error::New(info.Env(), std::string("Poller: uv_poll_start: ") + uv_strerror(r));
    if (!active_) {
      active_ = true;
      Ref();  // keep the JS object (and its callback) alive while the loop may call into it
    }
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    if (handle_ != nullptr) uv_poll_stop(&handle_->poll);
    if (active_) {
      active_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo &info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t *>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo &info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t *>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    CloseHandle();
    return info.Env().Undefined();
  }

  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
  PollHandle *handle_ = nullptr;
  bool active_ = false;
  bool hookAdded_ = false;
  napi_env env_ = Env();
};

}  // namespace

Napi::Function DefinePoller(Napi::Env env) { return Poller::Define(env); }

}  // namespace dm
