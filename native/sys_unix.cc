// Linux, FreeBSD and macOS share one body; the OS differences are the option
// names and ranges below, chosen at compile time (the socket2 way).
#include "sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__FreeBSD__)
#include <sys/sysctl.h>
#endif

#include <atomic>
#include <climits>

namespace tka {
namespace {

#if defined(__APPLE__)
// Apple spells the idle time TCP_KEEPALIVE; it is the same seconds value.
constexpr int kIdleOption = TCP_KEEPALIVE;
constexpr const char* kIdleName = "TCP_KEEPALIVE";
#elif defined(TCP_KEEPIDLE)
constexpr int kIdleOption = TCP_KEEPIDLE;
constexpr const char* kIdleName = "TCP_KEEPIDLE";
#else
// OpenBSD and others without per-socket keepalive timing: every option
// reports unsupported (Probe), and Apply is never handed one.
constexpr int kIdleOption = -1;
constexpr const char* kIdleName = "TCP_KEEPIDLE";
#endif
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
constexpr int kIntervalOption = TCP_KEEPINTVL;
constexpr int kCountOption = TCP_KEEPCNT;
#else
constexpr int kIntervalOption = -1;
constexpr int kCountOption = -1;
#endif

#if defined(__linux__)
// The kernel rejects idle/interval above MAX_TCP_KEEPIDLE/KEEPINTVL (32767 s)
// and count above MAX_TCP_KEEPCNT (127). Idle, then count probes interval
// apart, run on separate timers (tcp_keepalive_timer re-arms with the
// interval and counts probes_out), so no sum of them is ever formed: Linux
// has no drop-time bound.
constexpr int64_t kMaxSeconds = 32767;
constexpr int64_t kMaxCount = 127;
#else
// BSD kernels store seconds * hz (XNU: seconds * 1000) in an int.
constexpr int64_t kMaxSeconds = INT_MAX / 1000;
constexpr int64_t kMaxCount = INT_MAX;
#endif

#if defined(__APPLE__) || defined(__FreeBSD__)
// Both decide a keepalive drop with one unsigned 32-bit deadline, idle +
// count * interval: XNU in milliseconds (tcp_timer.c, TCP_CONN_KEEPIDLE +
// TCP_CONN_MAXIDLE), FreeBSD in ticks (TP_KEEPIDLE + TP_MAXIDLE). A larger
// sum wraps and drops the connection early, so Apply refuses it.
constexpr bool kHasDropTime = true;
#else
constexpr bool kHasDropTime = false;
#endif

#if defined(TCP_USER_TIMEOUT)
// Linux: milliseconds; 0 restores the kernel's default behaviour.
constexpr bool kHasUserTimeout = true;
constexpr int kUserTimeoutOption = TCP_USER_TIMEOUT;
constexpr const char* kUserTimeoutName = "TCP_USER_TIMEOUT";
constexpr bool kUserTimeoutInSeconds = false;
#elif defined(TCP_RXT_CONNDROPTIME)
// macOS: seconds a connection may spend retransmitting before it is dropped.
// Unlike Linux it does not also cover unanswered keepalive probes.
constexpr bool kHasUserTimeout = true;
constexpr int kUserTimeoutOption = TCP_RXT_CONNDROPTIME;
constexpr const char* kUserTimeoutName = "TCP_RXT_CONNDROPTIME";
constexpr bool kUserTimeoutInSeconds = true;
#elif defined(__FreeBSD__)
// FreeBSD 14+: seconds data may stay unacknowledged, enforced by both the
// retransmit and the persist timer (its Linux emulation maps
// TCP_USER_TIMEOUT to it). Older kernels refuse it; Probe finds out.
#ifndef TCP_MAXUNACKTIME
#define TCP_MAXUNACKTIME 68
#endif
constexpr bool kHasUserTimeout = true;
constexpr int kUserTimeoutOption = TCP_MAXUNACKTIME;
constexpr const char* kUserTimeoutName = "TCP_MAXUNACKTIME";
constexpr bool kUserTimeoutInSeconds = true;
#else
constexpr bool kHasUserTimeout = false;
constexpr int kUserTimeoutOption = 0;
constexpr const char* kUserTimeoutName = "";
constexpr bool kUserTimeoutInSeconds = false;
#endif

#if defined(__APPLE__)
// XNU's TCP_RXT_CONNDROPTIME only counts while retransmitting; a peer that
// advertises a zero window is handled by the persist timer, which has its own
// limit (seconds). Set alongside it, userTimeout covers both as on Linux.
#ifndef TCP_PERSIST_TIMEOUT
#define TCP_PERSIST_TIMEOUT 0x40
#endif
#endif

// Set by Probe (every environment's Probe finds the same), read by Apply.
#if defined(__APPLE__)
std::atomic<bool> persist_timeout_works{false};
#endif
std::atomic<int64_t> drop_time_max_s{0};

bool SetInt(int fd, int level, int option, const char* name, int64_t value,
            Failure* fail) {
  const int v = static_cast<int>(value);
  if (option >= 0 && setsockopt(fd, level, option, &v, sizeof v) == 0)
    return true;
#if defined(__APPLE__)
  // XNU refuses every option on a socket shut down both ways with EINVAL
  // (sosetoptlock); Linux accepts it. The values were range-checked, so
  // EINVAL here is that case: nothing left to configure, not an error.
  if (option >= 0 && errno == EINVAL) return true;
#endif
  *fail = {option >= 0 ? -errno : -ENOPROTOOPT, "setsockopt", name};
  return false;
}

// ENOPROTOOPT means this kernel lacks the option: report it as unknown, not
// as an error, so one missing option does not hide the others.
bool GetInt(int fd, int level, int option, const char* name, int64_t* out,
            Failure* fail) {
  if (option < 0) return true;
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, option, &v, &len) == 0) {
    *out = v;
    return true;
  }
  if (errno == ENOPROTOOPT) return true;
  *fail = {-errno, "getsockopt", name};
  return false;
}

}  // namespace

