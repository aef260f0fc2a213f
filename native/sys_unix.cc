// Linux, FreeBSD and macOS share one body; the OS differences are the option
// table and the ranges below, chosen at compile time (the socket2 way).
#include "sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__FreeBSD__) || defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#include <climits>
#include <initializer_list>

namespace tka {
namespace {

// UV_ENOSYS etc. are -errno on Unix; the header stays free of libuv.
constexpr int UvError(int err) { return -err; }

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
// This package's cap, not the kernels': INT_MAX / 1000 s (2 147 483 s), so
// a value in ms fits a signed 32-bit int and no kernel multiplication of
// seconds into ms (XNU) or ticks (FreeBSD, which refuses more than
// UINT_MAX / hz s itself) can overflow. FreeBSD with hz > 1000 lowers it to
// INT_MAX / hz s (Probe). Far beyond any useful keepalive time.
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
constexpr int kUserTimeoutOption = TCP_USER_TIMEOUT;
constexpr const char* kUserTimeoutName = "TCP_USER_TIMEOUT";
constexpr int64_t kUserTimeoutScale = 1;
#elif defined(TCP_RXT_CONNDROPTIME)
// macOS: seconds a connection may spend retransmitting before it is dropped.
// Unlike Linux it does not also cover unanswered keepalive probes.
constexpr int kUserTimeoutOption = TCP_RXT_CONNDROPTIME;
constexpr const char* kUserTimeoutName = "TCP_RXT_CONNDROPTIME";
constexpr int64_t kUserTimeoutScale = 1000;
#elif defined(__FreeBSD__)
// FreeBSD 14+: seconds data may stay unacknowledged, enforced by both the
// retransmit and the persist timer (its Linux emulation maps
// TCP_USER_TIMEOUT to it). Older kernels refuse it; Probe finds out.
#ifndef TCP_MAXUNACKTIME
#define TCP_MAXUNACKTIME 68
#endif
constexpr int kUserTimeoutOption = TCP_MAXUNACKTIME;
constexpr const char* kUserTimeoutName = "TCP_MAXUNACKTIME";
constexpr int64_t kUserTimeoutScale = 1000;
#else
constexpr int kUserTimeoutOption = -1;
constexpr const char* kUserTimeoutName = "";
constexpr int64_t kUserTimeoutScale = 1;
#endif

#if defined(__APPLE__)
// XNU's TCP_RXT_CONNDROPTIME only counts while retransmitting; a peer that
// advertises a zero window is handled by the persist timer, which has its own
// limit (seconds). Set alongside it, userTimeout covers both as on Linux.
#ifndef TCP_PERSIST_TIMEOUT
#define TCP_PERSIST_TIMEOUT 0x40
#endif
#endif

// ---- The option table: one row per Option, in sys.h's order ----

struct Row {
  int level;
  int name;           // -1: this OS has no such option
  const char* label;  // as errors name it
  int64_t ms_per_unit;  // 1000 where the OS counts seconds (Unit::kMillis)
};

constexpr Row kRows[] = {
    /* kEnable */ {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1},
    /* kIdle */ {IPPROTO_TCP, kIdleOption, kIdleName, 1000},
    /* kInterval */ {IPPROTO_TCP, kIntervalOption, "TCP_KEEPINTVL", 1000},
    /* kCount */ {IPPROTO_TCP, kCountOption, "TCP_KEEPCNT", 1},
    /* kUserTimeout */
    {IPPROTO_TCP, kUserTimeoutOption, kUserTimeoutName, kUserTimeoutScale},
};
static_assert(sizeof kRows / sizeof kRows[0] == kOptions,
              "one row per Option");


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
  *fail = {UvError(option >= 0 ? errno : ENOPROTOOPT), "setsockopt", name};
  return false;
}

// ENOPROTOOPT means this kernel lacks the option: report it as unknown, not
// as an error, so one missing option does not hide the others. *out is left
// as it was then.
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
  *fail = {UvError(errno), "getsockopt", name};
  return false;
}

