// Windows. Node exposes no SOCKET for TCP (handle.fd is -1), so Resolve finds
// the TCP handle of this thread's event loop with the socket's endpoints,
// through a cache kept per environment (main thread or worker: one loop each),
// so a repeated call costs the same with 10 or 10 000 handles.
#include "sys.h"

#include <mstcpip.h>
#include <uv.h>
#include <ws2tcpip.h>

#include <climits>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <new>
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

// ---- The option table: one row per Option, in sys.h's order ----
// Every option is a DWORD; times are whole seconds (TCP_MAXRTMS would take
// ms on newer Windows; TCP_MAXRT keeps one path, in seconds like every other
// time here, that Wine's runs also cover).
struct Row {
  int level;
  int name;
  const char* label;
  int64_t ms_per_unit;
};

constexpr Row kRows[] = {
    /* kEnable */ {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1},
    /* kIdle */ {IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 1000},
    /* kInterval */ {IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 1000},
    /* kCount */ {IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 1},
    /* kUserTimeout */ {IPPROTO_TCP, TCP_MAXRT, "TCP_MAXRT", 1000},
};
static_assert(sizeof kRows / sizeof kRows[0] == kOptions,
              "one row per Option");


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

bool GetDword(SOCKET s, int level, int option, const char* name, DWORD* out,
              Failure* fail) {
  DWORD v = 0;
  int len = sizeof v;
  if (getsockopt(s, level, option, reinterpret_cast<char*>(&v), &len) != 0) {
    *fail = OsFailure("getsockopt", name);
    return false;
  }
  *out = v;
  return true;
}

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

bool QueryTcpInfo(SOCKET s, TcpInfoV0* info) {
  DWORD version = 0;
  DWORD returned = 0;
  return WSAIoctl(s, kSioTcpInfo, &version, sizeof version, info, sizeof *info,
                  &returned, nullptr, nullptr) == 0;
}

// The running Windows' build number, from ntdll's RtlGetVersion: unlike
// GetVersionEx it is not capped by the executable's compatibility manifest
// (node.exe's), and it needs no socket. 0 where it cannot be read.
ULONG OsBuild() {
  using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return 0;
  // Through void(*)(): the generic function pointer type, so the cast from
  // FARPROC states intent instead of silencing -Wcast-function-type.
  const auto get = reinterpret_cast<RtlGetVersionFn>(
      reinterpret_cast<void (*)()>(GetProcAddress(ntdll, "RtlGetVersion")));
  OSVERSIONINFOW v{};
  v.dwOSVersionInfoSize = sizeof v;
  return get != nullptr && get(&v) == 0 ? v.dwBuildNumber : 0;
}

// Microsoft documents SIO_TCP_INFO with TCP_INFO_v0 from Windows 10 1703
// (build 15063). Before it the ioctl is unknown and fails with WSAEINVAL,
// which is also what a known ioctl gives on a socket that is not connected:
// so the build, not an error code, tells the two apart, and no connection is
// needed to ask.
constexpr ULONG kTcpInfoBuild = 15063;

// Whether getTcpInfo can work here: a build that has the ioctl, and a
// Winsock that does not refuse it outright. Asked on `s`, the load-time
// scratch socket, which is never connected: a provider that does not
// implement the ioctl (Wine 8 reports build 18362 but lacks it) says
// WSAEOPNOTSUPP whatever the socket's state; Windows itself answers an
// unconnected socket with WSAEINVAL or data, both meaning "known". Any
// failure after this answer is the socket's own.
bool TcpInfoWorks(SOCKET s) {
  if (OsBuild() < kTcpInfoBuild) return false;
  TcpInfoV0 info{};
  return QueryTcpInfo(s, &info) || WSAGetLastError() != WSAEOPNOTSUPP;
}

