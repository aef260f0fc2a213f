// Linux, FreeBSD and macOS share one body; the OS differences are the option
// names and ranges below, chosen at compile time (the socket2 way).
#include "sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>

namespace tka {
namespace {

#if defined(__APPLE__)
// Apple spells the idle time TCP_KEEPALIVE; it is the same seconds value.
constexpr int kIdleOption = TCP_KEEPALIVE;
constexpr const char* kIdleName = "TCP_KEEPALIVE";
#else
constexpr int kIdleOption = TCP_KEEPIDLE;
constexpr const char* kIdleName = "TCP_KEEPIDLE";
#endif

#if defined(__linux__)
// The kernel rejects idle/interval above MAX_TCP_KEEPIDLE/KEEPINTVL (32767 s)
// and count above MAX_TCP_KEEPCNT (127).
constexpr int64_t kMaxSeconds = 32767;
constexpr int64_t kMaxCount = 127;
#else
// BSD kernels store seconds * hz in an int; 1000 Hz bounds this.
constexpr int64_t kMaxSeconds = INT_MAX / 1000;
constexpr int64_t kMaxCount = INT_MAX;
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
#else
constexpr bool kHasUserTimeout = false;
constexpr int kUserTimeoutOption = 0;
constexpr const char* kUserTimeoutName = "";
constexpr bool kUserTimeoutInSeconds = false;
#endif

bool SetInt(int fd, int level, int option, const char* name, int64_t value,
            Failure* fail) {
  int v = static_cast<int>(value);
  if (setsockopt(fd, level, option, &v, sizeof v) == 0) return true;
  *fail = {-errno, "setsockopt", name};
  return false;
}

// ENOPROTOOPT means this kernel lacks the option: report it as unknown, not
// as an error, so one missing option does not hide the others.
bool GetInt(int fd, int level, int option, const char* name, int64_t* out,
            Failure* fail) {
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

Capabilities Probe() {
  Capabilities caps{};
#if defined(__APPLE__)
  caps.platform = "darwin";
#elif defined(__FreeBSD__)
  caps.platform = "freebsd";
#else
  caps.platform = "linux";
#endif
  caps.target = "fd";
  const Range seconds{true, 1, kMaxSeconds * 1000};
  caps.idle = seconds;
  caps.interval = seconds;
  caps.count = {true, 1, kMaxCount};
  caps.user_timeout_option = kUserTimeoutName;
  if (kHasUserTimeout) {
    // Linux takes an int of ms; macOS takes seconds, so the same bound in ms
    // keeps one documented range.
    caps.user_timeout = {true, 0, INT_MAX};
  }
  // A kernel built without an option (or a sandbox filtering it) must show
  // up as unsupported instead of failing on first use.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0) {
    int v;
    socklen_t len = sizeof v;
    caps.idle.supported =
        getsockopt(fd, IPPROTO_TCP, kIdleOption, &v, &len) == 0;
    len = sizeof v;
    caps.interval.supported =
        getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &len) == 0;
    len = sizeof v;
    caps.count.supported =
        getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &len) == 0;
    if (kHasUserTimeout) {
      len = sizeof v;
      caps.user_timeout.supported =
          getsockopt(fd, IPPROTO_TCP, kUserTimeoutOption, &v, &len) == 0;
    }
    close(fd);
  }
  return caps;
}

bool Resolve(Napi::Env, const Napi::Value& target, bool verify, Socket* out,
             Failure* fail) {
  const int fd = target.As<Napi::Number>().Int32Value();
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

bool Apply(Socket fd, const Settings& want, Failure* fail) {
  if (want.idle_ms != kUnset &&
      !SetInt(fd, IPPROTO_TCP, kIdleOption, kIdleName,
              RoundUpToSeconds(want.idle_ms), fail))
    return false;
  if (want.interval_ms != kUnset &&
      !SetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL",
              RoundUpToSeconds(want.interval_ms), fail))
    return false;
  if (want.count != kUnset &&
      !SetInt(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", want.count, fail))
    return false;
  if (want.user_timeout_ms != kUnset) {
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
  }
  // Last, so probes start with the new timing rather than the old one.
  return want.enable == kUnset ||
         SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", want.enable,
                fail);
}

bool Read(Socket fd, Settings* have, Failure* fail) {
  int64_t idle_s = kUnset, interval_s = kUnset, enable = kUnset;
  if (!GetInt(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", &enable, fail) ||
      !GetInt(fd, IPPROTO_TCP, kIdleOption, kIdleName, &idle_s, fail) ||
      !GetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", &interval_s,
              fail) ||
      !GetInt(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", &have->count, fail))
    return false;
  have->enable = enable == kUnset ? kUnset : (enable != 0);
  have->idle_ms = idle_s == kUnset ? kUnset : idle_s * 1000;
  have->interval_ms = interval_s == kUnset ? kUnset : interval_s * 1000;
  if (kHasUserTimeout) {
    int64_t uto = kUnset;
    if (!GetInt(fd, IPPROTO_TCP, kUserTimeoutOption, kUserTimeoutName, &uto,
                fail))
      return false;
    have->user_timeout_ms =
        uto == kUnset || !kUserTimeoutInSeconds ? uto : uto * 1000;
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
