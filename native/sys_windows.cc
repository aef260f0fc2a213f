// Windows. Node exposes no SOCKET for TCP (handle.fd is -1), so Resolve finds
// the TCP handle of this thread's event loop with the socket's endpoints,
// through a cache kept per environment (main thread or worker: one loop each),
// so a repeated call costs the same with 10 or 10 000 handles.
#include "sys.h"

#include <mstcpip.h>
#include <uv.h>
#include <ws2tcpip.h>

#include <atomic>
#include <new>
#include <climits>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

// Older SDK headers lack the Windows 10 option numbers; the values are fixed
// by the Windows ABI.
#ifndef TCP_KEEPIDLE
#define TCP_KEEPIDLE 3
#endif
#ifndef TCP_KEEPCNT
#define TCP_KEEPCNT 16
#endif
#ifndef TCP_KEEPINTVL
#define TCP_KEEPINTVL 17
#endif
#ifndef TCP_MAXRT
#define TCP_MAXRT 5
#endif

namespace tka {
namespace {

// Before 10 1709 only SIO_KEEPALIVE_VALS sets idle and interval, and nothing
// reads them back. A fresh socket's interval is 1 s; its idle (2 h) is never
// guessed: an interval-only call there is refused (kNeedsIdle), as Go does,
// rather than clobber an idle set by someone else.
constexpr ULONG kDefaultIntervalMs = 1000;
// TCP_MAXRT holds this on a fresh socket, and setting it restores that:
// "the system's own retransmission limit", which userTimeout: 0 stands for.
// (TCP_MAXRTMS would take ms on newer Windows; TCP_MAXRT keeps one path, in
// whole seconds like every other time here, that Wine's runs also cover.)
constexpr DWORD kMaxRtDefault = 0xFFFFFFFF;

// What this Windows accepts, found once by Probe on a scratch socket (the same
// in every environment of the process). "set": setsockopt works; "get":
// getsockopt does (Wine has options it takes but cannot report).
struct Support {
  std::atomic<bool> timing_set{false}, timing_get{false};
  std::atomic<bool> count_set{false}, count_get{false};
  std::atomic<bool> maxrt_set{false}, maxrt_get{false};
};
Support support;

Failure OsFailure(const char* syscall, const char* option) {
  return {uv_translate_sys_error(WSAGetLastError()), syscall, option};
}

bool SetDword(SOCKET s, int level, int option, const char* name, DWORD value,
              Failure* fail) {
  if (setsockopt(s, level, option, reinterpret_cast<const char*>(&value),
                 sizeof value) == 0)
    return true;
  *fail = OsFailure("setsockopt", name);
  return false;
}

// Options this Windows cannot report read as unknown; one it can report but
// fails to is an error like any other.
bool GetDword(SOCKET s, int level, int option, const char* name, bool readable,
              int64_t* out, Failure* fail) {
  if (!readable) {
    *out = kUnknown;
    return true;
  }
  DWORD v = 0;
  int len = sizeof v;
  if (getsockopt(s, level, option, reinterpret_cast<char*>(&v), &len) != 0) {
    *fail = OsFailure("getsockopt", name);
    return false;
  }
  *out = v;
  return true;
}

bool SetKeepaliveVals(SOCKET s, bool on, int64_t idle_ms, int64_t interval_ms,
                      Failure* fail) {
  if (idle_ms == kLeave) {
    *fail = {kNeedsIdle, "WSAIoctl", "SIO_KEEPALIVE_VALS"};
    return false;
  }
  tcp_keepalive vals{};
  vals.onoff = on ? 1 : 0;
  vals.keepalivetime = static_cast<ULONG>(RoundUpToSeconds(idle_ms) * 1000);
  vals.keepaliveinterval =
      interval_ms == kLeave
          ? kDefaultIntervalMs
          : static_cast<ULONG>(RoundUpToSeconds(interval_ms) * 1000);
  DWORD returned = 0;
  if (WSAIoctl(s, SIO_KEEPALIVE_VALS, &vals, sizeof vals, nullptr, 0,
               &returned, nullptr, nullptr) == 0)
    return true;
  *fail = OsFailure("WSAIoctl", "SIO_KEEPALIVE_VALS");
  return false;
}

bool LinkLocal(const in6_addr& a) {
  return a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80;
}

// Node writes a link-local address with its scope id ("fe80::1%4") and any
// other without, so the scope id takes part exactly where Node shows it: two
// links may carry the same link-local pair.
bool SameEndpoint(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port &&
         std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0 &&
         (!LinkLocal(x.sin6_addr) || x.sin6_scope_id == y.sin6_scope_id);
}

// The lookup key: both endpoints' ports and addresses (and a link-local
// scope id), packed. Fixed size, so building one allocates nothing.
struct Key {
  char bytes[2 * (2 + 16 + 4)] = {};
  size_t size = 0;

