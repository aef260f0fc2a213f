"""Reads a socket's keepalive options from OUTSIDE the process that owns it.

The test hands the socket to this child as its fd 3 (an inherited duplicate),
so the values come from the kernel without passing through tcp-keepalive's
code, and no ptrace right over the parent is needed (Yama refuses a child
pidfd_getfd on its parent on most distributions).
Usage: peek_sockopt.py  (socket on fd 3) -> JSON on stdout
       peek_sockopt.py PID FD  -> the same for a CHILD of the caller, through
       pidfd_getfd (Linux 5.6+; an ancestor may do this under Yama's default)
       peek_sockopt.py --inherited N  -> sockets on fds 3 .. 3+N-1, a JSON
       array (one interpreter for many sockets of the caller)
       peek_sockopt.py --serve  -> first a {"ready": true} line, then reads
       "PID FD" lines and answers one JSON line each, {"error", "errno"} when
       the borrow fails (one interpreter for many reads: its start-up, a few
       hundred milliseconds, dominates a read). PID may be the caller's own:
       root, or Yama's ptrace_scope 0, lets a child borrow from its parent.
"""
import ctypes
import json
import os
import socket
import sys


SYS_pidfd_getfd = 438  # x86_64 and aarch64 share this number


def borrowed_fd() -> int:
    if len(sys.argv) < 3:
        return os.dup(3)
    return child_fd(int(sys.argv[1]), int(sys.argv[2]))


def child_fd(pid: int, fd: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        dup = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
        if dup < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return dup
    finally:
        os.close(pidfd)


def main() -> None:
    if sys.argv[1:] == ["--serve"]:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            pid, fd = (int(x) for x in line.split())
            try:
                print(json.dumps(state(child_fd(pid, fd))), flush=True)
            except OSError as err:
                print(json.dumps({"error": str(err), "errno": err.errno}), flush=True)
        return
    if sys.argv[1:2] == ["--inherited"]:
        print(json.dumps([state(os.dup(3 + i)) for i in range(int(sys.argv[2]))]))
        return
    print(json.dumps(state(borrowed_fd())))


def state(fd: int) -> dict:
    s = socket.socket(fileno=fd)
    try:
        def opt(level: int, name: str, scale: int = 1):
            number = getattr(socket, name, None)
            if number is None:
                return None
            try:
                return s.getsockopt(level, number) * scale
            except OSError:
                return None
        # macOS spells the idle option TCP_KEEPALIVE and holds it in seconds.
        idle_name = "TCP_KEEPIDLE" if hasattr(socket, "TCP_KEEPIDLE") else "TCP_KEEPALIVE"
        return {
            "enabled": opt(socket.SOL_SOCKET, "SO_KEEPALIVE") not in (None, 0),
            "idle": opt(socket.IPPROTO_TCP, idle_name, 1000),
            "interval": opt(socket.IPPROTO_TCP, "TCP_KEEPINTVL", 1000),
            "count": opt(socket.IPPROTO_TCP, "TCP_KEEPCNT"),
            "userTimeout": opt(socket.IPPROTO_TCP, "TCP_USER_TIMEOUT"),
            "local": list(s.getsockname())[:2],
        }
    finally:
        os.close(s.detach())


if __name__ == "__main__":
    sys.exit(main())
