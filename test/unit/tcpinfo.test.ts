// getTcpInfo through the API: its fields, units and errors on a loopback
// connection (test/kernel/tcpinfo.test.ts holds it against `ss -tino`).
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyPair, tcpPair, type Pair } from '../helpers/sockets'
import { getTcpInfo, type TcpInfo } from '../lib'

const linux = process.platform === 'linux'

const FIELDS: (keyof TcpInfo)[] = [
  'state', 'rtt', 'rttVariance', 'rto', 'mss', 'congestionWindow', 'unacked', 'retransmits', 'totalRetransmits',
  'keepaliveProbes', 'lastDataSent', 'lastDataReceived', 'lastAckReceived', 'bytesSent', 'bytesReceived', 'bytesAcked',
]

describe('getTcpInfo on a loopback connection', () => {
  let p: Pair
  beforeAll(async () => {
    p = await busyPair()
  })
  afterAll(() => p.close())

  it('has every documented field, typed, with the units the docs give', () => {
    const info = getTcpInfo(p.client)
    expect(Object.keys(info).sort()).toEqual([...FIELDS].sort())
    expect(info.state).toBe('established')
    for (const key of FIELDS) {
      if (key === 'state') continue
      const v = info[key]
      if (v !== null) expect(v, key).toBeGreaterThanOrEqual(0)
    }
    // Exactly the fields the README's table promises per OS (the release workflow runs this on macOS and Windows).
    const known = Object.keys(info).filter((k) => info[k as keyof TcpInfo] !== null).sort()
    if (process.platform === 'darwin') {
      // Everything is acknowledged by now: no retransmit timer runs, so macOS has no RTO to report (its 0 is null).
      expect(known).toEqual(['bytesReceived', 'bytesSent', 'congestionWindow', 'mss', 'rtt', 'rttVariance', 'state', 'totalRetransmits'])
    }
    if (process.platform === 'freebsd') {
      expect(known).toEqual(['congestionWindow', 'lastDataReceived', 'mss', 'rto', 'rtt', 'rttVariance', 'state', 'totalRetransmits'])
    }
    if (process.platform === 'win32') expect(known).toEqual(['bytesReceived', 'bytesSent', 'congestionWindow', 'mss', 'rtt', 'state', 'unacked'])
    if (!linux) return
    // Linux reports every field (kernel >= 4.19 has bytes_sent).
    expect(known).toEqual([...FIELDS].sort())
    expect(info.bytesSent).toBeGreaterThanOrEqual(200_000)
    expect(info.bytesAcked).toBe(200_001) // the SYN counts one
    expect(info.bytesReceived).toBe(3000)
    expect(info.unacked).toBe(0)
    expect(info.retransmits).toBe(0)
    expect(info.keepaliveProbes).toBe(0)
    expect(getTcpInfo(p.accepted)).toMatchObject({ state: 'established', bytesReceived: 200_000 })
  })

  it('the idle times grow while nothing is sent, and reset when data flows', async () => {
    const before = getTcpInfo(p.client)
    await new Promise((r) => setTimeout(r, 300))
    const later = getTcpInfo(p.client)
    if (before.lastDataSent === null) return // not reported on this OS
    expect(later.lastDataSent as number).toBeGreaterThanOrEqual((before.lastDataSent) + 250)
    p.client.write('x')
    await once(p.accepted, 'data')
    const after = getTcpInfo(p.client)
    expect(after.lastDataSent as number).toBeLessThan(250)
    expect(after.bytesSent as number).toBe((later.bytesSent as number) + 1)
  })
})

describe('getTcpInfo errors (as getKeepAlive)', () => {
  it('not a net.Socket: ERR_INVALID_ARG_TYPE', () => {
    for (const bad of [undefined, null, 3, {}, new net.Server()]) {
      expect(() => getTcpInfo(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    }
  })

  it('destroyed: ERR_SOCKET_CLOSED; still connecting: ERR_TCP_KEEPALIVE_NOT_CONNECTED', async () => {
    const q = await tcpPair()
    q.close()
    expect(() => getTcpInfo(q.client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    try {
      expect(() => getTcpInfo(c)).toThrow(expect.objectContaining({ code: 'ERR_TCP_KEEPALIVE_NOT_CONNECTED' }))
      await once(c, 'connect')
      expect(getTcpInfo(c).state).toBe('established')
    } finally {
      c.destroy()
      server.close()
    }
  })

  it.runIf(process.platform !== 'win32')('a Unix domain socket: ERR_TCP_KEEPALIVE_NOT_TCP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tka-unix-'))
    const server = net.createServer().listen(join(dir, 's'))
    await once(server, 'listening')
    const c = net.connect(join(dir, 's'))
    await once(c, 'connect')
    try {
      expect(() => getTcpInfo(c)).toThrow(expect.objectContaining({ code: 'ERR_TCP_KEEPALIVE_NOT_TCP' }))
    } finally {
      c.destroy()
      server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

})
