// The one promise-returning thread-pool worker of the addon: ioctls (addon.cc), udev cookie waits (udev.cc),
// and any later native file that blocks (loop devices). A file supplies a Job and gets a Promise back:
//
//   struct Job {
//     void Execute();                                   // on a pool thread: plain C++, no JS values
//     Napi::Value Settle(Napi::Env env, bool &reject);  // on the JS thread: the value, and whether to reject
//   };
//   return QueueJob(env, "devmapper:what", Job{...});
//
// Teardown: when a worker thread is terminated or the process exits, Node still runs the completion of work in
// flight, but with JavaScript disabled. Nothing can observe the promise any more, and every N-API call that
// could run JS fails, so a failure to settle is dropped here instead of thrown into the dying environment
// (which with C++ exceptions would end in std::terminate).
#pragma once

#include <napi.h>

#include <utility>

namespace dm {

template <typename Job>
class PromiseWorker final : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char *resource, Job job)
      : Napi::AsyncWorker(env, resource), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 private:
  void Execute() override { job_.Execute(); }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      bool reject = false;
      Napi::Value v = job_.Settle(env, reject);
      if (reject) {
        deferred_.Reject(v);
      } else {
        deferred_.Resolve(v);
      }
    } catch (const Napi::Error &e) {
      // Building the result failed (say, the JS error factory threw): reject with that error. If that fails
      // too, the environment is going away and nobody is left to tell.
      try {
        deferred_.Reject(e.Value());
      } catch (const Napi::Error &) {
      }
    }
  }

  Job job_;
  Napi::Promise::Deferred deferred_;
};

// Queues `job` on the libuv thread pool; the promise settles with job.Settle() on the JS thread.
template <typename Job>
Napi::Promise QueueJob(Napi::Env env, const char *resource, Job job) {
  auto *w = new PromiseWorker<Job>(env, resource, std::move(job));
  Napi::Promise p = w->Promise();
  w->Queue();  // from here on the worker owns itself and is deleted after OnOK
  return p;
}

}  // namespace dm
