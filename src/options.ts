import { capabilities, type KeepAliveOptionName, type OptionLimit } from './capabilities'
import { dropTimeRuleError, invalidType, makeError } from './errors'
import { closest } from './suggest'
import { UNSET, type Normalized } from './values'

export { UNSET } from './values'
export type { Normalized } from './values'

/** What to set. Times are milliseconds; omitted fields are left as the socket has them. */
export interface KeepAliveOptions {
  /** Turn SO_KEEPALIVE on or off. Default `true`: asking for timing means wanting probes. */
  enable?: boolean
  /** Idle time before the first probe (TCP_KEEPIDLE; TCP_KEEPALIVE on macOS). */
  idle?: number
  /** Time between unanswered probes (TCP_KEEPINTVL). */
  interval?: number
  /** Unanswered probes before the connection is dropped (TCP_KEEPCNT). */
  count?: number
  /** Longest time sent data may stay unacknowledged before the connection is dropped
   *  (TCP_USER_TIMEOUT on Linux; see the README for other platforms). 0 = OS default. */
  userTimeout?: number
}

/** What the kernel holds. `null`: this platform cannot report the value. */
export interface KeepAliveState {
  enabled: boolean | null
  idle: number | null
  interval: number | null
  count: number | null
  userTimeout: number | null
}

const NUMERIC: readonly KeepAliveOptionName[] = ['idle', 'interval', 'count', 'userTimeout']
const KNOWN = new Set<string>(['enable', ...NUMERIC])
const unit = (key: KeepAliveOptionName): string =>
  key === 'count' ? 'probes' : key === 'userTimeout' && capabilities.platform === 'linux' ? 'ms' : 'ms, rounded up to whole seconds'

// Per option, what readNumber needs, resolved once: looking these up by key
// on every call was half the cost of validation.
interface Check {
  readonly key: KeepAliveOptionName
  readonly supported: boolean
  readonly min: number
  readonly max: number
}
const check = (key: KeepAliveOptionName): Check =>
  Object.freeze({ key, supported: capabilities[key], min: capabilities.limits[key].min, max: capabilities.limits[key].max })
// Resolved at the first validation, not at import: reading capabilities
// loads the addon, which importing the package does not.
interface Checks {
  readonly idle: Check
  readonly interval: Check
  readonly count: Check
  readonly userTimeout: Check
  readonly dropTime: OptionLimit | null
}
let checks: Checks | undefined
const resolveChecks = (): Checks =>
  (checks = Object.freeze({ idle: check('idle'), interval: check('interval'), count: check('count'), userTimeout: check('userTimeout'), dropTime: capabilities.limits.dropTime }))

// Takes the value, not the key: a keyed load with four different keys goes
// megamorphic and was the largest JS cost of a call in a perf profile.
function readNumber(value: unknown, c: Check, argName: string): number {
  if (value === undefined) return UNSET
  // Errors are built out of line so this stays small enough to inline; the
  // happy path joins no strings.
  if (typeof value !== 'number') throw invalidType(`${argName}.${c.key}`, 'of type number', value)
  if (!c.supported || !Number.isInteger(value) || value < c.min || value > c.max) throw badNumber(value, c, argName)
  // Object.is(-0) is an integer in range for userTimeout; store plain 0.
  return value === 0 ? 0 : value
}

function badNumber(value: number, c: Check, argName: string): Error {
  const name = `${argName}.${c.key}`
  if (!c.supported) {
    const why = capabilities.native ? `on ${capabilities.platform}` : `without the native addon (${capabilities.reason ?? 'not loaded'})`
    return makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `The option "${name}" is not supported ${why}.`)
  }
  const integer = Number.isInteger(value) ? '' : 'an integer '
  return makeError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${integer}>= ${c.min} && <= ${c.max} (${unit(c.key)}, ${capabilities.platform}). Received ${String(value)}`,
  )
}

// Node's names for the same things (net.connect's options, socket.setKeepAlive's object form).
const NODE_NAMES = new Map([['keepalive', 'enable'], ['initialdelay', 'idle'], ['keepaliveinitialdelay', 'idle'], ['keepaliveinterval', 'interval'], ['keepalivecount', 'count']])

function unknownKey(argName: string, key: string): Error {
  const hint = NODE_NAMES.get(key.toLowerCase()) ?? closest(key, KNOWN)
  return makeError(
    TypeError,
    'ERR_INVALID_ARG_VALUE',
    `The property "${argName}.${key}" is not a keepalive option.${hint ? ` Did you mean "${hint}"?` : ''} Known options: ${[...KNOWN].join(', ')}.`,
  )
}

const dropTimeError = (max: number, detail: string): Error => dropTimeRuleError(max, capabilities.platform, detail)

// Checked here when all three are given; a partial update is checked by the
// addon against the socket's current values for the others.
function checkDropTime(n: Normalized, dropTime: OptionLimit): void {
  if (n.idle === UNSET || n.interval === UNSET || n.count === UNSET) return
  const total = Math.ceil(n.idle / 1000) * 1000 + n.count * Math.ceil(n.interval / 1000) * 1000
  if (total > dropTime.max) throw dropTimeError(dropTime.max, `received ${n.idle} + ${n.count} x ${n.interval} = ${total}`)
}

const DEFAULTS: Normalized = Object.freeze({ enable: 1, idle: UNSET, interval: UNSET, count: UNSET, userTimeout: UNSET })

/**
 * Validates options once, so hooks can check at install time and apply the
 * same frozen value to every socket.
 */
export function normalizeOptions(options: unknown, argName = 'options'): Normalized {
  if (options === undefined) return DEFAULTS
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType(argName, 'of type object', options)
  const record = options as Record<string, unknown>
  // Own keys only, as an object spread would see them; a switch is several
  // times cheaper than a Set lookup per key on this per-call path.
  const keys = Object.keys(record)
  for (let i = 0; i < keys.length; i++) {
    switch (keys[i]) {
      case 'enable':
      case 'idle':
      case 'interval':
      case 'count':
      case 'userTimeout':
        break
      default:
        throw unknownKey(argName, keys[i] as string)
    }
  }
  const enable = record.enable
  if (enable !== undefined && typeof enable !== 'boolean') throw invalidType(`${argName}.enable`, 'of type boolean', enable)
  // Not frozen: readonly in the type is enough for internal values, and
  // freezing on every call costs more than the setsockopt it precedes.
  const c = checks ?? resolveChecks()
  const n: Normalized = {
    enable: enable === false ? 0 : 1,
    idle: readNumber(record.idle, c.idle, argName),
    interval: readNumber(record.interval, c.interval, argName),
    count: readNumber(record.count, c.count, argName),
    userTimeout: readNumber(record.userTimeout, c.userTimeout, argName),
  }
  if (c.dropTime !== null) checkDropTime(n, c.dropTime)
  return n
}
