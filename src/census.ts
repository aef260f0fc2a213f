// The census: every connected TCP socket of this thread that the hooks reached
// or setKeepAlive was given, read on demand.
//
// It must never be a leak of its own. A socket is in the list from when it
// is reached until Node destroys it: the close watch (timeout-event.ts) takes
// it out in socket._destroy(), and an open socket is held alive by its OS
// handle anyway, so the list extends no socket's life. (A WeakRef per
// socket would say the same at about 1 us per connection: more than the
// rest of the census together.) Should another library put back
// Socket.prototype._destroy from before the watch, destroyed sockets are
// still swept whenever the list has doubled since the last sweep, so it stays
// within about twice the open sockets. Node's list of active handles is no
// help: agents unref() their free sockets.
import type net = require('node:net')
import { backend, type SocketReading } from './backend'
import { invalidType, makeError } from './errors'
import { DEFAULT_IDLE_LIMIT, isExposed } from './exposure'
import type { KeepAliveState } from './options'
import { stateOf, type InternalSocket, kState, type SocketState } from './socket'
import type { TcpState } from './tcpinfo'
import { rememberPeer, watchCloses } from './timeout-event'

/** One connection as `connections()` reports it. Times are milliseconds. */
export interface Connection {
  /** `client`: opened by this process; `server`: accepted by one of its servers. */
  direction: 'client' | 'server'
  /** `address:port`, IPv6 in brackets. */
  local: string
  remote: string
  /** TLS server name or the host given to connect, where Node records it. */
  host: string | null
  /** From TCP_INFO; `null` where the OS does not report it (or without the addon). */
  state: TcpState | null
  /** Time since the socket connected (or, for one given to setKeepAlive later, since then). */
  age: number
  /** Time since data last moved either way, from TCP_INFO; `null` where the OS does not say. */
  idle: number | null
  /** As `getKeepAlive` reads it. */
  keepalive: KeepAliveState
  /** An idle-dropping middlebox with limit `idleLimit` would forget this connection. */
  exposed: boolean
  /** Bytes, from TCP_INFO where the OS has them, else Node's own counters. */
  bytesSent: number
  bytesReceived: number
  /** Segments retransmitted over the connection's life; `null` where the OS does not say. */
  retransmits: number | null
  /** `file:line` where the connection was opened (`install(…, { origins: true })`), else `null`. */
  origin: string | null
}

export interface ConnectionsOptions {
  /** The idle limit of the middlebox `exposed` is judged against. Default 350 000 (350 s, an AWS NLB). */
  idleLimit?: number
}

export { DEFAULT_IDLE_LIMIT, isExposed }

export type Tracked = InternalSocket & { _host?: string | null; servername?: string | false | null; bytesRead?: number; bytesWritten?: number }

// Open sockets, each at the index its state records: removal is a swap with
// the last and a pop, O(1), leaving no stale reference behind. (A Set did the
// same in O(1) too, but kept destroyed sockets reachable until the next full
// GC: a tenth more instructions per connection, all of them in the GC.)
const live: InternalSocket[] = []
// Each entry's state beside it, so that moving or dropping an entry reads no
// socket: an HTTP/2 session's `socket` (what setKeepAlive is given there) is a
// proxy that throws on every read once the session lets go of its socket,
// which then closes as itself, not as the listed proxy.
const states: SocketState[] = []
let sweepAt = 64

function removeAt(index: number): void {
  ;(states[index] as SocketState).slot = -1
  const last = live.pop() as InternalSocket
  const lastState = states.pop() as SocketState
  if (index < live.length) {
    live[index] = last
    states[index] = lastState
    lastState.slot = index
  }
}

/** A listed proxy whose session let go of its socket reads as destroyed. */
function destroyed(s: InternalSocket): boolean {
  try {
    return s.destroyed
  } catch {
    return true
  }
}

/** Drops sockets destroyed without passing the close watch; returns the open ones. */
function sweep(): InternalSocket[] {
  for (let i = live.length - 1; i >= 0; i--) if (destroyed(live[i] as InternalSocket)) removeAt(i)
  sweepAt = Math.max(64, live.length * 2)
  return live.slice()
}

/** Called by the close watch as Node destroys a socket (the socket itself, where a proxy was listed). */
export function untrack(s: InternalSocket): void {
  const state = s[kState]
  if (state === undefined || state.slot < 0 || states[state.slot] !== state) return
  removeAt(state.slot)
}

/**
 * Adds a socket to the census (once). `origin` is where it was opened, when
 * known. Called by the hooks and by setKeepAlive.
 */
