import { capabilities, type KeepAliveOptionName } from './capabilities'
import type { KeepAliveOptions } from './options'

/** The options `install()` with no arguments and `TCP_KEEPALIVE=on` apply. Times in ms. */
export interface RecommendedKeepAlive {
  readonly idle: number
  readonly interval: number
  readonly count: number
  readonly userTimeout: number
}

/**
 * Chosen for the idle-dropping middleboxes services sit behind (README,
 * "Recommended defaults"): the first probe at 30 s is well inside the
 * shortest limit met in practice (an AWS NLB set to its 60 s minimum), a dead
 * peer is given up after 30 s + 6 x 15 s = 2 min, and the user timeout equals
 * that sum: on Linux TCP_USER_TIMEOUT also ends probing (the connection drops
 * at the first probe due at or after it, whatever the count), so a smaller
 * value would cut the probes short and a larger one would add probes beyond
 * the count. It also bounds unacknowledged data to the same 2 min instead of
 * Linux's ~15 min of retransmissions.
 *
 * 15 s between probes (not 10 s): after an answered probe Linux waits one
 * interval, then re-arms for the rest of the idle time, idle - interval.
 * Under 16 s that timer fires on a 256 ms grid, from 16 s on a 2 s grid
 * (timer wheel, HZ=250): with 30 - 10 = 20 s every connection's probe of
 * every cycle lands on the same few 2 s slots, and thousands of connections
 * fill the per-CPU backlog of loopback in one slot (README, "The spread").
 */
export const recommended: RecommendedKeepAlive = Object.freeze({ idle: 30_000, interval: 15_000, count: 6, userTimeout: 120_000 })

const NAMES: readonly KeepAliveOptionName[] = ['idle', 'interval', 'count', 'userTimeout']

/** Whether this platform can take `value` for `name` (the option exists here and the value is in range). */
export function honoured(name: KeepAliveOptionName, value: number): boolean {
  const limit = capabilities.limits[name]
  return capabilities[name] && value >= limit.min && value <= limit.max
}

/**
 * The recommended options this platform can honour. Defaults degrade rather
 * than fail: without the addon only the idle time is settable, and Windows
 * without TCP_MAXRT has no user timeout, so those are left out.
 */
export function applicableRecommended(): KeepAliveOptions {
  const out: KeepAliveOptions = {}
  for (const name of NAMES) if (honoured(name, recommended[name])) out[name] = recommended[name]
  return out
}
