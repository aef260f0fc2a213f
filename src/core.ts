import net = require('node:net')
import { native, type NativeBinding } from './binding'
import { invalidType, makeError, systemError, type KeepAliveError } from './errors'

/** What to set. Times are milliseconds; omitted fields are left as the socket has them. */
export interface KeepAliveOptions {
  /** Turn SO_KEEPALIVE on or off. Default `true`: asking for timing means wanting probes. */
  enable?: boolean
  /** Idle time before the first probe (TCP_KEEPIDLE; TCP_KEEPALIVE on macOS). */
  idle?: number
  /** Time between unanswered probes (TCP_KEEPINTVL). */
  interval?: number
  /** Unanswered probes before the connection is dropped (TCP_KEEPCNT). */
  count?: number
  /** Longest time sent data may stay unacknowledged before the connection is dropped
   *  (TCP_USER_TIMEOUT on Linux; see the README for other platforms). 0 = OS default. */
  userTimeout?: number
}

/** What the kernel holds. `null`: this platform cannot report the value. */
export interface KeepAliveState {
  enabled: boolean | null
  idle: number | null
  interval: number | null
  count: number | null
  userTimeout: number | null
}

export type KeepAliveOptionName = 'idle' | 'interval' | 'count' | 'userTimeout'

export interface OptionLimit {
  readonly min: number
  readonly max: number
}

export interface Capabilities {
  /** The addon loaded; false means the fallback over Node's own `socket.setKeepAlive`. */
  readonly native: boolean
  readonly platform: string
  readonly idle: boolean
  readonly interval: boolean
  readonly count: boolean
  readonly userTimeout: boolean
  /** Accepted input per option (ms for times, probes for count), after rounding. */
  readonly limits: Readonly<Record<KeepAliveOptionName, OptionLimit>>
  /** The OS option behind `userTimeout`, or null where there is none. */
  readonly userTimeoutOption: string | null
  /** Why the addon did not load, when `native` is false. */
  readonly reason: string | null
}

const NUMERIC: readonly KeepAliveOptionName[] = ['idle', 'interval', 'count', 'userTimeout']
const KNOWN = new Set<string>(['enable', ...NUMERIC])
const UNSET = -1

// Without the addon only Node's socket.setKeepAlive(true, ms) is reachable: it
// sets the idle time in whole seconds. The bounds are the kernel's, which Node
// would otherwise hit silently (it ignores setsockopt failures).
const FALLBACK_IDLE_MAX_S = process.platform === 'linux' ? 32767 : process.platform === 'win32' ? 4294967 : 2147483

function buildCapabilities(binding: NativeBinding | null, reason: string | null): Capabilities {
  if (binding) {
    const c = binding.capabilities
    const limit = (r: { min: number; max: number }): OptionLimit => Object.freeze({ min: r.min, max: r.max })
    return Object.freeze({
      native: true,
      platform: c.platform,
      idle: c.idle.supported,
      interval: c.interval.supported,
      count: c.count.supported,
      userTimeout: c.userTimeout.supported,
      limits: Object.freeze({ idle: limit(c.idle), interval: limit(c.interval), count: limit(c.count), userTimeout: limit(c.userTimeout) }),
      userTimeoutOption: c.userTimeout.supported ? c.userTimeoutOption : null,
      reason: null,
    })
  }
  const none = Object.freeze({ min: 0, max: 0 })
  return Object.freeze({
    native: false,
    platform: process.platform,
    idle: true,
    interval: false,
    count: false,
    userTimeout: false,
    limits: Object.freeze({ idle: Object.freeze({ min: 1, max: FALLBACK_IDLE_MAX_S * 1000 }), interval: none, count: none, userTimeout: none }),
    userTimeoutOption: null,
    reason,
  })
}

export const capabilities: Capabilities = buildCapabilities(native.binding, native.reason)

/** Validated options: -1 marks a field to leave alone. Never mutated once made, so hooks share one value. */
export interface Normalized {
  readonly enable: number
  readonly idle: number
  readonly interval: number
  readonly count: number
  readonly userTimeout: number
}

