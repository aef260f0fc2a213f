// Reaching the sockets other code opens.
//
// Which mechanism covers which path:
// - every client socket on Node 22 and later (net.connect, new net.Socket()
//   .connect(), tls.connect, http/https with any agent, built-in fetch):
//   diagnostics_channel `net.client.socket`, which Socket.prototype.connect
//   publishes there.
// - Node 18 and 20 publish it from net.connect() only, and Bun publishes
//   nothing: there the hooks wrap Socket.prototype.connect (tls.connect goes
//   through it too). Which case holds is probed once, by behaviour.
// - built-in fetch (either scheme): `undici:client:connected`.
// - accepted sockets ({ server: true }): `net.server.socket`.
// A connection reached by two paths is configured once.
//
// The hooks are set up once per process, whichever copy of this package gets
// there first, and dispatch to the newest install() of any copy (registry.ts).
// No structure here holds a socket: listeners and state live on the socket
// itself, so they die with it.
import net = require('node:net')
import { applyFromHook, applyNormalized, isExplicit } from './apply'
import { applicableRecommended } from './defaults'
import { invalidType, makeError, reportError, type ErrorSink } from './errors'
import { normalizeOptions, type KeepAliveOptions, type Normalized } from './options'
import { registry, type HookSet, type Installation } from './registry'
import { channels, connectPublishes, hookPaths } from './runtime'
import { claim, type InternalSocket } from './socket'
import { track } from './census'
import { captureOrigin } from './origins'

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
  /** List the sockets reached in `connections()`. Default `true`. */
  census?: boolean
  /** Record where each connection was opened (`origin` in `connections()`). Default `false`: a stack per connection costs. */
  origins?: boolean
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
  census: boolean
  origins: boolean
  /** fail() bound to this config, made once: no closure per socket. */
  sink: ErrorSink
  /** The chooser run at 'connect' for a client socket reached before it (made once). */
  deferred: ((socket: net.Socket) => Normalized | null) | null
}

function makeConfig(fields: Omit<Config, 'sink' | 'deferred'>): Config {
  const config = fields as Config
  config.sink = (err, socket) => fail(config, err, socket)
  config.deferred = config.choose === null ? null : (socket) => choose(config, socket as Marked, 'client')
  return config
}

type Marked = net.Socket & { _host?: string | null; servername?: string | false | null }

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

function choose(config: Config, socket: Marked, direction: 'client' | 'server'): Normalized | null {
  if (socket.destroyed || !config.choose || isExplicit(socket)) return null
  try {
    const chosen = config.choose(socket, infoOf(socket, direction))
    if (chosen === false || chosen === undefined) return null
    return normalizeOptions(chosen, 'chooser result')
  } catch (err) {
    fail(config, err, socket)
    return null
  }
}

function configure(config: Config, socket: net.Socket, direction: 'client' | 'server'): void {
  if (direction === 'client' ? !config.client : !config.server) return
  const s = socket as InternalSocket
  // An explicit call (setKeepAlive, withKeepAlive, connector) made the socket the user's, whatever the order.
  if (s.destroyed || isExplicit(s) || !claim(s)) return
  if (config.census) track(s, direction === 'server' ? 1 : 0, config.origins ? captureOrigin() : null)
  // A chooser sees the connected socket (addresses, servername); the client
  // channel publishes before connect() has even started.
  const chooser = config.fixed !== null ? null : direction === 'client' ? config.deferred : (x: net.Socket) => choose(config, x as Marked, direction)
  applyFromHook(s, config.fixed, chooser, config.sink)
}

// ---- The hooks: one set per process (registry.hooks), dispatching to registry.current.

/** Raised when a copy's hooks reach more than an older copy's do: the newer takes over. */
const HOOKS_REVISION = 2

let hookSet: HookSet | null = null

function dispatchClient(message: unknown): void {
  const socket = (message as { socket?: unknown }).socket
  const current = registry.current
  if (current !== null && socket instanceof net.Socket) current.configure(socket, 'client')
}
// `net.client.socket`. Where connect is wrapped (Node 18, 20), net.connect()
// publishes just before it calls socket.connect(), which our wrapper sees:
// the channel then only checks that the wrapper is still in place.
function dispatchNetClient(message: unknown): void {
  if (connectPatched && checkConnectPatch()) return
  dispatchClient(message)
}
function dispatchServer(message: unknown): void {
  const socket = (message as { socket?: unknown }).socket
  const current = registry.current
  if (current !== null && socket instanceof net.Socket) current.configure(socket, 'server')
}

