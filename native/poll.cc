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
// While the handle is open, an async cleanup hook keeps the environment's teardown waiting for its close: a
// close callback left pending past teardown would run after Node unloaded this addon (a crash on
// worker.terminate()). The hook is removed in the close callback, however the close began.
struct PollHandle {
  uv_poll_t poll;
  Poller *owner;
  int fd;
  napi_async_cleanup_hook_handle hook;
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

  // new Poller(). One Poller serves any number of start(fd, onReadable) ... close() rounds, so a caller that
  // opens and closes its fd often (the event poller, with every first and last subscriber) makes its JS object
  // and async context once, not per round. The callback is held only from start() to close(): a caller that
  // keeps its Poller in a field is not pinned by it while idle.
  explicit Poller(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Poller>(info) {
    context_ = std::make_unique<Napi::AsyncContext>(info.Env(), "devmapper:poll");
  }

  ~Poller() override { CloseHandle(); }

 private:
  // The environment is going away: detach from the JS object (no reference bookkeeping), close the handle.
  static void CleanupHook(napi_async_cleanup_hook_handle, void *arg) {
    auto *h = static_cast<PollHandle *>(arg);
    if (h->owner != nullptr) {
      h->owner->active_ = false;
      h->owner->CloseHandle();
    }
  }

  static void OnPoll(uv_poll_t *poll, int status, int events) {
    auto *h = static_cast<PollHandle *>(poll->data);
    if (h->owner != nullptr) h->owner->Deliver(status, events);
  }

  static void OnClose(uv_handle_t *handle) {
    auto *h = static_cast<PollHandle *>(handle->data);
    if (h->hook != nullptr) napi_remove_async_cleanup_hook(h->hook);
    delete h;
  }

  // Runs from the bare event loop, outside any N-API callback: nothing may be thrown out of here. An error of
  // the JS callback goes to 'uncaughtException'; during teardown (JS disabled) the event is dropped.
  void Deliver(int status, int events) noexcept {
    try {
      Napi::Env env = Env();
      if (callback_.IsEmpty()) return;
      Napi::HandleScope scope(env);
      // libuv reports a failed poll as a negative errno; JS gets the positive errno, 0 when readable.
      Napi::Value args[] = {Napi::Number::New(env, status < 0 ? -status : 0), Napi::Number::New(env, events)};
      try {
        // MakeCallback, not Call: promise jobs the callback queues must run before the loop sleeps again.
        callback_.MakeCallback(Value(), {args[0], args[1]}, *context_);
      } catch (const Napi::Error &e) {
        napi_fatal_exception(env, e.Value());
      }
    } catch (const Napi::Error &) {
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

  // A handle on `fd` (which stays owned by the caller and must outlive close()). A new handle does not keep the
  // loop alive: a watcher alone must not hold the process open; callers that wait for a result ref() it.
  void Open(Napi::Env env, int fd) {
    uv_loop_t *loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "Poller: no libuv loop in this environment");
    }
    auto *h = new PollHandle{};
    int r = uv_poll_init(loop, &h->poll, fd);
    if (r != 0) {
      delete h;
      throw Napi::Error::New(env, std::string("Poller: uv_poll_init: ") + uv_strerror(r));
    }
    h->owner = this;
    h->fd = fd;
    h->poll.data = h;
    if (napi_add_async_cleanup_hook(env, CleanupHook, h, &h->hook) != napi_ok) {
      uv_close(reinterpret_cast<uv_handle_t *>(&h->poll), OnClose);
      throw Napi::Error::New(env, "Poller: cannot add a cleanup hook");
    }
    uv_unref(reinterpret_cast<uv_handle_t *>(&h->poll));
    handle_ = h;
  }

  // start(fd, onReadable(errno, events)): polls `fd` for POLLIN, opening a handle on it unless one is open
  // already (on that fd).
  Napi::Value Start(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "Poller.start expects (fd, callback)");
    int fd = info[0].As<Napi::Number>().Int32Value();
    if (handle_ != nullptr && handle_->fd != fd) throw Napi::Error::New(env, "Poller: close() before start() on another fd");
    if (handle_ == nullptr) Open(env, fd);
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    int r = uv_poll_start(&handle_->poll, UV_READABLE, OnPoll);
    if (r != 0) throw Napi::Error::New(env, std::string("Poller: uv_poll_start: ") + uv_strerror(r));
    if (!active_) {
      active_ = true;
      Ref();  // keep the JS object (and its callback) alive while the loop may call into it
    }
    return env.Undefined();
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

  // Closes the handle (not the fd) and lets the callback go; a later start(fd, onReadable) opens a new handle.
  // (Teardown closes the handle through CleanupHook and leaves the reference to the destructor.)
  Napi::Value Close(const Napi::CallbackInfo &info) {
    CloseHandle();
    callback_.Reset();
    return info.Env().Undefined();
  }

  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
  PollHandle *handle_ = nullptr;
  bool active_ = false;
};

}  // namespace

Napi::Function DefinePoller(Napi::Env env) { return Poller::Define(env); }

}  // namespace dm