const UNIT: Record<KeepAliveOptionName, string> = {
  idle: 'ms, rounded up to whole seconds',
  interval: 'ms, rounded up to whole seconds',
  count: 'probes',
  userTimeout: capabilities.platform === 'linux' ? 'ms' : 'ms, rounded up to whole seconds',
}

function closest(key: string): string | null {
  // A typo such as `intreval` should name what was meant.
  const lower = key.toLowerCase()
  for (const known of KNOWN) {
    const k = known.toLowerCase()
    if (lower === k || (lower.length === k.length && [...lower].sort().join('') === [...k].sort().join(''))) return known
  }
  for (const known of KNOWN) if (known.toLowerCase().startsWith(lower.slice(0, 3))) return known
  return null
}

// Per option, what readNumber needs, resolved once: looking these up by key
// on every call was half the cost of validation.
interface Check {
  readonly key: KeepAliveOptionName
  readonly supported: boolean
  readonly min: number
  readonly max: number
}
const check = (key: KeepAliveOptionName): Check =>
  Object.freeze({ key, supported: capabilities[key], min: capabilities.limits[key].min, max: capabilities.limits[key].max })
const CHECK_IDLE = check('idle')
const CHECK_INTERVAL = check('interval')
const CHECK_COUNT = check('count')
const CHECK_USER_TIMEOUT = check('userTimeout')

// Takes the value, not the key: a keyed load with four different keys goes
// megamorphic and was the largest JS cost of a call in a perf profile.
function readNumber(value: unknown, c: Check, argName: string): number {
  if (value === undefined) return UNSET
  // Errors are built out of line so this stays small enough to inline; the
  // happy path joins no strings.
  if (typeof value !== 'number') throw invalidType(`${argName}.${c.key}`, 'of type number', value)
  if (!c.supported || !Number.isInteger(value) || value < c.min || value > c.max) throw badNumber(value, c, argName)
  // Object.is(-0) is an integer in range for userTimeout; store plain 0.
  return value === 0 ? 0 : value
}

