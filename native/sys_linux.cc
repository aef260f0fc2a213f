// Linux-only parts: TCP_INFO, and the process inspector's reader that sys.h
// lists under "Linux-only". A file of its own because the kernel's struct
// tcp_info (with the byte counters) lives in <linux/tcp.h>, which cannot
// share a translation unit with the <netinet/tcp.h> that sys_unix.cc needs
// (both define struct tcphdr), and glibc's copy of the struct stops before
// the byte counters.
//
// The inspector reads another process's TCP sockets through sock_diag, which
// leaves them untouched, and takes a socket (pidfd_getfd) only for the
// options sock_diag does not report, on a helper thread that first joins the
// target's net_cls/net_prio cgroups. Receiving a socket makes the kernel
// rewrite its cgroup v1 classid and priority index to the receiver's
// (__receive_sock: sock_update_classid, sock_update_netprioidx); received
// from within the target's own cgroups, the values written are the ones the
// socket already holds.
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <thread>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif

namespace tka {
namespace {

// include/net/tcp_states.h; the numbering is ABI (/proc/net/tcp prints it).
double StateCode(int linux_state) {
  switch (linux_state) {
    case 1: return kEstablished;
    case 2: return kSynSent;
    case 3: return kSynReceived;
    case 4: return kFinWait1;
    case 5: return kFinWait2;
    case 6: return kTimeWait;
    case 7: return kClosed;
    case 8: return kCloseWait;
    case 9: return kLastAck;
    case 10: return kListen;
    case 11: return kClosing;
    case 12: return kSynReceived;  // TCP_NEW_SYN_RECV: a request socket
    default: return -1;
  }
}

void FillTcpInfo(const tcp_info& ti, size_t len, TcpInfo* out) {
  // A kernel older than these headers fills only the first `len` bytes; the
  // fields past them stay unknown rather than zero. (qemu-user passes back
  // only 4 bytes of any TCP-level option, so this matters there too.)
#define TKA_HAS(field) \
  (offsetof(tcp_info, field) + sizeof(ti.field) <= len)
  double* v = out->v;
  if (TKA_HAS(tcpi_state)) v[kInfoState] = StateCode(ti.tcpi_state);
  // Kernel times are microseconds; ours are milliseconds.
  if (TKA_HAS(tcpi_rto)) v[kInfoRto] = ti.tcpi_rto / 1000.0;
  if (TKA_HAS(tcpi_snd_mss)) v[kInfoMss] = ti.tcpi_snd_mss;
  if (TKA_HAS(tcpi_unacked)) v[kInfoUnacked] = ti.tcpi_unacked;
  if (TKA_HAS(tcpi_retransmits)) v[kInfoRetransmits] = ti.tcpi_retransmits;
  if (TKA_HAS(tcpi_probes)) v[kInfoProbes] = ti.tcpi_probes;
  if (TKA_HAS(tcpi_last_data_sent))
    v[kInfoLastDataSent] = ti.tcpi_last_data_sent;
  if (TKA_HAS(tcpi_last_data_recv))
    v[kInfoLastDataReceived] = ti.tcpi_last_data_recv;
  if (TKA_HAS(tcpi_last_ack_recv))
    v[kInfoLastAckReceived] = ti.tcpi_last_ack_recv;
  if (TKA_HAS(tcpi_rtt)) v[kInfoRtt] = ti.tcpi_rtt / 1000.0;
  if (TKA_HAS(tcpi_rttvar)) v[kInfoRttVar] = ti.tcpi_rttvar / 1000.0;
  if (TKA_HAS(tcpi_snd_cwnd)) v[kInfoCwnd] = ti.tcpi_snd_cwnd;
  if (TKA_HAS(tcpi_total_retrans))
    v[kInfoTotalRetransmits] = ti.tcpi_total_retrans;
  // Byte counters: acked and received since 4.1, sent since 4.19. A double
  // holds them exactly up to 8 PiB.
  if (TKA_HAS(tcpi_bytes_acked))
    v[kInfoBytesAcked] = static_cast<double>(ti.tcpi_bytes_acked);
  if (TKA_HAS(tcpi_bytes_received))
    v[kInfoBytesReceived] = static_cast<double>(ti.tcpi_bytes_received);
  if (TKA_HAS(tcpi_bytes_sent))
    v[kInfoBytesSent] = static_cast<double>(ti.tcpi_bytes_sent);
#undef TKA_HAS
}

}  // namespace

bool ReadTcpInfo(Socket fd, TcpInfo* out, Failure* fail) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
    *fail = {-errno, "getsockopt", "TCP_INFO"};
    return false;
  }
  FillTcpInfo(ti, len, out);
  return true;
}