export function track(s: InternalSocket, direction: 0 | 1, origin: string | null): void {
  const state = stateOf(s)
  // In the list already; a socket destroyed and connected again is added again.
  if (state.slot >= 0) return
  state.tracked = true
  state.direction = direction
  state.origin = origin
  if (s.connecting || s._handle === null) state.since = 0
  else {
    state.since = Date.now()
    rememberPeer(s)
  }
  if (live.length >= sweepAt) sweep()
  state.slot = live.length
  live.push(s)
  states.push(state)
  watchCloses()
}

/** setKeepAlive's path: one check on a socket already listed (a call per request on a pooled socket). */
export function trackExplicit(s: InternalSocket): void {
  const state = s[kState]
  if (state === undefined || state.slot < 0) track(s, directionOf(s), null)
}

/** For a socket tracked while connecting: its age starts now. */
export function markConnected(s: InternalSocket): void {
  const state = s[kState]
  if (state === undefined || !state.tracked) return
  if (state.since === 0) state.since = Date.now()
  rememberPeer(s)
}

/** 1 for a socket accepted by a server (net or tls), 0 otherwise. */
function directionOf(s: net.Socket): 0 | 1 {
  const x = s as net.Socket & { server?: unknown; _server?: unknown; _tlsOptions?: { isServer?: boolean } }
  return x._server != null || x.server != null || x._tlsOptions?.isServer === true ? 1 : 0
}

function endpoint(address: string | undefined, port: number | undefined): string {
  if (address === undefined || port === undefined) return ''
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

export function hostOf(s: Tracked): string | null {
  return typeof s.servername === 'string' ? s.servername : (s._host ?? null)
}

/** What the kernel holds for one socket; null when it is not a connected TCP socket or the OS would not read it. */
export function readSocket(s: InternalSocket): SocketReading | null {
  return backend.readAll([s])[0] ?? null
}

/**
 * Visits each connected socket of the census with what the kernel holds for
 * it, read in one pass (backend.readAll). One the kernel will not read (not
 * TCP after all, e.g. TLS over a Unix socket; or torn down where the OS
 * refuses reads then) is left out.
 */
export function readConnected(visit: (s: Tracked, read: SocketReading) => void): void {
  const open = (sweep() as Tracked[]).filter((s) => !s.connecting && s._handle !== null)
  const reads = backend.readAll(open)
  for (let i = 0; i < open.length; i++) {
    const read = reads[i]
    if (read !== null && read !== undefined) visit(open[i] as Tracked, read)
  }
}

/**
 * Every connected TCP socket of this thread that the hooks reached
 * (`install()` or the preload; accepted ones with `server: true`) or that was
 * given to `setKeepAlive`, including sockets idle in a pool. Reads the kernel
 * for each (keepalive options and TCP_INFO). Holds no socket alive.
 */
export function connections(options: ConnectionsOptions = {}): Connection[] {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
  for (const key of Object.keys(options)) {
    if (key !== 'idleLimit') throw makeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property "options.${key}" is not a connections() option. Known options: idleLimit.`)
  }
  const limit = options.idleLimit ?? DEFAULT_IDLE_LIMIT
  if (typeof limit !== 'number') throw invalidType('options.idleLimit', 'of type number', limit)
  if (!Number.isInteger(limit) || limit < 1) throw makeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.idleLimit" is out of range. It must be an integer >= 1 (ms). Received ${String(limit)}`)
  const now = Date.now()
  const out: Connection[] = []
  readConnected((s, read) => {
    const state = s[kState]
    const { keepalive, info } = read
    const idle = info === null || info.lastDataSent === null || info.lastDataReceived === null ? null : Math.min(info.lastDataSent, info.lastDataReceived)
    // Tracked while connecting by a path that never saw 'connect': first seen connected now.
    if (state !== undefined && state.since === 0) state.since = now
    const since = state?.since ?? now
    out.push({
      direction: state?.direction === 1 ? 'server' : 'client',
      local: endpoint(s.localAddress, s.localPort),
      remote: endpoint(s.remoteAddress, s.remotePort),
      host: hostOf(s),
      state: info?.state ?? null,
      age: Math.round(now - since),
      idle,
      keepalive,
      exposed: isExposed(keepalive, limit),
      bytesSent: info?.bytesSent ?? s.bytesWritten ?? 0,
      bytesReceived: info?.bytesReceived ?? s.bytesRead ?? 0,
      retransmits: info?.totalRetransmits ?? null,
      origin: state?.origin ?? null,
    })
  })
  return out
}
