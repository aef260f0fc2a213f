// The spread: sockets configured in bulk (install(), the preload,
// withKeepAlive, connector) each get their idle time and probe interval drawn
// from the whole seconds just below the request, so that connections opened
// together do not probe, and above all do not retry, together.
//
// Why: connections opened in one burst (a pool warming up, a proxy's
// upstreams) get keepalive deadlines in the same kernel timer slot, so their
// probes leave in one timer run. On loopback each packet is queued to the
// sending CPU's backlog (net.core.netdev_max_backlog, 1000 by default), the
// excess is dropped, and TCP is not told: every dropped probe counts as
// unanswered. The retries of the dropped sockets were armed in the same run
// with the same interval, so they leave together again, and after `count`
// of them healthy connections are reset with ETIMEDOUT.
//
// Granularity: the kernels hold idle and interval in whole seconds (the API
// rounds up), so a draw is a whole number of seconds; drawing milliseconds
// would only be rounded back onto the same values. Linux's timer wheel is
// coarser still for long timers: at HZ=250 a timer armed 16 s to 2 min ahead
// fires on a 2.048 s grid, so a 10 % spread of a 20-30 s idle alone splits
// one burst of first probes into two or three groups at most (hence the
// re-arm in afterApply below). Timers under 16 s (the retries) fire on a
// 256 ms grid, where a one-second difference in the interval always lands in
// another slot: that is what breaks the collisions of the retries. Hence the
// interval is spread by at least one second (up to 25 %) where 10 % is less
// than a second.
//
// Bounds: never above what the socket would hold without the spread, never
// below 90 % of the idle asked for nor below the platform's minimum: a dead
// peer is given up earlier, never later. An idle under 10 s and an interval
// under 4 s have no whole second within their bound, and are kept.
import { backend } from './backend'
import { capabilities } from './capabilities'
import { invalidType } from './errors'
import { types } from 'node:util'
import { kState, stateOf, type InternalSocket, type SocketState } from './socket'
import { UNSET, type Normalized } from './values'

/** How far below the requested value a drawn idle may go. */
const SPREAD_FRACTION = 0.1
/** How far below an interval may go where 10 % is less than one second. */
const MAX_INTERVAL_FRACTION = 0.25
const GRANULE = 1000

/**
 * A time drawn uniformly among the whole seconds from `floor` to `ms`
 * rounded up (the value the kernel would hold), and not below `min`.
 */
function drawTime(ms: number, floor: number, min: number, random: () => number = Math.random): number {
  const top = Math.ceil(ms / GRANULE)
  const bottom = Math.max(Math.ceil(floor / GRANULE), Math.ceil(min / GRANULE), 1)
  if (top <= bottom) return ms
  const k = bottom + Math.floor(random() * (top - bottom + 1))
  // The top value is the request itself: the kernel rounds it up the same way.
  return k >= top ? ms : k * GRANULE
}

/** The lowest idle a spread may give: 10 % below the request. */
const idleFloor = (ms: number): number => ms * (1 - SPREAD_FRACTION)
/**
 * The lowest interval: 10 % below, or one second below where 10 % is less
 * than a second, but never more than 25 % below. Retries of sockets whose
 * probes were dropped together leave together again unless their intervals
 * differ, and the kernel holds whole seconds: 10 % of a 5 s interval would
 * leave every socket at 5 s. Below 4 s an interval is kept.
 */
const intervalFloor = (ms: number): number =>
  Math.max(ms * (1 - MAX_INTERVAL_FRACTION), Math.min(ms * (1 - SPREAD_FRACTION), Math.ceil(ms / GRANULE) * GRANULE - GRANULE))

/** Options made by spreadOf, so that applying them can arrange the first probe's timer. */
const drawn = new WeakSet<Normalized>()

/**
 * This socket's share of bulk options: idle and interval drawn per socket,
 * the rest as given. Returns `n` itself when keepalive is being turned
 * off or neither time is given.
 */
function spreadOf(n: Normalized): Normalized {
  if (n.enable === 0 || (n.idle === UNSET && n.interval === UNSET)) return n
  const limits = capabilities.limits
  const idle = n.idle === UNSET ? UNSET : drawTime(n.idle, idleFloor(n.idle), limits.idle.min)
  const interval = n.interval === UNSET ? UNSET : drawTime(n.interval, intervalFloor(n.interval), limits.interval.min)
  const out: Normalized = { enable: n.enable, idle, interval, count: n.count, userTimeout: n.userTimeout }
  drawn.add(out)
  return out
}

