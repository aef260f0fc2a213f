// Where connect is wrapped (Node 18, 20), a patcher that puts back the
// connect it saved before install() drops ours, and only net.connect()
// publishes a channel there: tls.connect, https and new Socket().connect()
// would go unconfigured until the next net.connect(). Socket.prototype
// ._unrefTimer runs inside connect() on every one of those paths, so it
// watches Socket.prototype.connect. It also runs on every read and write,
// hence a dedicated wrapper of one comparison (about 7 ns a call where the
// generic one in wrap.ts costs 30) rather than revocableWrap.
import net = require('node:net')

type Unref = (this: net.Socket) => unknown
const proto = net.Socket.prototype as unknown as { _unrefTimer?: Unref; connect: unknown }

const state = {
  on: false,
  next: null as Unref | null,
  /** Socket.prototype.connect when last looked at. */
  seen: null as unknown,
  changed: null as ((socket: net.Socket) => void) | null,
  probing: false,
  hit: false,
}

function _unrefTimer(this: net.Socket): unknown {
  if (state.probing) state.hit = true
  else if (state.on) {
    if (proto.connect !== state.seen) {
      ;(state.changed as (socket: net.Socket) => void)(this)
      state.seen = proto.connect
    }
  } else if (proto._unrefTimer === _unrefTimer) proto._unrefTimer = state.next as Unref // revoked and on top again: step out
  return (state.next as Unref).call(this)
}

// Is ours still reached through whatever is in place? (Someone wrapped it after us.)
function reached(fn: Unref): boolean {
  state.hit = false
  state.probing = true
  try {
    fn.call(new net.Socket())
  } catch {
    // judged by whether ours was reached
  } finally {
    state.probing = false
  }
  return state.hit
}

/** Calls `changed(socket)` when a socket's connect() or I/O finds Socket.prototype.connect replaced. Idempotent. */
export function watchConnect(changed: (socket: net.Socket) => void): void {
  state.changed = changed
  state.seen = proto.connect
  state.on = true
  const current = proto._unrefTimer
  if (typeof current !== 'function' || current === _unrefTimer) return
  if (state.next !== null && current !== state.next && reached(current)) return
  state.next = current
  proto._unrefTimer = _unrefTimer
}

/** Stops watching: removed when on top, else a pass-through in whoever wrapped it since. */
export function unwatchConnect(): void {
  state.on = false
  if (proto._unrefTimer === _unrefTimer && state.next !== null) proto._unrefTimer = state.next
}
