export { setKeepAlive, getKeepAlive, capabilities } from './core'
export type { KeepAliveOptions, KeepAliveState, Capabilities, OptionLimit, KeepAliveOptionName } from './core'
export type { KeepAliveError, KeepAliveErrorCode, KeepAliveSystemError } from './errors'
