#include "convert.h"

#include <cstring>

namespace dm {

namespace {

std::string GetString(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// Names are bytes to the kernel: a Buffer is taken byte for byte, a string as its UTF-8.
std::string GetBytes(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (v.IsBuffer()) {
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}


uint32_t GetU32(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

// Sector counts arrive as numbers (validated as safe integers in TypeScript) or bigints.
uint64_t GetU64(const Napi::Value &v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()) : 0;
}

}  // namespace

Request ToRequest(Cmd cmd, const Napi::Value &value) {
  Request req;
  req.cmd = cmd;
  if (!value.IsObject()) return req;
  Napi::Object o = value.As<Napi::Object>();
  req.name = GetBytes(o, "name");
  req.uuid = GetString(o, "uuid");
  req.flags = GetU32(o, "flags");
  req.eventNr = GetU32(o, "eventNr");
  req.data = GetString(o, "data");
  req.sector = GetU64(o.Get("sector"));
  Napi::Value ifOk = o.Get("ifOk");
  req.ifOk = ifOk.IsNumber() ? ifOk.As<Napi::Number>().Int32Value() : -1;
  Napi::Value major = o.Get("major");
  if (major.IsNumber()) {
    req.hasDev = true;
    req.major = major.As<Napi::Number>().Uint32Value();
    req.minor = GetU32(o, "minor");
  }
  Napi::Value targets = o.Get("targets");
  if (targets.IsArray()) {
    Napi::Array arr = targets.As<Napi::Array>();
    req.targets.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object t = arr.Get(i).As<Napi::Object>();
      Target spec;
      spec.start = GetU64(t.Get("start"));
      spec.length = GetU64(t.Get("length"));
      spec.type = GetString(t, "type");
      spec.params = GetString(t, "params");
      req.targets.push_back(std::move(spec));
    }
  }
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
