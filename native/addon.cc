// N-API glue. Validation and error naming live in TypeScript, where they are
// testable and cheap; this layer converts numbers and reports OS failures.
// No state is kept between calls, so worker threads and unloads need nothing.
#include <napi.h>

#include "sys.h"

namespace {

// Thrown as a plain Error carrying the raw facts; the TS layer turns it into
// the public error (code name, message) so both layers cannot disagree.
void ThrowFailure(Napi::Env env, const tka::Failure& f) {
  Napi::Error e = Napi::Error::New(env, "tcp-keepalive native failure");
  e.Set("uvCode", Napi::Number::New(env, f.code));
  e.Set("syscall", Napi::String::New(env, f.syscall));
  e.Set("option", Napi::String::New(env, f.option));
  e.ThrowAsJavaScriptException();
}

int64_t Field(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int64Value();
}

// set(target, verify, enable, idleMs, intervalMs, count, userTimeoutMs);
// -1 = leave.
// Arguments are checked in TS; As<> here would only misbehave on a bug there.
Napi::Value Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tka::Failure fail;
  tka::Socket s;
  if (!tka::Resolve(env, info[0], info[1].ToBoolean(), &s, &fail)) {
    ThrowFailure(env, fail);
    return env.Undefined();
  }
  tka::Settings want;
  want.enable = Field(info, 2);
  want.idle_ms = Field(info, 3);
  want.interval_ms = Field(info, 4);
  want.count = Field(info, 5);
  want.user_timeout_ms = Field(info, 6);
  if (!tka::Apply(s, want, &fail)) ThrowFailure(env, fail);
  return env.Undefined();
}

// get(target, verify) -> [enable, idleMs, intervalMs, count, userTimeoutMs];
// -1 = the OS cannot say.
Napi::Value Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tka::Failure fail;
  tka::Socket s;
  tka::Settings have;
  if (!tka::Resolve(env, info[0], info[1].ToBoolean(), &s, &fail) ||
      !tka::Read(s, &have, &fail)) {
    ThrowFailure(env, fail);
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 5);
  const int64_t values[] = {have.enable, have.idle_ms, have.interval_ms,
                            have.count, have.user_timeout_ms};
  for (uint32_t i = 0; i < 5; i++)
    out.Set(i, Napi::Number::New(env, static_cast<double>(values[i])));
  return out;
}

Napi::Object RangeObject(Napi::Env env, const tka::Range& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("supported", Napi::Boolean::New(env, r.supported));
  o.Set("min", Napi::Number::New(env, static_cast<double>(r.min)));
  o.Set("max", Napi::Number::New(env, static_cast<double>(r.max)));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const tka::Capabilities caps = tka::Probe();
  Napi::Object c = Napi::Object::New(env);
  c.Set("platform", Napi::String::New(env, caps.platform));
  c.Set("target", Napi::String::New(env, caps.target));
  c.Set("idle", RangeObject(env, caps.idle));
  c.Set("interval", RangeObject(env, caps.interval));
  c.Set("count", RangeObject(env, caps.count));
  c.Set("userTimeout", RangeObject(env, caps.user_timeout));
  c.Set("userTimeoutOption", Napi::String::New(env, caps.user_timeout_option));
  exports.Set("capabilities", c);
  exports.Set("set", Napi::Function::New(env, Set, "set"));
  exports.Set("get", Napi::Function::New(env, Get, "get"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tcp_keepalive, Init)