// ---- Linux-only facilities (declared in sys.h's Linux block) ----

namespace {


class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A sock_diag socket in the network namespace at `netns_path`. Sockets keep
// the namespace they were created in, so only creating it needs the setns;
// a thread of its own does that, leaving this thread's namespace alone.
int DiagSocketIn(const char* netns_path, Failure* fail) {
  if (netns_path == nullptr || *netns_path == '\0') {
    const int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (s < 0) *fail = {-errno, "socket", "NETLINK_SOCK_DIAG"};
    return s;
  }
  Fd ns(open(netns_path, O_RDONLY | O_CLOEXEC));
  if (ns.get() < 0) {
    *fail = {-errno, "open", "netns"};
    return -1;
  }
  int s = -1;
  int err = 0;
  const char* syscall_name = "";
  std::thread helper([&] {
    // The thread's fs and files stay shared; only its network namespace moves.
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      err = errno;
      syscall_name = "setns";
      return;
    }
    s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (s < 0) {
      err = errno;
      syscall_name = "socket";
    }
  });
  helper.join();
  if (s < 0) *fail = {-err, syscall_name, "netns"};
  return s;
}

bool SendDump(int nl, int family, bool with_info, Failure* fail) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = static_cast<unsigned>(family);
  msg.req.sdiag_family = static_cast<unsigned char>(family);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  // Every state but TIME_WAIT and request sockets: those have no descriptor.
  msg.req.idiag_states = ~((1U << 6) | (1U << 12));
  // INET_DIAG_TCLASS also brings INET_DIAG_CLASS_ID (whose own bit does not
  // fit in the 8-bit mask).
  // TCP_INFO costs the kernel a lock and a fill per socket, of every socket
  // in the namespace: asked only when the caller reads it from no copy.
  msg.req.idiag_ext = (with_info ? 1 << (INET_DIAG_INFO - 1) : 0) |
                      (1 << (INET_DIAG_TCLASS - 1));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  iovec iov{&msg, sizeof msg};
  msghdr mh{};
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof kernel;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  while (sendmsg(nl, &mh, 0) < 0) {
    if (errno == EINTR) continue;
    *fail = {-errno, "sendmsg", "SOCK_DIAG_BY_FAMILY"};
    return false;
  }
  return true;
}

void Fill(const inet_diag_msg* m, size_t len, DiagSocket* d) {
  d->inode = m->idiag_inode;
  d->family = m->idiag_family == AF_INET6 ? 6 : 4;
  const size_t alen = d->family == 6 ? 16 : 4;
  std::memcpy(d->src, m->id.idiag_src, alen);
  std::memcpy(d->dst, m->id.idiag_dst, alen);
  d->sport = ntohs(m->id.idiag_sport);
  d->dport = ntohs(m->id.idiag_dport);
  d->state = static_cast<int>(StateCode(m->idiag_state));
  d->timer = m->idiag_timer;
  d->timer_ms = m->idiag_timer != 0 ? static_cast<int64_t>(m->idiag_expires) : -1;
  d->retrans = m->idiag_retrans;
  d->uid = m->idiag_uid;
  const rtattr* a = reinterpret_cast<const rtattr*>(
      reinterpret_cast<const char*>(m) + NLMSG_ALIGN(sizeof *m));
  int rest = static_cast<int>(len) - static_cast<int>(NLMSG_ALIGN(sizeof *m));
  for (; RTA_OK(a, rest); a = RTA_NEXT(a, rest)) {
    const size_t payload = RTA_PAYLOAD(a);
    if (a->rta_type == INET_DIAG_INFO) {
      // A kernel older than these headers sends a shorter struct: the fields
      // past its end stay unknown.
      tcp_info ti{};
      std::memcpy(&ti, RTA_DATA(a), std::min(payload, sizeof ti));
      FillTcpInfo(ti, payload, &d->info);
    } else if (a->rta_type == INET_DIAG_CLASS_ID && payload >= 4) {
      uint32_t v;
      std::memcpy(&v, RTA_DATA(a), 4);
      d->classid = v;
    }
  }
}

// Reads one family's dump, keeping the sockets whose inode is in wanted.

// NLMSG_OK as the kernel's uapi header spells it compares the u32 length with
// an int, which musl's headers (unlike glibc's) leave uncast: -Wsign-compare.
static bool MessageFits(const nlmsghdr* h, int rest) {
  return rest >= static_cast<int>(sizeof *h) && h->nlmsg_len >= sizeof *h &&
         h->nlmsg_len <= static_cast<uint32_t>(rest);
}

