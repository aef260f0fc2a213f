// Windows. Node exposes no SOCKET for TCP (handle.fd is -1), so Resolve walks
// this thread's event loop for the TCP handle with the socket's endpoints.
#include "sys.h"

#include <mstcpip.h>
#include <uv.h>
#include <ws2tcpip.h>

#include <climits>
#include <cstring>

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

struct Search {
  sockaddr_storage local;
  sockaddr_storage remote;
  SOCKET found;
};

void Visit(uv_handle_t* handle, void* arg) {
  auto* search = static_cast<Search*>(arg);
  if (search->found != INVALID_SOCKET ||
      uv_handle_get_type(handle) != UV_TCP || uv_is_closing(handle))
    return;
  auto* tcp = reinterpret_cast<uv_tcp_t*>(handle);
  sockaddr_storage addr;
  // Peer first: listening and unconnected handles fail it at once.
  int len = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      !SameEndpoint(addr, search->remote))
    return;
  len = sizeof addr;
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      !SameEndpoint(addr, search->local))
    return;
  uv_os_fd_t fd;
  if (uv_fileno(handle, &fd) == 0) search->found = reinterpret_cast<SOCKET>(fd);
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
  Search search;
  search.found = INVALID_SOCKET;
  if (!ParseEndpoint(parts.Get(0u).As<Napi::String>().Utf8Value(),
                     parts.Get(1u).As<Napi::Number>().Int32Value(),
                     &search.local) ||
      !ParseEndpoint(parts.Get(2u).As<Napi::String>().Utf8Value(),
                     parts.Get(3u).As<Napi::Number>().Int32Value(),
                     &search.remote)) {
    *fail = {kNotTcp, "uv_ip_addr", ""};
    return false;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    *fail = {kNotFound, "napi_get_uv_event_loop", ""};
    return false;
  }
  uv_walk(loop, Visit, &search);
  if (search.found == INVALID_SOCKET) {
    *fail = {kNotFound, "uv_walk", ""};
    return false;
  }
  *out = search.found;
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
