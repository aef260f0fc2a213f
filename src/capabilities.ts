import { backend } from './backend'
import { hookPaths, type HookPaths } from './runtime'

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

// The backend's fields in its order; hooks comes last.
const FIELDS = ['native', 'platform', 'idle', 'interval', 'count', 'userTimeout', 'limits', 'userTimeoutOption', 'reason'] as const satisfies readonly (keyof Capabilities)[]

/**
 * What the chosen backend can do, and which sockets install() reaches. Read
 * when first used: each field is a getter, so importing the package loads no
 * addon and probes nothing; the values never change once read.
 */
export const capabilities: Capabilities = Object.freeze(
  Object.defineProperties({} as Capabilities, {
    ...Object.fromEntries(FIELDS.map((key) => [key, { get: () => backend.capabilities[key], enumerable: true, configurable: false }])),
    hooks: { get: hookPaths, enumerable: true, configurable: false },
  }),
)
