// Linux-only parts: TCP_INFO and borrowing another process's socket. A file
// of its own because the kernel's struct tcp_info (with the byte counters)
// lives in <linux/tcp.h>, which cannot share a translation unit with the
// <netinet/tcp.h> that sys_unix.cc needs (both define struct tcphdr), and
// glibc's copy of the struct stops before the byte counters.
#include "sys.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

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

bool BorrowSocket(int64_t pid, int64_t fd, uint64_t inode, Socket* out,
                  Failure* fail) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  const long pidfd = syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0);
  if (pidfd < 0) {
    *fail = {-errno, "pidfd_open", ""};
    return false;
  }
  // The copy is close-on-exec; the target's descriptor is untouched.
  const long copy = syscall(SYS_pidfd_getfd, static_cast<int>(pidfd),
                            static_cast<int>(fd), 0);
  const int err = errno;
  close(static_cast<int>(pidfd));
  if (copy < 0) {
    *fail = {-err, "pidfd_getfd", ""};
    return false;
  }
  struct stat st {};
  if (fstat(static_cast<int>(copy), &st) != 0 || !S_ISSOCK(st.st_mode) ||
      static_cast<uint64_t>(st.st_ino) != inode) {
    close(static_cast<int>(copy));
    *fail = {kNotFound, "fstat", ""};
    return false;
  }
  *out = static_cast<int>(copy);
  return true;
#else
  (void)pid;
  (void)fd;
  (void)inode;
  (void)out;
  *fail = {-ENOSYS, "pidfd_getfd", ""};
  return false;
#endif
}

void ReleaseBorrowed(Socket s) { close(s); }

}  // namespace tka