bool SetRow(int fd, int o, int64_t os_value, Failure* fail) {
  return SetInt(fd, kRows[o].level, kRows[o].name, kRows[o].label, os_value,
                fail);
}
bool GetRow(int fd, int o, int64_t* os_value, Failure* fail) {
  return GetInt(fd, kRows[o].level, kRows[o].name, kRows[o].label, os_value,
                fail);
}

#if defined(__APPLE__) || defined(__FreeBSD__)
// TCP_INFO (FreeBSD) and TCP_CONNECTION_INFO (macOS) both exist from the
// first release this package supports, but a sandbox may filter them.
#if defined(__APPLE__)
constexpr int kInfoOption = TCP_CONNECTION_INFO;
constexpr const char* kInfoName = "TCP_CONNECTION_INFO";
using OsTcpInfo = tcp_connection_info;
#else
constexpr int kInfoOption = TCP_INFO;
constexpr const char* kInfoName = "TCP_INFO";
using OsTcpInfo = tcp_info;
#endif
#endif

// Everything found once per process.
struct Probed {
  Capabilities caps;
  bool persist_timeout = false;  // macOS: TCP_PERSIST_TIMEOUT is accepted
};

Probed Detect() {
  Probed p;
  Capabilities& caps = p.caps;
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
#endif
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
  caps.range[kEnable] = {true, 0, 1};
  caps.range[kIdle] = {false, 1, max_seconds * 1000};
  caps.range[kInterval] = {false, 1, max_seconds * 1000};
  caps.range[kCount] = {false, 1, kMaxCount};
  // Linux takes an int of ms. The seconds-based kernels multiply an int of
  // seconds into ms or ticks, so the largest value is whole seconds
  // (2 147 483 000 ms; INT_MAX ms would round up past it and wrap).
  caps.range[kUserTimeout] = {
      false, 0, kUserTimeoutScale == 1000 ? max_seconds * 1000 : INT_MAX};
  caps.user_timeout_option = kUserTimeoutName;
#if defined(__linux__)
  caps.tcp_info = true;  // sys_linux.cc; every kernel this runs on has it
#endif
  // A kernel built without an option (or a sandbox filtering it) must show
  // up as unsupported instead of failing on first use.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return p;
  const auto works = [fd](int level, int option) {
    int v;
    socklen_t len = sizeof v;
    return option >= 0 && getsockopt(fd, level, option, &v, &len) == 0;
  };
  for (int o = kIdle; o < kOptions; o++)
    caps.range[o].supported = works(kRows[o].level, kRows[o].name);
#if defined(__APPLE__)
  p.persist_timeout = works(IPPROTO_TCP, TCP_PERSIST_TIMEOUT);
#endif
#if defined(__APPLE__) || defined(__FreeBSD__)
  OsTcpInfo info{};
  socklen_t info_len = sizeof info;
  caps.tcp_info =
      getsockopt(fd, IPPROTO_TCP, kInfoOption, &info, &info_len) == 0;
#endif
  close(fd);
  return p;
}

const Probed& Detected() {
  static const Probed probed = Detect();
  return probed;
}

#if defined(__FreeBSD__) || defined(__APPLE__)
// net.inet.tcp.always_keepalive: while it is set the kernel probes every
// connection whatever SO_KEEPALIVE says (FreeBSD's tcp_timer_keep, XNU's
// TCPT_KEEP case). FreeBSD sets it by default, so there a socket with
// keepalive "off" still probes; XNU defaults to 0. Read at each call: an
// administrator may change it (per VNET on FreeBSD, like the socket).
bool AlwaysKeepalive() {
  int on = 0;
  size_t len = sizeof on;
  return sysctlbyname("net.inet.tcp.always_keepalive", &on, &len, nullptr,
                      0) == 0 &&
         on != 0;
}
#endif

// The drop-time rule on the kernels that sum (kHasDropTime): the values not
// given are the socket's current ones, read here, so a partial update is
// judged against what the kernel will actually add up.
bool CheckDropTime(int fd, const Settings& want, Failure* fail) {
  int64_t os[kOptions] = {};
  for (int o : {kIdle, kInterval, kCount}) {
    os[o] = kUnknown;
    if (want.v[o] != kLeave)
      os[o] = ToOs(o, want.v[o], kRows[o].ms_per_unit);
    else if (!GetRow(fd, o, &os[o], fail))
      return false;
  }
  // One that cannot be read cannot be summed; the kernel's own range
  // checks still apply to the values given.
  if (os[kIdle] < 0 || os[kInterval] < 0 || os[kCount] < 0) return true;
  if (os[kIdle] + os[kCount] * os[kInterval] <=
      Detected().caps.drop_time_max / 1000)
    return true;
  *fail = {kDropTimeTooLong, "", ""};
  return false;
}

}  // namespace

