import { expect } from 'vitest'

const seconds = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => (from + i) * 1000)

/**
 * What a socket configured in bulk (install, the preload, the agent helpers)
 * may hold for `options`: idle among the whole seconds within 10 % below the
 * request, interval within 10 % or one second below (at most 25 %), the rest exact (README,
 * "The spread"). A matcher for toEqual / toMatchObject.
 */
export function heldUnderSpread<T extends { idle?: number; interval?: number }>(options: T): T {
  const out: Record<string, unknown> = { ...options }
  if (options.idle !== undefined) {
    const top = Math.ceil(options.idle / 1000)
    out.idle = expect.toBeOneOf(seconds(Math.max(1, Math.ceil((options.idle * 0.9) / 1000)), top))
  }
  if (options.interval !== undefined) {
    const top = Math.ceil(options.interval / 1000)
    const floor = Math.max(options.interval * 0.75, Math.min(options.interval * 0.9, (top - 1) * 1000))
    out.interval = expect.toBeOneOf(seconds(Math.max(1, Math.ceil(floor / 1000)), top))
  }
  return out as T
}
