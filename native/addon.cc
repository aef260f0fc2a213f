// The glue between JavaScript and the OS layer (sys.h), and the only file
// that sees Node-API. It parses each call's arguments into sys.h's plain
// types, hands over this environment's state, calls the OS layer, and turns
// its answer into a result or an exception.
//
// One error discipline for every entry point (Call, below): each step either
// succeeds or leaves exactly one exception pending, and the entry point then
// returns at once. It is written on the C API that node-addon-api wraps,
// because the wrappers turn a failed throw into a fatal error, and a worker
// being terminated fails every call that would run JS (napi_pending_exception
// with nothing pending): Worker.terminate() during load or during a failing
// call must end the worker, not the process. So a throw that cannot happen
// is dropped, and nothing of ours runs after it.
//
// Values cross in a Float64Array shared with JS (the `slots` export) rather
// than as call arguments: converting seven JS values per call cost about as
// much as one setsockopt, and building a result array for get() cost more
// than the five getsockopts it reports. Slot 0 is verify, slot 1 + o holds
// tka::Option o. Each thread (main or worker) loads its own instance with its
// own slots, and no call runs JS between writing and reading them, so sharing
// needs no locking.
//
// The TS layer validates first and names errors; this layer checks again
// whatever it is handed, because the binding is reachable on its own and a
// NaN reaching an integer cast is undefined behaviour.
#include <napi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "sys.h"

namespace {

constexpr int kVerifySlot = 0;
constexpr int kSlots = 1 + tka::kOptions;
constexpr int SlotOf(int option) { return 1 + option; }

// The slot values that are not settings: set() reads kLeave, get() writes
// kUnknown (see sys.h).
constexpr double kLeaveSlot = static_cast<double>(tka::kLeave);
constexpr double kUnknownSlot = static_cast<double>(tka::kUnknown);

struct Instance {
  double* slots = nullptr;
  napi_ref keep = nullptr;  // the slots buffer outlives every call
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

// ---- The error discipline ----

class Call {
 public:
  // Reads up to kMaxArgs arguments (missing ones read as undefined) and the
  // instance every entry point is created with.
  Call(napi_env env, napi_callback_info info) : env_(env) {
    size_t argc = kMaxArgs;
    void* data = nullptr;
    ok_ = Check(napi_get_cb_info(env, info, &argc, args_, nullptr, &data));
    instance_ = static_cast<Instance*>(data);
    if (ok_ && instance_ == nullptr) ok_ = Check(napi_generic_failure);
  }

  bool ok() const { return ok_; }
  napi_env env() const { return env_; }
  napi_value arg(size_t i) const { return args_[i]; }
  Instance& instance() const { return *instance_; }

  // An N-API call failed. It may or may not have left an exception pending;
  // JS must see one either way, or it would read a result never written.
  bool Check(napi_status status) {
    if (status == napi_ok) return true;
    const napi_extended_error_info* info = nullptr;
    const char* message = "N-API call failed";
    if (napi_get_last_error_info(env_, &info) == napi_ok && info != nullptr &&
        info->error_message != nullptr)
      message = info->error_message;
    bool pending = false;
    if (napi_is_exception_pending(env_, &pending) == napi_ok && !pending)
      napi_throw_error(env_, nullptr, message);
    return false;
  }

