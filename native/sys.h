// The OS layer: plain C++ over the OS, the way socket2's sys/unix.rs is. It
// sees no JavaScript: addon.cc parses each call into the plain types below,
// hands over this environment's state, and turns a Failure into the thrown
// error. Each sys_<os>.cc knows one OS family and nothing of Node-API.
//
// Times cross this boundary in milliseconds; a file whose OS counts in
// seconds converts with ToOsUnits so every platform rounds alike.
//
// Adding a socket option is one entry per layer: an Option below (with its
// unit), a row in each sys_<os>.cc's option table, and its slot on the JS
// side (slot 1 + Option).
#ifndef TCP_KEEPALIVE_SYS_H_
#define TCP_KEEPALIVE_SYS_H_

#include <cstddef>
#include <cstdint>

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

// ---- The process inspector -------------------------------------------------

// Copies fd `fd` of process `pid` into this process and checks it is still
// the socket with inode `inode`: fd numbers are reused, so the number read
// from /proc may name another file by now. The copy must go back through
// ReleaseBorrowed. Linux 5.6+ (pidfd_getfd); elsewhere UV_ENOSYS.
bool BorrowSocket(int64_t pid, int64_t fd, uint64_t inode, Socket* out,
                  Failure* fail);
void ReleaseBorrowed(Socket s);

// ---- Linux-only facilities (sys_linux.cc) ----------------------------------
// Readers that exist on Linux alone and take no socket of this process: the
// inspector's view of another process's sockets through sock_diag (netlink
// INET_DIAG) belongs here. Declare them inside this block; addon.cc calls
// them under the same #if and reports UV_ENOSYS elsewhere.
#if defined(__linux__)
#endif

}  // namespace tka

#endif  // TCP_KEEPALIVE_SYS_H_
