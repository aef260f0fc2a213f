// `tcp-keepalive inspect PID` against a plain Node process that never loads
// this package: one connection configured with Node's own
// socket.setKeepAlive, one left alone. What the command prints is checked
// against what the child knows about its sockets and, through another
// reader (peek_sockopt.py over pidfd_getfd), against the kernel.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peekChildSockopt } from '../helpers/kernel'
import type { TcpInfo } from '../lib'

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')
const linux = process.platform === 'linux'

interface Row {
  fd: number
  local: string
  remote: string
  state: string
  keepalive: { enabled: boolean; idle: number; interval: number; count: number; userTimeout: number }
  tcpInfo: TcpInfo
  exposed: boolean
  accepted: boolean
  idle: number | null
}
interface ChildSocket {
  fd: number
  localPort: number
  bytesWritten: number
  bytesRead: number
}

/** The command as users run it: a new process. */
function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The same entry point in this process: the variations that need no new process. */
async function runHere(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const cli = (await import('../../dist/cjs/cli/main.js')) as typeof import('../../src/cli/main')
  let stdout = ''
  let stderr = ''
  const status = await cli.run(args, (t) => (stdout += t), (t) => (stderr += t))
  return { status, stdout, stderr }
}

// The child: two connections to our server, keepalive on the first through
// Node's API only; it reports its own view once both have exchanged data.
const CHILD = `
const net = require('node:net')
const port = Number(process.argv[1])
const open = () => new Promise((resolve) => { const s = net.connect(port, '127.0.0.1', () => resolve(s)) })
;(async () => {
  const configured = await open()
  configured.setKeepAlive(true, 30000)
  const plain = await open()
  for (const s of [configured, plain]) { s.write('hello from the child'); await new Promise((r) => s.once('data', r)) }
  // Let the last ACKs land so the kernel's counters are final.
  setTimeout(() => {
    const view = (s) => ({ fd: s._handle.fd, localPort: s.localPort, bytesWritten: s.bytesWritten, bytesRead: s.bytesRead })
    console.log(JSON.stringify({ configured: view(configured), plain: view(plain) }))
  }, 100)
  process.stdin.on('data', () => {}).on('end', () => process.exit(0))
})()
`

