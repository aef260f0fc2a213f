// Reaching the sockets other code opens.
//
// Which mechanism covers which path (measured on Node 20.20):
// - net.connect / net.createConnection, http.request with any agent (also
//   `agent: false`), built-in fetch over http: diagnostics_channel
//   `net.client.socket`, published when the socket is created.
// - built-in fetch (either scheme): `undici:client:connected`.
// - tls.connect, and so https.request with any agent: no channel on Node 20,
//   so install() wraps the `tls.connect` export (https and undici call it
//   through the same module object; ESM named imports are synced too). uninstall() puts the original back, or,
//   if someone wrapped it after us, leaves a pass-through.
// - accepted sockets ({ server: true }): `net.server.socket`.
// A socket reached by two paths is configured once (a per-socket mark).
//
// No structure here holds a socket: the channel callbacks and the 'connect'
// listener live on the socket itself, so they die with it.
import dc = require('node:diagnostics_channel')
import { syncBuiltinESMExports } from 'node:module'
import net = require('node:net')
import tls = require('node:tls')
import { applyNormalized } from './apply'
import { applicableRecommended } from './defaults'
import { invalidType, makeError, reportError, type ErrorSink } from './errors'
import { normalizeOptions, type KeepAliveOptions, type Normalized } from './options'
import { claim } from './socket'

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

export interface InstallOptions {
  /** Also configure sockets accepted by servers of this process. Default `false`. */
  server?: boolean
  /** Configure client sockets. Default `true`. */
  client?: boolean
  /** Receives every failure; default: one process warning per error code. Never throws into Node. */
  onError?: (err: Error, socket: net.Socket) => void
}

export interface InstallHandle {
  /** Stops configuring new sockets and restores what install() changed. Idempotent. */
  uninstall(): void
}

interface Config {
  fixed: Normalized | null
  choose: KeepAliveChooser | null
  client: boolean
  server: boolean
  onError: ((err: Error, socket: net.Socket) => void) | undefined
  /** fail() bound to this config, made once: no closure per socket. */
  sink: ErrorSink
}

function makeConfig(fields: Omit<Config, 'sink'>): Config {
  const config = fields as Config
  config.sink = (err, socket) => fail(config, err, socket)
  return config
}

type Marked = net.Socket & { _host?: string | null; servername?: string | false | null }

let active: Config | null = null
let originalTlsConnect: typeof tls.connect | null = null
let wrappedTlsConnect: typeof tls.connect | null = null

function infoOf(socket: Marked, direction: 'client' | 'server'): SocketInfo {
  const servername = typeof socket.servername === 'string' ? socket.servername : undefined
  return {
    direction,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    host: servername ?? socket._host ?? undefined,
  }
}

function fail(config: Config, err: unknown, socket: net.Socket): void {
  const error = err instanceof Error ? err : new Error(String(err))
  try {
    if (config.onError) config.onError(error, socket)
    else reportError(error)
  } catch (inner) {
    // A throwing onError must not become an uncaught exception in a socket event.
    reportError(inner instanceof Error ? inner : new Error(String(inner)))
  }
}

function chooseAndApply(config: Config, socket: Marked, direction: 'client' | 'server'): void {
  if (socket.destroyed || !config.choose) return
  try {
    const chosen = config.choose(socket, infoOf(socket, direction))
    if (chosen === false || chosen === undefined) return
    applyNormalized(socket, normalizeOptions(chosen, 'chooser result'))
  } catch (err) {
    fail(config, err, socket)
  }
}

function configure(socket: Marked, direction: 'client' | 'server'): void {
  const config = active
  if (!config) return
  if (direction === 'client' ? !config.client : !config.server) return
  if (!claim(socket)) return
  if (config.fixed) {
    try {
      applyNormalized(socket, config.fixed, config.sink)
    } catch (err) {
      fail(config, err, socket)
    }
    return
  }
  // A chooser sees the connected socket (addresses, servername); the client
  // channel publishes before connect() has even started.
  if (socket.connecting || socket.remotePort === undefined) socket.once('connect', () => chooseAndApply(config, socket, direction))
  else chooseAndApply(config, socket, direction)
}

function onClientSocket(message: unknown): void {
  const socket = (message as { socket?: unknown }).socket
  if (socket instanceof net.Socket) configure(socket, 'client')
}
function onServerSocket(message: unknown): void {
  const socket = (message as { socket?: unknown }).socket
  if (socket instanceof net.Socket) configure(socket, 'server')
}

function makeTlsWrapper(original: typeof tls.connect): typeof tls.connect {
  return function connect(this: unknown, ...args: unknown[]) {
    const socket = (original as (...a: unknown[]) => tls.TLSSocket).apply(this, args)
    if (active) configure(socket, 'client')
    return socket
  } as typeof tls.connect
}

function subscribe(): void {
  dc.subscribe('net.client.socket', onClientSocket)
  dc.subscribe('net.server.socket', onServerSocket)
  dc.subscribe('undici:client:connected', onClientSocket)
  originalTlsConnect = tls.connect
  wrappedTlsConnect = makeTlsWrapper(originalTlsConnect)
  tls.connect = wrappedTlsConnect
  // ESM `import { connect } from 'node:tls'` bindings follow the CJS exports only when told to.
  syncBuiltinESMExports()
}