EnvState* NewEnvState() { return nullptr; }
void DeleteEnvState(EnvState*) {}

Capabilities Probe() {
  Capabilities caps{};
  // process.platform's spelling; "" lets the JS side use process.platform
  // itself on a Unix this file does not name.
#if defined(__linux__)
  caps.platform = "linux";
#elif defined(__APPLE__)
  caps.platform = "darwin";
#elif defined(__FreeBSD__)
  caps.platform = "freebsd";
#elif defined(__OpenBSD__)
  caps.platform = "openbsd";
#elif defined(__NetBSD__)
  caps.platform = "netbsd";
#elif defined(__sun)
  caps.platform = "sunos";
#elif defined(_AIX)
  caps.platform = "aix";
#else
  caps.platform = "";
#endif
  caps.target = "fd";
  int64_t max_seconds = kMaxSeconds;
#if defined(__APPLE__)
  // XNU counts keepalive and retransmit deadlines in ms (TCP_RETRANSHZ).
  caps.drop_time_max = int64_t{UINT32_MAX} / 1000 * 1000;
#elif defined(__FreeBSD__)
  // Ticks: the bound in seconds depends on this kernel's hz.
  int hz = 0;
  size_t hz_len = sizeof hz;
  if (sysctlbyname("kern.hz", &hz, &hz_len, nullptr, 0) != 0 || hz <= 0)
    hz = 1000;
  if (max_seconds > INT_MAX / hz) max_seconds = INT_MAX / hz;
  caps.drop_time_max = int64_t{UINT_MAX} / hz * 1000;
#endif
  drop_time_max_s.store(caps.drop_time_max / 1000, std::memory_order_relaxed);
  const Range seconds{true, 1, max_seconds * 1000};
  caps.idle = seconds;
  caps.interval = seconds;
  caps.count = {true, 1, kMaxCount};
  caps.user_timeout_option = kUserTimeoutName;
  if (kHasUserTimeout) {
    // Linux takes an int of ms. The seconds-based kernels multiply an int of
    // seconds into ms or ticks, so the largest value is whole seconds
    // (2 147 483 000 ms; INT_MAX ms would round up past it and wrap).
    caps.user_timeout = {true, 0,
                         kUserTimeoutInSeconds ? max_seconds * 1000 : INT_MAX};
  }
  // A kernel built without an option (or a sandbox filtering it) must show
  // up as unsupported instead of failing on first use.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0) {
    const auto works = [fd](int option) {
      int v;
      socklen_t len = sizeof v;
      return option >= 0 &&
             getsockopt(fd, IPPROTO_TCP, option, &v, &len) == 0;
    };
    caps.idle.supported = works(kIdleOption);
    caps.interval.supported = works(kIntervalOption);
    caps.count.supported = works(kCountOption);
    if (kHasUserTimeout) caps.user_timeout.supported = works(kUserTimeoutOption);
#if defined(__APPLE__)
    persist_timeout_works.store(works(TCP_PERSIST_TIMEOUT),
                                std::memory_order_relaxed);
#endif
    close(fd);
  } else {
    caps.idle.supported = caps.interval.supported = caps.count.supported =
        caps.user_timeout.supported = false;
  }
  return caps;
}

