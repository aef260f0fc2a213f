// The spread: sockets configured in bulk (install(), the preload,
// withKeepAlive, connector) each get their idle time and probe interval drawn
// from [90 %, 100 %] of the requested value, so that connections opened
// together do not probe together.
//
// Why: connections opened in one burst (a pool warming up, a proxy's
// upstreams) get keepalive deadlines in the same kernel timer slot, so their
// probes leave in one timer run. On loopback and veth each packet is queued
// to the sending CPU's backlog (net.core.netdev_max_backlog, 1000 by default)
// and the excess is dropped; loopback does not tell TCP, so every dropped
// probe counts as unanswered. The retries of those sockets leave together
// again, and after `count` of them healthy connections are reset with
// ETIMEDOUT. Spreading the deadlines over several slots keeps each burst
// under the backlog, and spreading the interval separates the retries of
// sockets whose first probes were dropped together.
//
// Granularity: Linux, macOS and Windows hold both times in whole seconds
// (the API rounds up), so a draw is a whole number of seconds: drawing
// milliseconds would only be rounded back onto the same few values. The
// values drawn are never above what the socket would hold without the
// spread, and never below 90 % of the request (nor the platform's minimum):
// a dead peer is found at most 10 % earlier, never later. Below 10 s there is
// no whole second within 10 %, and the value is kept.
import { capabilities } from './capabilities'
import { invalidType } from './errors'
import { UNSET, type Normalized } from './options'

/** How far below the requested value a drawn time may go. */
export const SPREAD_FRACTION = 0.1
const GRANULE = 1000

/** A time drawn uniformly among the whole seconds in [(1 - SPREAD_FRACTION) x ms, ms rounded up]. */
export function drawTime(ms: number, min: number, random: () => number = Math.random): number {
  const top = Math.ceil(ms / GRANULE)
  const bottom = Math.max(Math.ceil((ms * (1 - SPREAD_FRACTION)) / GRANULE), Math.ceil(min / GRANULE))
  if (top <= bottom) return ms
  const k = bottom + Math.floor(random() * (top - bottom + 1))
  // The top value is the request itself: the kernel rounds it up the same way.
  return k >= top ? ms : k * GRANULE
}

/**
 * This socket's share of bulk options: idle and interval drawn per socket,
 * the rest as given. Returns `n` itself when nothing can be spread.
 */
export function spreadOf(n: Normalized): Normalized {
  if (n.enable === 0 || (n.idle === UNSET && n.interval === UNSET)) return n
  const limits = capabilities.limits
  const idle = n.idle === UNSET ? UNSET : drawTime(n.idle, limits.idle.min)
  const interval = n.interval === UNSET ? UNSET : drawTime(n.interval, limits.interval.min)
  if (idle === n.idle && interval === n.interval) return n
  return { enable: n.enable, idle, interval, count: n.count, userTimeout: n.userTimeout }
}

/** `options` as bulk settings give them, spread when `spread` is on. */
export function bulkOptions<N extends Normalized | null>(n: N, spread: boolean): N {
  return n === null || !spread ? n : (spreadOf(n) as N)
}

/** Checks `settings.spread` (default true) of install(), withKeepAlive() and connector(). */
export function spreadSetting(value: unknown, argName = 'settings.spread'): boolean {
  if (value === undefined) return true
  if (typeof value !== 'boolean') throw invalidType(argName, 'of type boolean', value)
  return value
}
