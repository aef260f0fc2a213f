// Bad input through the public API: every refusal is a typed Node-style error
// and leaves the socket as it was (test/kernel/errors.test.ts holds the same
// cases against the kernel's view from another process).
import dgram from 'node:dgram'
import { once } from 'node:events'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { baseline, baselineOptions, NOT_OPTIONS, outOfRange, rangeEnds, UNKNOWN_KEYS, WRONG_TYPES } from '../helpers/bad-options'
import { tcpPair, type Pair } from '../helpers/sockets'
import { capabilities, getKeepAlive, setKeepAlive } from '../lib'

let p: Pair
beforeAll(async () => {
  p = await tcpPair()
  setKeepAlive(p.client, baselineOptions)
})
afterAll(() => p.close())

/** A rejected call must change nothing. */
function rejects(options: unknown, code: string, message?: RegExp): void {
  let thrown: unknown
  try {
    setKeepAlive(p.client, options as never)
  } catch (err) {
    thrown = err
  }
  expect(thrown, `options ${String(options)} should throw ${code}`).toBeInstanceOf(Error)
  expect((thrown as { code: string }).code).toBe(code)
  if (message) expect((thrown as Error).message).toMatch(message)
  expect(getKeepAlive(p.client)).toMatchObject(baseline)
}

describe('bad options', () => {
  it.each(NOT_OPTIONS)('%s as options: ERR_INVALID_ARG_TYPE', (_name, options) => rejects(options, 'ERR_INVALID_ARG_TYPE', /"options"/))

  it.each(WRONG_TYPES)('options.%s = %s: ERR_INVALID_ARG_TYPE naming the option', (key, value) =>
    rejects({ [key]: value }, 'ERR_INVALID_ARG_TYPE', new RegExp(`"options\\.${key}"`)))

  it('enable must be a boolean', () => rejects({ enable: 1 }, 'ERR_INVALID_ARG_TYPE', /"options\.enable"/))

  it('unknown keys are refused, with a suggestion for typos', () => {
    for (const [options, message] of UNKNOWN_KEYS) rejects(options, 'ERR_INVALID_ARG_VALUE', message)
  })

  it.each(outOfRange(capabilities.limits))('options.%s = %s: ERR_OUT_OF_RANGE with the option and the range', (key, value) => {
    const { min, max } = capabilities.limits[key]
    rejects({ [key]: value }, 'ERR_OUT_OF_RANGE', new RegExp(`"options\\.${key}".*>= ${min} && <= ${max}`))
  })

  it('accepts both ends of every range', () => {
    for (const [key, v, expected] of rangeEnds(capabilities.limits)) {
      setKeepAlive(p.client, { [key]: v })
      expect(getKeepAlive(p.client)[key], `${key}=${v}`).toBe(expected)
    }
    setKeepAlive(p.client, baselineOptions)
  })
})

describe('bad sockets', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number (fd)', 3],
    ['a plain object pretending to be a socket', { _handle: { fd: 3 }, destroyed: false, setKeepAlive() {} }],
  ])('%s: ERR_INVALID_ARG_TYPE', (_name, socket) => {
    expect(() => setKeepAlive(socket as never, {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => getKeepAlive(socket as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })

  it('a net.Server or dgram socket is not a net.Socket: ERR_INVALID_ARG_TYPE', async () => {
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const udp = dgram.createSocket('udp4')
    try {
      expect(() => setKeepAlive(server as never, {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
      expect(() => setKeepAlive(udp as never, {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    } finally {
      server.close()
      udp.close()
    }
  })

  it('a destroyed socket: ERR_SOCKET_CLOSED', async () => {
    const q = await tcpPair()
    q.close()
    expect(() => setKeepAlive(q.client, { idle: 1000 })).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
    expect(() => getKeepAlive(q.client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
  })
})

describe('OS failures', () => {
  it('carry the errno name, Node\'s negative errno, the syscall and the option', async () => {
    // Valid input on a live TCP socket does not fail on Linux, so the
    // translation the addon's failures go through is checked on its own.
    const { systemError } = (await import('../../dist/cjs/errors.js')) as typeof import('../../src/errors')
    const { getSystemErrorName, getSystemErrorMap } = await import('node:util')
    const einval = [...getSystemErrorMap().entries()].find(([, [name]]) => name === 'EINVAL')?.[0] as number
    const err = systemError(einval, 'setsockopt', 'TCP_KEEPCNT')
    expect(err).toMatchObject({ code: 'EINVAL', errno: einval, syscall: 'setsockopt', option: 'TCP_KEEPCNT' })
    expect(getSystemErrorName(err.errno)).toBe('EINVAL')
    expect(err.message).toBe('setsockopt TCP_KEEPCNT failed: EINVAL (invalid argument)')
  })
})
