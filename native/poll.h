// Poller: a libuv poll handle on one fd, so device-mapper events (DM_DEV_ARM_POLL + POLLIN on the control fd)
// arrive on the event loop without a blocked thread-pool worker, a thread of our own, or a timer.
#pragma once

#include <napi.h>

namespace dm {

// The Poller class for exports: new Poller(), start(fd, onReadable(errno, events)), stop(), ref(), unref(), close();
// after close() the same Poller may start again, on any fd.
Napi::Function DefinePoller(Napi::Env env);

}  // namespace dm
