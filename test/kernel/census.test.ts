// connections() against the kernel's own list: `ss -tinp` for the process
// (its sockets by fd, state, idle times, byte counts) and getsockopt from
// another process. The app runs as a child so that its stack frames are plain
// files (the origin it records is a line of a file we can read).
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { notRun, peekChildSockopt, sockoptObserver } from '../helpers/kernel'
import type { Connection } from '../lib'

const APP = join(__dirname, '..', 'fixtures', 'census-app.mjs')
const PKG = join(__dirname, '..', '..', 'dist', 'cjs', 'index.js')
const ORIGIN_LINE = readFileSync(APP, 'utf8').split('\n').findIndex((l) => l.includes('// ORIGIN')) + 1

interface SsRow {
  local: string
  remote: string
  state: string
  fd: number
  lastsnd: number
  lastrcv: number
  bytesSent: number
  bytesReceived: number
}
const SS_STATES: Record<string, string> = { ESTAB: 'established', 'CLOSE-WAIT': 'close-wait', 'FIN-WAIT-2': 'fin-wait-2', 'TIME-WAIT': 'time-wait', 'LAST-ACK': 'last-ack' }

function ssRows(pid: number): SsRow[] | null {
  const r = spawnSync('ss', ['-tinpH'], { encoding: 'utf8' })
  if (r.status !== 0) return null
  const lines = r.stdout.split('\n')
  const rows: SsRow[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const m = new RegExp(`^(\\S+)\\s+\\d+\\s+\\d+\\s+(\\S+)\\s+(\\S+)\\s+users:\\(.*\\("node",pid=${pid},fd=(\\d+)\\)`).exec(line)
    if (!m) continue
    const info = lines[i + 1] ?? ''
    const num = (key: string) => Number(new RegExp(`\\b${key}:(\\d+)`).exec(info)?.[1] ?? 0)
    rows.push({ state: SS_STATES[m[1] as string] ?? (m[1] as string), local: m[2] as string, remote: m[3] as string, fd: Number(m[4]), lastsnd: num('lastsnd'), lastrcv: num('lastrcv'), bytesSent: num('bytes_sent'), bytesReceived: num('bytes_received') })
  }
  return rows
}

const linux = process.platform === 'linux' && spawnSync('ss', ['-V']).status === 0
if (!linux) console.log('census test skipped: needs Linux with ss (iproute2) as the outside view')

describe('origins from the environment', () => {
  it('TCP_KEEPALIVE=origins=true with the preload records the line that opened the connection', () => {
    const app = join(__dirname, '..', 'fixtures', 'origins-app.cjs')
    const line = readFileSync(app, 'utf8').split('\n').findIndex((l) => l.includes('// OPENED HERE')) + 1
    const run = (value: string) => {
      const r = spawnSync(process.execPath, ['--require', join(__dirname, '..', '..', 'dist', 'cjs', 'register.js'), app, PKG], { cwd: join(__dirname, '..'), env: { ...process.env, TCP_KEEPALIVE: value }, encoding: 'utf8' })
      expect(r.stderr).toBe('')
      return JSON.parse(r.stdout) as Connection
    }
    // Relative to the working directory when the file is inside it.
    expect(run('idle=30s,origins=true,spread=false')).toMatchObject({ origin: `fixtures/origins-app.cjs:${line}`, keepalive: { idle: 30_000 } })
    expect(run('idle=30s,spread=false').origin).toBeNull()
  })
})

