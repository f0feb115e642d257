#include "convert.h"

#include <cstring>

namespace dm {

namespace {

std::string GetString(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// Names are bytes to the kernel: a Buffer is taken byte for byte, a string as its UTF-8.
std::string Bytes(const Napi::Value &v) {
  if (v.IsBuffer()) {
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

uint32_t U32(const Napi::Value &v) { return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0; }

// Sector counts arrive as numbers (validated as safe integers in TypeScript) or bigints.
uint64_t GetU64(const Napi::Value &v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()) : 0;
}

// The fields only some commands carry (a table, a new name, a message), read from `o` only for those commands.
void ReadPayload(Request &req, const Napi::Object &o) {
  switch (req.cmd) {
    case TABLE_LOAD: {
      Napi::Value targets = o.Get("targets");
      if (!targets.IsArray()) break;
      Napi::Array arr = targets.As<Napi::Array>();
      req.targets.reserve(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value v = arr.Get(i);
        if (!v.IsObject()) continue;
        Napi::Object t = v.As<Napi::Object>();
        Target spec;
        spec.start = GetU64(t.Get("start"));
        spec.length = GetU64(t.Get("length"));
        spec.type = GetString(t, "type");
        spec.params = GetString(t, "params");
        req.targets.push_back(std::move(spec));
      }
      break;
    }
    case TARGET_MSG:
      req.sector = GetU64(o.Get("sector"));
      req.data = GetString(o, "data");
      break;
    case DEV_RENAME:
    case DEV_SET_GEOMETRY:
      req.data = GetString(o, "data");
      break;
    default:
      break;
  }
}

}  // namespace

Request ToRequest(Cmd cmd, const Napi::CallbackInfo &info) {
  Request req;
  req.cmd = cmd;
  req.name = Bytes(info[0]);
  req.uuid = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  req.flags = U32(info[2]);
  req.eventNr = U32(info[3]);
  if (info[4].IsNumber()) {
    int32_t major = info[4].As<Napi::Number>().Int32Value();
    if (major >= 0) {
      req.hasDev = true;
      req.major = static_cast<uint32_t>(major);
      req.minor = U32(info[5]);
    }
  }
  if (info[6].IsObject()) ReadPayload(req, info[6].As<Napi::Object>());
  return req;
}

Request ToRequest(Cmd cmd, const Napi::Value &value) {
  Request req;
  req.cmd = cmd;
  if (!value.IsObject()) return req;
  Napi::Object o = value.As<Napi::Object>();
  req.name = Bytes(o.Get("name"));
  req.uuid = GetString(o, "uuid");
  req.flags = U32(o.Get("flags"));
  req.eventNr = U32(o.Get("eventNr"));
  Napi::Value ifOk = o.Get("ifOk");
  req.ifOk = ifOk.IsNumber() ? ifOk.As<Napi::Number>().Int32Value() : -1;
  Napi::Value major = o.Get("major");
  if (major.IsNumber()) {
    req.hasDev = true;
    req.major = major.As<Napi::Number>().Uint32Value();
    req.minor = U32(o.Get("minor"));
  }
  ReadPayload(req, o);
  return req;
}

std::string DeviceLabel(const Request &req) {
  if (req.cmd == GET_TARGET_VERSION) return req.name;
  if (!req.name.empty()) return req.name;
  if (!req.uuid.empty()) return req.uuid;
  if (req.hasDev) return std::to_string(req.major) + ":" + std::to_string(req.minor);
  return std::string();
}

Napi::Error MakeError(Napi::Env env, Napi::FunctionReference *factory, int err, const char *operation,
                      const std::string &device) {
  Napi::Number errnum = Napi::Number::New(env, err);
  Napi::String op = Napi::String::New(env, operation);
  Napi::String dev = Napi::String::New(env, device);
  if (factory != nullptr && !factory->IsEmpty()) {
    Napi::Value e = factory->Call({errnum, op, dev});
    if (e.IsObject()) return Napi::Error(env, e);
  }
  // No factory registered (the addon used on its own): a plain Error with the same fields, minus the errno name.
  Napi::Error e = Napi::Error::New(env, std::string(operation) + (device.empty() ? "" : " " + device) + ": " +
                                            strerror(err) + " (errno " + std::to_string(err) + ")");
  e.Set("errno", errnum);
  e.Set("operation", op);
  e.Set("device", dev);
  return e;
}

}  // namespace dm
