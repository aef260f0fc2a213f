// The TCP_KEEPALIVE grammar, shared by the preload (tcp-keepalive/register)
// and programs that read their own variable. Values are checked by the same
// normalizeOptions as the API, so ranges, units and messages agree.
import { applicableRecommended, honoured } from './defaults'
import { invalidType, makeError, type KeepAliveError } from './errors'
import { normalizeOptions, type KeepAliveOptions } from './options'
import { closest } from './suggest'

/** What a TCP_KEEPALIVE value asks for: the arguments `install()` gets. */
export interface KeepAliveEnv {
  /** Every option given, the recommended value for the others this platform supports. */
  options: KeepAliveOptions
  /** `server=true`: also configure accepted sockets. */
  server: boolean
  /** `spread=false`: every socket gets exactly the given idle and interval (install()'s `spread`). */
  spread: boolean
  /** `origins=true`: record where each connection was opened (see `connections()`). Present when given. */
  origins?: boolean
}

const KEYS = ['idle', 'interval', 'count', 'userTimeout', 'server', 'spread', 'origins'] as const
const FLAGS = ['server', 'spread', 'origins'] as const
type Key = (typeof KEYS)[number]
const DURATION = /^(\d+)(?:\.(\d+))?(ms|s|m)?$/
const MS_PER_UNIT: Record<string, bigint> = { ms: 1n, s: 1000n, m: 60_000n }
const FORMS = 'write on, off, or key=value parts separated by commas (idle=30s,interval=10s,count=9)'

// One line whatever the input holds: quoting through JSON escapes newlines.
const q = (text: string): string => JSON.stringify(text)

const ceilSeconds = (ms: number): number => Math.ceil(ms / 1000) * 1000

function bad(name: string, message: string): KeepAliveError {
  return makeError(TypeError, 'ERR_INVALID_ARG_VALUE', `${name}: ${message}`)
}

/**
 * Milliseconds; null when `text` is not a duration; 'fraction' when it is
 * not whole ms; 'no-unit' for a bare number other than 0 (idle=60 read as
 * milliseconds meant a minute and set 60 ms, so the grammar refuses it).
 */
export function duration(text: string): number | 'fraction' | 'no-unit' | null {
  if (/^\d+(?:\.\d+)?$/.test(text) && !/^0+(?:\.0+)?$/.test(text)) return 'no-unit'
  const m = DURATION.exec(text)
  if (!m) return null
  const whole = m[1] as string
  const fraction = m[2] ?? ''
  const scale = 10n ** BigInt(fraction.length)
  // Exact decimal arithmetic: 1.1 * 1000 in floating point is 1100.0000000000002.
  const scaled = (BigInt(whole) * scale + BigInt(fraction || '0')) * (MS_PER_UNIT[m[3] ?? 'ms'] as bigint)
  if (scaled % scale !== 0n) return 'fraction'
  // Huge values stay huge (not wrapped), so the range check reports them.
  return Number(scaled / scale)
}

/** What a bare number probably meant, in words; `show` quotes a value for the message. */
export function noUnit(value: string, show: (text: string) => string): string {
  return `${show(value)} has no unit; did you mean ${show(`${value}s`)}? Write ms, s or m (${value}ms, ${value}s, ${value}m)`
}

function parseValue(name: string, key: Exclude<Key, (typeof FLAGS)[number]>, value: string, part: string): number {
  if (key === 'count') {
    if (!/^\d+$/.test(value)) throw bad(name, `${q(part)}: count is a number of probes (a whole number such as 9), not ${q(value)}`)
    return Number(value)
  }
  const ms = duration(value)
  if (ms === 'no-unit') throw bad(name, `${q(part)}: ${noUnit(value, q)}`)
  if (ms === 'fraction') throw bad(name, `${q(part)}: ${q(value)} is not a whole number of milliseconds`)
  if (ms === null) throw bad(name, `${q(part)}: ${q(value)} is not a duration; write a number with ms, s or m (500ms, 1.5s, 2m)`)
  return ms
}

