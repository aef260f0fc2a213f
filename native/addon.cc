// N-API glue. Validation and error naming live in TypeScript, where they are
// testable and cheap; this layer moves numbers and reports OS failures.
//
// Values cross in a Float64Array shared with JS (the `slots` export) rather
// than as call arguments: converting seven JS values per call cost about as
// much as one setsockopt, and building a result array for get() cost more
// than the five getsockopts it reports. Each thread (main or worker) loads
// its own instance with its own slots, and no call runs JS between writing
// and reading them, so sharing needs no locking.
#include <napi.h>

#include "sys.h"

namespace {

enum Slot { kVerify, kEnable, kIdle, kInterval, kCount, kUserTimeout, kSlots };

struct Instance {
  double* slots = nullptr;
  Napi::Reference<Napi::Float64Array> keep;  // the buffer outlives every call
};

// Thrown as a plain Error carrying the raw facts; the TS layer turns it into
// the public error (code name, message) so both layers cannot disagree.
void ThrowFailure(Napi::Env env, const tka::Failure& f) {
  Napi::Error e = Napi::Error::New(env, "tcp-keepalive native failure");
  e.Set("uvCode", Napi::Number::New(env, f.code));
  e.Set("syscall", Napi::String::New(env, f.syscall));
  e.Set("option", Napi::String::New(env, f.option));
  e.ThrowAsJavaScriptException();
}

// The two per-socket calls use the C API directly: node-addon-api's wrapper
// costs four extra N-API calls per crossing, a tenth of the whole call. The
// instance comes in as the function's data, and only the target is read.
napi_value Target(napi_env env, napi_callback_info info, Instance** instance) {
  size_t argc = 1;
  napi_value target = nullptr;
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, &target, nullptr, &data);
  *instance = static_cast<Instance*>(data);
  return target;
}

// set(target): applies slots[kEnable..kUserTimeout]; -1 = leave.
// Values were range-checked in TS; the casts here only drop the fraction a
// bug there could leave.
napi_value Set(napi_env raw_env, napi_callback_info info) {
  Instance* instance;
  Napi::Env env(raw_env);
  const Napi::Value target(env, Target(env, info, &instance));
  const double* in = instance->slots;
  tka::Failure fail;
  tka::Socket s;
  if (!tka::Resolve(env, target, in[kVerify] != 0, &s, &fail)) {
    ThrowFailure(env, fail);
    return nullptr;
  }
  tka::Settings want;
  want.enable = static_cast<int64_t>(in[kEnable]);
  want.idle_ms = static_cast<int64_t>(in[kIdle]);
  want.interval_ms = static_cast<int64_t>(in[kInterval]);
  want.count = static_cast<int64_t>(in[kCount]);
  want.user_timeout_ms = static_cast<int64_t>(in[kUserTimeout]);
  if (!tka::Apply(s, want, &fail)) ThrowFailure(env, fail);
  return nullptr;
}

// get(target): writes what the kernel holds to slots[kEnable..kUserTimeout];
// -1 = the OS cannot say.
napi_value Get(napi_env raw_env, napi_callback_info info) {
  Instance* instance;
  Napi::Env env(raw_env);
  const Napi::Value target(env, Target(env, info, &instance));
  double* io = instance->slots;
  tka::Failure fail;
  tka::Socket s;
  tka::Settings have;
  if (!tka::Resolve(env, target, io[kVerify] != 0, &s, &fail) ||
      !tka::Read(s, &have, &fail)) {
    ThrowFailure(env, fail);
    return nullptr;
  }
  io[kEnable] = static_cast<double>(have.enable);
  io[kIdle] = static_cast<double>(have.idle_ms);
  io[kInterval] = static_cast<double>(have.interval_ms);
  io[kCount] = static_cast<double>(have.count);
  io[kUserTimeout] = static_cast<double>(have.user_timeout_ms);
  return nullptr;
}

Napi::Function Bind(Napi::Env env, const char* name, napi_callback cb,
                    Instance* instance) {
  napi_value fn = nullptr;
  NAPI_THROW_IF_FAILED(env,
                       napi_create_function(env, name, NAPI_AUTO_LENGTH, cb,
                                            instance, &fn),
                       Napi::Function());
  return Napi::Function(env, fn);
}

Napi::Object RangeObject(Napi::Env env, const tka::Range& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("supported", Napi::Boolean::New(env, r.supported));
  o.Set("min", Napi::Number::New(env, static_cast<double>(r.min)));
  o.Set("max", Napi::Number::New(env, static_cast<double>(r.max)));
  return o;
}

// getTcpInfo and the inspector's entry, defined at the end of this file.
void AddDiagnostics(Napi::Env env, Napi::Object exports);

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

  // An ArrayBuffer made here has an off-heap backing store whose address
  // never moves, so the pointer can be kept for the instance's life.
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, kSlots * sizeof(double));
  Napi::Float64Array slots = Napi::Float64Array::New(env, kSlots, buffer, 0);
  auto* instance = new Instance();
  instance->slots = static_cast<double*>(buffer.Data());
  instance->keep = Napi::Persistent(slots);
  env.SetInstanceData(instance);

  exports.Set("capabilities", c);
  exports.Set("slots", slots);
  exports.Set("set", Bind(env, "set", Set, instance));
  exports.Set("get", Bind(env, "get", Get, instance));
  AddDiagnostics(env, exports);
  return exports;
}

}  // namespace

