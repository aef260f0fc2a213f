// End to end, on a real kernel path: client -- middlebox -- server in network
// namespaces, the middlebox forgetting flows idle for more than IDLE_S seconds
// (like an AWS NLB at 350 s) and, on demand, dropping everything (a dead peer).
// Times are measured and printed; bounds are generous to the kernel's timers
// but far from what the bug or Node's defaults give.
import { afterAll, describe, expect, it } from 'vitest'
import { capture, createLab, startClient, startServer, type Lab, type LabServer as Server } from '../harness/lab/lab.mjs'
import { labSkipReason } from '../helpers/lab'

const IDLE_S = 4
const why = labSkipReason()

// Each test has a lab of its own, so the two wait on the kernel's timers side
// by side (the second one black-holes its middlebox).
describe.skipIf(why !== null).concurrent(`network-namespace lab (middlebox forgets flows idle > ${IDLE_S} s)`, () => {
  const labs: Array<{ lab: Lab; server: Server }> = []
  async function setUp(): Promise<{ lab: Lab; server: Server }> {
    const lab = createLab({ idleTimeout: IDLE_S })
    const made = { lab, server: await startServer(lab) }
    labs.push(made)
    return made
  }
  afterAll(() => {
    for (const { lab, server } of labs) {
      server.stop()
      lab.destroy()
    }
  })

  it('a long request hangs without keepalive and completes through every path with it', async () => {
    const { lab, server } = await setUp()
    // The server answers after 2.5 x the middlebox's idle timeout.
    const url = server.url(`/slow?ms=${IDLE_S * 2500}`)
    const options = { idle: 1000, interval: 1000, count: 5 }
    const paths = ['none', 'socket', 'agent', 'install', 'undici'] as const
    const clients = paths.map((path) => startClient(lab, { url, path, options, mode: 'request', giveUpMs: IDLE_S * 3500 }))
    const results = await Promise.all(clients.map((c) => c.result()))
    for (const [i, path] of paths.entries()) console.log(`  ${path.padEnd(8)} ${JSON.stringify(results[i])}`)
    // The bug: the response is sent, the middlebox drops it, the client waits forever.
    expect(results[0]?.event).toBe('gave-up')
    for (const r of results.slice(1)) {
      expect(r).toMatchObject({ event: 'response', status: 200 })
      expect(r.t).toBeGreaterThanOrEqual(IDLE_S * 2500)
    }
  })

  it('a dead peer: ours times out in idle + count x interval, Node alone in 11 s, userTimeout bounds data in flight; probes counted on the wire', async () => {
    const { lab, server } = await setUp()
    const url = server.url('/')
    const ours = startClient(lab, { url, path: 'socket', options: { idle: 1000, interval: 1000, count: 3 }, mode: 'idle', giveUpMs: 30_000 })
    const node = startClient(lab, { url, path: 'node', options: { idle: 1000 }, mode: 'idle', giveUpMs: 30_000 })
    const bounded = startClient(lab, { url, path: 'socket', options: { userTimeout: 3000 }, mode: 'write', giveUpMs: 30_000 })
    const unbounded = startClient(lab, { url, path: 'none', options: {}, mode: 'write', giveUpMs: 12_000 })
    const ports = await Promise.all([ours, node].map(async (c) => (await c.next('connected')).localPort as number))
    await Promise.all([bounded, unbounded].map((c) => c.next('connected')))
    const wire = capture(lab)
    await wire.ready
    lab.blackhole()
    const start = Date.now() / 1000
    for (const c of [ours, node, bounded, unbounded]) c.go()
    const [a, b, c, d] = await Promise.all([ours.result(), node.result(), bounded.result(), unbounded.result()])
    await wire.stop()
    console.log(`  ours  idle 1 s, interval 1 s, count 3: ${JSON.stringify(a)}`)
    console.log(`  Node  socket.setKeepAlive(true, 1000):   ${JSON.stringify(b)}`)
    console.log(`  data in flight, userTimeout 3000:       ${JSON.stringify(c)}`)
    console.log(`  data in flight, no userTimeout:         ${JSON.stringify(d)}`)

    expect(a).toMatchObject({ event: 'error', code: 'ETIMEDOUT' })
    expect(a.t).toBeGreaterThanOrEqual(3000)
    expect(a.t).toBeLessThanOrEqual(5000)
    expect(b).toMatchObject({ event: 'error', code: 'ETIMEDOUT' })
    expect(b.t).toBeGreaterThan(9000) // Node forces interval 1 s, count 10
    expect(c).toMatchObject({ event: 'error', code: 'ETIMEDOUT' })
    expect(c.t).toBeGreaterThanOrEqual(2500)
    expect(c.t).toBeLessThanOrEqual(4500)
    expect(d.event).toBe('gave-up') // still retransmitting after 12 s

    // On the wire: bare ACKs without payload from our idle socket, then its reset.
    const probes = (port: number) => wire.packets.filter((p) => p.srcPort === port && p.len === 0 && p.flags === '.')
    const oursProbes = probes(ports[0] as number).map((p) => +(p.t - start).toFixed(2))
    const nodeProbes = probes(ports[1] as number).map((p) => +(p.t - start).toFixed(2))
    console.log(`  probes seen by the middlebox (s after blackhole): ours ${JSON.stringify(oursProbes)}; Node's ${nodeProbes.length}`)
    expect(oursProbes.length).toBe(3)
    const gaps = oursProbes.slice(1).map((t, i) => t - (oursProbes[i] as number))
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(0.7)
      expect(gap).toBeLessThan(1.5)
    }
    expect(nodeProbes.length).toBe(10)
  })
})
