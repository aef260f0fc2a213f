// The per-socket public API.
import type net = require('node:net')
import { native } from './binding'
import { makeError } from './errors'
import { applyChecked } from './apply'
import { readNative } from './marshal'
import { normalizeOptions, UNKNOWN, type KeepAliveOptions, type KeepAliveState } from './options'
import { checkSocket, Kind, kindOf, needsCheck, notTcp, targetOf } from './socket'

/** Sets keepalive options on a TCP socket (plain, TLS, client or accepted). */
export function setKeepAlive(socket: net.Socket, options?: KeepAliveOptions): void {
  // The socket is checked before the options, as Node orders its argument errors.
  const s = checkSocket(socket)
  applyChecked(s, normalizeOptions(options))
}

function orNull(v: number): number | null {
  return v === UNKNOWN ? null : v
}

/** Reads what the kernel holds for this socket. */
export function getKeepAlive(socket: net.Socket): KeepAliveState {
  const s = checkSocket(socket)
  const binding = native.binding
  if (!binding) {
    if (kindOf(s._handle) === Kind.Pipe) throw notTcp()
    return { enabled: null, idle: null, interval: null, count: null, userTimeout: null }
  }
  const target = targetOf(s)
  if (target === null) throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_CONNECTED', 'The socket is not connected yet; read it after \'connect\'')
  const slots = readNative(binding, target, needsCheck(s))
  return {
    enabled: slots[1] === UNKNOWN ? null : slots[1] === 1,
    idle: orNull(slots[2] as number),
    interval: orNull(slots[3] as number),
    count: orNull(slots[4] as number),
    userTimeout: orNull(slots[5] as number),
  }
}

