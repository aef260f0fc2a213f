import type net = require('node:net')
import { native, type NativeBinding } from './binding'
import { reportError } from './errors'
import { applyNative } from './marshal'
import { UNSET } from './options'
import { kState, needsCheck, targetOf, type InternalSocket, type SocketState } from './socket'

// Node's socket.setKeepAlive(true, ms) also forces TCP_KEEPINTVL=1 s and
// TCP_KEEPCNT=10 and http agents call it every time a socket returns to the
// pool. A per-socket override re-applies our timing after Node's call, so the
// last explicit word on timing stays ours; enable=false still turns it off.
function guardedSetKeepAlive(this: InternalSocket, enable?: boolean, initialDelay?: number): InternalSocket {
  // The own property shadows the class's method, which is the one to run first.
  ;(Object.getPrototypeOf(this) as net.Socket).setKeepAlive.call(this, enable, initialDelay)
  // Still connecting: Node applies its call at 'connect' and our deferred apply runs after it.
  if (enable && this[kState]?.applied && native.binding && !this.destroyed) guardedReapply(this)
  return this
}

// One shared function, not a closure per socket: this runs for every
// connection a hook configures.
export function guard(socket: InternalSocket): void {
  if (socket.setKeepAlive === guardedSetKeepAlive) return
  if (Object.prototype.hasOwnProperty.call(socket, 'setKeepAlive')) {
    // Someone else already overrides it on this socket: wrap theirs.
    const theirs = socket.setKeepAlive
    socket.setKeepAlive = function setKeepAlive(this: InternalSocket, enable?: boolean, initialDelay?: number) {
      theirs.call(this, enable, initialDelay)
      if (enable && this[kState]?.applied && native.binding && !this.destroyed) guardedReapply(this)
      return this
    }
    return
  }
  socket.setKeepAlive = guardedSetKeepAlive
}

function guardedReapply(socket: InternalSocket): void {
  const binding = native.binding as NativeBinding
  try {
    const target = targetOf(socket)
    const st = socket[kState] as SocketState
    if (target !== null) applyNative(binding, target, needsCheck(socket), { enable: UNSET, idle: st.idle, interval: st.interval, count: st.count, userTimeout: UNSET })
  } catch (err) {
    reportError(err as Error)
  }
}
