import dgram from 'node:dgram'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeCertificate, peekSockopt } from './helpers/kernel'
import { fdOf, tcpPair, type Pair } from './helpers/sockets'
import { capabilities, getKeepAlive, setKeepAlive } from './lib'

let p: Pair
beforeAll(async () => {
  p = await tcpPair()
  setKeepAlive(p.client, { idle: 5000, interval: 2000, count: 3, userTimeout: 4000 })
})
afterAll(() => p.close())

const baseline = { enabled: true, idle: 5000, interval: 2000, count: 3, userTimeout: 4000 }

/** A rejected call must change nothing in the kernel. */
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
  const outside = peekSockopt(fdOf(p.client))
  if (outside) expect(outside).toMatchObject(baseline)
}

describe('bad options', () => {
  it.each([
    ['null', null],
    ['a number', 5000],
    ['a string', 'idle=5000'],
    ['an array', [5000]],
    ['a function', () => 5000],
  ])('%s as options: ERR_INVALID_ARG_TYPE', (_name, options) => rejects(options, 'ERR_INVALID_ARG_TYPE', /"options"/))

  it.each([
    ['idle', '5000'],
    ['interval', null],
    ['count', 3n],
    ['userTimeout', true],
    ['idle', {}],
  ])('options.%s = %s: ERR_INVALID_ARG_TYPE naming the option', (key, value) =>
    rejects({ [key]: value }, 'ERR_INVALID_ARG_TYPE', new RegExp(`"options\\.${key}"`)))

  it('enable must be a boolean', () => rejects({ enable: 1 }, 'ERR_INVALID_ARG_TYPE', /"options\.enable"/))

  it('unknown keys are refused, with a suggestion for typos', () => {
    rejects({ idle: 1000, intreval: 1000 }, 'ERR_INVALID_ARG_VALUE', /"options\.intreval" is not a keepalive option\. Did you mean "interval"\? Known options: enable, idle, interval, count, userTimeout\.$/)
    rejects({ keepAliveInitialDelay: 1000 }, 'ERR_INVALID_ARG_VALUE', /not a keepalive option\. Did you mean "idle"\?/)
    // Node's own names point to ours.
    rejects({ keepAlive: true }, 'ERR_INVALID_ARG_VALUE', /"options\.keepAlive" is not a keepalive option\. Did you mean "enable"\?/)
    rejects({ initialDelay: 1000 }, 'ERR_INVALID_ARG_VALUE', /Did you mean "idle"\?/)
    rejects({ zzz: 1 }, 'ERR_INVALID_ARG_VALUE', /"options\.zzz" is not a keepalive option\. Known options: enable, idle, interval, count, userTimeout\.$/)
  })

  it.each([
    ['idle', 0],
    ['idle', -1],
    ['idle', capabilities.limits.idle.max + 1],
    ['interval', 0],
    ['interval', capabilities.limits.interval.max + 1],
    ['count', 0],
    ['count', capabilities.limits.count.max + 1],
    ['userTimeout', -1],
    ['userTimeout', capabilities.limits.userTimeout.max + 1],
    ['idle', Number.NaN],
    ['idle', Number.POSITIVE_INFINITY],
    ['count', 2.5],
  ])('options.%s = %s: ERR_OUT_OF_RANGE with the option and the range', (key, value) => {
    const { min, max } = capabilities.limits[key as 'idle']
    rejects({ [key]: value }, 'ERR_OUT_OF_RANGE', new RegExp(`"options\\.${key}".*>= ${min} && <= ${max}`))
  })

  it('accepts both ends of every range', () => {
    const pAll = ['idle', 'interval', 'count', 'userTimeout'] as const
    for (const key of pAll) {
      const { min, max } = capabilities.limits[key]
      for (const v of [min, max]) {
        setKeepAlive(p.client, { [key]: v })
        const expected = key === 'idle' || key === 'interval' ? Math.ceil(v / 1000) * 1000 : v
        expect(getKeepAlive(p.client)[key], `${key}=${v}`).toBe(expected)
        const outside = peekSockopt(fdOf(p.client))
        if (outside) expect(outside[key], `${key}=${v} (outside)`).toBe(expected)
      }
    }
    const { enabled: _enabled, ...options } = baseline
    setKeepAlive(p.client, options)
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

  // Plain, and TLS on top: a TLSWrap handle does not say what it sits on, so
  // the second case is refused by the addon's own check, not by the handle type.
  it.each([
    ['a Unix domain socket', false],
    ['TLS over a Unix domain socket', true],
  ])('%s: ERR_TCP_KEEPALIVE_NOT_TCP', async (_name, secure) => {
    const { key, cert } = makeCertificate()
    const dir = mkdtempSync(join(tmpdir(), 'tka-unix-'))
    const path = join(dir, 's')
    const server = secure ? tls.createServer({ key, cert }, (s) => s.on('error', () => {})) : net.createServer()
    server.listen(path)
    await once(server, 'listening')
    const client = secure ? tls.connect({ path, ca: cert, servername: 'localhost' }) : net.connect(path)
    await once(client, secure ? 'secureConnect' : 'connect')
    try {
      expect(() => setKeepAlive(client, { idle: 1000 })).toThrow(expect.objectContaining({ code: 'ERR_TCP_KEEPALIVE_NOT_TCP' }))
      expect(() => getKeepAlive(client)).toThrow(expect.objectContaining({ code: 'ERR_TCP_KEEPALIVE_NOT_TCP' }))
    } finally {
      client.destroy()
      server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('OS failures', () => {
  it('carry the errno name, Node\'s negative errno, the syscall and the option', async () => {
    // Valid input on a live TCP socket does not fail on Linux, so the
    // translation the addon's failures go through is checked on its own.
    const { systemError } = (await import('../dist/cjs/errors.js')) as typeof import('../src/errors')
    const { getSystemErrorName, getSystemErrorMap } = await import('node:util')
    const einval = [...getSystemErrorMap().entries()].find(([, [name]]) => name === 'EINVAL')?.[0] as number
    const err = systemError(einval, 'setsockopt', 'TCP_KEEPCNT')
    expect(err).toMatchObject({ code: 'EINVAL', errno: einval, syscall: 'setsockopt', option: 'TCP_KEEPCNT' })
    expect(getSystemErrorName(err.errno)).toBe('EINVAL')
    expect(err.message).toBe('setsockopt TCP_KEEPCNT failed: EINVAL (invalid argument)')
  })
})