namespace {

// ---- getTcpInfo and the process inspector ----
// Called a few times per connection at most, so plain arguments and a fresh
// result array; every N-API status is checked.

// A failed N-API call may or may not leave an exception pending; JS must see
// one either way, or it would read a result that was never written.
bool Ok(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  const napi_extended_error_info* info = nullptr;
  const char* message = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != nullptr &&
      info->error_message != nullptr)
    message = info->error_message;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
    napi_throw_error(env, nullptr, message);
  return false;
}

napi_value DoubleArray(napi_env env, const double* values, size_t n) {
  void* data = nullptr;
  napi_value buffer = nullptr;
  napi_value array = nullptr;
  if (!Ok(env, napi_create_arraybuffer(env, n * sizeof(double), &data,
                                       &buffer)) ||
      !Ok(env, napi_create_typedarray(env, napi_float64_array, n, buffer, 0,
                                      &array)))
    return nullptr;
  double* to = static_cast<double*>(data);
  for (size_t i = 0; i < n; i++) to[i] = values[i];
  return array;
}

// tcpInfo(target, verify): Float64Array in TcpInfoField order, -1 = unknown.
napi_value TcpInfoOf(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value args[2] = {nullptr, nullptr};
  bool verify = true;
  if (!Ok(env, napi_get_cb_info(env, cb, &argc, args, nullptr, nullptr)) ||
      !Ok(env, napi_get_value_bool(env, args[1], &verify)))
    return nullptr;
  tka::Failure fail;
  tka::Socket s;
  tka::TcpInfo info;
  if (!tka::Resolve(Napi::Env(env), Napi::Value(env, args[0]), verify, &s,
                    &fail) ||
      !tka::ReadTcpInfo(s, &info, &fail)) {
    ThrowFailure(Napi::Env(env), fail);
    return nullptr;
  }
  return DoubleArray(env, info.v, tka::kInfoFields);
}

// inspect(pid, fd, inode as bigint): borrows another process's socket, reads
// it and gives it back before returning, whatever happened. Float64Array:
// [enable, idle, interval, count, userTimeout, ...TcpInfoField order].
napi_value InspectSocket(napi_env env, napi_callback_info cb) {
  size_t argc = 3;
  napi_value args[3] = {nullptr, nullptr, nullptr};
  int64_t pid = 0, fd = 0;
  uint64_t inode = 0;
  bool lossless = false;
  if (!Ok(env, napi_get_cb_info(env, cb, &argc, args, nullptr, nullptr)) ||
      !Ok(env, napi_get_value_int64(env, args[0], &pid)) ||
      !Ok(env, napi_get_value_int64(env, args[1], &fd)) ||
      !Ok(env, napi_get_value_bigint_uint64(env, args[2], &inode, &lossless)))
    return nullptr;
  if (!lossless) {
    napi_throw_range_error(env, nullptr, "inode out of range");
    return nullptr;
  }
  tka::Failure fail;
  tka::Socket s;
  if (!tka::BorrowSocket(pid, fd, inode, &s, &fail)) {
    ThrowFailure(Napi::Env(env), fail);
    return nullptr;
  }
  tka::Settings have;
  tka::TcpInfo info;
  const bool read = tka::Read(s, &have, &fail) && tka::ReadTcpInfo(s, &info, &fail);
  tka::ReleaseBorrowed(s);
  if (!read) {
    ThrowFailure(Napi::Env(env), fail);
    return nullptr;
  }
  double out[5 + tka::kInfoFields];
  out[0] = static_cast<double>(have.enable);
  out[1] = static_cast<double>(have.idle_ms);
  out[2] = static_cast<double>(have.interval_ms);
  out[3] = static_cast<double>(have.count);
  out[4] = static_cast<double>(have.user_timeout_ms);
  for (int i = 0; i < tka::kInfoFields; i++) out[5 + i] = info.v[i];
  return DoubleArray(env, out, 5 + tka::kInfoFields);
}

void AddDiagnostics(Napi::Env env, Napi::Object exports) {
  napi_value tcp_info = nullptr;
  napi_value inspect = nullptr;
  if (!Ok(env, napi_create_function(env, "tcpInfo", NAPI_AUTO_LENGTH,
                                    TcpInfoOf, nullptr, &tcp_info)) ||
      !Ok(env, napi_create_function(env, "inspect", NAPI_AUTO_LENGTH,
                                    InspectSocket, nullptr, &inspect)) ||
      !Ok(env, napi_set_named_property(env, exports, "tcpInfo", tcp_info)))
    return;
  Ok(env, napi_set_named_property(env, exports, "inspect", inspect));
}

}  // namespace

NODE_API_MODULE(tcp_keepalive, Init)