  void Add(const sockaddr_storage& a) {
    const auto put = [this](const void* p, size_t n) {
      std::memcpy(bytes + size, p, n);
      size += n;
    };
    if (a.ss_family == AF_INET) {
      const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
      put(&v4.sin_port, 2);
      put(&v4.sin_addr, 4);
    } else {
      const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
      put(&v6.sin6_port, 2);
      put(&v6.sin6_addr, 16);
      const ULONG scope = LinkLocal(v6.sin6_addr) ? v6.sin6_scope_id : 0;
      put(&scope, 4);
    }
  }
  bool operator==(const Key& o) const {
    return size == o.size && std::memcmp(bytes, o.bytes, size) == 0;
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<std::string_view>()(std::string_view(k.bytes, k.size));
  }
};

Key KeyOf(const sockaddr_storage& local, const sockaddr_storage& remote) {
  Key k;
  k.Add(local);
  k.Add(remote);
  return k;
}

// A connection is identified by its two endpoints, so a SOCKET that has them
// now is the JS socket's connection, whatever handle or cache led to it.
bool HasEndpoints(SOCKET s, const sockaddr_storage& local,
                  const sockaddr_storage& remote) {
  sockaddr_storage addr;
  int len = sizeof addr;
  if (getpeername(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      !SameEndpoint(addr, remote))
    return false;
  len = sizeof addr;
  return getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
         SameEndpoint(addr, local);
}

// What the kernel said about one TCP handle when it was last asked.
struct Known {
  SOCKET socket;
  uint64_t walk;  // the last walk that saw the handle
};

}  // namespace

// One per environment. `handles` remembers which (handle, SOCKET) pairs were
// already asked about; `by_endpoints` answers a repeated call without a walk.
// Both are hints: every answer is confirmed with the kernel before use.
struct EnvState {
  std::unordered_map<uv_handle_t*, Known> handles;
  std::unordered_map<Key, SOCKET, KeyHash> by_endpoints;
  uint64_t walk = 0;
};

EnvState* NewEnvState() { return new (std::nothrow) EnvState(); }
void DeleteEnvState(EnvState* state) { delete state; }

namespace {

struct Walk {
  EnvState* state;
  const Key* want;
  bool ask_all;   // a second walk: ask the kernel about every handle
  size_t tcp = 0;  // TCP handles seen
  SOCKET found = INVALID_SOCKET;
};

// Records a handle's current endpoints; returns its key.
bool Ask(SOCKET s, Key* key) {
  sockaddr_storage local, remote;
  // Peer first: listening and unconnected handles fail it at once.
  int len = sizeof remote;
  if (getpeername(s, reinterpret_cast<sockaddr*>(&remote), &len) != 0)
    return false;
  len = sizeof local;
  if (getsockname(s, reinterpret_cast<sockaddr*>(&local), &len) != 0)
    return false;
  *key = KeyOf(local, remote);
  return true;
}

void Visit(uv_handle_t* handle, void* arg) {
  auto* walk = static_cast<Walk*>(arg);
  if (uv_handle_get_type(handle) != UV_TCP || uv_is_closing(handle)) return;
  uv_os_fd_t fd;
  if (uv_fileno(handle, &fd) != 0) return;
  const SOCKET s = reinterpret_cast<SOCKET>(fd);
  walk->tcp++;
  EnvState& st = *walk->state;
  auto seen = st.handles.find(handle);
  // A (handle, SOCKET) pair asked about before is skipped by the first walk:
  // both may have been recycled by a newer connection, which is why a miss
  // takes a second walk that skips nothing.
  const bool known = seen != st.handles.end() && seen->second.socket == s;
  if (known) seen->second.walk = st.walk;
  if (walk->found != INVALID_SOCKET || (known && !walk->ask_all)) return;
  Key key;
  if (!Ask(s, &key)) return;
  if (known)
    seen->second.walk = st.walk;
  else
    st.handles[handle] = Known{s, st.walk};
  st.by_endpoints[key] = s;
  if (key == *walk->want) walk->found = s;
}

// Closed handles leave entries behind; once they outnumber the live ones,
// drop every entry the last complete walk did not see.
void Prune(EnvState* st, size_t live) {
  if (st->handles.size() <= 2 * live + 64) return;
  for (auto it = st->handles.begin(); it != st->handles.end();)
    it = it->second.walk == st->walk ? std::next(it) : st->handles.erase(it);
  if (st->by_endpoints.size() > 2 * live + 64) st->by_endpoints.clear();
}

// Reads the JS target [localAddress, localPort, remoteAddress, remotePort]
// without any syscall; false when it is not exactly that.
bool ParseTarget(napi_env env, napi_value target, sockaddr_storage* local,
                 sockaddr_storage* remote) {
  bool array = false;
  uint32_t length = 0;
  if (napi_is_array(env, target, &array) != napi_ok || !array ||
      napi_get_array_length(env, target, &length) != napi_ok || length != 4)
    return false;
  for (uint32_t i = 0; i < 4; i += 2) {
    napi_value ip_value, port_value;
    char ip[72];
    size_t ip_len = 0;
    double port = 0;
    if (napi_get_element(env, target, i, &ip_value) != napi_ok ||
        napi_get_element(env, target, i + 1, &port_value) != napi_ok ||
        napi_get_value_string_utf8(env, ip_value, ip, sizeof ip, &ip_len) !=
            napi_ok ||
        ip_len + 1 >= sizeof ip ||
        napi_get_value_double(env, port_value, &port) != napi_ok ||
        !(port >= 0) || !(port <= 65535) || std::floor(port) != port)
      return false;
    sockaddr_storage* out = i == 0 ? local : remote;
    std::memset(out, 0, sizeof *out);
    const int p = static_cast<int>(port);
    if (uv_ip4_addr(ip, p, reinterpret_cast<sockaddr_in*>(out)) != 0 &&
        uv_ip6_addr(ip, p, reinterpret_cast<sockaddr_in6*>(out)) != 0)
      return false;
  }
  return true;
}

}  // namespace

Capabilities Probe() {
  Capabilities caps{};
  caps.platform = "win32";
  caps.target = "endpoints";
  // SIO_KEEPALIVE_VALS and the direct options take ULONG/DWORD; whole seconds.
  const Range seconds{true, 1, int64_t{ULONG_MAX / 1000} * 1000};
  caps.idle = seconds;
  caps.interval = seconds;
  caps.count = {false, 1, 255};
  // 0 restores the system's limit (TCP_MAXRT -1).
  caps.user_timeout = {false, 0, int64_t{INT_MAX}};
  caps.user_timeout_option = "TCP_MAXRT";
  caps.drop_time_max = 0;
  // Options newer than the running Windows (or missing in Wine) are refused
  // on a scratch socket the same way they would be on a real one; asked once
  // here, so a refusal later is a real error.
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s != INVALID_SOCKET) {
    Failure ignored;
    int64_t v;
    const auto can_get = [s, &v, &ignored](int option) {
      return GetDword(s, IPPROTO_TCP, option, "", true, &v, &ignored);
    };
    support.timing_set = SetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, "", 7200,
                                  &ignored) &&
                         SetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, "", 1,
                                  &ignored);
    support.timing_get = can_get(TCP_KEEPIDLE) && can_get(TCP_KEEPINTVL);
    support.count_set = SetDword(s, IPPROTO_TCP, TCP_KEEPCNT, "", 10, &ignored);
    support.count_get = can_get(TCP_KEEPCNT);
    // A positive value, as a user's would be: whether -1 is taken says
    // nothing about whether a timeout can be set.
    support.maxrt_set = SetDword(s, IPPROTO_TCP, TCP_MAXRT, "", 60, &ignored);
    support.maxrt_get = can_get(TCP_MAXRT);
    closesocket(s);
  }
  caps.count.supported = support.count_set;
  caps.user_timeout.supported = support.maxrt_set;
  return caps;
}