  // The caller's input is refused, before any syscall.
  bool RefuseType(const char* message) {
    napi_throw_type_error(env_, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  bool RefuseRange(const char* message) {
    napi_throw_range_error(env_, "ERR_OUT_OF_RANGE", message);
    return false;
  }

  // The OS layer failed: a plain Error carrying the raw facts; the TS layer
  // turns it into the public error (code name, message) so both layers
  // cannot disagree.
  bool Fail(const tka::Failure& f) {
    if (f.code == tka::kBadTarget) return RefuseType(kTargetMessage);
    napi_value message, error, code, syscall, option;
    if (napi_create_string_utf8(env_, "tcp-keepalive native failure",
                                NAPI_AUTO_LENGTH, &message) != napi_ok ||
        napi_create_error(env_, nullptr, message, &error) != napi_ok ||
        napi_create_int32(env_, f.code, &code) != napi_ok ||
        napi_create_string_utf8(env_, f.syscall, NAPI_AUTO_LENGTH,
                                &syscall) != napi_ok ||
        napi_create_string_utf8(env_, f.option, NAPI_AUTO_LENGTH, &option) !=
            napi_ok ||
        napi_set_named_property(env_, error, "uvCode", code) != napi_ok ||
        napi_set_named_property(env_, error, "syscall", syscall) != napi_ok ||
        napi_set_named_property(env_, error, "option", option) != napi_ok)
      return false;
    napi_throw(env_, error);
    return false;
  }

  static constexpr const char* kTargetMessage =
      "The target must be a socket file descriptor (Unix) or "
      "[localAddress, localPort, remoteAddress, remotePort] (Windows)";

 private:
  static constexpr size_t kMaxArgs = 3;
  napi_env env_;
  napi_value args_[kMaxArgs] = {};
  Instance* instance_ = nullptr;
  bool ok_ = false;
};

// ---- Parsing into sys.h's plain types ----
// Each returns false with an exception pending.

bool TypeOf(Call& c, napi_value v, napi_valuetype* type) {
  return c.Check(napi_typeof(c.env(), v, type));
}

// An integer in [min, max]. NaN fails both comparisons; once d is known to be
// in range the cast is defined, and a fraction does not survive it.
bool Integer(Call& c, napi_value v, double min, double max, int64_t* out,
             const char* type_message) {
  napi_valuetype type;
  if (!TypeOf(c, v, &type)) return false;
  if (type != napi_number) return c.RefuseType(type_message);
  double d = 0;
  if (!c.Check(napi_get_value_double(c.env(), v, &d))) return false;
  if (!(d >= min) || !(d <= max) ||
      static_cast<double>(static_cast<int64_t>(d)) != d)
    return c.RefuseType(type_message);
  *out = static_cast<int64_t>(d);
  return true;
}

bool ParseEndpoint(Call& c, napi_value array, uint32_t at, tka::Endpoint* e) {
  napi_value address, port;
  napi_valuetype type;
  size_t length = 0;
  int64_t p = 0;
  if (!c.Check(napi_get_element(c.env(), array, at, &address)) ||
      !c.Check(napi_get_element(c.env(), array, at + 1, &port)) ||
      !TypeOf(c, address, &type))
    return false;
  if (type != napi_string) return c.RefuseType(Call::kTargetMessage);
  if (!c.Check(napi_get_value_string_utf8(c.env(), address, e->address,
                                          sizeof e->address, &length)))
    return false;
  // A longer string was cut to fit: no address of Node's is that long.
  if (length + 1 >= sizeof e->address)
    return c.RefuseType(Call::kTargetMessage);
  if (!Integer(c, port, 0, 65535, &p, Call::kTargetMessage)) return false;
  e->port = static_cast<uint16_t>(p);
  return true;
}

// What the platform takes (sys.h, TargetKind); the shape only, the OS layer
// checks the rest before any syscall.
bool ParseTarget(Call& c, napi_value v, bool verify, tka::Target* target) {
  target->verify = verify;
  if (tka::kTargetKind == tka::TargetKind::kFd) {
    int64_t fd = 0;
    if (!Integer(c, v, 0, INT_MAX, &fd, Call::kTargetMessage)) return false;
    target->fd = static_cast<int>(fd);
    return true;
  }
  bool array = false;
  uint32_t length = 0;
  if (!c.Check(napi_is_array(c.env(), v, &array))) return false;
  if (!array) return c.RefuseType(Call::kTargetMessage);
  if (!c.Check(napi_get_array_length(c.env(), v, &length))) return false;
  if (length != 4) return c.RefuseType(Call::kTargetMessage);
  return ParseEndpoint(c, v, 0, &target->local) &&
         ParseEndpoint(c, v, 2, &target->remote);
}

bool ParseVerify(Call& c, double v, bool* verify) {
  if (!(v == 0 || v == 1))
    return c.RefuseRange("slots: verify must be 0 or 1");
  *verify = v == 1;
  return true;
}

// A slot holds kLeave or an integer within the option's range.
bool ParseSlot(double v, const tka::Range& r, int64_t* out) {
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

bool Resolve(Call& c, const tka::Target& target, tka::Socket* s) {
  tka::Failure fail;
  return tka::Resolve(c.instance().state, target, s, &fail) || c.Fail(fail);
}

// ---- Entry points ----

// set(target): applies slots[1 + option] for each option; kLeave = leave.
napi_value Set(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  const double* in = c.instance().slots;
  const tka::Capabilities& caps = tka::Probe();
  tka::Settings want(tka::kLeave);
  tka::Target target;
  tka::Socket s;
  tka::Failure fail;
  bool verify = false;
  if (!ParseVerify(c, in[kVerifySlot], &verify)) return nullptr;
  for (int o = 0; o < tka::kOptions; o++)
    if (!ParseSlot(in[SlotOf(o)], caps.range[o], &want.v[o])) {
      c.RefuseRange(
          "slots: each value must be -1 (leave) or a supported integer "
          "within capabilities' range (enable: 0 or 1)");
      return nullptr;
    }
  if (!ParseTarget(c, c.arg(0), verify, &target) || !Resolve(c, target, &s))
    return nullptr;
  if (!tka::Apply(s, want, &fail)) c.Fail(fail);
  return nullptr;
}

// get(target): writes what the kernel holds to slots[1 + option]; kUnknown =
// the OS cannot say.
napi_value Get(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  double* io = c.instance().slots;
  tka::Settings have(tka::kUnknown);
  tka::Target target;
  tka::Socket s;
  tka::Failure fail;
  bool verify = false;
  if (!ParseVerify(c, io[kVerifySlot], &verify) ||
      !ParseTarget(c, c.arg(0), verify, &target) || !Resolve(c, target, &s))
    return nullptr;
  if (!tka::Read(s, &have, &fail)) {
    c.Fail(fail);
    return nullptr;
  }
  for (int o = 0; o < tka::kOptions; o++)
    io[SlotOf(o)] = have.v[o] < 0 ? kUnknownSlot
                                  : static_cast<double>(have.v[o]);
  return nullptr;
}

napi_value DoubleArray(Call& c, const double* values, size_t n) {
  void* data = nullptr;
  napi_value buffer = nullptr;
  napi_value array = nullptr;
  if (!c.Check(napi_create_arraybuffer(c.env(), n * sizeof(double), &data,
                                       &buffer)) ||
      !c.Check(napi_create_typedarray(c.env(), napi_float64_array, n, buffer,
                                      0, &array)))
    return nullptr;
  double* to = static_cast<double*>(data);
  for (size_t i = 0; i < n; i++) to[i] = values[i];
  return array;
}

// getTcpInfo is called a few times per connection at most, so plain
// arguments and a fresh result array.

// tcpInfo(target, verify): Float64Array in TcpInfoField order, -1 = unknown.
napi_value TcpInfoOf(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  napi_valuetype type;
  bool verify = true;
  tka::Target target;
  tka::Socket s;
  tka::TcpInfo result;
  tka::Failure fail;
  if (!TypeOf(c, c.arg(1), &type)) return nullptr;
  if (type != napi_boolean) {
    c.RefuseType("verify must be a boolean");
    return nullptr;
  }
  if (!c.Check(napi_get_value_bool(env, c.arg(1), &verify)) ||
      !ParseTarget(c, c.arg(0), verify, &target) || !Resolve(c, target, &s))
    return nullptr;
  if (!tka::ReadTcpInfo(s, &result, &fail)) {
    c.Fail(fail);
    return nullptr;
  }
  return DoubleArray(c, result.v, tka::kInfoFields);
}

// ---- The census: many sockets in one call ----
// connections() and the metrics read every listed socket each time: 10 000
// sockets through get() and tcpInfo() one by one spent about as long in the
// crossings and per-call JS as in the kernel. So the census hands over all
// targets at once and takes back one flat Float64Array, a row per target:
// the failure code (0: read), then get()'s values, then tcpInfo()'s fields.
enum ReadField {
  kReadCode, kReadOptions, kReadInfo = kReadOptions + tka::kOptions,
  kReadStride = kReadInfo + tka::kInfoFields
};

// One target: what it holds, or the code of the first failure.
void ReadOne(tka::EnvState* state, const tka::Target& target, bool with_info,
             double* row) {
  tka::Socket s;
  tka::Failure fail;
  tka::Settings have(tka::kUnknown);
  tka::TcpInfo info;
  if (!tka::Resolve(state, target, &s, &fail) || !tka::Read(s, &have, &fail) ||
      (with_info && !tka::ReadTcpInfo(s, &info, &fail))) {
    // A failure always carries a code; should one not, the row must still
    // not read as a success.
    row[kReadCode] = fail.code != 0 ? fail.code : tka::kNotFound;
    return;
  }
  row[kReadCode] = 0;
  for (int o = 0; o < tka::kOptions; o++)
    row[kReadOptions + o] =
        have.v[o] < 0 ? kUnknownSlot : static_cast<double>(have.v[o]);
  for (int i = 0; i < tka::kInfoFields; i++)
    row[kReadInfo + i] = with_info ? info.v[i] : -1;
}

// readMany(targets, verify, withInfo) -> Float64Array, kReadStride per
// target. verify: a Uint8Array, 1 where the target must be proven TCP first.
// A target of the wrong shape refuses the whole call before any syscall
// (the JS side built them); a socket the OS cannot read fails its own row
// only.
napi_value ReadMany(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  bool is_array = false, is_typed = false, with_info = false;
  uint32_t n = 0;
  size_t n_verify = 0;
  napi_typedarray_type type = napi_float64_array;
  void* raw = nullptr;
  napi_valuetype flag;
  if (!c.Check(napi_is_array(env, c.arg(0), &is_array))) return nullptr;
  if (!is_array) {
    c.RefuseType("targets must be an array");
    return nullptr;
  }
  if (!c.Check(napi_get_array_length(env, c.arg(0), &n)) ||
      !c.Check(napi_is_typedarray(env, c.arg(1), &is_typed)))
    return nullptr;
  if (is_typed && !c.Check(napi_get_typedarray_info(env, c.arg(1), &type,
                                                    &n_verify, &raw, nullptr,
                                                    nullptr)))
    return nullptr;
  if (!is_typed || type != napi_uint8_array || n_verify != n) {
    c.RefuseType("verify must be a Uint8Array, one entry per target");
    return nullptr;
  }
  if (!TypeOf(c, c.arg(2), &flag)) return nullptr;
  if (flag != napi_boolean) {
    c.RefuseType("withInfo must be a boolean");
    return nullptr;
  }
  if (!c.Check(napi_get_value_bool(env, c.arg(2), &with_info))) return nullptr;
  // Where the OS has no TCP_INFO every row would fail on it: read without.
  with_info = with_info && tka::Probe().tcp_info;
  // More than any process has descriptors; on a 32-bit build a longer list
  // could wrap the result's size.
  constexpr uint32_t kMaxTargets = 1u << 24;
  if (n > kMaxTargets) {
    c.RefuseRange("targets: at most 16777216 per call");
    return nullptr;
  }
  // Copied before reading the targets: reading an element may run a getter,
  // which could detach the array's buffer.
  const uint8_t* flags = static_cast<const uint8_t*>(raw);
  const std::vector<uint8_t> verify(flags, flags + n);
  // Every target parsed before the first syscall, as set() and get() do, and
  // before the result is allocated: a long array with a bad first element
  // costs nothing.
  std::vector<tka::Target> targets;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v = nullptr;
    targets.emplace_back();
    if (!c.Check(napi_get_element(env, c.arg(0), i, &v)) ||
        !ParseTarget(c, v, verify[i] != 0, &targets.back()))
      return nullptr;
  }
  void* data = nullptr;
  napi_value buffer = nullptr, out = nullptr;
  const size_t doubles = static_cast<size_t>(n) * kReadStride;
  if (!c.Check(napi_create_arraybuffer(env, doubles * sizeof(double), &data,
                                       &buffer)) ||
      !c.Check(napi_create_typedarray(env, napi_float64_array, doubles, buffer,
                                      0, &out)))
    return nullptr;
  double* rows = static_cast<double*>(data);
  for (uint32_t i = 0; i < n; i++)
    ReadOne(c.instance().state, targets[i], with_info, rows + i * kReadStride);
  return out;
}

#if defined(__linux__)
// ---- The process inspector's reader (sys.h, Linux-only facilities) ----
// Thousands of sockets per call: they cross as flat typed arrays, one row of
// kDiagStride doubles and 32 address bytes per socket (src/backend/inspect.ts
// reads the same layouts).
enum DiagField {
  kDiagInode, kDiagFamily, kDiagSport, kDiagDport, kDiagState, kDiagTimer,
  kDiagTimerMs, kDiagRetrans, kDiagClassid, kDiagUid, kDiagInfo,
  kDiagStride = kDiagInfo + tka::kInfoFields
};
// take(): per order, the code, one value per tka::Option, the netns inode and
// whether a socket row was filled.
enum TakeField {
  kTakeCode, kTakeOptions, kTakeNetns = kTakeOptions + tka::kOptions,
  kTakeHasSocket, kTakeHasInfo, kTakeStride
};

bool Doubles(Call& c, napi_value v, const double** data, size_t* n) {
  bool is = false;
  napi_typedarray_type type = napi_int8_array;
  void* raw = nullptr;
  if (!c.Check(napi_is_typedarray(c.env(), v, &is))) return false;
  if (is && !c.Check(napi_get_typedarray_info(c.env(), v, &type, n, &raw,
                                              nullptr, nullptr)))
    return false;
  if (!is || type != napi_float64_array)
    return c.RefuseType("expected a Float64Array");
  *data = static_cast<const double*>(raw);
  return true;
}

bool Text(Call& c, napi_value v, std::string* out) {
  napi_valuetype type;
  size_t len = 0;
  if (!TypeOf(c, v, &type)) return false;
  if (type != napi_string) return c.RefuseType("expected a string");
  if (!c.Check(napi_get_value_string_utf8(c.env(), v, nullptr, 0, &len)))
    return false;
  out->assign(len, '\0');
  return c.Check(
      napi_get_value_string_utf8(c.env(), v, &(*out)[0], len + 1, &len));
}

// A non-negative integer from a double: anything else (NaN, negative, a
// fraction, beyond 2^53) is refused before any cast.
bool Whole(Call& c, double d, double max, uint64_t* out) {
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d)))
    return c.RefuseRange("expected a whole number in range");
  *out = static_cast<uint64_t>(d);
  return true;
}

napi_value Bytes(Call& c, const std::vector<uint8_t>& bytes) {
  void* data = nullptr;
  napi_value buffer = nullptr, array = nullptr;
  if (!c.Check(napi_create_arraybuffer(c.env(), bytes.size(), &data, &buffer)) ||
      !c.Check(napi_create_typedarray(c.env(), napi_uint8_array, bytes.size(),
                                      buffer, 0, &array)))
    return nullptr;
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  return array;
}

napi_value List(Call& c, std::initializer_list<napi_value> items) {
  napi_value out = nullptr;
  if (!c.Check(napi_create_array(c.env(), &out))) return nullptr;
  uint32_t i = 0;
  for (napi_value v : items)
    if (v == nullptr || !c.Check(napi_set_element(c.env(), out, i++, v)))
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

// socketFds(pid) -> Float64Array [fd, inode]*
napi_value SocketFds(napi_env env, napi_callback_info info) {
  Call c(env, info);
  int64_t pid = 0;
  if (!c.ok() ||
      !Integer(c, c.arg(0), 1, INT_MAX, &pid, "pid must be a positive integer"))
    return nullptr;
  std::vector<std::pair<int64_t, uint64_t>> fds;
  tka::Failure fail;
  if (!tka::SocketFds(pid, &fds, &fail)) {
    c.Fail(fail);
    return nullptr;
  }
  std::vector<double> out(fds.size() * 2);
  for (size_t i = 0; i < fds.size(); i++) {
    out[i * 2] = static_cast<double>(fds[i].first);
    out[i * 2 + 1] = static_cast<double>(fds[i].second);
  }
  return DoubleArray(c, out.data(), out.size());
}

// socketKinds(pid, fds) -> Float64Array (see tka::SocketKinds)
napi_value SocketKinds(napi_env env, napi_callback_info info) {
  Call c(env, info);
  int64_t pid = 0;
  const double* fds = nullptr;
  size_t n = 0;
  if (!c.ok() ||
      !Integer(c, c.arg(0), 1, INT_MAX, &pid, "pid must be a positive integer") ||
      !Doubles(c, c.arg(1), &fds, &n))
    return nullptr;
  std::vector<int64_t> list(n);
  for (size_t i = 0; i < n; i++) {
    uint64_t fd = 0;
    if (!Whole(c, fds[i], INT_MAX, &fd)) return nullptr;
    list[i] = static_cast<int64_t>(fd);
  }
  std::vector<int> kinds(n);
  tka::SocketKinds(pid, list.data(), n, kinds.data());
  std::vector<double> out(kinds.begin(), kinds.end());
  return DoubleArray(c, out.data(), n);
}

// diag(netnsPath, inodes, withInfo) -> [rows, addresses]
napi_value Diag(napi_env env, napi_callback_info info) {
  Call c(env, info);
  std::string netns;
  const double* wanted = nullptr;
  size_t n = 0;
  bool with_info = false;
  napi_valuetype type;
  if (!c.ok() || !Text(c, c.arg(0), &netns) ||
      !Doubles(c, c.arg(1), &wanted, &n) || !TypeOf(c, c.arg(2), &type))
    return nullptr;
  if (type != napi_boolean) {
    c.RefuseType("withInfo must be a boolean");
    return nullptr;
  }
  if (!c.Check(napi_get_value_bool(env, c.arg(2), &with_info))) return nullptr;
  std::vector<uint64_t> inodes(n);
  for (size_t i = 0; i < n; i++)
    if (!Whole(c, wanted[i], 9007199254740991.0, &inodes[i])) return nullptr;
  std::sort(inodes.begin(), inodes.end());
  std::vector<tka::DiagSocket> found;
  tka::Failure fail;
  if (!tka::DiagTcp(netns.c_str(), inodes.data(), inodes.size(), with_info,
                    &found, &fail)) {
    c.Fail(fail);
    return nullptr;
  }
  std::vector<double> rows(found.size() * kDiagStride);
  std::vector<uint8_t> addrs(found.size() * 32);
  for (size_t i = 0; i < found.size(); i++)
    PutSocket(found[i], &rows[i * kDiagStride], &addrs[i * 32]);
  return List(c, {DoubleArray(c, rows.data(), rows.size()), Bytes(c, addrs)});
}

// take(pid, cgroup tasks files joined by '\n', [fd, inode, flags]*); flags:
// 1 want_info, 2 want_tcp_info
//   -> [results (kTakeStride each), rows, addresses]
napi_value Take(napi_env env, napi_callback_info info) {
  Call c(env, info);
  int64_t pid = 0;
  std::string joined;
  const double* flat = nullptr;
  size_t n = 0;
  if (!c.ok() ||
      !Integer(c, c.arg(0), 1, INT_MAX, &pid, "pid must be a positive integer") ||
      !Text(c, c.arg(1), &joined) || !Doubles(c, c.arg(2), &flat, &n))
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
    uint64_t fd = 0;
    if (!Whole(c, flat[i * 3], INT_MAX, &fd) ||
        !Whole(c, flat[i * 3 + 1], 9007199254740991.0, &orders[i].inode))
      return nullptr;
    orders[i].fd = static_cast<int64_t>(fd);
    const double flags = flat[i * 3 + 2];
    orders[i].want_info = flags == 1 || flags == 3;
    orders[i].want_tcp_info = flags == 2 || flags == 3;
  }
  std::vector<tka::TakeResult> results;
  tka::Failure fail;
  if (!tka::TakeSockets(pid, join, orders, &results, &fail)) {
    c.Fail(fail);
    return nullptr;
  }
  std::vector<double> out(results.size() * kTakeStride);
  std::vector<double> rows(results.size() * kDiagStride, -1);
  std::vector<uint8_t> addrs(results.size() * 32);
  for (size_t i = 0; i < results.size(); i++) {
    const tka::TakeResult& r = results[i];
    double* o = &out[i * kTakeStride];
    o[kTakeCode] = r.code;
    for (int k = 0; k < tka::kOptions; k++)
      o[kTakeOptions + k] = static_cast<double>(r.have.v[k]);
    o[kTakeNetns] = static_cast<double>(r.netns);
    o[kTakeHasSocket] = r.has_socket ? 1 : 0;
    o[kTakeHasInfo] = r.has_info ? 1 : 0;
    if (r.has_socket || r.has_info) PutSocket(r.socket, &rows[i * kDiagStride], &addrs[i * 32]);
  }
  return List(c, {DoubleArray(c, out.data(), out.size()),
                  DoubleArray(c, rows.data(), rows.size()), Bytes(c, addrs)});
}
#endif  // __linux__

// ---- Load ----

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

// Init runs in a fresh environment where no exception can be pending; a
// failure leaves a half-built exports object, which the JS loader refuses (it
// checks the shape), so it needs no exception of its own.
napi_value Init(napi_env env, napi_value exports) {
  auto* instance = new (std::nothrow) Instance();
  if (instance == nullptr) return nullptr;
  // Windows finds sockets among this environment's handles; without the loop
  // every lookup reports "not found" rather than walk another thread's.
  uv_loop_s* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) loop = nullptr;
  instance->state = tka::NewEnvState(loop);
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

