// The spread's switch: its argument checks, in process (the drawn values as
// the kernel holds them: test/kernel/spread.test.ts).
import http from 'node:http'
import { describe, expect, it } from 'vitest'
import { connector, install, withKeepAlive } from '../lib'

const opts = { idle: 20_000, interval: 5000 }
const bad: unknown[] = ['false', 0, 1, null, {}]

function thrown(fn: () => unknown): { code?: unknown; message: string } {
  try {
    fn()
  } catch (err) {
    return err as { code?: unknown; message: string }
  }
  throw new Error('did not throw')
}

describe('settings.spread', () => {
  it.each(bad)('install(): %j is a typed error naming the setting', (value) => {
    const err = thrown(() => install(opts, { spread: value } as never))
    expect(err.code).toBe('ERR_INVALID_ARG_TYPE')
    expect(err.message).toMatch(/^The "settings\.spread" property must be of type boolean\. Received /)
  })

  it.each(bad)('withKeepAlive(): %j is a typed error, and the agent is left as it was', (value) => {
    const agent = new http.Agent()
    const err = thrown(() => withKeepAlive(agent, opts, { spread: value } as never))
    expect(err.code).toBe('ERR_INVALID_ARG_TYPE')
    expect(err.message).toContain('"settings.spread"')
    // Still the prototype's method: nothing was wrapped.
    expect(Object.getOwnPropertyDescriptor(agent, 'createConnection')).toBeUndefined()
  })

  it.each(bad)('connector(): %j is a typed error', (value) => {
    const err = thrown(() => connector(opts, {}, { spread: value } as never))
    expect(err.code).toBe('ERR_INVALID_ARG_TYPE')
    expect(err.message).toContain('"settings.spread"')
  })

  it('is a known install setting, and true and false are accepted', () => {
    const err = thrown(() => install(opts, { sprad: false } as never))
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE')
    expect(err.message).toContain('Known settings: server, client, onError, spread, census, origins.')
    for (const spread of [true, false, undefined]) install(opts, { spread }).uninstall()
    expect(withKeepAlive(new http.Agent(), opts, { spread: false })).toBeInstanceOf(http.Agent)
  })
})
