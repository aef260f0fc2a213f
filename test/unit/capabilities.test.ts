// What the loaded package says it can do here, through the public API.
import { describe, expect, it } from 'vitest'
import { capabilities } from '../lib'

const linux = process.platform === 'linux'

describe('capabilities', () => {
  it('reports the native addon and every option on Linux', () => {
    expect(capabilities.native).toBe(true)
    expect(capabilities.platform).toBe(process.platform)
    if (linux) {
      expect(capabilities).toMatchObject({ idle: true, interval: true, count: true, userTimeout: true, userTimeoutOption: 'TCP_USER_TIMEOUT' })
      expect(capabilities.limits).toEqual({
        idle: { min: 1, max: 32_767_000 },
        interval: { min: 1, max: 32_767_000 },
        count: { min: 1, max: 127 },
        userTimeout: { min: 0, max: 2_147_483_647 },
        dropTime: null,
      })
    }
    expect(Object.isFrozen(capabilities)).toBe(true)
  })
})
