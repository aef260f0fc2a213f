// What getKeepAlive must report, shared by the unit tier (in process) and the
// kernel tier (the preload as a user runs it).
import { expect } from 'vitest'
import { capabilities } from '../lib'

const linux = process.platform === 'linux'

/** The recommended defaults, written out here so a change to them fails a test. */
export const RECOMMENDED = { idle: 20_000, interval: 5000, count: 20, userTimeout: 120_000 }

/**
 * getKeepAlive against what was set. Linux reads back every option; elsewhere
 * a value the OS cannot report is null and an option it lacks is not set.
 */
export function expectApi(actual: object | undefined, expected: Record<string, unknown>, label?: string): void {
  if (linux) {
    expect(actual, label).toEqual(expected)
    return
  }
  const got = actual as Record<string, unknown>
  for (const [k, v] of Object.entries(expected)) {
    if (k !== 'enabled' && !capabilities[k as 'idle']) continue
    if (got[k] !== null) expect(got[k], `${label ?? ''} ${k}`).toEqual(v)
  }
}
