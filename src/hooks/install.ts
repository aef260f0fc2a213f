// install(): the process-wide configuration of every TCP connection.
import type net = require('node:net')
import { applicableRecommended } from '../defaults'
import { invalidType, makeError } from '../errors'
import { normalizeOptions, type KeepAliveOptions } from '../options'
import { registry, type Installation } from '../registry'
import { configure, makeConfig, type KeepAliveChooser } from './config'
import { ensureHooks, removeHooks } from './dispatch'

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

const SETTINGS = ['server', 'client', 'onError', 'census', 'origins']

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
    if (!SETTINGS.includes(key)) {
      throw makeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property "settings.${key}" is not an install setting. Known settings: ${SETTINGS.join(', ')}.`)
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
  ensureHooks()
  registry.current = installation
  return {
    uninstall() {
      if (registry.current !== installation) return
      registry.current = null
      removeHooks()
    },
  }
}