// What this Windows accepts, found once per process on a scratch socket.
// "set": setsockopt works; "get": getsockopt does (Wine has options it takes
// but cannot report).
struct Probed {
  Capabilities caps;
  bool can_set[kOptions] = {};
  bool can_get[kOptions] = {};
  // TCP_MAXRT on a fresh socket: what userTimeout: 0 ("the system's own
  // limit") writes back, and what reads back as 0. Microsoft documents -1 as
  // "retransmit forever", so -1 is never assumed to be the default.
  bool maxrt_default_known = false;
  DWORD maxrt_default = 0;
};

Probed Detect() {
  Probed p;
  Capabilities& caps = p.caps;
  caps.platform = "win32";
  // SIO_KEEPALIVE_VALS and the direct options take ULONG/DWORD; whole seconds.
  const Range seconds{true, 1, int64_t{ULONG_MAX / 1000} * 1000};
  caps.range[kEnable] = {true, 0, 1};
  caps.range[kIdle] = seconds;
  caps.range[kInterval] = seconds;
  caps.range[kCount] = {false, 1, 255};
  caps.range[kUserTimeout] = {false, 0, int64_t{INT_MAX}};
  caps.user_timeout_option = "TCP_MAXRT";
  p.can_set[kEnable] = p.can_get[kEnable] = true;
  // Options newer than the running Windows (or missing in Wine) are refused
  // on a scratch socket the same way they would be on a real one; asked once
  // here, so a refusal later is a real error.
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s == INVALID_SOCKET) return p;
  Failure ignored;
  DWORD v = 0;
  const auto can_get = [s, &v, &ignored](int o) {
    return GetDword(s, kRows[o].level, kRows[o].name, "", &v, &ignored);
  };
  // Read before anything is written to the socket.
  p.maxrt_default_known = can_get(kUserTimeout);
  p.maxrt_default = v;
  const bool timing = SetDword(s, IPPROTO_TCP, TCP_KEEPIDLE, "", 7200,
                               &ignored) &&
                      SetDword(s, IPPROTO_TCP, TCP_KEEPINTVL, "", 1, &ignored);
  p.can_set[kIdle] = p.can_set[kInterval] = timing;
  p.can_get[kIdle] = p.can_get[kInterval] =
      can_get(kIdle) && can_get(kInterval);
  p.can_set[kCount] = SetDword(s, IPPROTO_TCP, TCP_KEEPCNT, "", 10, &ignored);
  p.can_get[kCount] = can_get(kCount);
  // A positive value, as a user's would be.
  p.can_set[kUserTimeout] =
      SetDword(s, IPPROTO_TCP, TCP_MAXRT, "", 60, &ignored);
  p.can_get[kUserTimeout] = can_get(kUserTimeout);
  caps.tcp_info = TcpInfoWorks(s);
  caps.range[kCount].supported = p.can_set[kCount];
  // Where the default cannot be read, 0 cannot be honoured: refused by the
  // range rather than guessed.
  caps.range[kUserTimeout].supported = p.can_set[kUserTimeout];
  if (!p.maxrt_default_known) caps.range[kUserTimeout].min = 1;
  closesocket(s);
  return p;
}

const Probed& Detected() {
  static const Probed probed = Detect();
  return probed;
}

bool SetKeepaliveVals(SOCKET s, bool on, int64_t idle_ms, int64_t interval_ms,
                      Failure* fail) {
  if (idle_ms == kLeave) {
    *fail = {kNeedsIdle, "WSAIoctl", "SIO_KEEPALIVE_VALS"};
    return false;
  }
  tcp_keepalive vals{};
  vals.onoff = on ? 1 : 0;
  vals.keepalivetime = static_cast<ULONG>(ToOsUnits(idle_ms, 1000) * 1000);
  vals.keepaliveinterval =
      interval_ms == kLeave
          ? kDefaultIntervalMs
          : static_cast<ULONG>(ToOsUnits(interval_ms, 1000) * 1000);
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
  uv_loop_t* loop = nullptr;  // this environment's; only its handles match
  std::unordered_map<uv_handle_t*, Known> handles;
  std::unordered_map<Key, SOCKET, KeyHash> by_endpoints;
  uint64_t walk = 0;
};

