// Reaching the sockets other code opens: process-wide (install), per agent
// (withKeepAlive) or per undici dispatcher (connector).
//
// The implementations load at the first call: importing the package then
// costs only what setKeepAlive/getKeepAlive need, and changes nothing.
import type { KeepAliveOptions } from '../options'
import type * as Agents from './agents'
import type { AgentLike, Connector } from './agents'
import type { KeepAliveChooser } from './config'
import type * as Install from './install'
import type { InstallHandle, InstallOptions } from './install'

export type { AgentLike, Connector } from './agents'
export type { KeepAliveChooser, SocketInfo } from './config'
export type { InstallHandle, InstallOptions } from './install'

let installModule: typeof Install | undefined
let agentsModule: typeof Agents | undefined
const agents = (): typeof Agents => (agentsModule ??= require('./agents') as typeof Agents)

/**
 * Configures every TCP connection this process opens from now on (and, with
 * `{ server: true }`, accepts). Options are validated now. Without options:
 * the recommended defaults this platform supports (`recommended`). Installs
 * stack, from this copy of the package or any other: the most recent one
 * configures sockets, and undoing it gives back the one beneath (a
 * dependency's install() and uninstall() leave the application's preload in
 * place). The hooks are set up once and removed with the last install.
 *
 * Reaches the sockets of this thread only: sockets opened in worker threads
 * are not seen by an install() in the main thread. Preload
 * `tcp-keepalive/register` (`node --import tcp-keepalive/register`), which
 * runs in every worker too.
 */
export function install(options?: KeepAliveOptions | KeepAliveChooser, settings: InstallOptions = {}): InstallHandle {
  installModule ??= require('./install') as typeof Install
  return installModule.install(options, settings)
}

/**
 * Configures every socket `agent` creates, before the request is written.
 * Returns the same agent. Calling it again on the agent replaces the options.
 */
export function withKeepAlive<A extends AgentLike>(agent: A, options: KeepAliveOptions, settings: Pick<InstallOptions, 'onError' | 'spread'> = {}): A {
  return agents().withKeepAlive(agent, options, settings)
}

/**
 * An undici `connect` function (for Agent, Client, Pool) built on undici's own
 * buildConnector with `connectOptions`, configuring each socket it opens.
 */
export function connector(options: KeepAliveOptions, connectOptions: object = {}, settings: Pick<InstallOptions, 'onError' | 'spread'> = {}): Connector {
  return agents().connector(options, connectOptions, settings)
}