/**
 * Parses a TCP_KEEPALIVE value. `undefined`, empty and `on` mean the
 * recommended defaults; `off` returns null (install nothing); otherwise
 * comma-separated `key=value` parts (`idle`, `interval`, `userTimeout`:
 * durations with a unit, ms, s or m, except 0; `count`: probes; `server`,
 * `spread`, `origins`: true or false) replace the
 * recommended value of their key. Throws on anything else, with a one-line
 * message naming `name`, the bad part and, for a typo, the key meant.
 */
export function parseKeepAliveEnv(value: string | undefined, name = 'TCP_KEEPALIVE'): KeepAliveEnv | null {
  if (value !== undefined && typeof value !== 'string') throw invalidType('value', 'of type string', value)
  if (typeof name !== 'string') throw invalidType('name', 'of type string', name)
  const text = (value ?? '').trim()
  if (text === '' || text === 'on') return { options: applicableRecommended(), server: false, spread: true }
  if (text === 'off') return null

  const given = new Map<Key, { value: number | boolean; part: string }>()
  const parts = text.split(',').map((p) => p.trim())
  for (const part of parts) {
    if (part === '') throw bad(name, `empty part in ${q(text)} (two commas in a row, or one at the start or end)`)
    const eq = part.indexOf('=')
    if (eq === -1) {
      if (parts.length > 1 && (part === 'on' || part === 'off')) throw bad(name, `${q(part)} stands alone; give key=value parts to change the recommended values`)
      const hint = closest(part, parts.length === 1 ? ['on', 'off', ...KEYS] : KEYS)
      throw bad(name, `${q(part)} is not key=value${hint ? ` (did you mean ${q(hint)}?)` : ''}; ${FORMS}`)
    }
    const key = part.slice(0, eq).trim()
    const raw = part.slice(eq + 1).trim()
    if (key === '') throw bad(name, `${q(part)} has no option name; ${FORMS}`)
    if (!(KEYS as readonly string[]).includes(key)) {
      const hint = closest(key, KEYS)
      throw bad(name, `unknown option ${q(key)} in ${q(part)}${hint ? `; did you mean ${q(hint)}?` : ''} Options: ${KEYS.join(', ')}`)
    }
    const k = key as Key
    const earlier = given.get(k)
    if (earlier) throw bad(name, `${q(k)} is given twice (${q(earlier.part)} and ${q(part)})`)
    if (raw === '') throw bad(name, `${q(part)} has no value`)
    if ((FLAGS as readonly string[]).includes(k)) {
      if (raw !== 'true' && raw !== 'false') throw bad(name, `${q(part)}: ${k} is true or false, not ${q(raw)}`)
      given.set(k, { value: raw === 'true', part })
      continue
    }
    const n = parseValue(name, k as Exclude<Key, (typeof FLAGS)[number]>, raw, part)
    try {
      // The API's own validator: the same ranges, units and errors (an
      // option this platform cannot honour fails here, at startup).
      normalizeOptions({ [k]: n }, name)
    } catch (err) {
      const e = err as KeepAliveError
      throw makeError(e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error, e.code, `${name}: ${q(part)}: ${e.message}`)
    }
    given.set(k, { value: n, part })
  }

  // Keys not given keep their recommended value where this platform has the option.
  const options = applicableRecommended()
  for (const k of ['idle', 'interval', 'count', 'userTimeout'] as const) {
    const g = given.get(k)
    if (g) options[k] = g.value as number
  }
  if (!given.has('userTimeout')) {
    // The recommended user timeout is idle + interval × count; kept so when
    // those change, since on Linux a shorter one would end probing early.
    // Past the OS maximum it is left out: without it the count alone decides.
    delete options.userTimeout
    const { idle, interval, count } = options
    if (idle !== undefined && interval !== undefined && count !== undefined) {
      // Summed as the kernel holds them: idle and interval in whole seconds, rounded up.
      const sum = ceilSeconds(idle) + ceilSeconds(interval) * count
      if (honoured('userTimeout', sum)) options.userTimeout = sum
    }
  }
  const env: KeepAliveEnv = { options, server: given.get('server')?.value === true, spread: given.get('spread')?.value !== false }
  const origins = given.get('origins')
  if (origins !== undefined) env.origins = origins.value === true
  return env
}
