// The dead-peer event in the network-namespace lab: the middlebox drops
// everything (the peer is gone), and each socket this package configured
// must publish exactly one `tcp-keepalive:timeout` message whose reason
// matches what the wire shows: bare keepalive probes from the idle socket,
// retransmitted data from the busy one. tcpdump on the middlebox is the
// outside witness.
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { capture, SERVER_IP } from '../harness/lab/lab.mjs'
import { blackholeLab, labSkipReason } from '../helpers/lab'

interface Event {
  event: string
  which: string
  localPort?: number
  code?: string
  [key: string]: unknown
}

const why = labSkipReason()

describe.skipIf(why !== null)('tcp-keepalive:timeout in the lab: the peer is black-holed', () => {
  const ctx = blackholeLab()

  it("one message per configured socket: 'keepalive' with the probes seen on the wire, 'user-timeout' for data never acknowledged; the same reasons in the closed-connections metric", async () => {
    const { lab } = ctx
    const spec = {
      metrics: true,
      host: SERVER_IP,
      port: 8080,
      sockets: [
        { name: 'idle', mode: 'idle', options: { idle: 1000, interval: 1000, count: 3 } },
        { name: 'write', mode: 'write', options: { userTimeout: 3000 } },
      ],
    }
    const child = lab.spawn(lab.ns.client, process.execPath, [join(__dirname, '..', 'harness', 'lab', 'timeout-client.mjs'), JSON.stringify(spec)])
    const events: Event[] = []
    let stderr = ''
    child.stderr.on('data', (c) => (stderr += c))
    const connected = new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        events.push(JSON.parse(line) as Event)
        if (events.filter((e) => e.event === 'connected').length === 2) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await Promise.race([connected, exited])
    const wire = capture(lab)
    await wire.ready
    lab.blackhole()
    const start = Date.now() / 1000
    child.stdin.write('go\n')
    const timer = setTimeout(() => child.kill(), 20_000)
    await exited
    clearTimeout(timer)
    await wire.stop()
    console.log(`  events: ${events.map((e) => JSON.stringify(e)).join('\n          ')}`)
    expect(stderr).toBe('')

    const port = (which: string) => events.find((e) => e.event === 'connected' && e.which === which)?.localPort as number
    const packets = wire.packets
    const after = packets.filter((p) => p.t >= start)
    const probesOnWire = after.filter((p) => p.srcPort === port('idle') && p.len === 0 && p.flags === '.').length
    const dataOnWire = after.filter((p) => p.srcPort === port('write') && p.len > 0).length
    console.log(`  on the wire after the blackhole: ${probesOnWire} keepalive probes from the idle socket, ${dataOnWire} data segments from the busy one`)

    const timeouts = events.filter((e) => e.event === 'timeout')
    expect(timeouts.map((e) => e.which).sort()).toEqual(['idle', 'write'])
    const idle = timeouts.find((e) => e.which === 'idle') as Event
    const write = timeouts.find((e) => e.which === 'write') as Event
    expect(idle).toMatchObject({ isSocket: true, remoteAddress: SERVER_IP, remotePort: 8080, host: null, reason: 'keepalive', idle: 1000, interval: 1000, count: 3 })
    expect(idle.probes).toBe(3)
    expect(probesOnWire).toBe(idle.probes)
    expect(write).toMatchObject({ isSocket: true, remoteAddress: SERVER_IP, remotePort: 8080, reason: 'user-timeout', userTimeout: 3000, probes: 0 })
    // The data went out and came back again and again, unacknowledged.
    expect(dataOnWire).toBeGreaterThan(2)
    // Published before the socket's own 'error' (the kernel's reading is taken before Node closes the fd).
    for (const which of ['idle', 'write']) {
      const i = events.findIndex((e) => e.event === 'timeout' && e.which === which)
      const j = events.findIndex((e) => e.event === 'error' && e.which === which)
      expect(events[j]?.code).toBe('ETIMEDOUT')
      expect(i).toBeLessThan(j)
    }
    // The same verdicts in tcp_keepalive.connection.closed, read through the OpenTelemetry SDK.
    const closed = (events.find((e) => e.event === 'metrics') as unknown as { closed: { attributes: Record<string, unknown>; value: number }[] }).closed
    const reasons = Object.fromEntries(closed.map((p) => [String(p.attributes['tcp_keepalive.close.reason']), p.value]))
    expect(reasons).toEqual({ keepalive: 1, 'user-timeout': 1 })
    for (const p of closed) expect(p.attributes).toMatchObject({ 'tcp_keepalive.direction': 'client', 'server.address': SERVER_IP, 'server.port': 8080 })
  })
})
