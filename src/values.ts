// Validated options as every layer hands them on (options.ts makes them,
// apply.ts and the backends use them). A leaf module: the backends load
// before options.ts can (its checks read the capabilities they report).

/** "Leave as the socket has it" in a Normalized field. */
export const UNSET = -1

/** Validated options: UNSET marks a field to leave alone. Never mutated once made, so hooks share one value. */
export interface Normalized {
  readonly enable: number
  readonly idle: number
  readonly interval: number
  readonly count: number
  readonly userTimeout: number
}

/** `next` over `old`, field by field: what `next` leaves alone keeps `old`'s value. */
export function merge(old: Normalized | undefined, next: Normalized): Normalized {
  if (!old) return next
  return {
    enable: next.enable,
    idle: next.idle === UNSET ? old.idle : next.idle,
    interval: next.interval === UNSET ? old.interval : next.interval,
    count: next.count === UNSET ? old.count : next.count,
    userTimeout: next.userTimeout === UNSET ? old.userTimeout : next.userTimeout,
  }
}
