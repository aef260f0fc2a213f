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
 * "Recommended defaults"): the first probe at 20 s is well inside the
 * shortest limit met in practice (an AWS NLB set to its 60 s minimum), a dead
 * peer is given up after 20 s + 20 x 5 s = 2 min, and the user timeout equals
 * that sum: on Linux TCP_USER_TIMEOUT also ends probing (the connection drops
 * at the first probe due at or after it, whatever the count), so a smaller
 * value would cut the probes short and a larger one would add probes beyond
 * the count. It also bounds unacknowledged data to the same 2 min instead of
 * Linux's ~15 min of retransmissions.
 *
 * Why 20 s / 5 s / 20 rather than 30 s / 10 s / 9 (README, "The spread"):
 * probes dropped in a burst (connections opened together, a full per-CPU
 * backlog on loopback) get through about a backlog's worth per retry, so 20
 * retries in the same 2 min save twenty times that. And after an answered
 * probe Linux waits one interval, then re-arms for idle - interval: under
 * 16 s (here 15 s) that timer fires on a 256 ms grid, from 16 s on (30 - 10)
 * on a 2 s grid (timer wheel, HZ=250), where every connection's probes of
 * every cycle meet in a few slots.
 */
export const recommended: RecommendedKeepAlive = Object.freeze({ idle: 20_000, interval: 5_000, count: 20, userTimeout: 120_000 })

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
