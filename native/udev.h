// libdm's udev cookie semaphores and the mknod of the no-udev fallback, exposed to TypeScript as `udev`.
// The protocol (when to create, complete, wait) is decided in ts/udev.ts; these are the syscalls only.
#pragma once

#include <napi.h>

namespace dm {

// { cookieCreate, cookieComplete, cookieWait, cookieWaitSync, cookieRemove, mknod }
Napi::Object UdevExports(Napi::Env env);

}  // namespace dm