EnvState* NewEnvState(uv_loop_s*) { return nullptr; }
void DeleteEnvState(EnvState*) {}

const Capabilities& Probe() { return Detected().caps; }

bool Resolve(EnvState*, const Target& target, Socket* out, Failure* fail) {
  // addon.cc took the number from JS; a negative one never names a socket.
  if (target.fd < 0) {
    *fail = {kBadTarget, "", ""};
    return false;
  }
  const int fd = target.fd;
  // The JS side read fd from the live handle in this same synchronous call,
  // so it still belongs to that socket. What may need checking is that it is
  // TCP: setsockopt on an AF_UNIX stream would fail with a less helpful error
  // (or, for SO_KEEPALIVE, silently succeed). A handle Node created as TCP
  // needs no check, which keeps the common call at the bare setsockopts.
  *out = fd;
  if (!target.verify) return true;
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    *fail = {UvError(errno), "getsockopt", "SO_TYPE"};
    return false;
  }
  sockaddr_storage addr{};
  len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *fail = {UvError(errno), "getsockname", ""};
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
  if (kHasDropTime &&
      (want[kIdle] != kLeave || want[kInterval] != kLeave ||
       want[kCount] != kLeave) &&
      !CheckDropTime(fd, want, fail))
    return false;
#if defined(__APPLE__)
  // XNU arms its keepalive timer with the global 2 h while SO_KEEPALIVE is
  // off (TCP_CONN_KEEPIDLE falls back to tcp_keepidle) and does not re-arm
  // it when SO_KEEPALIVE is switched on; only setting TCP_KEEPALIVE does. So
  // turning keepalive back on without an idle re-writes the socket's idle.
  bool rearm = false;
  if (want[kEnable] == 1 && want[kIdle] == kLeave) {
    int64_t was_on = 1;
    if (!GetRow(fd, kEnable, &was_on, fail)) return false;
    rearm = was_on == 0;
  }
#endif
  for (int o = 0; o < kOptions; o++) {
    if (want.v[o] == kLeave) continue;
    if (!SetRow(fd, o, ToOs(o, want.v[o], kRows[o].ms_per_unit), fail))
      return false;
#if defined(__APPLE__)
    if (o == kEnable && rearm) {
      int64_t idle_s = kUnknown;
      if (!GetRow(fd, kIdle, &idle_s, fail)) return false;
      if (idle_s >= 0 && !SetRow(fd, kIdle, idle_s, fail)) return false;
    }
    if (o == kUserTimeout && Detected().persist_timeout &&
        !SetInt(fd, IPPROTO_TCP, TCP_PERSIST_TIMEOUT, "TCP_PERSIST_TIMEOUT",
                ToOs(o, want.v[o], kRows[o].ms_per_unit), fail))
      return false;
#endif
  }
  return true;
}

bool Read(Socket fd, Settings* have, Failure* fail) {
  for (int o = 0; o < kOptions; o++) {
    int64_t os_value = kUnknown;
    if (!GetRow(fd, o, &os_value, fail)) return false;
    have->v[o] = os_value == kUnknown
                     ? kUnknown
                     : FromOs(o, os_value, kRows[o].ms_per_unit);
  }
#if defined(__FreeBSD__) || defined(__APPLE__)
  // What the kernel does, not what SO_KEEPALIVE says (see AlwaysKeepalive).
  if (have->v[kEnable] == 0 && AlwaysKeepalive()) have->v[kEnable] = 1;
#endif
  return true;
}

}  // namespace tka

// ---- getTcpInfo and the process inspector outside Linux ----
// Linux has them in sys_linux.cc (its full struct tcp_info header cannot be
// included beside <netinet/tcp.h>).
#if !defined(__linux__)
#if defined(__APPLE__) || defined(__FreeBSD__)
#include <netinet/tcp_fsm.h>