function unsubscribe(): void {
  dc.unsubscribe('net.client.socket', onClientSocket)
  dc.unsubscribe('net.server.socket', onServerSocket)
  dc.unsubscribe('undici:client:connected', onClientSocket)
  // Only undo our own wrapper; a later wrapper keeps working because ours
  // checks `active` and passes through once uninstalled.
  if (tls.connect === wrappedTlsConnect && originalTlsConnect) {
    tls.connect = originalTlsConnect
    syncBuiltinESMExports()
  }
  originalTlsConnect = null
  wrappedTlsConnect = null
}

/**
 * Configures every TCP connection this process opens from now on (and, with
 * `{ server: true }`, accepts). Options are validated now. Calling it again
 * replaces the options; the hooks are set up once. Without options: the
 * recommended defaults this platform supports (`recommended`).
 */
export function install(options?: KeepAliveOptions | KeepAliveChooser, settings: InstallOptions = {}): InstallHandle {
  if (settings === null || typeof settings !== 'object') throw invalidType('settings', 'of type object', settings)
  for (const key of Object.keys(settings)) {
    if (!['server', 'client', 'onError'].includes(key)) {
      throw makeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property "settings.${key}" is not an install setting. Known settings: server, client, onError`)
    }
  }
  const { server = false, client = true, onError } = settings
  if (typeof server !== 'boolean') throw invalidType('settings.server', 'of type boolean', server)
  if (typeof client !== 'boolean') throw invalidType('settings.client', 'of type boolean', client)
  if (onError !== undefined && typeof onError !== 'function') throw invalidType('settings.onError', 'of type function', onError)
  const config = makeConfig({
    fixed: typeof options === 'function' ? null : normalizeOptions(options === undefined ? applicableRecommended() : options),
    choose: typeof options === 'function' ? options : null,
    client,
    server,
    onError,
  })
  if (!active) subscribe()
  active = config
  return {
    uninstall() {
      if (active !== config) return
      active = null
      unsubscribe()
    },
  }
}

/** Agents as far as withKeepAlive needs them: http.Agent, https.Agent and their subclasses. */
export interface AgentLike {
  createConnection?: (...args: never[]) => unknown
}

/**
 * Configures every socket `agent` creates, before the request is written.
 * Returns the same agent. Calling it again on the agent replaces the options.
 */
export function withKeepAlive<A extends AgentLike>(agent: A, options: KeepAliveOptions, settings: Pick<InstallOptions, 'onError'> = {}): A {
  if (agent === null || typeof agent !== 'object' || typeof agent.createConnection !== 'function') {
    throw invalidType('agent', 'an http.Agent or https.Agent (an object with createConnection)', agent)
  }
  const config = makeConfig({ fixed: normalizeOptions(options), choose: null, client: true, server: false, onError: settings.onError })
  const target = agent as unknown as { [kAgentConfig]?: Config; createConnection: (...args: unknown[]) => unknown }
  const first = target[kAgentConfig] === undefined
  target[kAgentConfig] = config
  if (!first) return agent
  const original = target.createConnection
  const apply = (socket: unknown): void => {
    const current = target[kAgentConfig]
    if (!(socket instanceof net.Socket) || !current?.fixed) return
    try {
      applyNormalized(socket, current.fixed, current.sink)
    } catch (err) {
      fail(current, err, socket)
    }
  }
  // An own property shadows whatever the class defines; subclasses that build
  // the socket asynchronously hand it to the callback instead.
  target.createConnection = function createConnection(this: unknown, ...args: unknown[]) {
    const last = args.length - 1
    const callback = args[last]
    if (typeof callback === 'function') {
      args[last] = (err: unknown, socket: unknown) => {
        if (!err) apply(socket)
        return (callback as (e: unknown, s: unknown) => unknown)(err, socket)
      }
    }
    const socket = original.apply(this, args)
    apply(socket)
    return socket
  }
  return agent
}
const kAgentConfig = Symbol('tcp-keepalive.agent')

/** undici's `connect` function shape, without depending on undici's types. */
export type Connector = (options: object, callback: (...args: [null, net.Socket] | [Error, null]) => void) => unknown

function loadUndici(): { buildConnector: (options: object) => Connector } {
  try {
    return require('undici') as { buildConnector: (options: object) => Connector }
  } catch (err) {
    const e = makeError(Error, 'ERR_TCP_KEEPALIVE_UNDICI_MISSING', 'connector() needs the undici package: npm install undici')
    ;(e as Error & { cause?: unknown }).cause = err
    throw e
  }
}

/**
 * An undici `connect` function (for Agent, Client, Pool) built on undici's own
 * buildConnector with `connectOptions`, configuring each socket it opens.
 */
export function connector(options: KeepAliveOptions, connectOptions: object = {}, settings: Pick<InstallOptions, 'onError'> = {}): Connector {
  const fixed = normalizeOptions(options)
  const config = makeConfig({ fixed, choose: null, client: true, server: false, onError: settings.onError })
  const connect = loadUndici().buildConnector(connectOptions)
  return function keepAliveConnect(opts, callback) {
    return connect(opts, (...result) => {
      const socket = result[1]
      if (socket) {
        try {
          applyNormalized(socket, fixed, config.sink)
        } catch (err) {
          fail(config, err, socket)
        }
      }
      callback(...result)
    })
  }
}