describe.runIf(linux)('tcp-keepalive inspect PID', () => {
  let server: net.Server
  let port: number
  let child: ChildProcessWithoutNullStreams
  let known: { configured: ChildSocket; plain: ChildSocket }
  let skip: string | null = null
  let human: ReturnType<typeof run>

  beforeAll(async () => {
    server = net.createServer((s) => s.once('data', () => s.write('and back')))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as net.AddressInfo).port
    child = spawn(process.execPath, ['-e', CHILD, String(port)])
    const [line] = (await once(child.stdout, 'data')) as [Buffer]
    known = JSON.parse(line.toString()) as typeof known
    // pidfd_getfd may be refused here (no ptrace right, Yama, old kernel): then say so and skip.
    human = run('inspect', String(child.pid))
    if (human.status !== 0 && /not permitted|lacks pidfd_getfd/.test(human.stderr)) skip = human.stderr.trim()
    if (skip) console.log(`inspect tests skipped: ${skip}`)
  })
  afterAll(() => {
    child?.stdin.end()
    server?.close()
  })

  it('--json: both connections, as the child knows them and as the kernel holds them', (ctx) => {
    if (skip) return ctx.skip()
    const r = run('inspect', String(child.pid), '--json', '--idle-limit', '350s')
    expect(r.stderr).toBe('')
    // One connection has keepalive off: exposed, which the exit status says.
    expect(r.status).toBe(3)
    const rows = JSON.parse(r.stdout) as Row[]
    // Exactly the child's two connections: the server side is ours, not the child's.
    expect(rows.map((x) => x.fd).sort()).toEqual([known.configured.fd, known.plain.fd].sort())
    for (const [name, mine] of Object.entries(known)) {
      const row = rows.find((x) => x.fd === mine.fd) as Row
      expect(row.local, name).toBe(`127.0.0.1:${mine.localPort}`)
      expect(row.remote, name).toBe(`127.0.0.1:${port}`)
      expect(row.state).toBe('established')
      expect(row.tcpInfo.state).toBe('established')
      // The child's byte counts are the kernel's (nothing in flight).
      expect(row.tcpInfo.bytesSent, name).toBe(mine.bytesWritten)
      expect(row.tcpInfo.bytesAcked, name).toBe(mine.bytesWritten + 1)
      expect(row.tcpInfo.bytesReceived, name).toBe(mine.bytesRead)
      expect(row.tcpInfo.unacked).toBe(0)
      expect(Object.keys(row).sort()).toEqual(['accepted', 'age', 'exposed', 'fd', 'idle', 'keepalive', 'keepaliveTimer', 'local', 'netns', 'remote', 'state', 'tcpInfo', 'unreadable'])
      expect(row.accepted).toBe(false)
      // Data moved last when the child's exchange ended, at least 100 ms ago.
      expect(row.idle).toBe(Math.min(row.tcpInfo.lastDataSent as number, row.tcpInfo.lastDataReceived as number))
      expect(row.idle).toBeGreaterThanOrEqual(90)
      const kernel = peekChildSockopt(child.pid as number, mine.fd)
      if (kernel) {
        expect(row.keepalive, name).toMatchObject({ enabled: kernel.enabled, idle: kernel.idle, interval: kernel.interval, count: kernel.count })
        expect(row.keepalive.userTimeout).toBe(kernel.userTimeout)
      }
    }
    const configured = rows.find((x) => x.fd === known.configured.fd) as Row
    const plain = rows.find((x) => x.fd === known.plain.fd) as Row
    // What the child asked Node for: on, first probe after 30 s.
    expect(configured.keepalive).toMatchObject({ enabled: true, idle: 30_000 })
    expect(configured.exposed).toBe(false)
    expect(plain.keepalive.enabled).toBe(false)
    expect(plain.exposed).toBe(true)
  })

  it('a limit at or below the idle time exposes the configured connection too', async (ctx) => {
    if (skip) return ctx.skip()
    const rows = JSON.parse((await runHere('inspect', String(child.pid), '--json', '--idle-limit=30s')).stdout) as Row[]
    expect(rows.every((x) => x.exposed)).toBe(true)
    const below = JSON.parse((await runHere('inspect', String(child.pid), '--json', '--idle-limit', '30001ms')).stdout) as Row[]
    expect(below.find((x) => x.fd === known.configured.fd)?.exposed).toBe(false)
  })

  it('human output: a table row per connection and the summary line', async (ctx) => {
    if (skip) return ctx.skip()
    const r = human
    console.log(r.stdout)
    expect(r.status).toBe(3)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^FD\s+LOCAL\s+REMOTE\s+STATE\s+IDLE-FOR\s+KEEPALIVE\s+IDLE\s+INTERVAL/)
    expect(lines).toHaveLength(4)
    expect(lines.find((l) => l.startsWith(`${known.configured.fd} `))).toMatch(/established\s+\S+\s+on\s+30s\s.*\sno$/)
    expect(lines.find((l) => l.startsWith(`${known.plain.fd} `))).toMatch(/established\s+\S+\s+off\s.*yes: keepalive off$/)
    expect(lines[3]).toBe('2 connections, 1 exposed to a 350 s idle limit')
    expect((await runHere('inspect', String(child.pid), '--idle-limit', '5m')).stdout.trimEnd().split('\n').pop()).toBe('2 connections, 1 exposed to a 300 s idle limit')
  })

  it('borrows each socket for one read only: no descriptor left open in the inspecting process', async (ctx) => {
    if (skip) return ctx.skip()
    const { inspectProcess } = (await import('../../dist/cjs/cli/inspect.js')) as typeof import('../../src/cli/inspect')
    const { readdirSync } = await import('node:fs')
    const before = readdirSync('/proc/self/fd').length
    for (let i = 0; i < 20; i++) expect(inspectProcess(child.pid as number, 350_000)).toHaveLength(2)
    expect(readdirSync('/proc/self/fd').length).toBe(before)
  })

  it.each([
    [[], /^tcp-keepalive: usage: tcp-keepalive inspect PID/],
    [['inspect'], /^tcp-keepalive: missing PID/],
    [['inspect', 'abc'], /^tcp-keepalive: PID: "abc" is not a process id/],
    [['inspect', '-5'], /^tcp-keepalive: unknown option "-5"/],
    [['inspect', '1', '2'], /^tcp-keepalive: unexpected argument "2"/],
    [['inspect', '1', '--idle-limit'], /^tcp-keepalive: --idle-limit: missing value/],
    [['inspect', '1', '--idle-limit', '35x'], /^tcp-keepalive: --idle-limit: "35x" is not a duration/],
    [['inspect', '1', '--idle-limit', '350'], /^tcp-keepalive: --idle-limit: "350" has no unit; did you mean "350s"\?/],
    [['inspect', '1', '--watch', '5'], /^tcp-keepalive: --watch: "5" has no unit; did you mean "5s"\?/],
    [['inspect', '1', '--idle-limit', '0s'], /^tcp-keepalive: --idle-limit: "0s" is too small; give from 1 ms to 2147483647 ms/],
    [['inspect', '1', '--idle-limit', '1.0001s'], /^tcp-keepalive: --idle-limit: "1.0001s" is not a whole number of milliseconds/],
    [['inspect', '1', '--verbose'], /^tcp-keepalive: unknown option "--verbose"/],
    [['watch', '1'], /^tcp-keepalive: unknown command "watch"/],
  ])('bad arguments %j: one line naming the problem, exit 2', async (args, message) => {
    const r = await runHere(...(args))
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(message)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('as a process: bad arguments exit 2 with one line, no stack', () => {
    const r = run('inspect', '12x', '--idle-limit', '350s')
    expect(r).toEqual({ status: 2, stdout: '', stderr: 'tcp-keepalive: PID: "12x" is not a process id (a positive integer)\n' })
  })

  it('a thread id: says whose thread it is and what to run instead, exit 1', () => {
    const tid = readdirSync(`/proc/${child.pid}/task`).map(Number).find((t) => t !== child.pid)
    expect(tid).toBeDefined()
    const r = run('inspect', String(tid))
    expect(r).toEqual({ status: 1, stdout: '', stderr: `tcp-keepalive inspect: ${tid} is a thread of process ${child.pid}, not a process; its sockets are the process's: tcp-keepalive inspect ${child.pid}\n` })
  })

  it('a process that does not exist: one line, exit 1', async () => {
    const gone = spawn(process.execPath, ['-e', ''])
    await once(gone, 'exit')
    const r = run('inspect', String(gone.pid))
    expect(r.status).toBe(1)
    expect(r.stderr).toBe(`tcp-keepalive inspect: no such process: ${gone.pid}\n`)
  })
})

describe.runIf(!linux)('tcp-keepalive inspect elsewhere', () => {
  it('says it is Linux only, exit 1', () => {
    const r = run('inspect', String(process.pid))
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/Linux only/)
  })
})
