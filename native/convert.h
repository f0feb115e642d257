// JS -> C++ conversion of requests, and errors. Field names here are the contract with ts/core/native.ts; replies
// go back as bytes (decoded by ts/core/abi.ts).
#pragma once

#include <napi.h>

#include "request.h"

namespace dm {

// A command's arguments: (name, uuid, flags, eventNr, major, minor, payload), positional so that a cheap command
// reads no object property; major < 0 (or absent) addresses the device by name or uuid. `payload` carries
// targets (TABLE_LOAD), data (DEV_RENAME, DEV_SET_GEOMETRY, TARGET_MSG) and sector (TARGET_MSG).
Request ToRequest(Cmd cmd, const Napi::CallbackInfo &info);
// A batch entry: the same fields as one object ({ name, uuid, flags, eventNr, major, minor, ifOk, ...payload }).
Request ToRequest(Cmd cmd, const Napi::Value &value);

// The error for a failed ioctl (or open): what the registered JS factory makes of (errno, operation, device).
// The errno name and message are TypeScript's (ts/core/errors.ts); the native side passes numbers.
Napi::Error MakeError(Napi::Env env, Napi::FunctionReference *factory, int err, const char *operation,
                      const std::string &device);
std::string DeviceLabel(const Request &req);

}  // namespace dm
