// A process can hold a TCP socket of another network namespace: received over
// SCM_RIGHTS (here Node's own IPC handle passing), or kept across setns. Such
// a socket is not in its namespace's tables; `inspect` must still list it,
// or count it as not readable, never drop it silently. Checked against `ss`
// run inside the namespace that holds the connection.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CLI = process.env.TCP_KEEPALIVE_INSPECT_CLI ?? join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')
const NS = `tka-inspect-ns-${process.pid}`

function unavailable(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace'
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'needs ip (apt-get install iproute2)'
  return null
}

// Runs inside the namespace: a server, a client to it with keepalive, and the
// client handed to the parent over the IPC channel (SCM_RIGHTS).
const HOLDER = `
const net = require('node:net')
const server = net.createServer(() => {}).listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => {
    c.setKeepAlive(true, 33000)
    process.send({ port: server.address().port, localPort: c.localPort }, c)
  })
})
`
// The target, in this (the initial) namespace: keeps what it receives.
const TARGET = `
const { spawn } = require('node:child_process')
const holder = spawn('ip', ['netns', 'exec', process.argv[1], process.execPath, '-e', process.argv[2]], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
const kept = []
holder.on('message', (m, socket) => { kept.push(socket); console.log(JSON.stringify({ ...m, fd: socket._handle.fd })) })
process.stdin.resume().on('end', () => { holder.kill(); process.exit(0) })
`

interface Row {
  fd: number
  local: string | null
  remote: string | null
  state: string | null
  keepalive: { enabled: boolean | null; idle: number | null }
  netns: number | null
  unreadable: string | null
}

const reason = unavailable()
if (reason) console.log(`inspect netns test skipped: ${reason}`)

describe.skipIf(reason !== null)('inspect: sockets of another network namespace', () => {
  let target: ChildProcess
  let held: { port: number; localPort: number; fd: number }
  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', NS])
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'])
    target = spawn(process.execPath, ['-e', TARGET, NS, HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] })
    const [line] = (await once(target.stdout as NonNullable<ChildProcess['stdout']>, 'data')) as [Buffer]
    held = JSON.parse(line.toString()) as typeof held
  })
  afterAll(async () => {
    target?.stdin?.end()
    if (target && target.exitCode === null) await once(target, 'exit')
    spawnSync('ip', ['netns', 'del', NS])
  })

  it('the socket the target received is listed with its namespace, as ss in that namespace sees it', () => {
    const seen = execFileSync('ip', ['netns', 'exec', NS, 'ss', '-tnH', 'state', 'established', `sport = :${held.localPort}`], { encoding: 'utf8' })
    expect(seen).toContain(`127.0.0.1:${held.port}`)
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(target.pid), '--json'], { encoding: 'utf8' })
    const rows = JSON.parse(r.stdout) as Row[]
    const row = rows.find((x) => x.fd === held.fd)
    expect(row, r.stdout).toBeDefined()
    expect(row).toMatchObject({ local: `127.0.0.1:${held.localPort}`, remote: `127.0.0.1:${held.port}`, state: 'established', unreadable: null })
    expect(row?.keepalive).toMatchObject({ enabled: true, idle: 33_000 })
    // Its namespace is the holder's, not the target's.
    const nsInode = statSync(`/run/netns/${NS}`).ino
    expect(row?.netns).toBe(nsInode)
    expect(readlinkSync(`/proc/${target.pid}/ns/net`)).not.toBe(`net:[${nsInode}]`)
  })

  it('--options never (no copy taken): counted as not readable, exit 4, never a silent "0 connections"', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(target.pid), '--options', 'never'], { encoding: 'utf8' })
    expect(r.status).toBe(4)
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('1 connection, 0 exposed to a 350 s idle limit, 1 not readable (another network namespace)')
    const rows = JSON.parse(spawnSync(process.execPath, [CLI, 'inspect', String(target.pid), '--options', 'never', '--json'], { encoding: 'utf8' }).stdout) as Row[]
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ fd: held.fd, local: null, remote: null, exposed: true })
    expect(rows[0]?.unreadable).toMatch(/another network namespace/)
  })
})