// The wrapper of Socket.prototype.connect where Node does not publish: one
// function per copy for the life of the process, so our part of any chain of
// wrappers is at most this one layer, whatever other patchers do.
type ConnectFn = (this: net.Socket, ...args: unknown[]) => net.Socket
let connectNext: ConnectFn | null = null
let connectPatched = false
let lastSeenConnect: unknown = null
let probing = false
let probeHit = false

function connectWrapper(this: net.Socket, ...args: unknown[]): net.Socket {
  if (probing) probeHit = true
  else if (hookSet !== null && registry.hooks === hookSet) {
    const current = registry.current
    if (current !== null) current.configure(this, 'client')
  } else if (!connectPatched && (net.Socket.prototype as unknown as { connect: unknown }).connect === connectWrapper) {
    // Left as a pass-through under someone's wrapper, and on top again now they unwrapped: step out.
    ;(net.Socket.prototype as unknown as { connect: unknown }).connect = connectNext
  }
  return (connectNext as ConnectFn).apply(this, args)
}

// Is our wrapper still called when Socket.prototype.connect is? (Someone may
// have wrapped it after us, or put back what was there before us.)
function wrapperReached(): boolean {
  probeHit = false
  probing = true
  const s = new net.Socket()
  try {
    ;(s.connect as (o: object) => unknown)({})
  } catch {
    // expected: ERR_MISSING_ARGS
  } finally {
    probing = false
    s.destroy()
  }
  return probeHit
}

function patchConnect(): void {
  const proto = net.Socket.prototype as unknown as { connect: ConnectFn }
  const current = proto.connect
  connectPatched = true
  lastSeenConnect = current
  if (current === connectWrapper) return
  if (connectNext !== null && (current === connectNext ? false : wrapperReached())) return
  connectNext = current
  proto.connect = connectWrapper
  lastSeenConnect = connectWrapper
}

// Called per client socket (one comparison): a patcher that replaced
// Socket.prototype.connect with what was there before us does not drop us
// for good.
function checkConnectPatch(): boolean {
  if ((net.Socket.prototype as unknown as { connect: unknown }).connect !== lastSeenConnect) patchConnect()
  return lastSeenConnect === connectWrapper
}

function unpatchConnect(): void {
  const proto = net.Socket.prototype as unknown as { connect: ConnectFn }
  connectPatched = false
  // Someone wrapped us: leave ours in their chain as a pass-through.
  if (proto.connect === connectWrapper && connectNext !== null) proto.connect = connectNext
}

// Bun publishes no `net.server.socket`: accepted sockets are reached as
// net.Server emits 'connection', before the user's handler sees them.
type EmitFn = (this: net.Server, event: string | symbol, ...args: unknown[]) => boolean
let emitNext: EmitFn | null = null
const EMIT_PROBE = Symbol('tcp-keepalive.probe')
let emitProbeHit = false
function serverEmitWrapper(this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
  if (event === EMIT_PROBE) {
    emitProbeHit = true
    return false
  }
  if (hookSet !== null && registry.hooks === hookSet) {
    if (event === 'connection') dispatchServer({ socket: args[0] })
  } else if ((net.Server.prototype as unknown as { emit: unknown }).emit === serverEmitWrapper) {
    // A pass-through on top again (see connectWrapper): step out.
    ;(net.Server.prototype as unknown as { emit: unknown }).emit = emitNext
  }
  return (emitNext as EmitFn).call(this, event, ...args)
}
function patchServerEmit(): void {
  const proto = net.Server.prototype as unknown as { emit: EmitFn }
  const current = proto.emit
  if (current === serverEmitWrapper) return
  if (emitNext !== null && current !== emitNext) {
    // Wrapped by someone since: reuse ours if it is still in their chain (one layer, as for connect).
    emitProbeHit = false
    try {
      current.call(new net.Server(), EMIT_PROBE)
    } catch {
      // a wrapper that refuses an unknown event: treat ours as gone
    }
    if (emitProbeHit) return
  }
  emitNext = current
  proto.emit = serverEmitWrapper
}
function unpatchServerEmit(): void {
  const proto = net.Server.prototype as unknown as { emit: EmitFn }
  if (proto.emit === serverEmitWrapper && emitNext !== null) proto.emit = emitNext
}

