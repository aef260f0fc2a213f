// Why the recommended user timeout equals idle + interval x count, checked on
// a real kernel path (the network-namespace lab, peer black-holed): on Linux
// TCP_USER_TIMEOUT also ends keepalive probing. With it set, the count is
// ignored and the connection drops at the first probe due at or after the
// user timeout; so a smaller value cuts probing short, a larger one adds
// probes, an equal one drops exactly where the count alone would. The
// preload's derived user timeout is the equal one.
import { readFileSync } from 'node:fs'
import { release } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { capture, startClient, type LabEvent } from '../harness/lab/lab.mjs'
import { blackholeLab, labSkipReason } from '../helpers/lab'

// The kernel's tick rate, for the timer granularity below: from its build
// configuration; where that is not readable, 100, the coarsest in use.
function kernelHz(): number {
  const sources = [() => gunzipSync(readFileSync('/proc/config.gz')).toString(), () => readFileSync(`/boot/config-${release()}`, 'utf8')]
  for (const read of sources) {
    try {
      const m = /^CONFIG_HZ=(\d+)$/m.exec(read())
      if (m) return Number(m[1])
    } catch {
      // not readable here; try the next
    }
  }
  return 100
}
const HZ = kernelHz()
const jiffy = 1000 / HZ

// How late one keepalive timer of `ms` can fire. The timer wheel
// (kernel/time/timer.c) files a timer due in d jiffies at the first level n
// with d < 63 * 8^n and rounds its expiry up to the next multiple of 8^n
// jiffies; the tick that runs it adds one more (1-2 s at HZ=250: 9 jiffies,
// 36 ms). On top, an allowance for the timer softirq itself, which a loaded
// machine hands to ksoftirqd to be scheduled like any task.
const SOFTIRQ_ALLOWANCE_MS = 50
function lateness(ms: number): number {
  const d = Math.ceil(ms / jiffy)
  let n = 0
  while (d >= 63 * 8 ** n) n++
  return (8 ** n + 1) * jiffy + SOFTIRQ_ALLOWANCE_MS
}

const why = labSkipReason()

