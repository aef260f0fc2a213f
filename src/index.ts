export { setKeepAlive, getKeepAlive } from './keepalive'
export { capabilities } from './capabilities'
export type { Capabilities, OptionLimit, KeepAliveOptionName } from './capabilities'
export type { HookPaths, HookPath, RuntimeName } from './runtime'
export type { KeepAliveOptions, KeepAliveState } from './options'
export type { KeepAliveError, KeepAliveErrorCode, KeepAliveSystemError } from './errors'
export { install, withKeepAlive, connector } from './hooks'
export type { InstallHandle, InstallOptions, KeepAliveChooser, SocketInfo, AgentLike, Connector } from './hooks'
export { recommended } from './defaults'
export type { RecommendedKeepAlive } from './defaults'
export { parseKeepAliveEnv } from './env'
export type { KeepAliveEnv } from './env'
export { getTcpInfo } from './tcpinfo'
export type { TcpInfo, TcpState } from './tcpinfo'

import { getKeepAlive, setKeepAlive } from './keepalive'
import { capabilities } from './capabilities'
import { connector, install, withKeepAlive } from './hooks'
import { recommended } from './defaults'
import { parseKeepAliveEnv } from './env'
import { getTcpInfo } from './tcpinfo'
/** `import tcpKeepAlive from 'tcp-keepalive'`: the same functions as the named exports. */
const tcpKeepAlive = Object.freeze({ setKeepAlive, getKeepAlive, getTcpInfo, capabilities, install, withKeepAlive, connector, recommended, parseKeepAliveEnv })
export default tcpKeepAlive