bool Resolve(Napi::Env env, const Napi::Value& target, bool verify, Socket* out,
             Failure* fail) {
  // Checked before anything else: a missing or forged target must never
  // become fd 0 (or any fd it does not name).
  double d = 0;
  if (napi_get_value_double(env, target, &d) != napi_ok || !(d >= 0) ||
      !(d <= INT_MAX) || static_cast<double>(static_cast<int>(d)) != d) {
    *fail = {kBadTarget, "", ""};
    return false;
  }
  const int fd = static_cast<int>(d);
  // The JS side read fd from the live handle in this same synchronous call,
  // so it still belongs to that socket. What may need checking is that it is
  // TCP: setsockopt on an AF_UNIX stream would fail with a less helpful error
  // (or, for SO_KEEPALIVE, silently succeed). A handle Node created as TCP
  // needs no check, which keeps the common call at the bare setsockopts.
  *out = fd;
  if (!verify) return true;
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    *fail = {-errno, "getsockopt", "SO_TYPE"};
    return false;
  }
  sockaddr_storage addr{};
  len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *fail = {-errno, "getsockname", ""};
    return false;
  }
  if (type != SOCK_STREAM ||
      (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
    *fail = {kNotTcp, "getsockname", ""};
    return false;
  }
  return true;
}

namespace {

// The drop-time rule on the kernels that sum (kHasDropTime): the values not
// given are the socket's current ones, read here, so a partial update is
// judged against what the kernel will actually add up.
bool CheckDropTime(int fd, const Settings& want, Failure* fail) {
  int64_t idle_s = want.idle_ms == kLeave ? kUnknown
                                          : RoundUpToSeconds(want.idle_ms);
  int64_t interval_s = want.interval_ms == kLeave
                           ? kUnknown
                           : RoundUpToSeconds(want.interval_ms);
  int64_t count = want.count == kLeave ? kUnknown : want.count;
  if ((idle_s == kUnknown &&
       !GetInt(fd, IPPROTO_TCP, kIdleOption, kIdleName, &idle_s, fail)) ||
      (interval_s == kUnknown &&
       !GetInt(fd, IPPROTO_TCP, kIntervalOption, "TCP_KEEPINTVL", &interval_s,
               fail)) ||
      (count == kUnknown &&
       !GetInt(fd, IPPROTO_TCP, kCountOption, "TCP_KEEPCNT", &count, fail)))
    return false;
  // One that cannot be read cannot be summed; the kernel's own range
  // checks still apply to the values given.
  if (idle_s < 0 || interval_s < 0 || count < 0) return true;
  if (idle_s + count * interval_s <=
      drop_time_max_s.load(std::memory_order_relaxed))
    return true;
  *fail = {kDropTimeTooLong, "", ""};
  return false;
}

}  // namespace

