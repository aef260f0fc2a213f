// N-API glue, on the C API: every status is checked, and nothing here can
// abort the process. node-addon-api's wrappers turn a failed throw into a
// fatal error, and a worker being terminated fails every call that would run
// JS (napi_pending_exception with nothing pending): Worker.terminate() during
// load or during a failing call must end the worker, not the process. So a
// failure here unwinds quietly and lets the environment go.
//
// Values cross in a Float64Array shared with JS (the `slots` export) rather
// than as call arguments: converting seven JS values per call cost about as
// much as one setsockopt, and building a result array for get() cost more
// than the five getsockopts it reports. Each thread (main or worker) loads
// its own instance with its own slots, and no call runs JS between writing
// and reading them, so sharing needs no locking.
//
// The TS layer validates first and names errors; this layer checks again
// whatever it is handed, because the binding is reachable on its own and a
// NaN reaching an integer cast is undefined behaviour.
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "sys.h"

namespace {

enum Slot { kVerify, kEnable, kIdle, kInterval, kCount, kUserTimeout, kSlots };

// The slot values that are not settings: set() reads kLeave, get() writes
// kUnknown (see sys.h).
constexpr double kLeaveSlot = static_cast<double>(tka::kLeave);
constexpr double kUnknownSlot = static_cast<double>(tka::kUnknown);

struct Instance {
  double* slots = nullptr;
  napi_ref keep = nullptr;  // the slots buffer outlives every call
  tka::Capabilities caps{};
  tka::EnvState* state = nullptr;
};

void DeleteInstance(napi_env env, void* data, void* /*hint*/) {
  auto* instance = static_cast<Instance*>(data);
  // At teardown a failed delete leaves nothing to recover: the environment's
  // references go with it.
  if (instance->keep != nullptr) napi_delete_reference(env, instance->keep);
  tka::DeleteEnvState(instance->state);
  delete instance;
}

// A throw that cannot happen (the environment is going away) is dropped: the
// caller returns at once and nothing of ours runs after it.
void Throw(napi_env env, const char* code, const char* message, bool range) {
  if (range)
    napi_throw_range_error(env, code, message);
  else
    napi_throw_type_error(env, code, message);
}

// An OS failure, thrown as a plain Error carrying the raw facts; the TS layer
// turns it into the public error (code name, message) so both layers cannot
// disagree.
void ThrowFailure(napi_env env, const tka::Failure& f) {
  if (f.code == tka::kBadTarget) {
    Throw(env, "ERR_INVALID_ARG_TYPE",
          "The target must be a socket file descriptor (Unix) or "
          "[localAddress, localPort, remoteAddress, remotePort] (Windows)",
          false);
    return;
  }
  napi_value message, error, code, syscall, option;
  if (napi_create_string_utf8(env, "tcp-keepalive native failure",
                              NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, nullptr, message, &error) != napi_ok ||
      napi_create_int32(env, f.code, &code) != napi_ok ||
      napi_create_string_utf8(env, f.syscall, NAPI_AUTO_LENGTH, &syscall) !=
          napi_ok ||
      napi_create_string_utf8(env, f.option, NAPI_AUTO_LENGTH, &option) !=
          napi_ok ||
      napi_set_named_property(env, error, "uvCode", code) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall) != napi_ok ||
      napi_set_named_property(env, error, "option", option) != napi_ok)
    return;
  napi_throw(env, error);
}

// The two per-socket calls read only their target; the instance comes in as
// the function's data. A missing argument reads as undefined, which Resolve
// refuses before any syscall.
bool Target(napi_env env, napi_callback_info info, napi_value* target,
            Instance** instance) {
  size_t argc = 1;
  void* data = nullptr;
  *target = nullptr;
  if (napi_get_cb_info(env, info, &argc, target, nullptr, &data) != napi_ok ||
      data == nullptr || *target == nullptr)
    return false;
  *instance = static_cast<Instance*>(data);
  return true;
}

// A slot holds kLeave or an integer in range. NaN fails both comparisons;
// once v is known to be within an int64 range the cast is defined, and a
// fraction does not survive the round trip.
bool ReadSlot(double v, const tka::Range& r, int64_t* out) {
  if (v == kLeaveSlot) {
    *out = tka::kLeave;
    return true;
  }
  if (!r.supported || !(v >= static_cast<double>(r.min)) ||
      !(v <= static_cast<double>(r.max)))
    return false;
  const int64_t i = static_cast<int64_t>(v);
  if (static_cast<double>(i) != v) return false;
  *out = i;
  return true;
}

