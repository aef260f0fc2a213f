// getTcpInfo: through the API, and on Linux against `ss -tino` (iproute2,
// another process asking the kernel over netlink).
import { execFileSync, spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { notRun, ssObserver } from '../helpers/kernel'
import { packageWithoutAddon } from '../helpers/no-addon'
import { busyPair, type Pair } from '../helpers/sockets'
import { parseSsInfo, type SsInfo } from '../helpers/ss-info'
import { capabilities, getTcpInfo } from '../lib'

const linux = process.platform === 'linux'

function ssInfo(socket: net.Socket): SsInfo | null {
  if (!ssObserver.available) {
    notRun(ssObserver)
    return null
  }
  const out = execFileSync('ss', ['-tinoH', `( sport = :${socket.localPort} and dport = :${socket.remotePort} )`], { encoding: 'utf8' })
  return out.trim() ? parseSsInfo(out) : null
}

describe('getTcpInfo on a loopback connection', () => {
  let p: Pair
  beforeAll(async () => {
    p = await busyPair()
  })
  afterAll(() => p.close())

  it.runIf(linux)('agrees with ss -tino read from another process', () => {
    for (const socket of [p.client, p.accepted]) {
      const ours = getTcpInfo(socket)
      const seen = ssInfo(socket)
      if (!seen) continue
      console.log(`  ours ${JSON.stringify(ours)}\n  ss   ${JSON.stringify(seen)}`)
      expect(ours.state).toBe(seen.state)
      // ss prints µs / 1000 with 3 decimals; an idle connection takes no new RTT samples.
      expect(Math.abs((ours.rtt as number) - seen.rtt)).toBeLessThanOrEqual(0.0015)
      expect(Math.abs((ours.rttVariance as number) - seen.rttVariance)).toBeLessThanOrEqual(0.0015)
      expect(ours.rto).toBe(seen.rto)
      expect(ours.mss).toBe(seen.mss)
      expect(ours.congestionWindow).toBe(seen.cwnd)
      expect(ours.bytesSent).toBe(seen.bytesSent)
      expect(ours.bytesAcked).toBe(seen.bytesAcked)
      expect(ours.bytesReceived).toBe(seen.bytesReceived)
      expect(ours.unacked).toBe(seen.unacked)
      // ss shows the current run's count as the retransmit timer's retries.
      expect(ours.retransmits).toBe(seen.timer?.name === 'on' ? seen.timer.retries : 0)
      expect(ours.totalRetransmits).toBe(seen.totalRetransmits)
      // "ms ago" keeps growing: ss asked later, so it sees as much or a little more.
      for (const [mine, theirs] of [
        [ours.lastDataSent, seen.lastSend],
        [ours.lastDataReceived, seen.lastReceive],
        [ours.lastAckReceived, seen.lastAck],
      ] as const) {
        expect(theirs).toBeGreaterThanOrEqual(mine as number)
        expect(theirs - (mine as number)).toBeLessThan(2000)
      }
    }
  })

})

describe('getTcpInfo without the native addon', () => {
  it('without the native addon: ERR_TCP_KEEPALIVE_UNSUPPORTED naming the reason', () => {
    expect(capabilities.native).toBe(true)
    const { dir, pkg, env } = packageWithoutAddon()
    try {
      const script = join(dir, 'probe.mjs')
      writeFileSync(script, `import net from 'node:net'
import { getTcpInfo } from 'tcp-keepalive'
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => {
    try { getTcpInfo(c); console.log('no error') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }
    process.exit(0)
  })
})
`)
      const r = spawnSync(process.execPath, [script], { cwd: dir, env, encoding: 'utf8' })
      const out = JSON.parse(r.stdout) as { code: string; message: string }
      expect(out.code).toBe('ERR_TCP_KEEPALIVE_UNSUPPORTED')
      expect(out.message).toMatch(/without the native addon \(No native build/)
      if (linux) {
        // The inspector says the same, in one line.
        const cli = spawnSync(process.execPath, [join(pkg, 'dist', 'cjs', 'cli', 'main.js'), 'inspect', String(process.pid)], { env, encoding: 'utf8' })
        expect(cli.status).toBe(1)
        expect(cli.stderr).toMatch(/^tcp-keepalive inspect: inspect needs the native addon, which did not load: No native build[^\n]*\n$/)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
