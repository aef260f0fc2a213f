import { native, type NativeBinding } from './binding'
import { hookPaths, NODE_TIMING, type HookPaths } from './runtime'

export type KeepAliveOptionName = 'idle' | 'interval' | 'count' | 'userTimeout'

export interface OptionLimit {
  readonly min: number
  readonly max: number
}

export interface Limits extends Readonly<Record<KeepAliveOptionName, OptionLimit>> {
  /**
   * macOS and FreeBSD sum idle + count x interval (each rounded up to whole
   * seconds) into one unsigned 32-bit deadline: that sum may not exceed
   * `dropTime.max` ms. Options not given count with the socket's current
   * values. null where the kernel keeps separate timers (Linux, Windows).
   */
  readonly dropTime: OptionLimit | null
}

export interface Capabilities {
  /** The addon loaded; false means the fallback over Node's own `socket.setKeepAlive`. */
  readonly native: boolean
  readonly platform: string
  readonly idle: boolean
  readonly interval: boolean
  readonly count: boolean
  readonly userTimeout: boolean
  /** Accepted input per option (ms for times, probes for count), after rounding, and the combined rule. */
  readonly limits: Limits
  /** The OS option behind `userTimeout`, or null where there is none. */
  readonly userTimeoutOption: string | null
  /** Why the addon did not load, when `native` is false. */
  readonly reason: string | null
  /** Which sockets install() reaches in this runtime, and how. */
  readonly hooks: HookPaths
}

// Without the addon only Node's socket.setKeepAlive(true, ms) is reachable: it
// sets the idle time in whole seconds. The bounds are the kernel's, which Node
// would otherwise hit silently (it ignores setsockopt failures).
const FALLBACK_IDLE_MAX_S = process.platform === 'linux' ? 32767 : process.platform === 'win32' ? 4294967 : 2147483
const FALLBACK_COUNT_MAX = process.platform === 'linux' ? 127 : process.platform === 'win32' ? 255 : 2147483647

function buildCapabilities(binding: NativeBinding | null, reason: string | null): Capabilities {
  if (binding) {
    const c = binding.capabilities
    const limit = (r: { min: number; max: number }): OptionLimit => Object.freeze({ min: r.min, max: r.max })
    return Object.freeze({
      native: true,
      // The addon names the platforms it knows; any other Unix is what Node calls it.
      platform: c.platform === '' ? process.platform : c.platform,
      idle: c.idle.supported,
      interval: c.interval.supported,
      count: c.count.supported,
      userTimeout: c.userTimeout.supported,
      limits: Object.freeze({
        idle: limit(c.idle),
        interval: limit(c.interval),
        count: limit(c.count),
        userTimeout: limit(c.userTimeout),
        dropTime: c.dropTimeMax > 0 ? limit({ min: 0, max: c.dropTimeMax }) : null,
      }),
      userTimeoutOption: c.userTimeout.supported ? c.userTimeoutOption : null,
      reason: null,
      get hooks() {
        return hookPaths()
      },
    })
  }
  const none = Object.freeze({ min: 0, max: 0 })
  return Object.freeze({
    native: false,
    platform: process.platform,
    idle: true,
    // Node 24.19+/26.4+ set interval and count per socket too (socket.setKeepAlive's 4-argument form).
    interval: NODE_TIMING,
    count: NODE_TIMING,
    userTimeout: false,
    limits: Object.freeze({
      idle: Object.freeze({ min: 1, max: FALLBACK_IDLE_MAX_S * 1000 }),
      interval: NODE_TIMING ? Object.freeze({ min: 1, max: FALLBACK_IDLE_MAX_S * 1000 }) : none,
      count: NODE_TIMING ? Object.freeze({ min: 1, max: FALLBACK_COUNT_MAX }) : none,
      userTimeout: none,
      dropTime: null,
    }),
    userTimeoutOption: null,
    reason,
    get hooks() {
      return hookPaths()
    },
  })
}

export const capabilities: Capabilities = buildCapabilities(native.binding, native.reason)
