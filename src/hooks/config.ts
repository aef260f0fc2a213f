// What one install(), withKeepAlive() or connector() call configures sockets
// with, and configuring one socket with it.
import type net = require('node:net')
import { applyFromHook, isExplicit } from '../apply'
import { reportError, type ErrorSink } from '../errors'
import { normalizeOptions, type KeepAliveOptions, type Normalized } from '../options'
import { hostOf, track } from '../census'
import { captureOrigin } from '../origins'
import { claim, type InternalSocket } from '../socket'
import { bulkOptions } from '../spread'

/** What a per-socket chooser learns about the connection. */
export interface SocketInfo {
  /** `client`: opened by this process; `server`: accepted by a server. */
  direction: 'client' | 'server'
  remoteAddress: string | undefined
  remotePort: number | undefined
  localAddress: string | undefined
  localPort: number | undefined
  /** TLS server name or the host given to connect, where Node records it. */
  host: string | undefined
}

/** Static options, or a function choosing per socket (`false` skips it). Called once the socket is connected. */
export type KeepAliveChooser = (socket: net.Socket, info: SocketInfo) => KeepAliveOptions | false | undefined

export type Direction = 'client' | 'server'

export interface Config {
  fixed: Normalized | null
  choose: KeepAliveChooser | null
  client: boolean
  server: boolean
  onError: ((err: Error, socket: net.Socket) => void) | undefined
  /** Draw each socket's idle and interval (spread.ts). */
  spread: boolean
  /** List reached sockets in connections() (census.ts). */
  census: boolean
  /** Record where each was opened (origins.ts). */
  origins: boolean
  /** fail() bound to this config, made once: no closure per socket. */
  sink: ErrorSink
  /** The chooser run at 'connect' for a client socket reached before it (made once). */
  deferred: ((socket: net.Socket) => Normalized | null) | null
  /** The chooser for an accepted socket (made once). */
  accepted: ((socket: net.Socket) => Normalized | null) | null
}

export function makeConfig(fields: Omit<Config, 'sink' | 'deferred' | 'accepted' | 'census' | 'origins'> & Partial<Pick<Config, 'census' | 'origins'>>): Config {
  const config = fields as Config
  config.census ??= false
  config.origins ??= false
  config.sink = (err, socket) => fail(config, err, socket)
  config.deferred = config.choose === null ? null : (socket) => choose(config, socket, 'client')
  config.accepted = config.choose === null ? null : (socket) => choose(config, socket, 'server')
  return config
}

type Marked = net.Socket & { _host?: string | null; servername?: string | false | null }

function infoOf(socket: Marked, direction: Direction): SocketInfo {
  return {
    direction,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    host: hostOf(socket as InternalSocket) ?? undefined,
  }
}

export function fail(config: Config, err: unknown, socket: net.Socket): void {
  const error = err instanceof Error ? err : new Error(String(err))
  try {
    if (config.onError) config.onError(error, socket)
    else reportError(error)
  } catch (inner) {
    // A throwing onError must not become an uncaught exception in a socket event.
    reportError(inner instanceof Error ? inner : new Error(String(inner)))
  }
}

function choose(config: Config, socket: Marked, direction: Direction): Normalized | null {
  if (socket.destroyed || !config.choose || isExplicit(socket)) return null
  try {
    const chosen = config.choose(socket, infoOf(socket, direction))
    if (chosen === false || chosen === undefined) return null
    return bulkOptions(normalizeOptions(chosen, 'chooser result'), config.spread)
  } catch (err) {
    fail(config, err, socket)
    return null
  }
}

/** A socket a hook reached: configured once per connection, unless an explicit call made it the user's. */
export function configure(config: Config, socket: net.Socket, direction: Direction): void {
  if (direction === 'client' ? !config.client : !config.server) return
  const s = socket as InternalSocket
  // An explicit call (setKeepAlive, withKeepAlive, connector) made the socket the user's, whatever the order.
  // A destroyed client without a handle is being connected again: the hooks
  // run in connect() before Node clears `destroyed`.
  if ((s.destroyed && (direction === 'server' || s._handle !== null)) || isExplicit(s) || !claim(s)) return
  if (config.census) track(s, direction === 'server' ? 1 : 0, config.origins ? captureOrigin() : null)
  // A chooser sees the connected socket (addresses, servername); the client
  // channel publishes before connect() has even started.
  const chooser = config.fixed !== null ? null : direction === 'client' ? config.deferred : config.accepted
  applyFromHook(s, bulkOptions(config.fixed, config.spread), chooser, config.sink)
}