// Only TCP handles can match, so verify needs nothing more here.
bool Resolve(Napi::Env env, const Napi::Value& target, bool /*verify*/,
             Socket* out, Failure* fail) {
  sockaddr_storage local, remote;
  if (!ParseTarget(env, target, &local, &remote)) {
    *fail = {kBadTarget, "", ""};
    return false;
  }
  EnvState* st = EnvStateOf(env);
  uv_loop_t* loop = nullptr;
  if (st == nullptr || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      loop == nullptr) {
    *fail = {kNotFound, "napi_get_uv_event_loop", ""};
    return false;
  }
  const Key key = KeyOf(local, remote);
  // Seen before: two syscalls confirm it, whatever the number of handles.
  auto hit = st->by_endpoints.find(key);
  if (hit != st->by_endpoints.end() &&
      HasEndpoints(hit->second, local, remote)) {
    *out = hit->second;
    return true;
  }
  // New socket: one walk asking the kernel only about handles not asked
  // about before. Still missing (a recycled handle and SOCKET hid it): a walk
  // that asks about every handle. Only then is it not there.
  for (bool ask_all : {false, true}) {
    st->walk++;
    Walk walk{st, &key, ask_all};
    uv_walk(loop, Visit, &walk);
    if (walk.found != INVALID_SOCKET &&
        HasEndpoints(walk.found, local, remote)) {
      *out = walk.found;
      return true;
    }
    if (ask_all) Prune(st, walk.tcp);
  }
  *fail = {kNotFound, "uv_walk", ""};
  return false;
}