// Linux's timer wheel fires a timer armed 16 s or more ahead on a 2 s grid
// and one armed less than 16 s ahead on a 256 ms grid (HZ=250; other HZ
// values have other grids, but a timer armed closer is always on a finer
// one). The first keepalive timer of a connection is armed for the whole
// idle time, so the first probes of connections opened within a couple of
// seconds all leave in one or two timer runs however the idles are drawn,
// and every later probe keeps that phase. Setting the idle again once less
// than 15 s remain makes the kernel re-arm the timer (for the same deadline:
// the idle counts from the last packet received) on the finer grid, where
// connections opened at different moments keep different slots. Done only
// where the kernel still holds the idle drawn (nobody changed it since), and
// never on a destroyed socket (the backend refuses it).
const FINE_AHEAD = 15_000
// Read at first use: capabilities loads the addon, importing does not.
let refining: boolean | undefined
const REFINE = (): boolean => (refining ??= capabilities.native && capabilities.platform === 'linux')

// Sockets waiting for that re-arm, by the second it is due: one timer per
// second that has any, not one per connection. (A timer per connection, with
// a WeakRef so that it kept no closed socket alive, added 26 % to the
// instructions per connection of the hook benchmark, most of it in the
// garbage collector.) A socket leaves its second at 'close', so a closed
// socket is held at most until that second (only where its 'close'
// listeners were taken off). Seconds on the monotonic clock, as timers
// count: a step of the wall clock must not move a re-arm past the kernel's
// timer.
const waiting = new Map<number, Set<InternalSocket>>()

/** Takes a waiting socket out of its second. */
function forget(socket: InternalSocket, state: SocketState): void {
  waiting.get(state.refineAt)?.delete(socket)
  state.refineAt = 0
  state.refineHandle = null
}

/** Called once bulk options are applied to a connected socket. */
export function afterApply(socket: InternalSocket, n: Normalized): void {
  if (!REFINE()) return
  const state = stateOf(socket)
  // Configured again: the last configuration decides whether a re-arm is due.
  if (state.refineAt !== 0) forget(socket, state)
  // An HTTP/2 session's socket proxy forwards listeners to the socket behind
  // it, but throws on every read once the session lets go of that socket:
  // not something to keep and read later.
  if (!drawn.has(n) || n.idle === UNSET || n.idle <= FINE_AHEAD + GRANULE || types.isProxy(socket)) return
  // Once per socket, and left on: taking it off at each 'close' cost more
  // than the rest of the wait together, and a socket connected again waits
  // again through the same listener.
  if (!state.refineWatched) {
    try {
      socket.on('close', leave)
    } catch {
      return
    }
    state.refineWatched = true
  }
  // Rounded up: 14 to 15 s before the kernel's timer, on its fine grid and
  // well before it fires.
  const now = performance.now()
  const at = Math.ceil((now + n.idle - FINE_AHEAD) / GRANULE)
  let sockets = waiting.get(at)
  if (sockets === undefined) {
    waiting.set(at, (sockets = new Set()))
    setTimeout(due, at * GRANULE - now, at).unref()
  }
  sockets.add(socket)
  state.refineAt = at
  // What the kernel holds: whole seconds, a drawn value being the request itself when it is the top one.
  state.refineIdle = Math.ceil(n.idle / GRANULE) * GRANULE
  state.refineHandle = socket._handle
}

/** 'close' of a waiting socket. */
function leave(this: InternalSocket): void {
  const state = this[kState]
  if (state === undefined) return
  // Not waiting, or the 'close' of an earlier connection of this socket come
  // after it connected again: the new connection waits on.
  if (state.refineAt === 0 || (this._handle !== null && this._handle === state.refineHandle)) return
  forget(this, state)
}

/** The timer of second `at`: re-arms each socket still waiting in it. */
function due(at: number): void {
  const sockets = waiting.get(at)
  waiting.delete(at)
  if (sockets === undefined) return
  for (const socket of sockets) {
    // One socket's failure is its own: the others of this second still get theirs.
    try {
      const state = socket[kState] as SocketState
      const idle = state.refineIdle
      forget(socket, state)
      refine(socket, idle)
    } catch {
      // Nothing to arrange on it.
    }
  }
}

function refine(socket: InternalSocket, idle: number): void {
  if (socket.destroyed) return
  try {
    const held = backend.get(socket)
    if (held.enabled !== true || held.idle !== idle) return
    // Through a second below: the kernel keeps a pending timer where it is
    // when asked for the same expiry (mod_timer), so the same idle alone
    // would change nothing.
    backend.set(socket, { enable: 1, idle: idle - GRANULE, interval: UNSET, count: UNSET, userTimeout: UNSET })
    backend.set(socket, { enable: 1, idle, interval: UNSET, count: UNSET, userTimeout: UNSET })
  } catch {
    // Closed in the meantime: nothing to arrange.
  }
}

/** `options` as bulk settings give them, spread when `spread` is on. */
export function bulkOptions<N extends Normalized | null>(n: N, spread: boolean): N {
  return n === null || !spread ? n : (spreadOf(n) as N)
}

/** Checks `settings.spread` (default true) of install(), withKeepAlive() and connector(). */
export function spreadSetting(value: unknown, argName = 'settings.spread'): boolean {
  if (value === undefined) return true
  if (typeof value !== 'boolean') throw invalidType(argName, 'of type boolean', value)
  return value
}
