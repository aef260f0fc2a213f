// Applying validated options to a socket: now when it is connected, at
// 'connect' when it is not.
import net = require('node:net')
import { native } from './binding'
import { makeError, reportError, systemError, type ErrorSink } from './errors'
import { guard } from './guard'
import { applyNative } from './marshal'
import { merge, UNSET, type Normalized } from './options'
import { kMarks, MARK_EXPLICIT } from './registry'
import { NODE_TIMING } from './runtime'
import { directionOf, markConnected, track } from './census'
import { checkSocket, FD_TARGET, isNoise, Kind, kindOf, kState, needsCheck, notTcp, stateOf, targetOf, type InternalSocket } from './socket'

type Marked = InternalSocket & { [kMarks]?: number }

// Shared 'connect' listener (no closure per socket; state lives on the socket).
// It stays on the socket: a socket connected again (as pools do) reuses it.
function onConnectApply(this: InternalSocket): void {
  const state = this[kState]
  if (state === undefined) return
  markConnected(this)
  let pending = state.pending
  const chooser = state.chooser
  const fromHook = state.pendingFromHook
  state.pending = undefined
  state.chooser = undefined
  state.pendingFromHook = false
  if (this.destroyed) return
  if (fromHook) state.hookHandle = this._handle
  if (chooser !== undefined) pending = chooser(this) ?? undefined
  if (pending === undefined) return
  try {
    applyConnected(this, pending, fromHook ? state.onError : undefined)
  } catch (err) {
    // A hook meeting a Unix-domain socket or a closed transport has nothing to do.
    if (fromHook && isNoise(err)) return
    reportError(err as Error, state.onError, this)
  }
}

function applyConnected(socket: InternalSocket, n: Normalized, onError: ErrorSink | undefined): void {
  const binding = native.binding
  if (!binding) {
    applyFallback(socket, n)
    return
  }
  const target = targetOf(socket)
  if (target === null) throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_CONNECTED', 'The socket is not connected.')
  const state = stateOf(socket)
  // Before the values: guard() never throws, so a call refused here has changed nothing.
  if (!state.applied) guard(socket)
  // Windows may have to set idle and interval together (SIO_KEEPALIVE_VALS)
  // without being able to read the one not given: hand it everything we set.
  applyNative(binding, target, needsCheck(socket), FD_TARGET ? n : merge(state, n))
  state.enable = n.enable
  if (n.idle !== UNSET) state.idle = n.idle
  if (n.interval !== UNSET) state.interval = n.interval
  if (n.count !== UNSET) state.count = n.count
  if (n.userTimeout !== UNSET) state.userTimeout = n.userTimeout
  state.applied = true
  if (onError !== undefined) state.onError = onError
}

type FallbackHandle = { setKeepAlive?: (enable: boolean, idle: number, interval?: number, count?: number) => unknown }

function applyFallback(socket: InternalSocket, n: Normalized): void {
  // normalizeOptions already refused what Node cannot do; round up like the addon.
  const seconds = (ms: number): number => Math.ceil(ms / 1000)
  if (!NODE_TIMING || n.enable === 0) {
    net.Socket.prototype.setKeepAlive.call(socket, n.enable === 1, n.idle === UNSET ? 0 : seconds(n.idle) * 1000)
    return
  }
  // Node 24.19+/26.4+: one call sets idle, interval and count together, and
  // puts its own 1 s / 10 probes in place of an interval or count not given.
  // So what this package set before is given again, and an idle is needed.
  const state = stateOf(socket)
  const m = merge(state.applied ? state : undefined, n)
  if (m.idle === UNSET && (m.interval !== UNSET || m.count !== UNSET)) {
    throw makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', 'Without the native addon, "interval" and "count" need "idle" (in this call or an earlier one): Node sets the three together.')
  }
  const idle = m.idle === UNSET ? 0 : seconds(m.idle)
  const interval = m.interval === UNSET ? undefined : seconds(m.interval)
  const count = m.count === UNSET ? undefined : m.count
  const handle = socket._handle as FallbackHandle | null
  if (idle > 0 && handle !== null && typeof handle.setKeepAlive === 'function') {
    // Node's own method ignores the handle's answer: ask the handle first.
    const rc = handle.setKeepAlive(true, idle, interval, count)
    if (typeof rc === 'number' && rc < 0) throw systemError(rc, 'setsockopt', interval === undefined && count === undefined ? 'TCP_KEEPIDLE' : 'TCP_KEEPINTVL/TCP_KEEPCNT')
  }
  // Then through Node, so its own record of the socket agrees.
  ;(net.Socket.prototype.setKeepAlive as (...a: unknown[]) => unknown).call(socket, true, idle * 1000, interval === undefined ? undefined : interval * 1000, count)
  state.applied = true
  state.enable = 1
  state.idle = m.idle
  state.interval = m.interval
  state.count = m.count
}

