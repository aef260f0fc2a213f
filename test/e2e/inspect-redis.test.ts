// `inspect` on a process that is not Node: redis-server (from apt), which
// sets keepalive on each accepted connection itself (tcp-keepalive 300:
// idle 300 s, interval 100 s, 3 probes). What the command reports is checked
// against another reader of the kernel (getsockopt on a copy, from python).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peekChildSockopt } from '../helpers/kernel'

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')
const reason =
  process.platform !== 'linux'
    ? `needs Linux (this is ${process.platform})`
    : spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0
      ? 'needs redis-server (apt-get install redis-server)'
      : null
if (reason) console.log(`inspect on redis-server skipped: ${reason}`)

interface Row {
  fd: number
  local: string
  remote: string
  state: string
  accepted: boolean
  idle: number
  keepalive: { enabled: boolean; idle: number; interval: number; count: number; userTimeout: number }
  exposed: boolean
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as net.AddressInfo).port
  s.close()
  return port
}

describe.skipIf(reason !== null)('tcp-keepalive inspect on redis-server', () => {
  let redis: ChildProcess
  let port = 0
  const clients: net.Socket[] = []
  beforeAll(async () => {
    port = await freePort()
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' })
    for (let attempt = 0; ; attempt++) {
      try {
        const s = net.connect(port, '127.0.0.1')
        await once(s, 'connect')
        clients.push(s)
        break
      } catch (err) {
        if (attempt > 100) throw err
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    for (let i = 0; i < 2; i++) {
      const s = net.connect(port, '127.0.0.1')
      await once(s, 'connect')
      clients.push(s)
    }
    // One command each, so that data moved and the server knows them.
    for (const s of clients) {
      s.write('PING\r\n')
      await once(s, 'data')
    }
  })
  afterAll(async () => {
    for (const s of clients) s.destroy()
    redis?.kill()
    if (redis && redis.exitCode === null) await once(redis, 'exit')
  })

  it('lists the accepted connections with the keepalive redis set, as the kernel holds it', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(redis.pid), '--json'], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0) // idle 300 s and interval 100 s are below the 350 s limit
    const rows = JSON.parse(r.stdout) as Row[]
    expect(rows.map((x) => x.remote).sort()).toEqual(clients.map((s) => `127.0.0.1:${s.localPort}`).sort())
    for (const row of rows) {
      expect(row).toMatchObject({ local: `127.0.0.1:${port}`, state: 'established', accepted: true, exposed: false })
      expect(row.keepalive).toMatchObject({ enabled: true, idle: 300_000, interval: 100_000, count: 3 })
      expect(row.idle).toBeGreaterThanOrEqual(0)
      const kernel = peekChildSockopt(redis.pid as number, row.fd)
      if (kernel) expect(row.keepalive).toMatchObject({ enabled: kernel.enabled, idle: kernel.idle, interval: kernel.interval, count: kernel.count })
    }
  })

  it('--by remote: one destination, the listening port, counted; --idle-limit 5m exposes them (exit 3)', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(redis.pid), '--by', 'remote', '--idle-limit', '5m'], { encoding: 'utf8' })
    expect(r.status).toBe(3)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[1]).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} \\(accepted\\)\\s+3\\s+3\\s+0\\s+0\\s+\\S+\\s+3$`))
    expect(lines[2]).toBe('3 connections, 3 exposed to a 300 s idle limit')
  })
})