EnvState* NewEnvState(uv_loop_s* loop) {
  EnvState* state = new (std::nothrow) EnvState();
  if (state != nullptr) state->loop = loop;
  return state;
}
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

// The target's endpoints as socket addresses, without any syscall; false
// when they are not addresses. uv_ip6_addr takes Node's "fe80::1%4".
bool ParseTarget(const Target& target, sockaddr_storage* local,
                 sockaddr_storage* remote) {
  for (int i = 0; i < 2; i++) {
    const Endpoint& e = i == 0 ? target.local : target.remote;
    sockaddr_storage* out = i == 0 ? local : remote;
    std::memset(out, 0, sizeof *out);
    if (uv_ip4_addr(e.address, e.port, reinterpret_cast<sockaddr_in*>(out)) !=
            0 &&
        uv_ip6_addr(e.address, e.port, reinterpret_cast<sockaddr_in6*>(out)) !=
            0)
      return false;
  }
  return true;
}

}  // namespace

const Capabilities& Probe() { return Detected().caps; }

// Only TCP handles can match, so verify needs nothing more here.
bool Resolve(EnvState* st, const Target& target, Socket* out, Failure* fail) {
  sockaddr_storage local, remote;
  if (!ParseTarget(target, &local, &remote)) {
    *fail = {kBadTarget, "", ""};
    return false;
  }
  if (st == nullptr || st->loop == nullptr) {
    *fail = {kNotFound, "uv_walk", ""};
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
    uv_walk(st->loop, Visit, &walk);
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
  const Probed& p = Detected();
  for (int o = 0; o < kOptions; o++) {
    if (want.v[o] == kLeave) continue;
    if ((o == kIdle || o == kInterval) && !p.can_set[o]) {
      // Before 10 1709: one ioctl sets both, at idle's turn.
      if (o == kInterval && want[kIdle] != kLeave) continue;
      if (!SetKeepaliveVals(s, want[kEnable] != 0, want[kIdle],
                            want[kInterval], fail))
        return false;
      continue;
    }
    const DWORD value =
        o == kUserTimeout && want.v[o] == 0
            ? p.maxrt_default
            : static_cast<DWORD>(ToOs(o, want.v[o], kRows[o].ms_per_unit));
    if (!SetDword(s, kRows[o].level, kRows[o].name, kRows[o].label, value,
                  fail))
      return false;
  }
  return true;
}

bool Read(Socket s, Settings* have, Failure* fail) {
  const Probed& p = Detected();
  for (int o = 0; o < kOptions; o++) {
    // Options this Windows cannot report read as unknown; one it can report
    // but fails to is an error like any other.
    have->v[o] = kUnknown;
    if (!p.can_get[o]) continue;
    DWORD v = 0;
    if (!GetDword(s, kRows[o].level, kRows[o].name, kRows[o].label, &v, fail))
      return false;
    // The system's own limit reads as 0, the value that asks for it.
    have->v[o] = o == kUserTimeout && p.maxrt_default_known &&
                         v == p.maxrt_default
                     ? 0
                     : FromOs(o, v, kRows[o].ms_per_unit);
  }
  return true;
}

}  // namespace tka

// ---- getTcpInfo: SIO_TCP_INFO (Windows 10 1703+) ----
namespace tka {
namespace {

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
  // Decided once at load: this Windows (before 10 1703, or Wine) does not
  // know the ioctl. Any failure past that is the socket's, reported as is.
  if (!Detected().caps.tcp_info) {
    *fail = {UV_ENOSYS, "WSAIoctl", "SIO_TCP_INFO"};
    return false;
  }
  TcpInfoV0 info{};
  if (!QueryTcpInfo(s, &info)) {
    *fail = OsFailure("WSAIoctl", "SIO_TCP_INFO");
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

}  // namespace tka
