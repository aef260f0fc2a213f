// Reaching the sockets other code opens: process-wide (install), per agent
// (withKeepAlive) or per undici dispatcher (connector).
export { install } from './install'
export type { InstallHandle, InstallOptions } from './install'
export type { KeepAliveChooser, SocketInfo } from './config'
export { connector, withKeepAlive } from './agents'
export type { AgentLike, Connector } from './agents'
