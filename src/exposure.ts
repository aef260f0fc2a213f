// One rule for "would a middlebox forget this connection", shared by the
// census, the metrics and `inspect`, so the three never disagree on a row.
import type { KeepAliveState } from './options'

/** AWS NLB's fixed idle timeout, the limit `exposed` is judged against by default (ms). */
export const DEFAULT_IDLE_LIMIT = 350_000

/** Keepalive off or unknown, or idle or interval not below the limit: nothing shows the flow stays known. */
export function isExposed(k: KeepAliveState, limitMs: number): boolean {
  if (k.enabled !== true) return true
  return (k.idle ?? Infinity) >= limitMs || (k.interval ?? Infinity) >= limitMs
}
