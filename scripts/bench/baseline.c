/* The physical limit for the benchmark: the same system calls the addon makes
 * for setKeepAlive({ idle, interval, count }) (4 setsockopt) and for
 * getKeepAlive (5 getsockopt), on a connected loopback TCP socket, in C.
 * Usage: baseline ITERATIONS -> "set_ns <ns/call>\nget_ns <ns/call>" */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (bind(srv, (struct sockaddr*)&a, sizeof a) || listen(srv, 1) || getsockname(srv, (struct sockaddr*)&a, &len)) return 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr*)&a, sizeof a)) return 1;
  int one = 1, intvl = 5, cnt = 3, v;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    /* Alternating idle, as the JS side does (see bench.mjs). */
    int idle = (i & 1) ? 31 : 30;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  }
  double t1 = now_ns();
  for (long i = 0; i < n; i++) {
    socklen_t l = sizeof v;
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &l);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &l);
    getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &l);
    getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &l);
  }
  double t2 = now_ns();
  printf("set_ns %.1f\nget_ns %.1f\n", (t1 - t0) / n, (t2 - t1) / n);
  return 0;
}
