// install(): the process-wide configuration of every TCP connection.
import type net = require('node:net')
import { warnIfAddonMissing } from '../addon-warning'
import { applicableRecommended } from '../defaults'
import { invalidType, makeError } from '../errors'
import { normalizeOptions, type KeepAliveOptions } from '../options'
import { checkRegistry, pushInstall, removeInstall, type Installation } from '../registry'
import { spreadSetting } from '../spread'
import { configure, makeConfig, type KeepAliveChooser } from './config'
import { ensureHooks, removeHooks } from './dispatch'

export interface InstallOptions {
  /** Also configure sockets accepted by servers of this process. Default `false`. */
  server?: boolean
  /** Configure client sockets. Default `true`. */
  client?: boolean
  /** Receives every failure; default: one process warning per error code. Never throws into Node. */
  onError?: (err: Error, socket: net.Socket) => void
  /**
   * Draw each socket's idle and interval from the whole seconds in
   * [90 %, 100 %] of the requested values, so connections opened together
   * do not probe together (README, "The spread"). Default `true`.
   */
  spread?: boolean
  /** List the sockets reached in `connections()`. Default `true`. */
  census?: boolean
  /** Record where each connection was opened (`origin` in `connections()`). Default `false`: a stack per connection costs. */
  origins?: boolean
}

export interface InstallHandle {
  /** Takes this install out of the stack: the one beneath (if any) configures new sockets again; the
   *  last one out removes the hooks and restores what they patched. Idempotent. */
  uninstall(): void
}

const SETTINGS = ['server', 'client', 'onError', 'spread', 'census', 'origins']

/** install() (documented in hooks/index.ts, the public front). */
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
  const spread = spreadSetting(settings.spread)
  const config = makeConfig({
    fixed: typeof options === 'function' ? null : normalizeOptions(options === undefined ? applicableRecommended() : options),
    choose: typeof options === 'function' ? options : null,
    client,
    server,
    onError,
    spread,
    census,
    origins,
  })
  // Before anything changes: a record another package broke is refused here, not met in net.connect.
  checkRegistry()
  warnIfAddonMissing()
  const installation: Installation = { configure: (socket, direction) => configure(config, socket, direction) }
  ensureHooks()
  pushInstall(installation)
  return {
    uninstall() {
      if (removeInstall(installation)) removeHooks()
    },
  }
}
