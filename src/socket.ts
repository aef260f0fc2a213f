// What this library knows and keeps about a net.Socket: its OS socket, its
// kind, and one state record.
import net = require('node:net')
import { invalidType, makeError, type ErrorSink } from './errors'
import { UNSET, type Normalized } from './values'

// Node-internal shape of net.Socket that this module relies on.
interface SocketHandle {
  fd?: number
  constructor?: { name?: string }
}
export type InternalSocket = net.Socket & {
  _handle: SocketHandle | null
  connecting: boolean
  [kState]?: SocketState
}

/**
 * Everything this library keeps about one socket, under one symbol: each new
 * property on a net.Socket is a hidden-class transition (and often a grown
 * property array) on the hot path of every hooked connection, so there is
 * one, made once. Updated in place; never deleted (that would drop the socket
 * into V8's dictionary mode).
 */
export class SocketState {
  /** Options waiting for 'connect'. */
  pending: Normalized | undefined = undefined
  /** `pending` came from a hook alone: an explicit call replaces it instead of merging. */
  pendingFromHook = false
  /** A hook's chooser waiting for 'connect' (it needs the addresses). */
  chooser: ((socket: net.Socket) => Normalized | null) | undefined = undefined
  onError: ErrorSink | undefined = undefined
  /** The install (registry.current) whose hook left `pending`/`chooser`: another one current at 'connect' decides instead. */
  pendingOwner: object | null = null
  /** The shared 'connect' listener is on this socket. Added once: a socket may connect again. */
  listening = false
  /** The handle of the connection a hook configured: a second path reaching the same connection does
   *  nothing, a reconnect (new handle) is configured again. */
  hookHandle: object | null = null
  /** What this library last set (UNSET where never), valid when `applied`. */
  applied = false
  enable = UNSET
  idle = UNSET
  interval = UNSET
  count = UNSET
  userTimeout = UNSET
  /** Listed by connections() (census.ts): a hook reached it or setKeepAlive was given it. */
  tracked = false
  /** 0: opened here (client), 1: accepted by a server. */
  direction = 0
  /** Date.now() when it connected (or was first seen connected); 0 while connecting. */
  since = 0
  /** Where it was opened (origins.ts), when origins are on. */
  origin: string | null = null
  /** Its index in the census list; -1 when not in it. */
  slot = -1
  /** The second (performance.now() / 1000) its first keepalive timer is due to be re-armed (spread.ts); 0: none. */
  refineAt = 0
  /** The idle the kernel holds for it (the drawn one, in whole seconds), which the re-arm sets again. */
  refineIdle = 0
  /** The handle of the connection waiting for that re-arm. */
  refineHandle: object | null = null
  /** spread.ts's 'close' listener is on this socket (added once, left on). */
  refineWatched = false
}

export const kState = Symbol('tcp-keepalive.state')

export function stateOf(socket: InternalSocket): SocketState {
  let state = socket[kState]
  if (state === undefined) {
    state = new SocketState()
    socket[kState] = state
  }
  return state
}

/**
 * For the hooks: false when a hook already configured this connection. A
 * socket not connected yet is always claimable: a hook then only sets what
 * waits for 'connect', so a second path reaching it replaces the same thing.
 */
export function claim(socket: InternalSocket): boolean {
  const handle = socket._handle
  if (handle === null || socket.connecting) return true
  const state = stateOf(socket)
  if (state.hookHandle === handle) return false
  state.hookHandle = handle
  return true
}

/** Not a failure of this package when a hook meets it: skipped silently. */
export function isNoise(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ERR_TCP_KEEPALIVE_NOT_TCP' || code === 'ERR_SOCKET_CLOSED'
}

export function checkSocket(socket: unknown): InternalSocket {
  if (!(socket instanceof net.Socket)) throw invalidType('socket', 'an instance of net.Socket', socket)
  if (socket.destroyed) throw makeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed')
  return socket as InternalSocket
}

function notTcp(): Error {
  return makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', 'The socket is not a TCP socket (it is a Unix domain socket or named pipe).')
}

// Handle classes by identity once seen by name: reading constructor.name
// costs more than the rest of a call's checks together.
export const enum Kind {
  Tcp,
  Pipe,
  Other,
}
let tcpClass: unknown = null
let pipeClass: unknown = null
export function kindOf(handle: SocketHandle | null): Kind {
  const ctor = handle?.constructor
  if (ctor === undefined) return Kind.Other
  if (ctor === tcpClass) return Kind.Tcp
  if (ctor === pipeClass) return Kind.Pipe
  const name = ctor.name
  if (name === 'TCP') tcpClass = ctor
  else if (name === 'Pipe') pipeClass = ctor
  return name === 'TCP' ? Kind.Tcp : name === 'Pipe' ? Kind.Pipe : Kind.Other
}

/** A Unix-domain socket or named pipe: never configured, refused by every call. */
export function isPipe(socket: InternalSocket): boolean {
  return kindOf(socket._handle) === Kind.Pipe
}

/** The pipe check of every call. */
export function assertTcp(socket: InternalSocket): void {
  if (isPipe(socket)) throw notTcp()
}

/** Has an OS socket with its endpoints (after 'connect', or accepted). */
export function isConnected(socket: InternalSocket): boolean {
  return socket._handle !== null && !socket.connecting
}

/** The not-connected check of every call that needs the OS socket now. */
export function assertConnected(socket: InternalSocket): void {
  if (!isConnected(socket)) {
    throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_CONNECTED', "The socket is not connected yet; read it after 'connect'")
  }
}
