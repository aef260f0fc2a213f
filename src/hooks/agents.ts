// Configuring the sockets of one agent or one undici dispatcher, without
// process-wide hooks.
import net = require('node:net')
import { applyNormalized } from '../apply'
import { invalidType, makeError } from '../errors'
import { normalizeOptions, type KeepAliveOptions } from '../options'
import { bulkOptions, spreadSetting } from '../spread'
import { fail, makeConfig, type Config } from './config'
import type { InstallOptions } from './install'

/** Agents as far as withKeepAlive needs them: http.Agent, https.Agent and their subclasses. */
export interface AgentLike {
  createConnection?: (...args: never[]) => unknown
}

const kAgentConfig = Symbol('tcp-keepalive.agent')

/** withKeepAlive() (documented in hooks/index.ts). */
export function withKeepAlive<A extends AgentLike>(agent: A, options: KeepAliveOptions, settings: Pick<InstallOptions, 'onError' | 'spread'> = {}): A {
  if (agent === null || typeof agent !== 'object' || typeof agent.createConnection !== 'function') {
    throw invalidType('agent', 'an http.Agent or https.Agent (an object with createConnection)', agent)
  }
  const config = makeConfig({ fixed: normalizeOptions(options), choose: null, client: true, server: false, onError: settings.onError, spread: spreadSetting(settings?.spread) })
  const target = agent as unknown as { [kAgentConfig]?: Config; createConnection: (...args: unknown[]) => unknown }
  const first = target[kAgentConfig] === undefined
  target[kAgentConfig] = config
  if (!first) return agent
  const original = target.createConnection
  const apply = (socket: unknown): void => {
    const current = target[kAgentConfig]
    if (!(socket instanceof net.Socket) || !current?.fixed) return
    try {
      applyNormalized(socket, bulkOptions(current.fixed, current.spread), current.sink)
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

/** connector() (documented in hooks/index.ts). */
export function connector(options: KeepAliveOptions, connectOptions: object = {}, settings: Pick<InstallOptions, 'onError' | 'spread'> = {}): Connector {
  const fixed = normalizeOptions(options)
  const config = makeConfig({ fixed, choose: null, client: true, server: false, onError: settings.onError, spread: spreadSetting(settings?.spread) })
  const connect = loadUndici().buildConnector(connectOptions)
  return function keepAliveConnect(opts, callback) {
    return connect(opts, (...result) => {
      const socket = result[1]
      if (socket) {
        try {
          applyNormalized(socket, bulkOptions(fixed, config.spread), config.sink)
        } catch (err) {
          fail(config, err, socket)
        }
      }
      callback(...result)
    })
  }
}
