// Bad input seen by the kernel: a refused call leaves the socket as another
// process reads it, accepted bounds land exactly, and sockets that are not
// TCP (Unix domain, TLS over Unix domain) are refused.
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { baseline, baselineOptions, rangeEnds, refusals } from '../helpers/bad-options'
import { makeCertificate, notRun, peekSockopt, sockoptObserver } from '../helpers/kernel'
import { fdOf, tcpPair, type Pair } from '../helpers/sockets'
import { capabilities, getKeepAlive, setKeepAlive } from '../lib'

let p: Pair
beforeAll(async () => {
  p = await tcpPair()
  setKeepAlive(p.client, baselineOptions)
})
afterAll(() => p.close())

describe('bad options, from outside', () => {
  it('every refused call of the unit tier leaves the kernel as it was', () => {
    if (!sockoptObserver.available) return notRun(sockoptObserver)
    for (const [options, code] of refusals(capabilities.limits)) {
      const label = inspect(options)
      expect(() => setKeepAlive(p.client, options as never), label).toThrow(expect.objectContaining({ code }))
      expect(peekSockopt(fdOf(p.client)), `after ${label}`).toMatchObject(baseline)
    }
  })

  it('accepts both ends of every range, as the kernel holds them', () => {
    if (!sockoptObserver.available) return notRun(sockoptObserver)
    for (const [key, v, expected] of rangeEnds(capabilities.limits)) {
      setKeepAlive(p.client, { [key]: v })
      expect(getKeepAlive(p.client)[key], `${key}=${v}`).toBe(expected)
      expect(peekSockopt(fdOf(p.client))?.[key], `${key}=${v} (outside)`).toBe(expected)
    }
    setKeepAlive(p.client, baselineOptions)
  })
})

describe('sockets that are not TCP', () => {
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
