// Loop-device ioctls (LOOP_CTL_GET_FREE, LOOP_CONFIGURE, LOOP_SET_FD, LOOP_SET_STATUS64, LOOP_GET_STATUS64,
// LOOP_CLR_FD, LOOP_SET_CAPACITY, LOOP_SET_DIRECT_IO, LOOP_SET_BLOCK_SIZE), exposed to TypeScript as `loop`.
// TypeScript opens the fds, validates, retries and cleans up (ts/loop/); these are the ioctls only.
#pragma once

#include <napi.h>

namespace dm {

// { getFree, configure, setFd, setStatus, getStatus, clrFd, setCapacity, setDirectIo, setBlockSize } and a
// `...Sync` twin of each.
Napi::Object LoopExports(Napi::Env env);

}  // namespace dm
