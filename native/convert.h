// JS <-> C++ conversion of requests, replies and errors. Field names here are the contract with ts/native.ts.
#pragma once

#include <napi.h>

#include "request.h"

namespace dm {

Request ToRequest(Cmd cmd, const Napi::Value &value);
Napi::Object FromReply(Napi::Env env, const Request &req, const Reply &reply);

// The error for a failed ioctl (or open): what the registered JS factory makes of (errno, operation, device).
// The errno name and message are TypeScript's (ts/core/errors.ts); the native side passes numbers.
Napi::Error MakeError(Napi::Env env, Napi::FunctionReference *factory, int err, const char *operation,
                      const std::string &device);
std::string DeviceLabel(const Request &req);

}  // namespace dm
