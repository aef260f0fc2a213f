// The per-socket public API.
import type net = require('node:net')
import type * as Apply from './apply'
import { backend } from './backend'
import { normalizeOptions, type KeepAliveOptions, type KeepAliveState } from './options'
import { checkSocket } from './socket'

// apply (with the census, the spread and the registry behind it) loads at the
// first setKeepAlive: importing the package costs only what it must.
let applyModule: typeof Apply | undefined

/** Sets keepalive options on a TCP socket (plain, TLS, client or accepted). */
export function setKeepAlive(socket: net.Socket, options?: KeepAliveOptions): void {
  // The socket is checked before the options, as Node orders its argument errors.
  const s = checkSocket(socket)
  const n = normalizeOptions(options)
  ;(applyModule ??= require('./apply') as typeof Apply).applyChecked(s, n)
}

/** Reads what the kernel holds for this socket. */
export function getKeepAlive(socket: net.Socket): KeepAliveState {
  return backend.get(checkSocket(socket))
}
