"""Reads a socket's keepalive options from OUTSIDE the process that owns it.

pidfd_getfd (Linux 5.6+) duplicates the target's fd into this process, so the
values come from the kernel without passing through tcp-keepalive's code.
Usage: peek_sockopt.py PID FD  -> JSON on stdout
"""
import ctypes
import json
import os
import socket
import sys

SYS_pidfd_getfd = 438  # x86_64 and aarch64 share this number


def main() -> None:
    pid, fd = int(sys.argv[1]), int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    dup = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
    if dup < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    s = socket.socket(fileno=dup)
    try:
        def tcp(opt: int) -> int:
            return s.getsockopt(socket.IPPROTO_TCP, opt)
        print(json.dumps({
            "enabled": s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
            "idle": tcp(socket.TCP_KEEPIDLE) * 1000,
            "interval": tcp(socket.TCP_KEEPINTVL) * 1000,
            "count": tcp(socket.TCP_KEEPCNT),
            "userTimeout": tcp(socket.TCP_USER_TIMEOUT),
            "local": list(s.getsockname())[:2],
        }))
    finally:
        s.detach()
        os.close(dup)
        os.close(pidfd)


main()