describe.skipIf(!linux)('connections(): the census against ss', () => {
  it('lists every socket the hooks reached and every socket given to setKeepAlive, pooled ones included; fields agree with the kernel; closed ones leave', async () => {
    const child = spawn(process.execPath, [APP, PKG], { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const read = async () => JSON.parse((await lines.next()).value as string) as { pid: number; at: number; raw: number; unseen: number; quiet: number; connections: Connection[] }
    try {
      const first = await read()
      const rows = ssRows(first.pid) as SsRow[]
      // ss read the kernel this long after connections() did (on a busy machine, seconds).
      const gap = Date.now() - first.at
      const list = first.connections
      const key = (x: { local: string; remote: string }) => `${x.local} ${x.remote}`
      // Every socket of the process that is ours to list, and nothing else: the
      // two sockets neither reached nor given (and their accepted ends) are in
      // ss, not in the census.
      const excluded = new Set([first.unseen, first.quiet])
      const expected = rows.filter((r) => !excluded.has(Number(r.local.split(':').pop())) && !excluded.has(Number(r.remote.split(':').pop())))
      const plainPort = Number(list.find((c) => c.local.endsWith(`:${first.raw}`))?.remote.split(':').pop())
      const expectedKeys = expected.filter((r) => !(r.local.endsWith(`:${plainPort}`))).map(key).sort()
      console.log(`  ss: ${rows.length} sockets of the app; census: ${list.length} (20 pooled client sockets, 20 accepted, 1 given to setKeepAlive)`)
      expect(list.map(key).sort()).toEqual(expectedKeys)
      expect(list.filter((c) => c.direction === 'client')).toHaveLength(21)
      expect(list.filter((c) => c.direction === 'server')).toHaveLength(20)
      for (const c of list) {
        const row = rows.find((r) => key(r) === key(c)) as SsRow
        expect(c.state).toBe(row.state)
        // TCP_INFO read before ss: the counters agree exactly (nothing moves meanwhile), ss's idle
        // time is ours plus at most the time between the two readings (the kernel ticks in jiffies).
        expect(c.bytesSent).toBe(row.bytesSent)
        expect(c.bytesReceived).toBe(row.bytesReceived)
        const ssIdle = Math.min(row.lastsnd, row.lastrcv)
        expect(ssIdle).toBeGreaterThanOrEqual((c.idle as number) - 10)
        expect(ssIdle).toBeLessThanOrEqual((c.idle as number) + gap + 10)
        expect(c.retransmits).toBe(0)
        // Connected before its data last moved (the kernel's clock ticks in jiffies, up to 10 ms).
        expect(c.age + 10).toBeGreaterThanOrEqual(c.idle as number)
      }
      // Keepalive as another process reads it with getsockopt on a copy of the fd.
      for (const c of [list[0], list[1], list.find((x) => x.local.endsWith(`:${first.raw}`))] as Connection[]) {
        const outside = peekChildSockopt(first.pid, (rows.find((r) => key(r) === key(c)) as SsRow).fd)
        if (outside) expect(c.keepalive).toMatchObject({ enabled: outside.enabled, idle: outside.idle, interval: outside.interval, count: outside.count })
        else notRun(sockoptObserver)
      }
      const clients = list.filter((c) => c.direction === 'client' && !c.local.endsWith(`:${first.raw}`))
      for (const c of clients) {
        expect(c).toMatchObject({ host: 'localhost', exposed: false, keepalive: { enabled: true, idle: 30_000, interval: 5_000, count: 3 } })
        // The leaking line: where each agent's request was made.
        expect(c.origin).toBe(`${APP}:${ORIGIN_LINE}`.replace(`${process.cwd()}/`, ''))
      }
      for (const c of list.filter((x) => x.direction === 'server')) expect(c.origin).toBeNull()
      expect(list.find((c) => c.local.endsWith(`:${first.raw}`))).toMatchObject({ direction: 'client', exposed: true, origin: null, keepalive: { idle: 400_000 } })

      child.stdin.write('close\n')
      const second = await read()
      const after = ssRows(first.pid) as SsRow[]
      // The agents' sockets are gone from the kernel's list and from the census alike.
      expect(second.connections.map(key).sort()).toEqual(after.filter((r) => second.connections.some((c) => key(c) === key(r))).map(key).sort())
      expect(second.connections).toHaveLength(1)
      expect(after.filter((r) => clients.some((c) => key(c) === key(r)))).toHaveLength(0)
    } finally {
      child.stdin.end('exit\n')
      child.kill()
    }
  })
})
