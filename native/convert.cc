#include "convert.h"

#include <algorithm>
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

// `name` as a string; a name that is not valid UTF-8 (the string then has U+FFFD in its place) also comes as
// `nameBuffer`, its exact bytes, so that it can be told apart and addressed.
void SetName(Napi::Env env, Napi::Object &o, const std::string &name) {
  Napi::String s = Napi::String::New(env, name);
  o.Set("name", s);
  bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return (c & 0x80) == 0; });
  if (!ascii && s.Utf8Value() != name) o.Set("nameBuffer", Napi::Buffer<char>::Copy(env, name.data(), name.size()));
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

Napi::Value U64(Napi::Env env, uint64_t n) {
  // Exact as a number up to 2^53; beyond that a bigint, never a silently rounded value.
  if (n <= (uint64_t(1) << 53)) return Napi::Number::New(env, static_cast<double>(n));
  return Napi::BigInt::New(env, n);
}

Napi::Array Version(Napi::Env env, const uint32_t v[3]) {
  Napi::Array a = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; i++) a.Set(i, Napi::Number::New(env, v[i]));
  return a;
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

Napi::Object FromReply(Napi::Env env, const Request &req, const Reply &r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", Version(env, r.version));
  o.Set("flags", Napi::Number::New(env, r.flags));
  o.Set("eventNr", Napi::Number::New(env, r.eventNr));
  o.Set("openCount", Napi::Number::New(env, r.openCount));
  o.Set("targetCount", Napi::Number::New(env, r.targetCount));
  o.Set("major", Napi::Number::New(env, r.major));
  o.Set("minor", Napi::Number::New(env, r.minor));
  SetName(env, o, r.name);
  o.Set("uuid", Napi::String::New(env, r.uuid));
  o.Set("bufferSize", Napi::Number::New(env, r.bufferSize));
  switch (req.cmd) {
    case TABLE_STATUS:
    case DEV_WAIT: {
      Napi::Array a = Napi::Array::New(env, r.targets.size());
      for (size_t i = 0; i < r.targets.size(); i++) {
        const Target &t = r.targets[i];
        Napi::Object to = Napi::Object::New(env);
        to.Set("start", U64(env, t.start));
        to.Set("length", U64(env, t.length));
        to.Set("type", Napi::String::New(env, t.type));
        to.Set("params", Napi::String::New(env, t.params));
        a.Set(static_cast<uint32_t>(i), to);
      }
      o.Set("targets", a);
      break;
    }
    case TABLE_DEPS: {
      Napi::Array a = Napi::Array::New(env, r.deps.size());
      for (size_t i = 0; i < r.deps.size(); i++) {
        Napi::Object d = Napi::Object::New(env);
        d.Set("major", Napi::Number::New(env, DevMajor(r.deps[i])));
        d.Set("minor", Napi::Number::New(env, DevMinor(r.deps[i])));
        a.Set(static_cast<uint32_t>(i), d);
      }
      o.Set("deps", a);
      break;
    }
    case LIST_DEVICES: {
      Napi::Array a = Napi::Array::New(env, r.devices.size());
      for (size_t i = 0; i < r.devices.size(); i++) {
        const ListedDevice &d = r.devices[i];
        Napi::Object e = Napi::Object::New(env);
        // Names are raw bytes to the kernel; a foreign device's odd name must not break listing.
        SetName(env, e, d.name);
        e.Set("major", Napi::Number::New(env, d.major));
        e.Set("minor", Napi::Number::New(env, d.minor));
        if (d.hasEventNr) e.Set("eventNr", Napi::Number::New(env, d.eventNr));
        if (d.hasUuid) e.Set("uuid", Napi::String::New(env, d.uuid));
        a.Set(static_cast<uint32_t>(i), e);
      }
      o.Set("devices", a);
      break;
    }
    case LIST_VERSIONS:
    case GET_TARGET_VERSION: {
      Napi::Array a = Napi::Array::New(env, r.versions.size());
      for (size_t i = 0; i < r.versions.size(); i++) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("name", Napi::String::New(env, r.versions[i].name));
        e.Set("version", Version(env, r.versions[i].version));
        a.Set(static_cast<uint32_t>(i), e);
      }
      o.Set("versions", a);
      break;
    }
    case TARGET_MSG:
      if (r.hasData) o.Set("data", Napi::String::New(env, r.data));
      break;
    default:
      break;
  }
  return o;
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
