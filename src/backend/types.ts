// The one seam between the JavaScript API and the OS: what every module
// above asks of a socket, implemented by the native addon (native.ts) or by
// Node's own socket.setKeepAlive (fallback.ts), chosen once (index.ts).
import type { Capabilities } from '../capabilities'
import type { KeepAliveState } from '../options'
import type { InternalSocket } from '../socket'
import type { TcpInfo, TcpState } from '../tcpinfo'
import type { Normalized } from '../values'

/** What a backend can do here; install()'s hook paths are the runtime's, added by capabilities.ts. */
export type BackendCapabilities = Omit<Capabilities, 'hooks'>

/** One TCP socket of another process as sock_diag (or a copy of it) reports it. */
export interface DiagRow {
  inode: number
  /** `address:port`, IPv6 in brackets. */
  local: string
  remote: string
  state: TcpState | null
  /** sock_diag's pending timer: 0 none, 1 retransmit, 2 keepalive, 4 zero-window probe; null: not read (a copy). */
  timer: number | null
  /** ms until that timer fires. */
  timerMs: number | null
  /** cgroup v1 net_cls classid (sk_priority when the classid is 0); null: not reported. */
  classid: number | null
  tcpInfo: TcpInfo
}

/** A descriptor of the inspected process to take a copy of (pidfd_getfd) and read. */
export interface TakeOrder {
  fd: number
  inode: number
  /** Also read what sock_diag would have: addresses, TCP_INFO, the socket's namespace. */
  wantInfo: boolean
  /** Also read TCP_INFO. */
  wantTcpInfo: boolean
}

export interface Taken {
  /** null, or why the copy could not be read: 'gone' (fd reused or closed), 'not-tcp', an errno name. */
  error: string | null
  keepalive: KeepAliveState
  /** Inode of the socket's network namespace (SIOCGSKNS), null when unknown. */
  netns: number | null
  /** With wantInfo: what the copy reports. */
  row: DiagRow | null
  /** With wantInfo or wantTcpInfo: the copy's TCP_INFO. */
  tcpInfo: TcpInfo | null
}

/**
 * Another process's sockets (Linux). Failures are system errors (`code` an
 * errno name, `syscall`, `option`).
 */
export interface ProcessReader {
  /** inode -> the lowest descriptor of the process naming that socket. */
  socketFds(): Map<number, number>
  /** Per descriptor: 4 or 6 (TCP), 0 (another kind of socket), a negative errno. */
  socketKinds(fds: number[]): number[]
  /** The TCP sockets among `inodes` in the network namespace at netnsPath ('' = the caller's); withInfo: with TCP_INFO (else all null). */
  dumpTcp(netnsPath: string, inodes: number[], withInfo: boolean): Map<number, DiagRow>
  /** Takes and reads each ordered socket from a thread that first joins the cgroups whose tasks files are in `join`. */
  take(join: string[], orders: TakeOrder[]): Taken[]
}

/** What the kernel holds for one socket: as get() and tcpInfo() would say. */
export interface SocketReading {
  keepalive: KeepAliveState
  /** null where this backend or OS has no TCP_INFO. */
  info: TcpInfo | null
}

export interface Backend {
  readonly capabilities: BackendCapabilities
  /** Whether options can be applied now; otherwise they wait for 'connect'. */
  ready(socket: InternalSocket): boolean
  /**
   * Applies validated options to a TCP socket that is ready(), and records in
   * its state what was set. Throws the public errors (not TCP, not
   * connected, the OS's refusal as a system error, a rule the OS enforces).
   */
  set(socket: InternalSocket, options: Normalized): void
  /** What the kernel holds for a TCP socket; null where this backend cannot tell. */
  get(socket: InternalSocket): KeepAliveState
  /** TCP_INFO of a connected TCP socket, or ERR_TCP_KEEPALIVE_UNSUPPORTED. */
  tcpInfo(socket: InternalSocket): TcpInfo
  /**
   * Reads many sockets at once (the census, the metrics), in their order;
   * null for one that is not a connected TCP socket or that the OS would
   * not read. Never throws for one socket's sake.
   */
  readAll(sockets: readonly InternalSocket[]): Array<SocketReading | null>
  /** Reads process `pid`'s sockets (Linux); elsewhere ERR_TCP_KEEPALIVE_UNSUPPORTED. */
  inspect(pid: number): ProcessReader
}
