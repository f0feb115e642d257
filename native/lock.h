// flock(2) and the BLKDISCARD ioctl for the volume manager: a lock that dies with its process, and discard of a
// byte range of a block device. Syscalls only; the locking protocol and discard policy live in ts/volumes.
#pragma once

#include <napi.h>

namespace dm {

// { flock(fd, op) -> errno, blkdiscard(fd, start, length) -> errno }
Napi::Object LockExports(Napi::Env env);

}  // namespace dm