  const tka::Capabilities& caps = tka::Probe();
  Builder b{env};
  napi_value c = b.Object();
  b.Set(c, "platform", b.String(caps.platform));
  b.Set(c, "target", b.String(tka::kTargetKind == tka::TargetKind::kFd
                                  ? "fd"
                                  : "endpoints"));
  for (int o = 0; o < tka::kOptions; o++)
    if (tka::kOptionInfo[o].name != nullptr)
      b.Set(c, tka::kOptionInfo[o].name, b.Range(caps.range[o]));
  b.Set(c, "userTimeoutOption", b.String(caps.user_timeout_option));
  b.Set(c, "dropTimeMax", b.Number(static_cast<double>(caps.drop_time_max)));
  b.Set(c, "tcpInfo", b.Boolean(caps.tcp_info));
  b.Set(exports, "capabilities", c);
  b.Set(exports, "slots", slots);
  b.Set(exports, "set", b.Function("set", Set, instance));
  b.Set(exports, "get", b.Function("get", Get, instance));
  b.Set(exports, "tcpInfo", b.Function("tcpInfo", TcpInfoOf, instance));
  b.Set(exports, "readMany", b.Function("readMany", ReadMany, instance));
#if defined(__linux__)
  b.Set(exports, "socketFds", b.Function("socketFds", SocketFds, instance));
  b.Set(exports, "socketKinds", b.Function("socketKinds", SocketKinds, instance));
  b.Set(exports, "diag", b.Function("diag", Diag, instance));
  b.Set(exports, "take", b.Function("take", Take, instance));
#endif
  return b.ok ? exports : nullptr;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