/**
 * Applies validated options. A connected socket is configured now; one still
 * connecting is configured when it emits 'connect' (a later call before then
 * replaces the pending options). Deferred failures go to `onError`, else to a
 * process warning. An explicit call marks the socket as the user's: hooks
 * leave it alone from then on.
 */
export function applyNormalized(socket: net.Socket, n: Normalized, onError?: ErrorSink): void {
  applyChecked(checkSocket(socket), n, onError)
}

export function applyChecked(s: InternalSocket, n: Normalized, onError?: ErrorSink): void {
  if (kindOf(s._handle) === Kind.Pipe) throw notTcp()
  const binding = native.binding
  const ready = binding ? s._handle !== null && !s.connecting : !s.connecting
  if (ready) {
    applyConnected(s, n, onError)
  } else {
    const state = deferState(s)
    state.pending = state.pendingFromHook ? n : merge(state.pending, n)
    state.pendingFromHook = false
    state.chooser = undefined
    if (onError) state.onError = onError
  }
  track(s, directionOf(s), null)
  const m = s as Marked
  if (m[kMarks] !== MARK_EXPLICIT) m[kMarks] = (m[kMarks] ?? 0) | MARK_EXPLICIT
}

/** The state of a socket waiting for 'connect', with the shared listener on it. */
function deferState(s: InternalSocket) {
  const state = stateOf(s)
  // First: `on` may refuse (an http2 session's socket), and then nothing has changed.
  if (!state.listening) {
    s.on('connect', onConnectApply)
    state.listening = true
  }
  return state
}

/** Was this socket configured by an explicit call (from any copy of this package)? */
export function isExplicit(s: net.Socket): boolean {
  return (((s as Marked)[kMarks] ?? 0) & MARK_EXPLICIT) !== 0
}

/**
 * A hook's options: now, or at 'connect' unless an explicit call comes first.
 * Errors a hook should not report (not TCP, closed) are dropped here.
 */
export function applyFromHook(s: InternalSocket, n: Normalized | null, chooser: ((socket: net.Socket) => Normalized | null) | null, onError: ErrorSink): void {
  if (s.destroyed || kindOf(s._handle) === Kind.Pipe) return
  const binding = native.binding
  const connected = s._handle !== null && !s.connecting
  // A chooser needs the addresses, so it waits for 'connect' in any mode.
  const ready = chooser !== null || binding ? connected : !s.connecting
  try {
    if (ready) {
      const chosen = chooser === null ? n : chooser(s)
      if (chosen !== null) applyConnected(s, chosen, onError)
      return
    }
    const state = deferState(s)
    if (state.pending !== undefined && !state.pendingFromHook) return
    state.pending = n ?? undefined
    state.chooser = chooser ?? undefined
    state.pendingFromHook = true
    state.onError = onError
  } catch (err) {
    if (!isNoise(err)) onError(err as Error, s)
  }
}
