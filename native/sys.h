// The whole platform surface of the addon. addon.cc speaks N-API and knows no
// OS; each sys_<os>.cc knows one OS family and no JavaScript beyond finding a
// socket. Times cross this boundary in milliseconds; a file whose OS counts
// in seconds converts with RoundUpToSeconds so every platform rounds alike.
#ifndef TCP_KEEPALIVE_SYS_H_
#define TCP_KEEPALIVE_SYS_H_

#include <napi.h>

#include <cstdint>

#ifdef _WIN32
#include <winsock2.h>
#endif

namespace tka {

#ifdef _WIN32
using Socket = SOCKET;
#else
using Socket = int;
#endif

// Two sentinels, never confused: kLeave in a field given to Apply means "keep
// the socket's value"; kUnknown in a field filled by Read means "the OS cannot
// tell". Both are negative, so neither can be a real value.
constexpr int64_t kLeave = -1;
constexpr int64_t kUnknown = -2;

struct Settings {
  int64_t enable = kLeave;  // 0 or 1
  int64_t idle_ms = kLeave;
  int64_t interval_ms = kLeave;
  int64_t count = kLeave;
  int64_t user_timeout_ms = kLeave;
};

struct Range {
  bool supported = false;
  int64_t min = 0;
  int64_t max = 0;
};

struct Capabilities {
  const char* platform;  // process.platform spelling
  const char* target;    // "fd": JS passes handle.fd; "endpoints": JS passes
                         // [localAddress, localPort, remoteAddress, remotePort]
  Range idle, interval, count, user_timeout;  // times in ms, after rounding
  const char* user_timeout_option;            // OS option behind userTimeout
  // The largest idle + count * interval (ms) the kernel computes without
  // wrapping (macOS and FreeBSD add them into one unsigned 32-bit deadline);
  // 0 where the OS keeps separate timers and has no such bound.
  int64_t drop_time_max;
};

// code is a libuv error code (negative, as Node's err.errno), so JS can name it
// with util.getSystemErrorName on every OS. kNotTcp is ours: the target is a
// live socket but not an IPv4/IPv6 stream socket.
constexpr int kNotTcp = 1;
constexpr int kNotFound = 2;  // endpoints matched no TCP handle of this loop
// idle + count * interval (given or, for the ones not given, the socket's
// current values) exceeds Capabilities::drop_time_max.
constexpr int kDropTimeTooLong = 3;
// The target is not what this platform takes (checked before any syscall).
constexpr int kBadTarget = 4;
// Windows before 10 1709: interval alone would need the socket's idle, which
// that Windows cannot report.
constexpr int kNeedsIdle = 5;

struct Failure {
  int code = 0;
  const char* syscall = "";
  const char* option = "";
};

// Seconds-based OSes: a positive millisecond value never becomes 0 s.
inline int64_t RoundUpToSeconds(int64_t ms) { return (ms + 999) / 1000; }

// Per-environment (main thread or worker) state a platform file keeps between
// calls; Windows keeps its SOCKET lookup cache here. Created with the addon's
// instance data and deleted with it, so nothing is shared between threads.
struct EnvState;
EnvState* NewEnvState();
void DeleteEnvState(EnvState* state);
// Defined by addon.cc: this environment's state (nullptr if it has none).
EnvState* EnvStateOf(napi_env env);

// Detected once per process at load; must be cheap and side-effect free.
Capabilities Probe();

// Turns the JS-side target into the OS socket, at call time, never cached.
// The target's shape is checked before any syscall (kBadTarget).
// verify: the JS side could not prove the handle is TCP (e.g. TLS over a
// pipe), so check the socket's type and family first.
bool Resolve(Napi::Env env, const Napi::Value& target, bool verify,
             Socket* out, Failure* fail);

// Applies the fields that are not kLeave. Returns false and fills fail on the
// first OS error; earlier fields may already be applied.
bool Apply(Socket s, const Settings& want, Failure* fail);

// Reads what the kernel holds; a field the OS cannot report is kUnknown.
bool Read(Socket s, Settings* have, Failure* fail);

}  // namespace tka

// ---- Connection diagnostics (getTcpInfo) and the process inspector ----
namespace tka {

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

// -1 in a field: this OS, or this kernel version, does not report it.
struct TcpInfo {
  double v[kInfoFields];
  TcpInfo() {
    for (double& x : v) x = -1;
  }
};

// TCP_INFO (Linux), TCP_CONNECTION_INFO (macOS), SIO_TCP_INFO (Windows).
// An OS without it fails with UV_ENOSYS.
bool ReadTcpInfo(Socket s, TcpInfo* out, Failure* fail);

// Copies fd `fd` of process `pid` into this process (pidfd_getfd, Linux 5.6+)
// and checks it is still the socket with inode `inode`: fd numbers are reused,
// so the number read from /proc may name another file by now. The copy must
// go back through ReleaseBorrowed. Other OSes fail with UV_ENOSYS.
bool BorrowSocket(int64_t pid, int64_t fd, uint64_t inode, Socket* out,
                  Failure* fail);
void ReleaseBorrowed(Socket s);

}  // namespace tka


// ---- The process inspector's reader (Linux; diag_linux.cc) ----
#include <string>
#include <utility>
#include <vector>
#ifdef __linux__
struct tcp_info;
#endif

namespace tka {

#ifdef __linux__
// TCP_INFO's struct as the kernel filled its first `len` bytes, in ours.
void FillTcpInfo(const ::tcp_info& ti, size_t len, TcpInfo* out);
#endif

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
bool DiagTcp(const char* netns_path, const uint64_t* wanted, size_t n_wanted,
             std::vector<DiagSocket>* out, Failure* fail);

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
};
struct TakeResult {
  int code = 0;  // 0, kNotFound (fd reused), kNotTcp, or a negative errno
  const char* syscall = "";
  Settings have;
  bool has_socket = false;  // want_info and read: socket is filled
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

}  // namespace tka

#endif  // TCP_KEEPALIVE_SYS_H_