// set(target): applies slots[kEnable..kUserTimeout]; kLeave = leave as is.
napi_value Set(napi_env env, napi_callback_info info) {
  napi_value target;
  Instance* instance;
  if (!Target(env, info, &target, &instance)) return nullptr;
  const double* in = instance->slots;
  const tka::Capabilities& caps = instance->caps;
  tka::Settings want;
  const double verify = in[kVerify];
  const double enable = in[kEnable];
  if (!(verify == 0 || verify == 1) ||
      !(enable == kLeaveSlot || enable == 0 || enable == 1)) {
    Throw(env, "ERR_OUT_OF_RANGE",
          "slots: verify must be 0 or 1, enable -1, 0 or 1", true);
    return nullptr;
  }
  want.enable = static_cast<int64_t>(enable);
  if (!ReadSlot(in[kIdle], caps.idle, &want.idle_ms) ||
      !ReadSlot(in[kInterval], caps.interval, &want.interval_ms) ||
      !ReadSlot(in[kCount], caps.count, &want.count) ||
      !ReadSlot(in[kUserTimeout], caps.user_timeout, &want.user_timeout_ms)) {
    Throw(env, "ERR_OUT_OF_RANGE",
          "slots: each value must be -1 (leave) or a supported integer within "
          "capabilities' range",
          true);
    return nullptr;
  }
  tka::Failure fail;
  tka::Socket s;
  if (!tka::Resolve(Napi::Env(env), Napi::Value(env, target), verify != 0, &s,
                    &fail) ||
      !tka::Apply(s, want, &fail))
    ThrowFailure(env, fail);
  return nullptr;
}

// get(target): writes what the kernel holds to slots[kEnable..kUserTimeout];
// kUnknown = the OS cannot say.
napi_value Get(napi_env env, napi_callback_info info) {
  napi_value target;
  Instance* instance;
  if (!Target(env, info, &target, &instance)) return nullptr;
  double* io = instance->slots;
  const double verify = io[kVerify];
  if (!(verify == 0 || verify == 1)) {
    Throw(env, "ERR_OUT_OF_RANGE", "slots: verify must be 0 or 1", true);
    return nullptr;
  }
  tka::Failure fail;
  tka::Socket s;
  tka::Settings have;
  have.enable = have.idle_ms = have.interval_ms = have.count =
      have.user_timeout_ms = tka::kUnknown;
  if (!tka::Resolve(Napi::Env(env), Napi::Value(env, target), verify != 0, &s,
                    &fail) ||
      !tka::Read(s, &have, &fail)) {
    ThrowFailure(env, fail);
    return nullptr;
  }
  const auto out = [](int64_t v) {
    return v < 0 ? kUnknownSlot : static_cast<double>(v);
  };
  io[kEnable] = out(have.enable);
  io[kIdle] = out(have.idle_ms);
  io[kInterval] = out(have.interval_ms);
  io[kCount] = out(have.count);
  io[kUserTimeout] = out(have.user_timeout_ms);
  return nullptr;
}

// Builds objects while every step succeeds; after the first failure the rest
// are skipped and ok stays false.
struct Builder {
  napi_env env;
  bool ok = true;