bool ReadDump(int nl, const uint64_t* wanted, size_t n_wanted,
              std::vector<DiagSocket>* out, Failure* fail) {
  // Large reads: the kernel fills each with as many sockets as fit.
  static thread_local char buf[256 * 1024];
  for (;;) {
    const ssize_t got = recv(nl, buf, sizeof buf, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      *fail = {-errno, "recv", "SOCK_DIAG_BY_FAMILY"};
      return false;
    }
    int rest = static_cast<int>(got);
    for (const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(buf);
         MessageFits(h, rest); h = NLMSG_NEXT(h, rest)) {
      if (h->nlmsg_type == NLMSG_DONE) return true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        *fail = {e->error != 0 ? e->error : -EPROTO, "recv",
                 "SOCK_DIAG_BY_FAMILY"};
        return false;
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
          h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)))
        continue;
      const inet_diag_msg* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      if (wanted != nullptr &&
          !std::binary_search(wanted, wanted + n_wanted,
                              static_cast<uint64_t>(m->idiag_inode)))
        continue;
      out->emplace_back();
      Fill(m, h->nlmsg_len - NLMSG_LENGTH(0), &out->back());
    }
  }
}

uint64_t InodeOf(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// Leaves the calling thread with a descriptor table of its own, empty. When a
// thread joins a net_cls or net_prio cgroup, the kernel rewrites the classid
// or priority index of every socket in its descriptor table; an empty table
// keeps that from reaching the inspecting process's own sockets.
bool OwnEmptyFdTable(Failure* fail) {
  if (syscall(SYS_close_range, 0U, ~0U, CLOSE_RANGE_UNSHARE) == 0) return true;
  if (errno != ENOSYS && errno != EINVAL) {
    *fail = {-errno, "close_range", ""};
    return false;
  }
  // Before Linux 5.9: unshare, then close every inherited descriptor.
  if (unshare(CLONE_FILES) != 0) {
    *fail = {-errno, "unshare", "CLONE_FILES"};
    return false;
  }
  const long max = sysconf(_SC_OPEN_MAX);
  for (long fd = 0; fd < (max > 0 ? max : 65536); fd++) close(static_cast<int>(fd));
  return true;
}

bool JoinCgroup(const std::string& tasks, Failure* fail) {
  Fd f(open(tasks.c_str(), O_WRONLY | O_CLOEXEC));
  if (f.get() < 0) {
    *fail = {-errno, "open", "cgroup tasks"};
    return false;
  }
  char tid[24];
  const int n = std::snprintf(tid, sizeof tid, "%ld", static_cast<long>(syscall(SYS_gettid)));
  if (write(f.get(), tid, static_cast<size_t>(n)) != n) {
    *fail = {-errno, "write", "cgroup tasks"};
    return false;
  }
  return true;
}

// The caller matched the copy's inode with a socket it knows is TCP (from
// sock_diag, or from its protocol name), so only a socket read for its
// addresses needs its family.
void ReadTaken(int s, const TakeOrder& order, TakeResult* r) {
  int domain = 0, protocol = 0;
  socklen_t len = sizeof domain;
  if (order.want_info &&
      (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
       (len = sizeof protocol,
        getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &protocol, &len)) != 0 ||
       (domain != AF_INET && domain != AF_INET6) || protocol != IPPROTO_TCP)) {
    r->code = kNotTcp;
    return;
  }
  Failure f;
  if (!Read(s, &r->have, &f)) {
    r->code = f.code;
    r->syscall = f.syscall;
    return;
  }
  DiagSocket& d = r->socket;
  if (order.want_info || order.want_tcp_info)
    r->has_info = ReadTcpInfo(s, &d.info, &f);
  if (!order.want_info) return;
  r->has_socket = true;
  d.inode = order.inode;
  d.family = domain == AF_INET6 ? 6 : 4;
  d.state = static_cast<int>(d.info.v[kInfoState]);
  sockaddr_storage a{};
  socklen_t alen = sizeof a;
  for (int peer = 0; peer < 2; peer++) {
    alen = sizeof a;
    const int rc = peer ? getpeername(s, reinterpret_cast<sockaddr*>(&a), &alen)
                        : getsockname(s, reinterpret_cast<sockaddr*>(&a), &alen);
    if (rc != 0) continue;
    uint8_t* to = peer ? d.dst : d.src;
    int& port = peer ? d.dport : d.sport;
    if (a.ss_family == AF_INET6) {
      const sockaddr_in6* in = reinterpret_cast<const sockaddr_in6*>(&a);
      std::memcpy(to, &in->sin6_addr, 16);
      port = ntohs(in->sin6_port);
    } else if (a.ss_family == AF_INET) {
      const sockaddr_in* in = reinterpret_cast<const sockaddr_in*>(&a);
      std::memcpy(to, &in->sin_addr, 4);
      port = ntohs(in->sin_port);
    }
  }
  const int ns = ioctl(s, SIOCGSKNS);
  if (ns >= 0) {
    r->netns = InodeOf(ns);
    close(ns);
  }
}

}  // namespace


