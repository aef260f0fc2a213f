// The refused inputs of setKeepAlive, shared by the unit tier (the error and
// the socket unchanged, through the API) and the kernel tier (the socket
// unchanged as another process reads it).

/** What the test socket holds before every refused call. */
export const baseline = { enabled: true, idle: 5000, interval: 2000, count: 3, userTimeout: 4000 }

/** Values that are not an options object at all. */
export const NOT_OPTIONS: Array<[string, unknown]> = [
  ['null', null],
  ['a number', 5000],
  ['a string', 'idle=5000'],
  ['an array', [5000]],
  ['a function', () => 5000],
]

/** An option of the wrong type. */
export const WRONG_TYPES: Array<[string, unknown]> = [
  ['idle', '5000'],
  ['interval', null],
  ['count', 3n],
  ['userTimeout', true],
  ['idle', {}],
]

/** Keys that are not options, with the message naming the one meant. */
export const UNKNOWN_KEYS: Array<[Record<string, unknown>, RegExp]> = [
  [{ idle: 1000, intreval: 1000 }, /"options\.intreval" is not a keepalive option\. Did you mean "interval"\? Known options: enable, idle, interval, count, userTimeout\.$/],
  [{ keepAliveInitialDelay: 1000 }, /not a keepalive option\. Did you mean "idle"\?/],
  // Node's own names point to ours.
  [{ keepAlive: true }, /"options\.keepAlive" is not a keepalive option\. Did you mean "enable"\?/],
  [{ initialDelay: 1000 }, /Did you mean "idle"\?/],
  [{ zzz: 1 }, /"options\.zzz" is not a keepalive option\. Known options: enable, idle, interval, count, userTimeout\.$/],
]

type Limits = Record<'idle' | 'interval' | 'count' | 'userTimeout', { min: number; max: number }>

/** Values just outside each range, and numbers that are no integer count. */
export function outOfRange(limits: Limits): Array<[keyof Limits, number]> {
  return [
    ['idle', 0],
    ['idle', -1],
    ['idle', limits.idle.max + 1],
    ['interval', 0],
    ['interval', limits.interval.max + 1],
    ['count', 0],
    ['count', limits.count.max + 1],
    ['userTimeout', -1],
    ['userTimeout', limits.userTimeout.max + 1],
    ['idle', Number.NaN],
    ['idle', Number.POSITIVE_INFINITY],
    ['count', 2.5],
  ]
}

/** Every refused call above as (options, the error code it must give). */
export function refusals(limits: Limits): Array<[unknown, string]> {
  return [
    ...NOT_OPTIONS.map(([, options]): [unknown, string] => [options, 'ERR_INVALID_ARG_TYPE']),
    ...WRONG_TYPES.map(([key, value]): [unknown, string] => [{ [key]: value }, 'ERR_INVALID_ARG_TYPE']),
    [{ enable: 1 }, 'ERR_INVALID_ARG_TYPE'],
    ...UNKNOWN_KEYS.map(([options]): [unknown, string] => [options, 'ERR_INVALID_ARG_VALUE']),
    ...outOfRange(limits).map(([key, value]): [unknown, string] => [{ [key]: value }, 'ERR_OUT_OF_RANGE']),
  ]
}

/** The baseline as setKeepAlive options: set before the refused calls and after the accepted ones. */
export const { enabled: _enabled, ...baselineOptions } = baseline

/**
 * Both ends of every range as (option, value set, value read back): idle and
 * interval are whole seconds in the kernel, so a value in ms reads back rounded up.
 */
export function rangeEnds(limits: Limits): Array<[keyof Limits, number, number]> {
  const ends: Array<[keyof Limits, number, number]> = []
  for (const key of ['idle', 'interval', 'count', 'userTimeout'] as const) {
    for (const v of [limits[key].min, limits[key].max]) ends.push([key, v, key === 'idle' || key === 'interval' ? Math.ceil(v / 1000) * 1000 : v])
  }
  return ends
}