#include <cmath>
#include <cstddef>
#endif

namespace tka {

#if defined(__APPLE__) || defined(__FreeBSD__)
namespace {

// XNU and FreeBSD share the 4.4BSD TCPS_* numbering.
double BsdState(int s) {
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

// Bytes to segments, as Linux counts the congestion window.
double Segments(double bytes, double mss) {
  return mss > 0 ? std::ceil(bytes / mss) : -1;
}

}  // namespace

bool ReadTcpInfo(Socket fd, TcpInfo* out, Failure* fail) {
  if (!Detected().caps.tcp_info) {
    *fail = {UvError(ENOSYS), "getsockopt",
             kInfoName};
    return false;
  }
  OsTcpInfo ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, kInfoOption, &ti, &len) != 0) {
    *fail = {UvError(errno), "getsockopt",
             kInfoName};
    return false;
  }
#define TKA_HAS(field) \
  (offsetof(OsTcpInfo, field) + sizeof(ti.field) <= static_cast<size_t>(len))
  double* v = out->v;
  if (TKA_HAS(tcpi_state)) v[kInfoState] = BsdState(ti.tcpi_state);
#if defined(__APPLE__)
  // TCP_CONNECTION_INFO (10.11+): times already in ms, the congestion window
  // in bytes. tcpi_rto is 0 whenever the retransmit timer is not running
  // (nothing outstanding): no RTO is in force then, so it stays unknown.
  if (TKA_HAS(tcpi_rto) && ti.tcpi_rto > 0) v[kInfoRto] = ti.tcpi_rto;
  if (TKA_HAS(tcpi_maxseg)) v[kInfoMss] = ti.tcpi_maxseg;
  if (TKA_HAS(tcpi_snd_cwnd))
    v[kInfoCwnd] = Segments(ti.tcpi_snd_cwnd, ti.tcpi_maxseg);
  if (TKA_HAS(tcpi_srtt)) v[kInfoRtt] = ti.tcpi_srtt;
  if (TKA_HAS(tcpi_rttvar)) v[kInfoRttVar] = ti.tcpi_rttvar;
  if (TKA_HAS(tcpi_txbytes))
    v[kInfoBytesSent] = static_cast<double>(ti.tcpi_txbytes);
  if (TKA_HAS(tcpi_rxbytes))
    v[kInfoBytesReceived] = static_cast<double>(ti.tcpi_rxbytes);
  if (TKA_HAS(tcpi_txretransmitpackets))
    v[kInfoTotalRetransmits] =
        static_cast<double>(ti.tcpi_txretransmitpackets);
#else
  // FreeBSD's TCP_INFO (tcp_fill_info): Linux's field names, FreeBSD's
  // units. Times are microseconds (ticks * tick); the congestion window is
  // in bytes.
  if (TKA_HAS(tcpi_rto)) v[kInfoRto] = ti.tcpi_rto / 1000.0;
  if (TKA_HAS(tcpi_rtt)) v[kInfoRtt] = ti.tcpi_rtt / 1000.0;
  if (TKA_HAS(tcpi_rttvar)) v[kInfoRttVar] = ti.tcpi_rttvar / 1000.0;
  if (TKA_HAS(tcpi_snd_mss)) v[kInfoMss] = ti.tcpi_snd_mss;
  if (TKA_HAS(tcpi_snd_cwnd))
    v[kInfoCwnd] = Segments(ti.tcpi_snd_cwnd, ti.tcpi_snd_mss);
  if (TKA_HAS(tcpi_last_data_recv))
    v[kInfoLastDataReceived] = ti.tcpi_last_data_recv / 1000.0;
  if (TKA_HAS(tcpi_snd_rexmitpack))
    v[kInfoTotalRetransmits] = ti.tcpi_snd_rexmitpack;
#endif
#undef TKA_HAS
  return true;
}
#else
bool ReadTcpInfo(Socket, TcpInfo*, Failure* fail) {
  *fail = {UvError(ENOSYS), "getsockopt", "TCP_INFO"};
  return false;
}
#endif

}  // namespace tka
#endif  // !__linux__
