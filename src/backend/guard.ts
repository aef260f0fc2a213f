// Node's own socket.setKeepAlive(), once the native backend has configured a
// socket.
//
// Node's setKeepAlive(true, ms) also forces TCP_KEEPINTVL=1 s and TCP_KEEPCNT=10
// (Node 20 and later) and http agents call it every time a socket returns to
// the pool. Node also skips the system call when its own cache says nothing
// changed, and its cache knows nothing of what we set. So a per-socket
// override forwards every argument to Node, then makes the call true:
// - enable false: probes off (even when Node thought they were off already);
// - enable true with interval or count given (Node 24.19+/26.4+ take them):
//   the caller's timing stands and is what a later re-apply restores;
// - enable true otherwise (what agents and undici call): probes on, with our
//   idle, interval and count.
// (The fallback needs none of this: Node's own call is its only mechanism.)
import type net = require('node:net')
import { reportError } from '../errors'
import type { KeepAliveState } from '../options'
import { NODE_TIMING } from '../runtime'
import { kState, type InternalSocket } from '../socket'
import { UNSET, type Normalized } from '../values'

type NodeSetKeepAlive = (this: unknown, ...args: unknown[]) => unknown

/** The backend's raw operations on a connected socket: no state recorded. */
export interface GuardOps {
  write(socket: InternalSocket, n: Normalized): void
  read(socket: InternalSocket): KeepAliveState
}

/** Made once per backend: the override is one shared function, not a closure per socket. */
export function makeGuard(ops: GuardOps): (socket: InternalSocket) => void {
  function afterNodeCall(socket: InternalSocket, args: unknown[]): void {
    const st = socket[kState]
    // Still connecting: Node applies its call at 'connect' and our deferred apply runs after it.
    if (st === undefined || !st.applied || socket.destroyed || socket._handle === null || socket.connecting) return
    let enable = args[0]
    let explicitTiming = false
    if (NODE_TIMING) {
      let interval = args[2]
      let count = args[3]
      if (enable !== null && typeof enable === 'object') {
        const o = enable as { enable?: unknown; interval?: unknown; count?: unknown }
        enable = o.enable
        interval = o.interval
        count = o.count
      }
      explicitTiming = interval !== undefined || count !== undefined
    }
    try {
      if (!enable) {
        ops.write(socket, { enable: 0, idle: UNSET, interval: UNSET, count: UNSET, userTimeout: UNSET })
        st.enable = 0
      } else if (explicitTiming) {
        // Node has set the caller's timing; make it ours, so a later 2-argument call keeps it.
        const held = ops.read(socket)
        st.enable = 1
        if (held.idle !== null) st.idle = held.idle
        if (held.interval !== null) st.interval = held.interval
        if (held.count !== null) st.count = held.count
      } else {
        ops.write(socket, { enable: 1, idle: st.idle, interval: st.interval, count: st.count, userTimeout: UNSET })
        st.enable = 1
      }
    } catch (err) {
      reportError(err as Error, st.onError, socket)
    }
  }

  function guardedSetKeepAlive(this: InternalSocket, ...args: unknown[]): InternalSocket {
    // The own property shadows the class's method, which is the one to run first.
    ;((Object.getPrototypeOf(this) as net.Socket).setKeepAlive as NodeSetKeepAlive).apply(this, args)
    afterNodeCall(this, args)
    return this
  }

  // Never throws: an object that refuses the override (an http2 session's
  // socket proxy refuses even reading setKeepAlive) cannot have Node's method
  // called through it either.
  return function guard(socket: InternalSocket): void {
    try {
      if (socket.setKeepAlive === guardedSetKeepAlive) return
      if (Object.prototype.hasOwnProperty.call(socket, 'setKeepAlive')) {
        // Someone else already overrides it on this socket: wrap theirs.
        // Called below with apply(this), never detached from a receiver.
        // eslint-disable-next-line @typescript-eslint/unbound-method
        const theirs = socket.setKeepAlive as unknown as NodeSetKeepAlive
        socket.setKeepAlive = function setKeepAlive(this: InternalSocket, ...args: unknown[]) {
          theirs.apply(this, args)
          afterNodeCall(this, args)
          return this
        }
        return
      }
      socket.setKeepAlive = guardedSetKeepAlive
    } catch {
      // Left unguarded; see above.
    }
  }
}
