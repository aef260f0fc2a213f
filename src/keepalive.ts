// The per-socket public API.
import type net = require('node:net')
import { applyChecked } from './apply'
import { backend } from './backend'
import { normalizeOptions, type KeepAliveOptions, type KeepAliveState } from './options'
import { checkSocket } from './socket'

/** Sets keepalive options on a TCP socket (plain, TLS, client or accepted). */
export function setKeepAlive(socket: net.Socket, options?: KeepAliveOptions): void {
  // The socket is checked before the options, as Node orders its argument errors.
  const s = checkSocket(socket)
  applyChecked(s, normalizeOptions(options))
}

/** Reads what the kernel holds for this socket. */
export function getKeepAlive(socket: net.Socket): KeepAliveState {
  return backend.get(checkSocket(socket))
}
