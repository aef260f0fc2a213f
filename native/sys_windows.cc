// Windows. Node exposes no SOCKET for TCP (handle.fd is -1), so Resolve finds
// the TCP handle of this thread's event loop with the socket's endpoints,
// through a per-loop cache so a call costs the same with 10 or 10 000 handles.
#include "sys.h"

#include <mstcpip.h>
#include <uv.h>
#include <ws2tcpip.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <string>
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

// SIO_KEEPALIVE_VALS needs idle and interval together; when one is not given
// and Windows cannot report it, a fresh socket's value is the honest choice.
// (The JS layer passes every value it set earlier on this socket.)
constexpr DWORD kDefaultIdleMs = 2 * 60 * 60 * 1000;
constexpr DWORD kDefaultIntervalMs = 1000;

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

// Windows before 10 1709, and Wine, refuse some TCP-level options: that is
// "cannot tell", not an error.
bool Refused(int wsa) { return wsa == WSAENOPROTOOPT || wsa == WSAEINVAL; }

bool GetDword(SOCKET s, int level, int option, int64_t* out) {
  DWORD v = 0;
  int len = sizeof v;
  if (getsockopt(s, level, option, reinterpret_cast<char*>(&v), &len) != 0)
    return false;
  *out = v;
  return true;
}

bool SetKeepaliveVals(SOCKET s, int64_t idle_ms, int64_t interval_ms,
                      Failure* fail) {
  int64_t idle_s = kUnset, interval_s = kUnset;
  if (idle_ms == kUnset && GetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s))
    idle_ms = idle_s * 1000;
  if (interval_ms == kUnset &&
      GetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s))
    interval_ms = interval_s * 1000;
  tcp_keepalive vals{};
  vals.onoff = 1;
  vals.keepalivetime = idle_ms == kUnset
                           ? kDefaultIdleMs
                           : static_cast<ULONG>(RoundUpToSeconds(idle_ms) * 1000);
  vals.keepaliveinterval =
      interval_ms == kUnset
          ? kDefaultIntervalMs
          : static_cast<ULONG>(RoundUpToSeconds(interval_ms) * 1000);
  DWORD returned = 0;
  if (WSAIoctl(s, SIO_KEEPALIVE_VALS, &vals, sizeof vals, nullptr, 0,
               &returned, nullptr, nullptr) == 0)
    return true;
  *fail = OsFailure("WSAIoctl", "SIO_KEEPALIVE_VALS");
  return false;
}

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
         std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
}

bool ParseEndpoint(const std::string& ip, int port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  if (uv_ip4_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) == 0)
    return true;
  return uv_ip6_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in6*>(out)) ==
         0;
}

// What a walk learned about one TCP handle. Keyed by the handle's address;
// `socket` guards against a freed handle's memory being reused.
struct Known {
  SOCKET socket;
  sockaddr_storage local;
  sockaddr_storage remote;
};

// Per event loop (the main thread's, each worker's): the handles seen by the
// last walk and an index from endpoints to SOCKET. Only a lookup aid: every
// answer is re-checked against the kernel before use.
struct LoopCache {
  std::unordered_map<uv_handle_t*, Known> handles;
  std::unordered_map<std::string, SOCKET> by_endpoints;
};

std::mutex caches_mutex;
std::unordered_map<uv_loop_t*, LoopCache> caches;

std::string EndpointKey(const sockaddr_storage& local,
                        const sockaddr_storage& remote) {
  std::string key;
  for (const sockaddr_storage* a : {&local, &remote}) {
    if (a->ss_family == AF_INET) {
      const auto& v4 = reinterpret_cast<const sockaddr_in&>(*a);
      key.append(reinterpret_cast<const char*>(&v4.sin_port), 2);
      key.append(reinterpret_cast<const char*>(&v4.sin_addr), 4);
    } else {
      const auto& v6 = reinterpret_cast<const sockaddr_in6&>(*a);
      key.append(reinterpret_cast<const char*>(&v6.sin6_port), 2);
      key.append(reinterpret_cast<const char*>(&v6.sin6_addr), 16);
    }
  }
  return key;
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

struct Walk {
  const LoopCache* old;
  LoopCache fresh;
};

// Asks the kernel only about handles the previous walk did not know, so a
// socket's endpoints are read about once in its life, not once per call.
void Visit(uv_handle_t* handle, void* arg) {
  auto* walk = static_cast<Walk*>(arg);
  if (uv_handle_get_type(handle) != UV_TCP || uv_is_closing(handle)) return;
  uv_os_fd_t fd;
  if (uv_fileno(handle, &fd) != 0) return;
  const SOCKET s = reinterpret_cast<SOCKET>(fd);
  Known known;
  auto seen = walk->old->handles.find(handle);
  if (seen != walk->old->handles.end() && seen->second.socket == s) {
    known = seen->second;
  } else {
    known.socket = s;
    // Peer first: listening and unconnected handles fail it at once.
    int len = sizeof known.remote;
    if (getpeername(s, reinterpret_cast<sockaddr*>(&known.remote), &len) != 0)
      return;
    len = sizeof known.local;
    if (getsockname(s, reinterpret_cast<sockaddr*>(&known.local), &len) != 0)
      return;
  }
  walk->fresh.handles[handle] = known;
  walk->fresh.by_endpoints[EndpointKey(known.local, known.remote)] = s;
}

// A worker's loop dies with it; its cache must not outlive it (the address
// may be reused by the next loop).
void DropCache(void* loop) {
  std::lock_guard<std::mutex> lock(caches_mutex);
  caches.erase(static_cast<uv_loop_t*>(loop));
}

}  // namespace