bool DiagTcp(const char* netns_path, const uint64_t* wanted, size_t n_wanted,
             bool with_info, std::vector<DiagSocket>* out, Failure* fail) {
  Fd nl(DiagSocketIn(netns_path, fail));
  if (nl.get() < 0) return false;
  for (int family : {AF_INET, AF_INET6}) {
    if (!SendDump(nl.get(), family, with_info, fail)) return false;
    if (!ReadDump(nl.get(), wanted, n_wanted, out, fail)) {
      // A kernel without IPv6 refuses that family's dump; IPv4 is complete.
      if (family == AF_INET6 && fail->code == -ENOENT) return true;
      return false;
    }
  }
  return true;
}

bool SocketFds(int64_t pid, std::vector<std::pair<int64_t, uint64_t>>* out,
               Failure* fail) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%lld/fd", static_cast<long long>(pid));
  DIR* dir = opendir(path);
  if (dir == nullptr) {
    *fail = {-errno, "opendir", ""};
    return false;
  }
  const int dfd = dirfd(dir);
  char link[64];
  static const char kPrefix[] = "socket:[";
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const ssize_t n = readlinkat(dfd, e->d_name, link, sizeof link - 1);
    // Closed meanwhile, or not a socket.
    if (n <= 9 || std::strncmp(link, kPrefix, sizeof kPrefix - 1) != 0) continue;
    link[n] = '\0';
    out->emplace_back(std::strtoll(e->d_name, nullptr, 10),
                      std::strtoull(link + sizeof kPrefix - 1, nullptr, 10));
  }
  closedir(dir);
  return true;
}

void SocketKinds(int64_t pid, const int64_t* fds, size_t n, int* kinds) {
  char path[64];
  char name[32];
  for (size_t i = 0; i < n; i++) {
    std::snprintf(path, sizeof path, "/proc/%lld/fd/%lld",
                  static_cast<long long>(pid), static_cast<long long>(fds[i]));
    const ssize_t len = getxattr(path, "system.sockprotoname", name, sizeof name - 1);
    if (len < 0) {
      kinds[i] = -errno;
      continue;
    }
    name[len] = '\0';
    kinds[i] = std::strcmp(name, "TCP") == 0 ? 4 : std::strcmp(name, "TCPv6") == 0 ? 6 : 0;
  }
}

bool TakeSockets(int64_t pid, const std::vector<std::string>& join,
                 const std::vector<TakeOrder>& orders,
                 std::vector<TakeResult>* results, Failure* fail) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  results->assign(orders.size(), TakeResult());
  bool ok = false;
  std::thread helper([&] {
    if (!OwnEmptyFdTable(fail)) return;
    for (const std::string& tasks : join)
      if (!JoinCgroup(tasks, fail)) return;
    Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0)));
    if (pidfd.get() < 0) {
      *fail = {-errno, "pidfd_open", ""};
      return;
    }
    for (size_t i = 0; i < orders.size(); i++) {
      TakeResult& r = (*results)[i];
      const int s = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(),
                                             static_cast<int>(orders[i].fd), 0));
      if (s < 0) {
        r.code = -errno;
        r.syscall = "pidfd_getfd";
        // Not permitted, or the process is gone: the same for every socket.
        if (errno == EPERM || errno == EACCES || errno == ESRCH || errno == ENOSYS) {
          *fail = {-errno, "pidfd_getfd", ""};
          return;
        }
        continue;
      }
      struct stat st {};
      // fd numbers are reused: the number read from /proc may name another file by now.
      if (fstat(s, &st) != 0 || !S_ISSOCK(st.st_mode) ||
          static_cast<uint64_t>(st.st_ino) != orders[i].inode)
        r.code = kNotFound;
      else
        ReadTaken(s, orders[i], &r);
      close(s);
    }
    ok = true;
  });
  helper.join();
  return ok;
#else
  (void)pid;
  (void)join;
  (void)orders;
  (void)results;
  *fail = {-ENOSYS, "pidfd_getfd", ""};
  return false;
#endif
}

}  // namespace tka
