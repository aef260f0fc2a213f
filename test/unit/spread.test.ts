// The spread's switch: its argument checks, in process (the drawn values as
// the kernel holds them: test/kernel/spread.test.ts).
import http from 'node:http'
import { describe, expect, it } from 'vitest'
import { connector, install, withKeepAlive } from '../lib'

const opts = { idle: 20_000, interval: 5000 }
const bad: unknown[] = ['false', 0, 1, null, {}]

describe('settings.spread', () => {
  it.each(bad)('install(): %j is a typed error naming the setting', (value) => {
    expect(() => install(opts, { spread: value } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^The "settings\.spread" property must be of type boolean\. Received /) }),
    )
  })

  it.each(bad)('withKeepAlive(): %j is a typed error, and the agent is left as it was', (value) => {
    const agent = new http.Agent()
    const before = agent.createConnection
    expect(() => withKeepAlive(agent, opts, { spread: value } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"settings.spread"') }))
    expect(agent.createConnection).toBe(before)
  })

  it.each(bad)('connector(): %j is a typed error', (value) => {
    expect(() => connector(opts, {}, { spread: value } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('"settings.spread"') }))
  })

  it('is a known install setting, and true and false are accepted', () => {
    expect(() => install(opts, { sprad: false } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('Known settings: server, client, onError, spread.') }))
    for (const spread of [true, false, undefined]) install(opts, { spread }).uninstall()
    expect(withKeepAlive(new http.Agent(), opts, { spread: false })).toBeInstanceOf(http.Agent)
  })
})