  napi_value Object() {
    napi_value o = nullptr;
    ok = ok && napi_create_object(env, &o) == napi_ok;
    return o;
  }
  napi_value String(const char* s) {
    napi_value v = nullptr;
    ok = ok && napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok;
    return v;
  }
  napi_value Number(double d) {
    napi_value v = nullptr;
    ok = ok && napi_create_double(env, d, &v) == napi_ok;
    return v;
  }
  napi_value Boolean(bool b) {
    napi_value v = nullptr;
    ok = ok && napi_get_boolean(env, b, &v) == napi_ok;
    return v;
  }
  napi_value Function(const char* name, napi_callback cb, void* data) {
    napi_value v = nullptr;
    ok = ok && napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data,
                                    &v) == napi_ok;
    return v;
  }
  void Set(napi_value o, const char* key, napi_value v) {
    ok = ok && napi_set_named_property(env, o, key, v) == napi_ok;
  }
  napi_value Range(const tka::Range& r) {
    napi_value o = Object();
    Set(o, "supported", Boolean(r.supported));
    Set(o, "min", Number(static_cast<double>(r.min)));
    Set(o, "max", Number(static_cast<double>(r.max)));
    return o;
  }
};

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
    ThrowFailure(env, fail);
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
    ThrowFailure(env, fail);
    return nullptr;
  }
  tka::Settings have;
  tka::TcpInfo info;
  const bool read = tka::Read(s, &have, &fail) && tka::ReadTcpInfo(s, &info, &fail);
  tka::ReleaseBorrowed(s);
  if (!read) {
    ThrowFailure(env, fail);
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


#ifdef __linux__
// ---- The process inspector's reader (diag_linux.cc) ----
// Thousands of sockets per call: they cross as flat typed arrays, one row of
// kDiagStride doubles and one of 32 address bytes per socket.
enum DiagField {
  kDiagInode, kDiagFamily, kDiagSport, kDiagDport, kDiagState, kDiagTimer,
  kDiagTimerMs, kDiagRetrans, kDiagClassid, kDiagUid, kDiagInfo,
  kDiagStride = kDiagInfo + tka::kInfoFields
};
enum TakeField {
  kTakeCode, kTakeEnable, kTakeIdle, kTakeInterval, kTakeCount,
  kTakeUserTimeout, kTakeNetns, kTakeHasSocket, kTakeStride
};

bool DoublesArg(napi_env env, napi_value v, const double** data, size_t* n) {
  bool is = false;
  napi_typedarray_type type;
  void* raw = nullptr;
  if (!Ok(env, napi_is_typedarray(env, v, &is))) return false;
  if (is && !Ok(env, napi_get_typedarray_info(env, v, &type, n, &raw, nullptr,
                                              nullptr)))
    return false;
  if (!is || type != napi_float64_array) {
    napi_throw_type_error(env, nullptr, "expected a Float64Array");
    return false;
  }
  *data = static_cast<const double*>(raw);
  return true;
}

bool StringArg(napi_env env, napi_value v, std::string* out) {
  size_t len = 0;
  if (!Ok(env, napi_get_value_string_utf8(env, v, nullptr, 0, &len))) return false;
  out->assign(len, '\0');
  return Ok(env, napi_get_value_string_utf8(env, v, &(*out)[0], len + 1, &len));
}

napi_value BytesArray(napi_env env, const std::vector<uint8_t>& bytes) {
  void* data = nullptr;
  napi_value buffer = nullptr, array = nullptr;
  if (!Ok(env, napi_create_arraybuffer(env, bytes.size(), &data, &buffer)) ||
      !Ok(env, napi_create_typedarray(env, napi_uint8_array, bytes.size(),
                                      buffer, 0, &array)))
    return nullptr;
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  return array;
}

napi_value Pair(napi_env env, napi_value a, napi_value b, napi_value c) {
  napi_value out = nullptr;
  if (a == nullptr || b == nullptr || !Ok(env, napi_create_array(env, &out)) ||
      !Ok(env, napi_set_element(env, out, 0, a)) ||
      !Ok(env, napi_set_element(env, out, 1, b)) ||
      (c != nullptr && !Ok(env, napi_set_element(env, out, 2, c))))
    return nullptr;
  return out;
}

void PutSocket(const tka::DiagSocket& d, double* row, uint8_t* addr) {
  row[kDiagInode] = static_cast<double>(d.inode);
  row[kDiagFamily] = d.family;
  row[kDiagSport] = d.sport;
  row[kDiagDport] = d.dport;
  row[kDiagState] = d.state;
  row[kDiagTimer] = d.timer;
  row[kDiagTimerMs] = static_cast<double>(d.timer_ms);
  row[kDiagRetrans] = d.retrans;
  row[kDiagClassid] = static_cast<double>(d.classid);
  row[kDiagUid] = static_cast<double>(d.uid);
  for (int i = 0; i < tka::kInfoFields; i++) row[kDiagInfo + i] = d.info.v[i];
  std::memcpy(addr, d.src, 16);
  std::memcpy(addr + 16, d.dst, 16);
}

// diag(netnsPath, wantedInodes sorted) -> [rows, addresses]
napi_value Diag(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value args[2] = {nullptr, nullptr};
  std::string netns;
  const double* wanted = nullptr;
  size_t n = 0;
  if (!Ok(env, napi_get_cb_info(env, cb, &argc, args, nullptr, nullptr)) ||
      !StringArg(env, args[0], &netns) || !DoublesArg(env, args[1], &wanted, &n))
    return nullptr;
  std::vector<uint64_t> inodes(n);
  for (size_t i = 0; i < n; i++)
    inodes[i] = wanted[i] >= 0 ? static_cast<uint64_t>(wanted[i]) : 0;
  std::sort(inodes.begin(), inodes.end());
  std::vector<tka::DiagSocket> found;
  tka::Failure fail;
  if (!tka::DiagTcp(netns.c_str(), inodes.data(), inodes.size(), &found, &fail)) {
    ThrowFailure(env, fail);
    return nullptr;
  }
  std::vector<double> rows(found.size() * kDiagStride);
  std::vector<uint8_t> addrs(found.size() * 32);
  for (size_t i = 0; i < found.size(); i++)
    PutSocket(found[i], &rows[i * kDiagStride], &addrs[i * 32]);
  return Pair(env, DoubleArray(env, rows.data(), rows.size()),
              BytesArray(env, addrs), nullptr);
}

// socketFds(pid) -> Float64Array [fd, inode]*
napi_value SocketFds(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value arg = nullptr;
  int64_t pid = 0;
  if (!Ok(env, napi_get_cb_info(env, cb, &argc, &arg, nullptr, nullptr)) ||
      !Ok(env, napi_get_value_int64(env, arg, &pid)))
    return nullptr;
  std::vector<std::pair<int64_t, uint64_t>> fds;
  tka::Failure fail;
  if (!tka::SocketFds(pid, &fds, &fail)) {
    ThrowFailure(env, fail);
    return nullptr;
  }
  std::vector<double> out(fds.size() * 2);
  for (size_t i = 0; i < fds.size(); i++) {
    out[i * 2] = static_cast<double>(fds[i].first);
    out[i * 2 + 1] = static_cast<double>(fds[i].second);
  }
  return DoubleArray(env, out.data(), out.size());
}

// socketKinds(pid, fds) -> Float64Array (see tka::SocketKinds)
napi_value SocketKinds(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value args[2] = {nullptr, nullptr};
  int64_t pid = 0;
  const double* fds = nullptr;
  size_t n = 0;
  if (!Ok(env, napi_get_cb_info(env, cb, &argc, args, nullptr, nullptr)) ||
      !Ok(env, napi_get_value_int64(env, args[0], &pid)) ||
      !DoublesArg(env, args[1], &fds, &n))
    return nullptr;
  std::vector<int64_t> list(n);
  for (size_t i = 0; i < n; i++) list[i] = static_cast<int64_t>(fds[i]);
  std::vector<int> kinds(n);
  tka::SocketKinds(pid, list.data(), n, kinds.data());
  std::vector<double> out(kinds.begin(), kinds.end());
  return DoubleArray(env, out.data(), n);
}

// take(pid, cgroup tasks files joined by '\n', [fd, inode, wantInfo]*)
//   -> [results (kTakeStride each), rows, addresses]
napi_value Take(napi_env env, napi_callback_info cb) {
  size_t argc = 3;
  napi_value args[3] = {nullptr, nullptr, nullptr};
  int64_t pid = 0;
  std::string joined;
  const double* flat = nullptr;
  size_t n = 0;
  if (!Ok(env, napi_get_cb_info(env, cb, &argc, args, nullptr, nullptr)) ||
      !Ok(env, napi_get_value_int64(env, args[0], &pid)) ||
      !StringArg(env, args[1], &joined) || !DoublesArg(env, args[2], &flat, &n))
    return nullptr;
  std::vector<std::string> join;
  for (size_t start = 0; start < joined.size();) {
    size_t end = joined.find('\n', start);
    if (end == std::string::npos) end = joined.size();
    if (end > start) join.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  std::vector<tka::TakeOrder> orders(n / 3);
  for (size_t i = 0; i < orders.size(); i++) {
    orders[i].fd = static_cast<int64_t>(flat[i * 3]);
    orders[i].inode = flat[i * 3 + 1] >= 0 ? static_cast<uint64_t>(flat[i * 3 + 1]) : 0;
    orders[i].want_info = flat[i * 3 + 2] != 0;
  }
  std::vector<tka::TakeResult> results;
  tka::Failure fail;
  if (!tka::TakeSockets(pid, join, orders, &results, &fail)) {
    ThrowFailure(env, fail);
    return nullptr;
  }
  std::vector<double> out(results.size() * kTakeStride);
  std::vector<double> rows(results.size() * kDiagStride, -1);
  std::vector<uint8_t> addrs(results.size() * 32);
  for (size_t i = 0; i < results.size(); i++) {
    const tka::TakeResult& r = results[i];
    double* o = &out[i * kTakeStride];
    o[kTakeCode] = r.code;
    o[kTakeEnable] = static_cast<double>(r.have.enable);
    o[kTakeIdle] = static_cast<double>(r.have.idle_ms);
    o[kTakeInterval] = static_cast<double>(r.have.interval_ms);
    o[kTakeCount] = static_cast<double>(r.have.count);
    o[kTakeUserTimeout] = static_cast<double>(r.have.user_timeout_ms);
    o[kTakeNetns] = static_cast<double>(r.netns);
    o[kTakeHasSocket] = r.has_socket ? 1 : 0;
    if (r.has_socket) PutSocket(r.socket, &rows[i * kDiagStride], &addrs[i * 32]);
  }
  return Pair(env, DoubleArray(env, out.data(), out.size()),
              DoubleArray(env, rows.data(), rows.size()), BytesArray(env, addrs));
}
#endif  // __linux__

napi_value Init(napi_env env, napi_value exports) {
  auto* instance = new (std::nothrow) Instance();
  if (instance == nullptr) return nullptr;
  instance->caps = tka::Probe();
  instance->state = tka::NewEnvState();
  // Owned by the environment from here on, whatever fails next.
  if (napi_set_instance_data(env, instance, DeleteInstance, nullptr) !=
      napi_ok) {
    tka::DeleteEnvState(instance->state);
    delete instance;
    return nullptr;
  }
  // An ArrayBuffer made here has an off-heap backing store whose address
  // never moves, so the pointer can be kept for the instance's life.
  void* data = nullptr;
  napi_value buffer, slots;
  if (napi_create_arraybuffer(env, kSlots * sizeof(double), &data, &buffer) !=
          napi_ok ||
      napi_create_typedarray(env, napi_float64_array, kSlots, buffer, 0,
                             &slots) != napi_ok ||
      napi_create_reference(env, slots, 1, &instance->keep) != napi_ok)
    return nullptr;
  instance->slots = static_cast<double*>(data);

  const tka::Capabilities& caps = instance->caps;
  Builder b{env};
  napi_value c = b.Object();
  b.Set(c, "platform", b.String(caps.platform));
  b.Set(c, "target", b.String(caps.target));
  b.Set(c, "idle", b.Range(caps.idle));
  b.Set(c, "interval", b.Range(caps.interval));
  b.Set(c, "count", b.Range(caps.count));
  b.Set(c, "userTimeout", b.Range(caps.user_timeout));
  b.Set(c, "userTimeoutOption", b.String(caps.user_timeout_option));
  b.Set(c, "dropTimeMax", b.Number(static_cast<double>(caps.drop_time_max)));
  b.Set(exports, "capabilities", c);
  b.Set(exports, "slots", slots);
  b.Set(exports, "set", b.Function("set", Set, instance));
  b.Set(exports, "get", b.Function("get", Get, instance));
  b.Set(exports, "tcpInfo", b.Function("tcpInfo", TcpInfoOf, nullptr));
  b.Set(exports, "inspect", b.Function("inspect", InspectSocket, nullptr));
#ifdef __linux__
  b.Set(exports, "diag", b.Function("diag", Diag, nullptr));
  b.Set(exports, "socketFds", b.Function("socketFds", SocketFds, nullptr));
  b.Set(exports, "socketKinds", b.Function("socketKinds", SocketKinds, nullptr));
  b.Set(exports, "take", b.Function("take", Take, nullptr));
#endif
  // A half-built exports object is refused by the JS loader (it checks the
  // shape), so a failure here needs no exception of its own.
  return b.ok ? exports : nullptr;
}

}  // namespace

namespace tka {

EnvState* EnvStateOf(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr)
    return nullptr;
  return static_cast<Instance*>(data)->state;
}

}  // namespace tka

NAPI_MODULE_INIT() { return Init(env, exports); }