function badNumber(value: number, c: Check, argName: string): Error {
  const name = `${argName}.${c.key}`
  if (!c.supported) {
    const why = capabilities.native ? `on ${capabilities.platform}` : `without the native addon (${capabilities.reason ?? 'not loaded'})`
    return makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `The option "${name}" is not supported ${why}`)
  }
  const integer = Number.isInteger(value) ? '' : 'an integer '
  return makeError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${integer}>= ${c.min} && <= ${c.max} (${UNIT[c.key]}, ${capabilities.platform}). Received ${String(value)}`,
  )
}

function unknownKey(argName: string, key: string): Error {
  const hint = closest(key)
  return makeError(
    TypeError,
    'ERR_INVALID_ARG_VALUE',
    `The property "${argName}.${key}" is not a keepalive option${hint ? `; did you mean "${hint}"?` : ''} Known options: ${[...KNOWN].join(', ')}`,
  )
}

const DEFAULTS: Normalized = Object.freeze({ enable: 1, idle: UNSET, interval: UNSET, count: UNSET, userTimeout: UNSET })

/**
 * Validates options once, so hooks can check at install time and apply the
 * same frozen value to every socket.
 */
export function normalizeOptions(options: unknown, argName = 'options'): Normalized {
  if (options === undefined) return DEFAULTS
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType(argName, 'of type object', options)
  const record = options as Record<string, unknown>
  // Own keys only, as an object spread would see them; a switch is several
  // times cheaper than a Set lookup per key on this per-call path.
  const keys = Object.keys(record)
  for (let i = 0; i < keys.length; i++) {
    switch (keys[i]) {
      case 'enable':
      case 'idle':
      case 'interval':
      case 'count':
      case 'userTimeout':
        break
      default:
        throw unknownKey(argName, keys[i] as string)
    }
  }
  const enable = record.enable
  if (enable !== undefined && typeof enable !== 'boolean') throw invalidType(`${argName}.enable`, 'of type boolean', enable)
  // Not frozen: readonly in the type is enough for internal values, and
  // freezing on every call costs more than the setsockopt it precedes.
  return {
    enable: enable === false ? 0 : 1,
    idle: readNumber(record.idle, CHECK_IDLE, argName),
    interval: readNumber(record.interval, CHECK_INTERVAL, argName),
    count: readNumber(record.count, CHECK_COUNT, argName),
    userTimeout: readNumber(record.userTimeout, CHECK_USER_TIMEOUT, argName),
  }
}

// Node-internal shape of net.Socket that this module relies on.
interface SocketHandle {
  fd?: number
  constructor?: { name?: string }
}
type InternalSocket = net.Socket & {
  _handle: SocketHandle | null
  connecting: boolean
  [kState]?: SocketState
}

const FD_TARGET = native.binding?.capabilities.target === 'fd'

/** Receives a failure nobody can catch (a deferred or automatic apply). */
export type ErrorSink = (err: Error, socket: net.Socket) => void

/**
 * Everything this library keeps about one socket, under one symbol: each new
 * property on a net.Socket is a hidden-class transition (and often a grown
 * property array) on the hot path of every hooked connection, so there is
 * one, made once. Updated in place; never deleted (that would drop the socket
 * into V8's dictionary mode).
 */
class SocketState {
  /** Options waiting for 'connect'. */
  pending: Normalized | undefined = undefined
  onError: ErrorSink | undefined = undefined
  /** A hook has taken this socket; a second path reaching it does nothing. */
  claimed = false
  /** What this library last set (UNSET where never), valid when `applied`. */
  applied = false
  enable = UNSET
  idle = UNSET
  interval = UNSET
  count = UNSET
  userTimeout = UNSET
}

const kState = Symbol('tcp-keepalive.state')

function stateOf(socket: InternalSocket): SocketState {
  let state = socket[kState]
  if (state === undefined) {
    state = new SocketState()
    socket[kState] = state
  }
  return state
}

/** For the hooks: true the first time a socket is claimed, false after. */
export function claim(socket: net.Socket): boolean {
  const state = stateOf(socket as InternalSocket)
  if (state.claimed) return false
  state.claimed = true
  return true
}

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

function checkSocket(socket: unknown): InternalSocket {
  if (!(socket instanceof net.Socket)) throw invalidType('socket', 'an instance of net.Socket', socket)
  if (socket.destroyed) throw makeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed')
  return socket as InternalSocket
}

type Target = number | [string, number, string, number]

function notTcp(): Error {
  return makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', 'The socket is not a TCP socket (it is a Unix domain socket or named pipe)')
}

// Handle classes by identity once seen by name: reading constructor.name
// costs more than the rest of a call's checks together.
const enum Kind {
  Tcp,
  Pipe,
  Other,
}
let tcpClass: unknown = null
let pipeClass: unknown = null
function kindOf(handle: SocketHandle | null): Kind {
  const ctor = handle?.constructor
  if (ctor === undefined) return Kind.Other
  if (ctor === tcpClass) return Kind.Tcp
  if (ctor === pipeClass) return Kind.Pipe
  const name = ctor.name
  if (name === 'TCP') tcpClass = ctor
  else if (name === 'Pipe') pipeClass = ctor
  return name === 'TCP' ? Kind.Tcp : name === 'Pipe' ? Kind.Pipe : Kind.Other
}

/**
 * The OS socket behind `socket`, read from the live handle now (fd numbers are
 * reused after close, so it is never cached). null: not connected yet.
 */
function targetOf(socket: InternalSocket): Target | null {
  const handle = socket._handle
  if (!handle || socket.connecting) return null
  if (kindOf(handle) === Kind.Pipe) throw notTcp()
  if (FD_TARGET) {
    const fd = handle.fd
    if (typeof fd !== 'number' || fd < 0) throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', `The socket has no OS socket behind it (handle: ${handle.constructor?.name ?? 'unknown'})`)
    return fd
  }
  const { localAddress, localPort, remoteAddress, remotePort } = socket
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) {
    throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', `The socket has no TCP endpoints (handle: ${handle.constructor?.name ?? 'unknown'})`)
  }
  return [localAddress, localPort, remoteAddress, remotePort]
}

function translate(err: unknown): Error {
  const e = err as { uvCode?: unknown; syscall?: unknown; option?: unknown }
  if (typeof e?.uvCode !== 'number') return err as Error
  if (e.uvCode === 1) return makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', 'The socket is not an IPv4/IPv6 TCP socket')
  if (e.uvCode === 2) return makeError(Error, 'ERR_TCP_KEEPALIVE_SOCKET_NOT_FOUND', 'No TCP handle of this event loop matches the socket\'s endpoints')
  return systemError(e.uvCode, String(e.syscall), String(e.option))
}

function merge(old: Normalized | SocketState | undefined, next: Normalized): Normalized {
  if (!old) return next
  return {
    enable: next.enable,
    idle: next.idle === UNSET ? old.idle : next.idle,
    interval: next.interval === UNSET ? old.interval : next.interval,
    count: next.count === UNSET ? old.count : next.count,
    userTimeout: next.userTimeout === UNSET ? old.userTimeout : next.userTimeout,
  }
}

const warned = new Set<string>()

/** Default sink for failures that happen where nobody can catch them (deferred or automatic configuration). */
export function reportError(err: Error, onError?: ErrorSink, socket?: net.Socket): void {
  if (onError && socket) {
    onError(err, socket)
    return
  }
  const code = (err as { code?: string }).code ?? 'UNKNOWN'
  if (warned.has(code)) return
  warned.add(code)
  process.emitWarning(`tcp-keepalive could not configure a socket: ${err.message}`, { type: 'TcpKeepAliveWarning', code })
}

// A handle Node created as TCP is TCP; anything else (TLSWrap, which may sit
// on a pipe) is checked natively at the cost of two syscalls.
function needsCheck(socket: InternalSocket): boolean {
  return kindOf(socket._handle) !== Kind.Tcp
}

function applyNative(binding: NativeBinding, target: Target, verify: boolean, n: Normalized): void {
  const slots = binding.slots
  slots[0] = verify ? 1 : 0
  slots[1] = n.enable
  slots[2] = n.idle
  slots[3] = n.interval
  slots[4] = n.count
  slots[5] = n.userTimeout
  try {
    binding.set(target)
  } catch (err) {
    throw translate(err)
  }
}

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
function guard(socket: InternalSocket): void {
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

function applyChecked(s: InternalSocket, n: Normalized, onError?: ErrorSink): void {
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

/** Sets keepalive options on a TCP socket (plain, TLS, client or accepted). */
export function setKeepAlive(socket: net.Socket, options?: KeepAliveOptions): void {
  // The socket is checked before the options, as Node orders its argument errors.
  const s = checkSocket(socket)
  applyChecked(s, normalizeOptions(options))
}

function orNull(v: number): number | null {
  return v < 0 ? null : v
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
  const slots = binding.slots
  slots[0] = needsCheck(s) ? 1 : 0
  try {
    binding.get(target)
  } catch (err) {
    throw translate(err)
  }
  return {
    enabled: slots[1] === -1 ? null : slots[1] === 1,
    idle: orNull(slots[2] as number),
    interval: orNull(slots[3] as number),
    count: orNull(slots[4] as number),
    userTimeout: orNull(slots[5] as number),
  }
}

/**
 * For other readers of a socket's kernel state (getTcpInfo): runs `read` on
 * the socket's OS target with getKeepAlive's checks and error translation.
 * Returns null when the addon is not loaded.
 */
export function readNative<T>(socket: net.Socket, read: (binding: NativeBinding, target: Target, verify: boolean) => T): T | null {
  const s = checkSocket(socket)
  const binding = native.binding
  if (!binding) {
    if (kindOf(s._handle) === Kind.Pipe) throw notTcp()
    return null
  }
  const target = targetOf(s)
  if (target === null) throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_CONNECTED', 'The socket is not connected yet; read it after \'connect\'')
  try {
    return read(binding, target, needsCheck(s))
  } catch (err) {
    throw translate(err)
  }
}

export type { KeepAliveError }
