// The OS layer: plain C++ over the OS, the way socket2's sys/unix.rs is. It
// sees no JavaScript: addon.cc parses each call into the plain types below,
// hands over this environment's state, and turns a Failure into the thrown
// error. Each sys_<os>.cc knows one OS family and nothing of Node-API.
//
// Times cross this boundary in milliseconds; a file whose OS counts in
// seconds converts with ToOsUnits (ToOs/FromOs for a whole option) so every
// platform rounds alike.
//
// Adding a socket option is one entry per layer: an Option below (with its
// unit), a row in each sys_<os>.cc's option table, and its slot on the JS
// side (slot 1 + Option).
#ifndef TCP_KEEPALIVE_SYS_H_
#define TCP_KEEPALIVE_SYS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#ifdef _WIN32
#include <winsock2.h>
#endif

struct uv_loop_s;  // libuv's loop, opaque here; only Windows walks it.

namespace tka {

#ifdef _WIN32
using Socket = SOCKET;
#else
using Socket = int;
#endif

// ---- Options ---------------------------------------------------------------

// In the order Apply writes them: SO_KEEPALIVE before the timings (XNU starts
// its per-socket idle timer only if keepalive is already on).
enum Option { kEnable, kIdle, kInterval, kCount, kUserTimeout, kOptions };

enum class Unit {
  kFlag,    // 0 or 1
  kMillis,  // a duration; the OS may count it in coarser units
  kNumber,  // a plain count
};

struct OptionInfo {
  const char* name;  // the key in the JS capabilities (nullptr: not listed)
  Unit unit;
};

inline constexpr OptionInfo kOptionInfo[] = {
    /* kEnable */ {nullptr, Unit::kFlag},
    /* kIdle */ {"idle", Unit::kMillis},
    /* kInterval */ {"interval", Unit::kMillis},
    /* kCount */ {"count", Unit::kNumber},
    /* kUserTimeout */ {"userTimeout", Unit::kMillis},
};
static_assert(sizeof kOptionInfo / sizeof kOptionInfo[0] == kOptions,
              "one OptionInfo per Option");

// Two sentinels, never confused: kLeave in a field given to Apply means "keep
// the socket's value"; kUnknown in a field filled by Read means "the OS cannot
// tell". Both are negative, so neither can be a real value.
constexpr int64_t kLeave = -1;
constexpr int64_t kUnknown = -2;

// One value per Option: milliseconds, counts, or 0/1.
struct Settings {
  int64_t v[kOptions];
  explicit Settings(int64_t fill) {
    for (int64_t& x : v) x = fill;
  }
  int64_t& operator[](Option o) { return v[o]; }
  int64_t operator[](Option o) const { return v[o]; }
};

// Milliseconds to an OS unit of ms_per_unit, rounded up: a positive value
// never becomes 0 s.
inline int64_t ToOsUnits(int64_t ms, int64_t ms_per_unit) {
  return (ms + ms_per_unit - 1) / ms_per_unit;
}

// Our value of option o (ms, count or flag) in the OS's unit, and back.
// ms_per_unit is the platform file's unit for o (1000 where its OS counts
// seconds); only a Unit::kMillis option uses it.
inline int64_t ToOs(int o, int64_t v, int64_t ms_per_unit) {
  return kOptionInfo[o].unit == Unit::kMillis ? ToOsUnits(v, ms_per_unit) : v;
}
inline int64_t FromOs(int o, int64_t v, int64_t ms_per_unit) {
  switch (kOptionInfo[o].unit) {
    case Unit::kFlag: return v != 0;
    case Unit::kMillis: return v * ms_per_unit;
    case Unit::kNumber: return v;
  }
  return v;
}

struct Range {
  bool supported = false;
  int64_t min = 0;
  int64_t max = 0;
};

// What this OS and this kernel accept, found once per process.
struct Capabilities {
  const char* platform = "";  // process.platform spelling
  Range range[kOptions];      // per Option; times in ms, after rounding
  const char* user_timeout_option = "";  // the OS option behind userTimeout
  // The largest idle + count * interval (ms) the kernel computes without
  // wrapping (macOS and FreeBSD add them into one unsigned 32-bit deadline);
  // 0 where the OS keeps separate timers and has no such bound.
  int64_t drop_time_max = 0;
  // getTcpInfo: whether this OS (and this version of it) has the call.
  bool tcp_info = false;
};

// Found once per process, on the first call (thread-safe); every environment
// gets the same answer.
const Capabilities& Probe();

// ---- Targets ---------------------------------------------------------------

// How JavaScript names a socket on this platform: Unix passes handle.fd;
// Windows, where Node exposes no SOCKET, passes the connection's endpoints.
enum class TargetKind { kFd, kEndpoints };
#ifdef _WIN32
constexpr TargetKind kTargetKind = TargetKind::kEndpoints;
#else
constexpr TargetKind kTargetKind = TargetKind::kFd;
#endif

struct Endpoint {
  char address[72] = {};  // as Node prints it, "fe80::1%4" included
  uint16_t port = 0;
};

// Parsed by addon.cc, checked for shape only; the OS layer checks the rest
// (a malformed address is kBadTarget) before any syscall.
struct Target {
  int fd = -1;                // kFd
  Endpoint local, remote;     // kEndpoints
  // The JS side could not prove the handle is TCP (e.g. TLS over a pipe), so
  // check the socket's type and family first.
  bool verify = true;
};

// Per-environment (main thread or worker) state the OS layer keeps between
// calls: Windows keeps its SOCKET lookup cache and its loop here. addon.cc
// creates one per environment and passes it to every call; nothing is shared
// between threads. May be nullptr where the OS needs none.
struct EnvState;
EnvState* NewEnvState(uv_loop_s* loop);
void DeleteEnvState(EnvState* state);

// ---- Failures --------------------------------------------------------------

// code is a libuv error code (negative, as Node's err.errno), so JS can name it
// with util.getSystemErrorName on every OS, or one of ours (positive):
enum FailureCode {
  kNotTcp = 1,            // a live socket, but not an IPv4/IPv6 stream socket
  kNotFound = 2,          // endpoints matched no TCP handle of this loop
  kDropTimeTooLong = 3,   // idle + count * interval > drop_time_max
  kBadTarget = 4,         // not what this platform takes (before any syscall)
  kNeedsIdle = 5,         // Windows before 10 1709: interval without idle
};

struct Failure {
  int code = 0;
  const char* syscall = "";
  const char* option = "";
};

// ---- Per-socket calls ------------------------------------------------------
// Each returns false and fills fail on the first OS error.

// Turns the target into the OS socket, at call time, never cached as an
// answer (Windows' cache is a hint, confirmed with the kernel).
bool Resolve(EnvState* state, const Target& target, Socket* out,
             Failure* fail);

// Applies the fields that are not kLeave; earlier fields may already be
// applied when a later one fails.
bool Apply(Socket s, const Settings& want, Failure* fail);

// Reads what the kernel holds; a field the OS cannot report is kUnknown.
bool Read(Socket s, Settings* have, Failure* fail);

// ---- Connection diagnostics (getTcpInfo) -----------------------------------

// One state numbering for every OS (RFC 793 order, as Windows' TCPSTATE);
// each platform file maps its own values to it and JS names them.
enum TcpState {
  kClosed, kListen, kSynSent, kSynReceived, kEstablished, kFinWait1,
  kFinWait2, kCloseWait, kClosing, kLastAck, kTimeWait
};

// Fields of TcpInfo::v, in the order the JS side reads them. Times in ms
// (rtt and rtt variance fractional), counts in segments, sizes in bytes.
enum TcpInfoField {
  kInfoState, kInfoRtt, kInfoRttVar, kInfoRto, kInfoMss, kInfoCwnd,
  kInfoUnacked, kInfoRetransmits, kInfoTotalRetransmits, kInfoProbes,
  kInfoLastDataSent, kInfoLastDataReceived, kInfoLastAckReceived,
  kInfoBytesSent, kInfoBytesReceived, kInfoBytesAcked, kInfoFields
};

// -1 in a field: this OS, or this kernel version, does not report it (or has
// no value for it right now, e.g. an RTO with nothing outstanding on macOS).
struct TcpInfo {
  double v[kInfoFields];
  TcpInfo() {
    for (double& x : v) x = -1;
  }
};

// TCP_INFO (Linux, FreeBSD), TCP_CONNECTION_INFO (macOS), SIO_TCP_INFO
// (Windows 10 1703+). Where Capabilities::tcp_info is false it fails with
// UV_ENOSYS before any syscall.
bool ReadTcpInfo(Socket s, TcpInfo* out, Failure* fail);

// ---- Linux-only facilities (sys_linux.cc) ----------------------------------
// The process inspector (sys_linux.cc): another process's sockets read
// through sock_diag (netlink INET_DIAG), and copies taken with pidfd_getfd
// only for the options sock_diag lacks. addon.cc calls these under the same
// #if; elsewhere its exports are absent and JS reports inspect unsupported.
#if defined(__linux__)
// One socket as sock_diag (or, for a taken socket, getsockname/getpeername)
// reports it. Addresses in network byte order, 4 or 16 bytes used.
struct DiagSocket {
  uint64_t inode = 0;
  int family = 0;  // 4 or 6
  uint8_t src[16] = {};
  uint8_t dst[16] = {};
  int sport = 0;
  int dport = 0;
  int state = -1;  // TcpState, -1 unknown
  // The pending timer: 0 none, 1 retransmit, 2 keepalive (or FIN_WAIT2),
  // 3 TIME_WAIT, 4 zero-window probe; -1 not read. timer_ms: until it fires.
  int timer = -1;
  int64_t timer_ms = -1;
  int retrans = -1;  // with timer 2: keepalive probes sent unanswered
  int64_t classid = -1;  // cgroup v1 net_cls classid (else sk_priority)
  int64_t uid = -1;
  TcpInfo info;
};

// The TCP sockets of the network namespace at netns_path ("": the caller's)
// whose inode is in `wanted` (sorted ascending; nullptr: all of them).
// with_info: also TCP_INFO (else DiagSocket::info stays unknown).
bool DiagTcp(const char* netns_path, const uint64_t* wanted, size_t n_wanted,
             bool with_info, std::vector<DiagSocket>* out, Failure* fail);

// The descriptors of process pid that are sockets, with each one's inode.
bool SocketFds(int64_t pid, std::vector<std::pair<int64_t, uint64_t>>* out,
               Failure* fail);

// For each descriptor of process pid: 4 (TCP over IPv4), 6 (TCPv6), 0 (another
// kind of socket) or a negative errno (closed meanwhile, not permitted).
void SocketKinds(int64_t pid, const int64_t* fds, size_t n, int* kinds);

struct TakeOrder {
  int64_t fd = -1;
  uint64_t inode = 0;
  bool want_info = false;  // also TCP_INFO, addresses and the netns
  bool want_tcp_info = false;  // also TCP_INFO
};
struct TakeResult {
  int code = 0;  // 0, kNotFound (fd reused), kNotTcp, or a negative errno
  const char* syscall = "";
  Settings have{kUnknown};
  bool has_socket = false;  // want_info and read: socket is filled
  bool has_info = false;    // socket.info was read
  DiagSocket socket;
  uint64_t netns = 0;  // inode of the socket's network namespace, 0 unknown
};

// Takes each ordered descriptor of process pid (pidfd_getfd), reads it and
// closes the copy, on a helper thread that first leaves this process's
// descriptor table and joins the cgroups whose `tasks` files are in `join`.
// False (fail filled) when the helper could not be set up, or when taking is
// refused for the whole process (EPERM, ESRCH); per-socket results otherwise.
bool TakeSockets(int64_t pid, const std::vector<std::string>& join,
                 const std::vector<TakeOrder>& orders,
                 std::vector<TakeResult>* results, Failure* fail);
#endif

}  // namespace tka


#endif  // TCP_KEEPALIVE_SYS_H_
