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
