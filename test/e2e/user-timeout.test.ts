// Why the recommended user timeout equals idle + interval x count, checked on
// a real kernel path (the network-namespace lab, peer black-holed): on Linux
// TCP_USER_TIMEOUT also ends keepalive probing. With it set, the count is
// ignored and the connection drops at the first probe due at or after the
// user timeout; so a smaller value cuts probing short, a larger one adds
// probes, an equal one drops exactly where the count alone would. The
// preload's derived user timeout is the equal one.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM helper shared with the demo, no types
import { capture, createLab, labUnavailable, startClient, startServer } from '../harness/lab/lab.mjs'

interface Event {
  event: string
  t: number
  code?: string
  localPort?: number
}
interface Client {
  next(...names: string[]): Promise<Event>
  result(): Promise<Event>
  go(): void
}
interface Packet {
  t: number
  srcPort: number
  flags: string
  len: number
}

const why: string | null = labUnavailable()
if (why) console.log(`e2e lab skipped: ${why}`)

describe.skipIf(why !== null)('TCP_USER_TIMEOUT and keepalive probes (Linux, peer black-holed)', () => {
  let lab: { blackhole(): void; destroy(): void }
  let server: { url(path: string): string; stop(): void }
  beforeAll(async () => {
    // The middlebox's own idle limit is kept out of the way (60 s): only the black hole acts.
    lab = createLab({ idleTimeout: 60 })
    server = await startServer(lab)
  })
  afterAll(() => {
    server?.stop()
    lab?.destroy()
  })

  it('idle 2 s, interval 1 s, count 3: user timeout 3 s cuts probing short, 5 s (= the sum, and the preload\'s) changes nothing, 8 s adds probes', async () => {
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
    const clients = names.map((n) => startClient(lab, { url, mode: 'idle', giveUpMs: 20_000, ...specs[n] }) as Client)
    const ports = await Promise.all(clients.map(async (c) => (await c.next('connected')).localPort as number))
    const wire = capture(lab)
    await wire.ready
    lab.blackhole()
    const start = Date.now() / 1000
    for (const c of clients) c.go()
    const results = await Promise.all(clients.map((c) => c.result()))
    await wire.stop()
    const probes = (port: number) => (wire.packets as Packet[]).filter((p) => p.srcPort === port && p.len === 0 && p.flags === '.' && p.t >= start).length
    const r = Object.fromEntries(names.map((n, i) => [n, { ...(results[i] as Event), probes: probes(ports[i] as number) }]))
    for (const n of names) console.log(`  ${n.padEnd(8)} ${JSON.stringify(specs[n].options)}${n === 'preload' ? ` TCP_KEEPALIVE=${specs.preload.env.TCP_KEEPALIVE}` : ''}: ${JSON.stringify(r[n])}`)

    for (const n of names) expect(r[n], n).toMatchObject({ event: 'error', code: 'ETIMEDOUT' })
    // Probes sent into the black hole before the connection was dropped.
    expect(r.count?.probes).toBe(3)
    expect(r.equal?.probes).toBe(3)
    expect(r.preload?.probes).toBe(3)
    expect(r.short?.probes).toBe(1)
    expect(r.long?.probes).toBe(6)
    const t = (n: keyof typeof specs) => (r[n] as Event).t
    expect(Math.abs(t('equal') - t('count'))).toBeLessThan(700)
    expect(Math.abs(t('preload') - t('count'))).toBeLessThan(700)
    expect(t('count') - t('short')).toBeGreaterThan(1300)
    expect(t('long') - t('count')).toBeGreaterThan(2300)
  })
})
