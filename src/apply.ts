// Applying validated options to a socket: now when it is connected, at
// 'connect' when it is not.
import net = require('node:net')
import { native } from './binding'
import { makeError, reportError, type ErrorSink } from './errors'
import { guard } from './guard'
import { applyNative } from './marshal'
import { merge, UNSET, type Normalized } from './options'
import { checkSocket, FD_TARGET, Kind, kindOf, kState, needsCheck, notTcp, stateOf, targetOf, type InternalSocket } from './socket'

// Shared 'connect' listener (no closure per socket; state lives on the socket).
function onConnectApply(this: InternalSocket): void {
  const state = this[kState]
  const pending = state?.pending
  if (state === undefined || pending === undefined) return
  state.pending = undefined
  if (this.destroyed) return
  try {
    applyConnected(this, pending)
  } catch (err) {
    reportError(err as Error, state.onError, this)
  }
}

function applyConnected(socket: InternalSocket, n: Normalized): void {
  const binding = native.binding
  if (!binding) {
    applyFallback(socket, n)
    return
  }
  const target = targetOf(socket)
  if (target === null) throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_CONNECTED', 'The socket is not connected')
  const state = stateOf(socket)
  // Windows may have to set idle and interval together (SIO_KEEPALIVE_VALS)
  // without being able to read the one not given: hand it everything we set.
  applyNative(binding, target, needsCheck(socket), FD_TARGET ? n : merge(state, n))
  state.enable = n.enable
  if (n.idle !== UNSET) state.idle = n.idle
  if (n.interval !== UNSET) state.interval = n.interval
  if (n.count !== UNSET) state.count = n.count
  if (n.userTimeout !== UNSET) state.userTimeout = n.userTimeout
  if (!state.applied) {
    state.applied = true
    guard(socket)
  }
}

function applyFallback(socket: InternalSocket, n: Normalized): void {
  // normalizeOptions already refused what Node cannot do; round up like the addon.
  const delay = n.idle === UNSET ? 0 : Math.ceil(n.idle / 1000) * 1000
  net.Socket.prototype.setKeepAlive.call(socket, n.enable === 1, delay)
}

/**
 * Applies validated options. A connected socket is configured now; one still
 * connecting is configured when it emits 'connect' (a later call before then
 * replaces the pending options). Deferred failures go to `onError`, else to a
 * process warning.
 */
export function applyNormalized(socket: net.Socket, n: Normalized, onError?: ErrorSink): void {
  applyChecked(checkSocket(socket), n, onError)
}

export function applyChecked(s: InternalSocket, n: Normalized, onError?: ErrorSink): void {
  const binding = native.binding
  if (kindOf(s._handle) === Kind.Pipe) throw notTcp()
  const ready = binding ? s._handle !== null && !s.connecting : !s.connecting
  if (ready) {
    applyConnected(s, n)
    return
  }
  const state = stateOf(s)
  const already = state.pending !== undefined
  state.pending = merge(state.pending, n)
  if (onError) state.onError = onError
  if (!already) s.on('connect', onConnectApply)
}
