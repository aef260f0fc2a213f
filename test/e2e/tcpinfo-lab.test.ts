// getTcpInfo while the peer vanishes: in the network-namespace lab the
// middlebox drops everything, and the client's own reading of its sockets
// must show what the kernel is doing about it: unanswered keepalive probes
// counting up on the idle connection, unacknowledged data and retransmissions
// on the busy one. `ss -tino` in the client namespace is the outside witness.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { CLIENT_IP, SERVER_IP } from '../harness/lab/lab.mjs'
import { blackholeLab, labSkipReason } from '../helpers/lab'
import { parseSsInfo, type SsInfo } from '../helpers/ss-info'
import type { TcpInfo } from '../lib'

interface Info {
  event: 'info'
  t: number
  idle?: TcpInfo
  write?: TcpInfo
}
interface Event {
  event: string
  t: number
  which?: string
  code?: string
  idlePort?: number
  writePort?: number
}

const why = labSkipReason()
const COUNT = 4
const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')

describe.skipIf(why !== null)('getTcpInfo in the lab: the peer is black-holed', () => {
  const ctx = blackholeLab()

  it(`keepaliveProbes counts unanswered probes up to the drop; unacked and retransmits show data stuck in flight`, async () => {
    const { lab } = ctx
    const spec = { host: SERVER_IP, port: 8080, options: { idle: 1000, interval: 1000, count: COUNT }, giveUpMs: 20_000 }
    const child = lab.spawn(lab.ns.client, process.execPath, [new URL('../harness/lab/tcpinfo-client.mjs', import.meta.url).pathname, JSON.stringify(spec)])
    const events: Event[] = []
    const infos: Info[] = []
    let onEvent: ((e: Event | Info) => void) | null = null
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = JSON.parse(line) as Event | Info
      if (e.event === 'info') infos.push(e as Info)
      else events.push(e)
      onEvent?.(e)
    })
    let stderr = ''
    child.stderr.on('data', (c) => (stderr += c))
    const exited = new Promise((r) => child.once('exit', r))
    // The next matching event; a non-info event already seen counts too.
    const next = (pred: (e: Event | Info) => boolean) =>
      new Promise<Event | Info>((resolve, reject) => {
        const seen = events.find(pred)
        if (seen) return resolve(seen)
        onEvent = (e) => pred(e) && resolve(e)
        void exited.then(() => reject(new Error(`client exited: ${stderr}`)))
      })
    const ss = (port: number): SsInfo => parseSsInfo(lab.exec(lab.ns.client, 'ss', ['-tinoH', `( sport = :${port} )`]))

    try {
      const connected = (await next((e) => e.event === 'connected')) as Event
      const idlePort = connected.idlePort as number
      const writePort = connected.writePort as number
      // Probes are being sent and answered (idle 1 s): none outstanding.
      await new Promise((r) => setTimeout(r, 1500))
      child.stdin.write('snap\n')
      const before = (await next((e) => e.event === 'info')) as Info
      expect(before.idle).toMatchObject({ state: 'established', keepaliveProbes: 0, unacked: 0, retransmits: 0 })
      expect(before.write).toMatchObject({ state: 'established', unacked: 0, retransmits: 0, totalRetransmits: 0 })

      lab.blackhole()
      child.stdin.write('go\n')
      // Half-way: our reading and the kernel's as ss prints it, a moment apart.
      await new Promise((r) => setTimeout(r, 2600))
      child.stdin.write('snap\n')
      const mid = (await next((e) => e.event === 'info')) as Info
      const [ssIdle, ssWrite] = [ss(idlePort), ss(writePort)]
      console.log(`  mid-way, ours: idle ${JSON.stringify(mid.idle)}\n  write ${JSON.stringify(mid.write)}`)
      console.log(`  mid-way, ss:   idle ${JSON.stringify(ssIdle)}\n  write ${JSON.stringify(ssWrite)}`)
      expect(ssIdle.timer?.name).toBe('keepalive')
      // Probes go out once a second; the two readings may straddle one.
      expect(Math.abs((mid.idle?.keepaliveProbes as number) - (ssIdle.timer?.retries as number))).toBeLessThanOrEqual(1)
      expect(mid.write?.unacked).toBe(ssWrite.unacked)
      expect(ssWrite.unacked).toBeGreaterThan(0)
      // ss shows the current run of retransmissions as the retransmit timer's retries.
      expect(ssWrite.timer?.name).toBe('on')
      expect(Math.abs((mid.write?.retransmits as number) - (ssWrite.timer?.retries as number))).toBeLessThanOrEqual(1)
      expect(Math.abs((mid.write?.totalRetransmits as number) - ssWrite.totalRetransmits)).toBeLessThanOrEqual(1)

      // The inspector from the root namespace, as on a container's host: it
      // reads the client's sockets through its /proc/PID/net and pidfd_getfd.
      const inspected = spawnSync(process.execPath, [CLI, 'inspect', String(child.pid), '--json', '--idle-limit', '4s'], { encoding: 'utf8' })
      expect(inspected.stderr).toBe('')
      const rows = JSON.parse(inspected.stdout) as { local: string; remote: string; keepalive: Record<string, unknown>; tcpInfo: TcpInfo; exposed: boolean }[]
      console.log(`  inspect: ${JSON.stringify(rows.map((r) => ({ local: r.local, remote: r.remote, keepalive: r.keepalive, probes: r.tcpInfo.keepaliveProbes, unacked: r.tcpInfo.unacked, exposed: r.exposed })))}`)
      const idleRow = rows.find((r) => r.local === `${CLIENT_IP}:${idlePort}`)
      const writeRow = rows.find((r) => r.local === `${CLIENT_IP}:${writePort}`)
      expect(idleRow).toMatchObject({ remote: `${SERVER_IP}:8080`, keepalive: { enabled: true, idle: 1000, interval: 1000, count: COUNT }, exposed: false })
      expect(idleRow?.tcpInfo.keepaliveProbes).toBeGreaterThan(0)
      expect(writeRow).toMatchObject({ keepalive: { enabled: false }, exposed: true })
      expect(writeRow?.tcpInfo.unacked).toBeGreaterThan(0)

      const dropped = (await next((e) => e.event === 'error' && (e).which === 'idle')) as Event
      expect(dropped.code).toBe('ETIMEDOUT')
      const probes = infos.filter((i) => i.t > 0 && i.idle).map((i) => i.idle?.keepaliveProbes as number)
      const retrans = infos.filter((i) => i.t > 0 && i.write).map((i) => i.write as TcpInfo)
      console.log(`  keepaliveProbes every 250 ms after the blackhole: ${JSON.stringify(probes)} (dropped at ${dropped.t} ms)`)
      console.log(`  write: retransmits ${JSON.stringify(retrans.map((w) => w.retransmits))}, rto ${JSON.stringify(retrans.map((w) => w.rto))}`)
      // Counts up one probe at a time, never down, to the configured count.
      for (let i = 1; i < probes.length; i++) {
        expect(probes[i] as number).toBeGreaterThanOrEqual(probes[i - 1] as number)
        expect((probes[i] as number) - (probes[i - 1] as number)).toBeLessThanOrEqual(1)
      }
      expect(Math.max(...probes)).toBeGreaterThanOrEqual(COUNT - 1)
      expect(Math.max(...probes)).toBeLessThanOrEqual(COUNT)
      // Data in flight: unacknowledged, retransmitted with a backed-off timer.
      const last = retrans[retrans.length - 1] as TcpInfo
      expect(last.unacked as number).toBeGreaterThan(0)
      expect(last.retransmits as number).toBeGreaterThanOrEqual(3)
      expect(last.totalRetransmits as number).toBeGreaterThanOrEqual(last.retransmits as number)
      expect(last.rto as number).toBeGreaterThan(retrans[0]?.rto as number)
      expect(last.lastDataSent as number).toBeGreaterThan(0)
    } finally {
      child.kill()
      await exited
    }
  })
})