bool Apply(Socket fd, const Settings& want, Failure* fail) {
  if (kHasDropTime &&
      (want.idle_ms != kLeave || want.interval_ms != kLeave ||
       want.count != kLeave) &&
      !CheckDropTime(fd, want, fail))
    return false;
  // SO_KEEPALIVE first: XNU starts the per-socket idle timer when
  // TCP_KEEPALIVE is set only if keepalive is already on; turned on later it
  // waits for the next segment, and the first probe comes after ~2 h.
  if (want.enable != kLeave &&
      !SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", want.enable, fail))
    return false;
  if (want.idle_ms != kLeave &&
      !SetInt(fd, IPPROTO_TCP, kIdleOption, kIdleName,
              RoundUpToSeconds(want.idle_ms), fail))
    return false;
  if (want.interval_ms != kLeave &&
      !SetInt(fd, IPPROTO_TCP, kIntervalOption, "TCP_KEEPINTVL",
              RoundUpToSeconds(want.interval_ms), fail))
    return false;
  if (want.count != kLeave &&
      !SetInt(fd, IPPROTO_TCP, kCountOption, "TCP_KEEPCNT", want.count, fail))
    return false;
  if (want.user_timeout_ms != kLeave) {
    if (!kHasUserTimeout) {
      *fail = {-ENOPROTOOPT, "setsockopt", "userTimeout"};
      return false;
    }
    const int64_t v = kUserTimeoutInSeconds
                          ? RoundUpToSeconds(want.user_timeout_ms)
                          : want.user_timeout_ms;
    if (!SetInt(fd, IPPROTO_TCP, kUserTimeoutOption, kUserTimeoutName, v,
                fail))
      return false;
#if defined(__APPLE__)
    if (persist_timeout_works.load(std::memory_order_relaxed) &&
        !SetInt(fd, IPPROTO_TCP, TCP_PERSIST_TIMEOUT, "TCP_PERSIST_TIMEOUT", v,
                fail))
      return false;
#endif
  }
  return true;
}

bool Read(Socket fd, Settings* have, Failure* fail) {
  int64_t idle_s = kUnknown, interval_s = kUnknown, enable = kUnknown;
  have->count = kUnknown;
  if (!GetInt(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", &enable, fail) ||
      !GetInt(fd, IPPROTO_TCP, kIdleOption, kIdleName, &idle_s, fail) ||
      !GetInt(fd, IPPROTO_TCP, kIntervalOption, "TCP_KEEPINTVL", &interval_s,
              fail) ||
      !GetInt(fd, IPPROTO_TCP, kCountOption, "TCP_KEEPCNT", &have->count, fail))
    return false;
  have->enable = enable == kUnknown ? kUnknown : (enable != 0);
  have->idle_ms = idle_s == kUnknown ? kUnknown : idle_s * 1000;
  have->interval_ms = interval_s == kUnknown ? kUnknown : interval_s * 1000;
  have->user_timeout_ms = kUnknown;
  if (kHasUserTimeout) {
    int64_t uto = kUnknown;
    if (!GetInt(fd, IPPROTO_TCP, kUserTimeoutOption, kUserTimeoutName, &uto,
                fail))
      return false;
    have->user_timeout_ms =
        uto == kUnknown || !kUserTimeoutInSeconds ? uto : uto * 1000;
  }
  return true;
}

}  // namespace tka

// ---- getTcpInfo and the process inspector outside Linux ----
// Linux has them in sys_linux.cc (its full struct tcp_info header cannot be
// included beside <netinet/tcp.h>).
#if !defined(__linux__)
#if defined(__APPLE__)
#include <netinet/tcp_fsm.h>

#include <cmath>
#include <cstddef>
#endif

namespace tka {

#if defined(__APPLE__)
namespace {

double AppleState(int s) {
  switch (s) {
    case TCPS_CLOSED: return kClosed;
    case TCPS_LISTEN: return kListen;
    case TCPS_SYN_SENT: return kSynSent;
    case TCPS_SYN_RECEIVED: return kSynReceived;
    case TCPS_ESTABLISHED: return kEstablished;
    case TCPS_CLOSE_WAIT: return kCloseWait;
    case TCPS_FIN_WAIT_1: return kFinWait1;
    case TCPS_CLOSING: return kClosing;
    case TCPS_LAST_ACK: return kLastAck;
    case TCPS_FIN_WAIT_2: return kFinWait2;
    case TCPS_TIME_WAIT: return kTimeWait;
    default: return -1;
  }
}

}  // namespace

// TCP_CONNECTION_INFO is the public macOS view (10.11+). Times are already
// milliseconds; the congestion window is in bytes, reported in segments as
// on Linux.
bool ReadTcpInfo(Socket fd, TcpInfo* out, Failure* fail) {
  tcp_connection_info ci{};
  socklen_t len = sizeof ci;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, &ci, &len) != 0) {
    *fail = {-errno, "getsockopt", "TCP_CONNECTION_INFO"};
    return false;
  }
#define TKA_HAS(field) \
  (offsetof(tcp_connection_info, field) + sizeof(ci.field) <= \
   static_cast<size_t>(len))
  double* v = out->v;
  v[kInfoState] = AppleState(ci.tcpi_state);
  if (TKA_HAS(tcpi_rto)) v[kInfoRto] = ci.tcpi_rto;
  if (TKA_HAS(tcpi_maxseg)) v[kInfoMss] = ci.tcpi_maxseg;
  if (TKA_HAS(tcpi_snd_cwnd) && ci.tcpi_maxseg > 0)
    v[kInfoCwnd] = std::ceil(static_cast<double>(ci.tcpi_snd_cwnd) /
                             ci.tcpi_maxseg);
  if (TKA_HAS(tcpi_srtt)) v[kInfoRtt] = ci.tcpi_srtt;
  if (TKA_HAS(tcpi_rttvar)) v[kInfoRttVar] = ci.tcpi_rttvar;
  if (TKA_HAS(tcpi_txbytes))
    v[kInfoBytesSent] = static_cast<double>(ci.tcpi_txbytes);
  if (TKA_HAS(tcpi_rxbytes))
    v[kInfoBytesReceived] = static_cast<double>(ci.tcpi_rxbytes);
  if (TKA_HAS(tcpi_txretransmitpackets))
    v[kInfoTotalRetransmits] =
        static_cast<double>(ci.tcpi_txretransmitpackets);
#undef TKA_HAS
  return true;
}
#else
// FreeBSD's TCP_INFO differs from both; not implemented.
bool ReadTcpInfo(Socket, TcpInfo*, Failure* fail) {
  *fail = {-ENOSYS, "getsockopt", "TCP_INFO"};
  return false;
}
#endif

bool BorrowSocket(int64_t, int64_t, uint64_t, Socket*, Failure* fail) {
  *fail = {-ENOSYS, "pidfd_getfd", ""};
  return false;
}

void ReleaseBorrowed(Socket s) { close(s); }

}  // namespace tka
#endif  // !__linux__