bool Apply(Socket s, const Settings& want, Failure* fail) {
  // SO_KEEPALIVE first, then the timings, as on every OS.
  if (want.enable != kLeave &&
      !SetDword(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE",
                static_cast<DWORD>(want.enable), fail))
    return false;
  if (want.idle_ms != kLeave || want.interval_ms != kLeave) {
    if (support.timing_set) {
      if (want.idle_ms != kLeave &&
          !SetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE",
                    static_cast<DWORD>(RoundUpToSeconds(want.idle_ms)), fail))
        return false;
      if (want.interval_ms != kLeave &&
          !SetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL",
                    static_cast<DWORD>(RoundUpToSeconds(want.interval_ms)),
                    fail))
        return false;
    } else if (!SetKeepaliveVals(s, want.enable != 0, want.idle_ms,
                                 want.interval_ms, fail)) {
      return false;
    }
  }
  if (want.count != kLeave &&
      !SetDword(s, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT",
                static_cast<DWORD>(want.count), fail))
    return false;
  if (want.user_timeout_ms != kLeave &&
      !SetDword(s, IPPROTO_TCP, TCP_MAXRT, "TCP_MAXRT",
                want.user_timeout_ms == 0
                    ? kMaxRtDefault
                    : static_cast<DWORD>(RoundUpToSeconds(want.user_timeout_ms)),
                fail))
    return false;
  return true;
}

bool Read(Socket s, Settings* have, Failure* fail) {
  int64_t enable, idle_s, interval_s, count, maxrt_s;
  const bool timing = support.timing_get;
  if (!GetDword(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", true, &enable,
                fail) ||
      !GetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", timing, &idle_s,
                fail) ||
      !GetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", timing,
                &interval_s, fail) ||
      !GetDword(s, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", support.count_get,
                &count, fail) ||
      !GetDword(s, IPPROTO_TCP, TCP_MAXRT, "TCP_MAXRT", support.maxrt_get,
                &maxrt_s, fail))
    return false;
  have->enable = enable != 0;
  have->idle_ms = idle_s == kUnknown ? kUnknown : idle_s * 1000;
  have->interval_ms = interval_s == kUnknown ? kUnknown : interval_s * 1000;
  have->count = count;
  // The system's own limit reads as 0, the value that asks for it.
  have->user_timeout_ms = maxrt_s == kUnknown ? kUnknown
                          : maxrt_s == kMaxRtDefault ? 0
                                                      : maxrt_s * 1000;
  return true;
}

}  // namespace tka

