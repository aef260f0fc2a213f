// The hooks' argument checks, in process (test/kernel/hooks.test.ts holds
// the sockets they configure against the kernel's view).
import { describe, expect, it } from 'vitest'
import { install, withKeepAlive } from '../lib'

const opts = { idle: 6000, interval: 2000, count: 3, userTimeout: 7000 }

describe('install()', () => {
  it('validates static options at install time', () => {
    expect(() => install({ intreval: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => install(opts, { serve: true } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })
})

describe('withKeepAlive(agent)', () => {
  it('refuses what is not an agent', () => {
    expect(() => withKeepAlive({} as never, opts)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})