describe.skipIf(why !== null)('TCP_USER_TIMEOUT and keepalive probes (Linux, peer black-holed)', () => {
  const ctx = blackholeLab()

  it('idle 2 s, interval 1 s, count 3: user timeout 3 s cuts probing short, 5 s (= the sum, and the preload\'s) changes nothing, 8 s adds probes', async () => {
    const { lab, server } = ctx
    const url = server.url('/')
    const probing = { idle: 2000, interval: 1000, count: 3 }
    const register = join(__dirname, '..', '..', 'dist', 'esm', 'register.mjs')
    const specs = {
      count: { path: 'socket', options: probing },
      equal: { path: 'socket', options: { ...probing, userTimeout: 5000 } },
      short: { path: 'socket', options: { ...probing, userTimeout: 3000 } },
      long: { path: 'socket', options: { ...probing, userTimeout: 8000 } },
      preload: { path: 'none', options: {}, nodeArgs: ['--import', register], env: { TCP_KEEPALIVE: 'idle=2s,interval=1s,count=3' } },
    }
    const names = Object.keys(specs) as Array<keyof typeof specs>
    // Watching from before the clients connect, both ways: the last packet
    // that reached a client (its handshake's SYN-ACK, or the answer to a
    // probe sent before the black hole went up) is the moment the kernel's
    // keepalive clock, and the user timeout, count from.
    const wire = capture(lab, { replies: true })
    await wire.ready
    const clients = names.map((n) => startClient(lab, { url, mode: 'idle', giveUpMs: 20_000, ...specs[n] }))
    const ports = await Promise.all(clients.map(async (c) => (await c.next('connected')).localPort as number))
    lab.blackhole()
    for (const c of clients) c.go()
    const results = await Promise.all(clients.map((c) => c.result()))
    const packets = wire.packets
    const sent = (port: number) => packets.filter((p) => p.srcPort === port)
    const reset = (port: number) => sent(port).find((p) => p.flags.startsWith('R'))
    // The last reset may still be on its way through tcpdump's output when the last client reports.
    for (let waited = 0; waited < 3000 && !ports.every(reset); waited += 50) await new Promise((done) => setTimeout(done, 50))
    await wire.stop()
    const received = (port: number) => packets.filter((p) => p.dstPort === port).at(-1)
    const lastReceived = (port: number) => received(port)?.t ?? Infinity
    // Probes sent into the black hole: bare ACKs after the last packet the
    // client received, except the one that completes the handshake when
    // that packet was the SYN-ACK.
    const probes = (port: number) => {
      const after = sent(port).filter((p) => p.len === 0 && p.flags === '.' && p.t > lastReceived(port))
      return after.length - (received(port)?.flags === 'S.' && after.length > 0 ? 1 : 0)
    }
    // When the kernel dropped the connection, read off the wire too: the
    // keepalive timer that ends a connection sends a reset as it does so.
    // Wall-clock times in the clients would add how far apart they connected
    // and how late each process reported the error, neither of which is the
    // kernel's doing (a CI run under load saw 726 ms between two that the
    // kernel dropped at the same point of their own clocks).
    const dropAfter = (port: number) => {
      const rst = reset(port)
      return rst ? Math.round((rst.t - lastReceived(port)) * 1000) : null
    }
    const r = Object.fromEntries(names.map((n, i) => [n, { ...(results[i] as LabEvent), probes: probes(ports[i] as number), dropAfter: dropAfter(ports[i] as number) }]))
    for (const n of names) console.log(`  ${n.padEnd(8)} ${JSON.stringify(specs[n].options)}${n === 'preload' ? ` TCP_KEEPALIVE=${specs.preload.env.TCP_KEEPALIVE}` : ''}: ${JSON.stringify(r[n])}`)

    for (const n of names) expect(r[n], n).toMatchObject({ event: 'error', code: 'ETIMEDOUT' })
    // Probes sent into the black hole before the connection was dropped.
    expect(r.count?.probes).toBe(3)
    expect(r.equal?.probes).toBe(3)
    expect(r.preload?.probes).toBe(3)
    expect(r.short?.probes).toBe(1)
    expect(r.long?.probes).toBe(6)
    // Each drop comes when the timer chain says: the idle timer, then one per
    // interval until the drop (idle + k x interval after the last packet
    // received). Timers never fire early (one jiffy for the kernel's own
    // rounding of that packet's time), and are late by at most the chain's
    // granularity.
    const chain = (k: number) => ({ at: probing.idle + k * probing.interval, slack: lateness(probing.idle) + k * lateness(probing.interval) })
    const expected = { count: chain(3), equal: chain(3), preload: chain(3), short: chain(1), long: chain(6) }
    console.log(`  HZ=${HZ}: drops expected at ${names.map((n) => `${n} ${expected[n].at}..${Math.round(expected[n].at + expected[n].slack)} ms`).join(', ')}`)
    for (const n of names) {
      const d = r[n]?.dropAfter
      expect(d, `${n}: a reset from the kernel's keepalive timer`).not.toBeNull()
      expect(d, `${n}: dropped ${d} ms after the last packet it received`).toBeGreaterThanOrEqual(expected[n].at - jiffy - 1)
      expect(d, `${n}: dropped ${d} ms after the last packet it received`).toBeLessThanOrEqual(expected[n].at + expected[n].slack)
    }
    // The equal user timeout changes nothing: the same drop as the count alone, within the chain's granularity.
    const d = (n: keyof typeof specs) => r[n]?.dropAfter as number
    expect(Math.abs(d('equal') - d('count'))).toBeLessThanOrEqual(expected.count.slack)
    expect(Math.abs(d('preload') - d('count'))).toBeLessThanOrEqual(expected.count.slack)
  })
})