let warnedUnreachable = false

function setUpHooks(): HookSet {
  channels.client.subscribe(dispatchNetClient)
  channels.server.subscribe(dispatchServer)
  channels.undici.subscribe(dispatchClient)
  const patch = !connectPublishes()
  if (patch) patchConnect()
  const serverPatch = hookPaths.server === 'patch'
  if (serverPatch) patchServerEmit()
  if (hookPaths.unreachable.length > 0 && !warnedUnreachable) {
    warnedUnreachable = true
    process.emitWarning(`tcp-keepalive: install() cannot reach ${hookPaths.unreachable.join(' nor ')} in ${hookPaths.runtime === 'bun' ? 'Bun' : 'Deno'}.`, {
      type: 'TcpKeepAliveWarning',
      code: 'TCP_KEEPALIVE_UNREACHABLE',
    })
  }
  const set: HookSet = {
    revision: HOOKS_REVISION,
    teardown() {
      channels.client.unsubscribe(dispatchNetClient)
      channels.server.unsubscribe(dispatchServer)
      channels.undici.unsubscribe(dispatchClient)
      if (patch) unpatchConnect()
      if (serverPatch) unpatchServerEmit()
      if (hookSet === set) hookSet = null
    },
  }
  hookSet = set
  return set
}

/**
 * Configures every TCP connection this process opens from now on (and, with
 * `{ server: true }`, accepts). Options are validated now. Without options:
 * the recommended defaults this platform supports (`recommended`). Calling it
 * again, from this copy of the package or any other, replaces the options;
 * the hooks are set up once.
 *
 * Reaches the sockets of this thread only: sockets opened in worker threads
 * are not seen by an install() in the main thread. Preload
 * `tcp-keepalive/register` (`node --import tcp-keepalive/register`), which
 * runs in every worker too.
 */
export function install(options?: KeepAliveOptions | KeepAliveChooser, settings: InstallOptions = {}): InstallHandle {
  if (settings === null || typeof settings !== 'object') throw invalidType('settings', 'of type object', settings)
  for (const key of Object.keys(settings)) {
    if (!['server', 'client', 'onError', 'census', 'origins'].includes(key)) {
      throw makeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property "settings.${key}" is not an install setting. Known settings: server, client, onError, census, origins.`)
    }
  }
  const { server = false, client = true, onError, census = true, origins = false } = settings
  if (typeof census !== 'boolean') throw invalidType('settings.census', 'of type boolean', census)
  if (typeof origins !== 'boolean') throw invalidType('settings.origins', 'of type boolean', origins)
  if (typeof server !== 'boolean') throw invalidType('settings.server', 'of type boolean', server)
  if (typeof client !== 'boolean') throw invalidType('settings.client', 'of type boolean', client)
  if (onError !== undefined && typeof onError !== 'function') throw invalidType('settings.onError', 'of type function', onError)
  const config = makeConfig({
    fixed: typeof options === 'function' ? null : normalizeOptions(options === undefined ? applicableRecommended() : options),
    choose: typeof options === 'function' ? options : null,
    client,
    server,
    onError,
    census,
    origins,
  })
  const installation: Installation = { configure: (socket, direction) => configure(config, socket, direction) }
  const hooks = registry.hooks
  if (hooks === null || hooks.revision < HOOKS_REVISION) {
    if (hooks !== null) hooks.teardown()
    registry.hooks = setUpHooks()
  } else if (hooks === hookSet && connectPatched) {
    patchConnect()
  }
  registry.current = installation
  return {
    uninstall() {
      if (registry.current !== installation) return
      registry.current = null
      const set = registry.hooks
      registry.hooks = null
      if (set !== null) set.teardown()
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
  const config = makeConfig({ fixed: normalizeOptions(options), choose: null, client: true, server: false, onError: settings.onError, census: false, origins: false })
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
    const e = makeError(Error, 'ERR_TCP_KEEPALIVE_UNDICI_MISSING', 'connector() needs the undici package: npm install undici.')
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
  const config = makeConfig({ fixed, choose: null, client: true, server: false, onError: settings.onError, census: false, origins: false })
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
