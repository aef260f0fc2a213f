// Applying validated options to a socket: now when it is connected, at
// 'connect' when it is not.
import type net = require('node:net')
import { backend } from './backend'
import { reportError, type ErrorSink } from './errors'
import { dispatch, kMarks, MARK_EXPLICIT, registry } from './registry'
import { afterApply } from './spread'
import { markConnected, trackExplicit } from './census'
import { assertTcp, checkSocket, isConnected, isNoise, isPipe, kState, stateOf, type InternalSocket } from './socket'
import { merge, type Normalized } from './values'

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
  const owner = state.pendingOwner
  state.pending = undefined
  state.chooser = undefined
  state.pendingFromHook = false
  state.pendingOwner = null
  if (this.destroyed) return
  if (fromHook && owner !== registry().current) {
    // Installed, stacked or undone since the hook ran (a DNS lookup, a refused
    // attempt retried): what is installed now decides, as for a new connection.
    dispatch(this, 'client')
    return
  }
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
  backend.set(socket, n)
  afterApply(socket, n)
  if (onError !== undefined) stateOf(socket).onError = onError
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
  assertTcp(s)
  if (backend.ready(s)) {
    applyConnected(s, n, onError)
  } else {
    const state = deferState(s)
    state.pending = state.pendingFromHook ? n : merge(state.pending, n)
    state.pendingFromHook = false
    state.chooser = undefined
    if (onError) state.onError = onError
  }
  trackExplicit(s)
  const m = s as Marked
  if (m[kMarks] !== MARK_EXPLICIT) m[kMarks] = (m[kMarks] ?? 0) | MARK_EXPLICIT
}

/** The state of a socket waiting for 'connect', with the shared listener on it. */
function deferState(s: InternalSocket) {
  const state = stateOf(s)
  // First: `on` may refuse (an http2 session's socket proxy once the session let go of its socket), and then nothing has changed.
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
  // A destroyed socket without a handle is one connect() is starting again
  // (the hooks run before Node clears `destroyed`): it waits for 'connect'.
  if ((s.destroyed && s._handle !== null) || isPipe(s)) return
  // A chooser needs the addresses, so it waits for 'connect' with any backend.
  const ready = chooser !== null ? isConnected(s) : backend.ready(s)
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
    state.pendingOwner = registry().current
    state.onError = onError
  } catch (err) {
    if (!isNoise(err)) onError(err as Error, s)
  }
}