Capabilities Probe() {
  Capabilities caps{};
  caps.platform = "win32";
  caps.target = "endpoints";
  // SIO_KEEPALIVE_VALS takes ULONG milliseconds; we hold whole seconds.
  const Range seconds{true, 1, int64_t{ULONG_MAX / 1000} * 1000};
  caps.idle = seconds;
  caps.interval = seconds;
  caps.count = {false, 1, 255};
  caps.user_timeout = {false, 1, int64_t{INT_MAX}};
  caps.user_timeout_option = "TCP_MAXRT";
  // Options newer than the running Windows (or missing in Wine) are refused
  // on a scratch socket the same way they would be on a real one.
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s != INVALID_SOCKET) {
    Failure ignored;
    caps.count.supported = SetDword(s, IPPROTO_TCP, TCP_KEEPCNT, "", 10,
                                    &ignored);
    caps.user_timeout.supported =
        SetDword(s, IPPROTO_TCP, TCP_MAXRT, "", 60, &ignored);
    closesocket(s);
  }
  return caps;
}

// Only TCP handles can match, so verify needs nothing more here.
bool Resolve(Napi::Env env, const Napi::Value& target, bool /*verify*/,
             Socket* out, Failure* fail) {
  Napi::Array parts = target.As<Napi::Array>();
  sockaddr_storage local, remote;
  if (!ParseEndpoint(parts.Get(0u).As<Napi::String>().Utf8Value(),
                     parts.Get(1u).As<Napi::Number>().Int32Value(),
                     &local) ||
      !ParseEndpoint(parts.Get(2u).As<Napi::String>().Utf8Value(),
                     parts.Get(3u).As<Napi::Number>().Int32Value(),
                     &remote)) {
    *fail = {kNotTcp, "uv_ip_addr", ""};
    return false;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    *fail = {kNotFound, "napi_get_uv_event_loop", ""};
    return false;
  }
  const std::string key = EndpointKey(local, remote);
  std::lock_guard<std::mutex> lock(caches_mutex);
  auto entry = caches.find(loop);
  if (entry == caches.end()) {
    entry = caches.emplace(loop, LoopCache()).first;
    napi_add_env_cleanup_hook(env, DropCache, loop);
  }
  LoopCache& cache = entry->second;
  // Seen before: two syscalls confirm it, whatever the number of handles.
  auto hit = cache.by_endpoints.find(key);
  if (hit != cache.by_endpoints.end() && HasEndpoints(hit->second, local, remote)) {
    *out = hit->second;
    return true;
  }
  // New socket (or a stale entry): one walk over the loop's handles, asking
  // the kernel only about handles not seen before.
  Walk walk{&cache, LoopCache()};
  uv_walk(loop, Visit, &walk);
  cache = std::move(walk.fresh);
  hit = cache.by_endpoints.find(key);
  if (hit == cache.by_endpoints.end() || !HasEndpoints(hit->second, local, remote)) {
    *fail = {kNotFound, "uv_walk", ""};
    return false;
  }
  *out = hit->second;
  return true;
}

bool Apply(Socket s, const Settings& want, Failure* fail) {
  if (want.idle_ms != kUnset || want.interval_ms != kUnset) {
    bool direct = true;
    if (want.idle_ms != kUnset &&
        !SetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE",
                  static_cast<DWORD>(RoundUpToSeconds(want.idle_ms)), fail))
      direct = false;
    if (direct && want.interval_ms != kUnset &&
        !SetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL",
                  static_cast<DWORD>(RoundUpToSeconds(want.interval_ms)), fail))
      direct = false;
    if (!direct) {
      if (!Refused(WSAGetLastError())) return false;
      if (!SetKeepaliveVals(s, want.idle_ms, want.interval_ms, fail))
        return false;
    }
  }
  if (want.count != kUnset &&
      !SetDword(s, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT",
                static_cast<DWORD>(want.count), fail))
    return false;
  if (want.user_timeout_ms != kUnset &&
      !SetDword(s, IPPROTO_TCP, TCP_MAXRT, "TCP_MAXRT",
                static_cast<DWORD>(RoundUpToSeconds(want.user_timeout_ms)),
                fail))
    return false;
  return want.enable == kUnset ||
         SetDword(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE",
                  static_cast<DWORD>(want.enable), fail);
}

bool Read(Socket s, Settings* have, Failure* fail) {
  int64_t enable = kUnset;
  if (!GetDword(s, SOL_SOCKET, SO_KEEPALIVE, &enable)) {
    *fail = OsFailure("getsockopt", "SO_KEEPALIVE");
    return false;
  }
  have->enable = enable != 0;
  int64_t v;
  if (GetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, &v)) have->idle_ms = v * 1000;
  if (GetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, &v)) have->interval_ms = v * 1000;
  if (GetDword(s, IPPROTO_TCP, TCP_KEEPCNT, &v)) have->count = v;
  if (GetDword(s, IPPROTO_TCP, TCP_MAXRT, &v)) have->user_timeout_ms = v * 1000;
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
