// The one seam between the JavaScript API and the OS: what every module
// above asks of a socket, implemented by the native addon (native.ts) or by
// Node's own socket.setKeepAlive (fallback.ts), chosen once (index.ts).
import type { Capabilities } from '../capabilities'
import type { KeepAliveState } from '../options'
import type { InternalSocket } from '../socket'
import type { TcpInfo } from '../tcpinfo'
import type { Normalized } from '../values'

/** What a backend can do here; install()'s hook paths are the runtime's, added by capabilities.ts. */
export type BackendCapabilities = Omit<Capabilities, 'hooks'>

/** One socket of another process, as its kernel holds it. */
export interface InspectedSocket {
  keepalive: KeepAliveState
  tcpInfo: TcpInfo
}

/** Reads one descriptor of the inspected process; null: it no longer names that socket. */
export type SocketReader = (fd: number, inode: bigint) => InspectedSocket | null

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
   * Opens process `pid` for reading its sockets (Linux). Errors carry an
   * errno name as `code` (EPERM, ESRCH, ENOSYS) or ERR_TCP_KEEPALIVE_UNSUPPORTED.
   */
  inspect(pid: number): SocketReader
}