// ---- getTcpInfo: SIO_TCP_INFO (Windows 10 1703+) ----
#include <cstddef>

namespace tka {
namespace {

// Declared here because headers that target a Windows older than 10 1703
// hide them; the ioctl code and the version-0 layout are fixed by the
// Windows ABI (mstcpip.h).
struct TcpInfoV0 {
  int State;  // TCPSTATE
  ULONG Mss;
  ULONG64 ConnectionTimeMs;
  BOOLEAN TimestampsEnabled;
  ULONG RttUs;
  ULONG MinRttUs;
  ULONG BytesInFlight;
  ULONG Cwnd;
  ULONG SndWnd;
  ULONG RcvWnd;
  ULONG RcvBuf;
  ULONG64 BytesOut;
  ULONG64 BytesIn;
  ULONG BytesReordered;
  ULONG BytesRetrans;
  ULONG FastRetrans;
  ULONG DupAcksIn;
  ULONG TimeoutEpisodes;
  UCHAR SynRetrans;
};
constexpr DWORD kSioTcpInfo = _WSAIORW(IOC_VENDOR, 39);
#if defined(SIO_TCP_INFO)
// Where the SDK does declare them, both must agree with ours.
static_assert(kSioTcpInfo == SIO_TCP_INFO, "SIO_TCP_INFO");
static_assert(sizeof(TcpInfoV0) == sizeof(TCP_INFO_v0), "TCP_INFO_v0 size");
#define TKA_SAME(f) \
  static_assert(offsetof(TcpInfoV0, f) == offsetof(TCP_INFO_v0, f), #f)
TKA_SAME(State);
TKA_SAME(Mss);
TKA_SAME(RttUs);
TKA_SAME(BytesInFlight);
TKA_SAME(Cwnd);
TKA_SAME(BytesOut);
TKA_SAME(BytesIn);
#undef TKA_SAME
#endif

// Windows counts in bytes where Linux counts segments; report segments.
double Segments(ULONG bytes, ULONG mss) {
  return mss == 0 ? -1 : static_cast<double>((bytes + mss - 1) / mss);
}

}  // namespace

bool ReadTcpInfo(Socket s, TcpInfo* out, Failure* fail) {
  DWORD version = 0;
  TcpInfoV0 info{};
  DWORD returned = 0;
  if (WSAIoctl(s, kSioTcpInfo, &version, sizeof version, &info, sizeof info,
               &returned, nullptr, nullptr) != 0) {
    const int wsa = WSAGetLastError();
    // Windows before 10 1703 (and Wine) do not know the ioctl: that is an
    // OS without TCP_INFO, not a failing socket.
    *fail = {wsa == WSAEOPNOTSUPP || wsa == WSAEINVAL
                 ? UV_ENOSYS
                 : uv_translate_sys_error(wsa),
             "WSAIoctl", "SIO_TCP_INFO"};
    return false;
  }
  double* v = out->v;
  // TCPSTATE is in the shared order.
  if (info.State >= 0 && info.State <= kTimeWait) v[kInfoState] = info.State;
  v[kInfoMss] = info.Mss;
  v[kInfoRtt] = info.RttUs / 1000.0;
  v[kInfoCwnd] = Segments(info.Cwnd, info.Mss);
  v[kInfoUnacked] = Segments(info.BytesInFlight, info.Mss);
  v[kInfoBytesSent] = static_cast<double>(info.BytesOut);
  v[kInfoBytesReceived] = static_cast<double>(info.BytesIn);
  return true;
}

bool BorrowSocket(int64_t, int64_t, uint64_t, Socket*, Failure* fail) {
  *fail = {UV_ENOSYS, "pidfd_getfd", ""};
  return false;
}

void ReleaseBorrowed(Socket) {}

}  // namespace tka
