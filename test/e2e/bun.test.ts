// Bun (from the runtimes cache: test/harness/platforms/fetch-runtimes.sh). Bun
// ignores NODE_OPTIONS; its own preload switches are `bun --preload` and
// bunfig.toml's `preload = [...]`: both are run here and their socket read
// from the kernel. Then which client families the preload's install() and
// the explicit recipes reach under Bun, each connection found by its ports in
// the Bun process and read through pidfd_getfd: Bun substitutes its own ws,
// undici and node-fetch modules, whose sockets are Bun's, not net.Socket.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { childPeeker, procObserver, type ChildPeeker } from '../helpers/kernel'
import { newestCached } from '../helpers/runtimes'
import { capabilities } from '../lib'

const root = join(__dirname, '..', '..')
const bun = newestCached('oven-bun-linux-x64-', 'package/bin/bun')
const skip = !bun ? 'bun not fetched (test/harness/platforms/fetch-runtimes.sh)' : !procObserver.available ? `no outside observer: ${procObserver.reason ?? ''}` : !capabilities.native ? 'the addon is not built' : null

// The preload's values (TCP_KEEPALIVE) and the explicit recipes' (withKeepAlive, connector) differ, so the kernel tells which configured a socket.
const PRELOAD = { idle: 45_000, interval: 7_000, count: 4 }
const EXPLICIT = { idle: 33_000, interval: 5_000, count: 3 }

// Each case makes one request whose answer is the client's own local port,
// reports it, and keeps the connection open until stdin ends.
const APP = `import net from 'node:net'
import http from 'node:http'
import { withKeepAlive, connector } from 'tcp-keepalive'
const [httpPort, only] = [Number(process.argv[2]), process.argv[3]]
const base = 'http://127.0.0.1:' + httpPort
const opts = ${JSON.stringify(EXPLICIT)}
// Exact values (no spread): they tell the recipes' sockets from the preload's.
const exact = { spread: false }
const hold = []
const cases = {
  async 'net.connect'() {
    const s = net.connect(httpPort, '127.0.0.1')
    await new Promise((r) => s.once('connect', r))
    hold.push(s)
    return s.localPort
  },
  async 'http.get, keepAlive agent'() {
    const agent = new http.Agent({ keepAlive: true })
    const body = await new Promise((resolve, reject) => http.get(base, { agent }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b)) }).on('error', reject))
    hold.push(agent)
    return Number(body)
  },
  async 'fetch'() { return Number(await (await fetch(base)).text()) },
  async 'undici request'() { const { request } = await import('undici'); return Number(await (await request(base)).body.text()) },
  async 'undici Agent with connector()'() {
    const { Agent, request } = await import('undici')
    return Number(await (await request(base, { dispatcher: new Agent({ connect: connector(opts, {}, exact) }) })).body.text())
  },
  async 'node-fetch'() { const { default: f } = await import('node-fetch'); return Number(await (await f(base)).text()) },
  async 'node-fetch with withKeepAlive agent'() {
    const { default: f } = await import('node-fetch')
    return Number(await (await f(base, { agent: withKeepAlive(new http.Agent({ keepAlive: true }), opts, exact) })).text())
  },
  async 'ws'() { return wsPort({}) },
  async 'ws with withKeepAlive agent'() { return wsPort({ agent: withKeepAlive(new http.Agent(), opts, exact) }) },
}
async function wsPort(options) {
  const { default: WebSocket } = await import('ws')
  const ws = new WebSocket('ws://127.0.0.1:' + httpPort + '/ws', options)
  const data = await new Promise((resolve, reject) => { ws.once('message', resolve); ws.once('error', reject) })
  hold.push(ws)
  return Number(String(data))
}
for (const [name, run] of Object.entries(cases)) {
  if (only && name !== only) continue
  try { console.log(JSON.stringify({ name, port: await run() })) } catch (e) { console.log(JSON.stringify({ name, error: String(e) })) }
}
console.log('DONE')
process.stdin.on('data', () => {})
process.stdin.on('end', () => process.exit(0))
`

let project: string
let server: http.Server
let port: number
let peeker: ChildPeeker | null = null
beforeAll(async () => {
  if (skip) return
  project = mkdtempSync(join(tmpdir(), 'tka-bun-'))
  mkdirSync(join(project, 'node_modules'))
  for (const m of ['tcp-keepalive', 'ws', 'undici', 'node-fetch']) symlinkSync(m === 'tcp-keepalive' ? root : join(root, 'node_modules', m), join(project, 'node_modules', m), 'dir')
  writeFileSync(join(project, 'app.mjs'), APP)
  server = http.createServer((req, res) => res.end(String(req.socket.remotePort)))
  server.keepAliveTimeout = 60_000
  const wss = new WebSocketServer({ server, path: '/ws' })
  wss.on('connection', (ws: { send(data: string): void }, req: http.IncomingMessage) => ws.send(String(req.socket.remotePort)))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as net.AddressInfo).port
  peeker = childPeeker()
})
afterAll(() => {
  peeker?.close()
  server?.closeAllConnections()
  server?.close()
  if (project) rmSync(project, { recursive: true, force: true })
})

interface Seen {
  name: string
  port?: number
  error?: string
  kernel?: { enabled: boolean; idle: number; interval: number; count: number } | null
}

/** Runs the app under Bun; each case's connection read from the kernel while it is open. */
async function runBun(args: string[], only?: string): Promise<{ seen: Seen[]; stderr: string }> {
  const { NODE_OPTIONS: _n, ...env } = process.env
  const child = spawn(bun as string, [...args, 'app.mjs', String(port), ...(only ? [only] : [])], {
    cwd: project,
    // spread=false: the exact values are what tell the preload's sockets from the recipes'.
    env: { ...env, TCP_KEEPALIVE: 'idle=45s,interval=7s,count=4,spread=false' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        if (stdout.includes('DONE\n')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`bun exited (${String(code)}): ${stderr}`)))
    })
    const seen = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Seen)
    for (const s of seen) if (s.port) s.kernel = (await peeker?.view(child.pid as number, s.port, port)) ?? null
    return { seen, stderr }
  } finally {
    child.stdin.end()
    if (child.exitCode === null) await once(child, 'exit')
  }
}

const by = (seen: Seen[], name: string): Seen => seen.find((s) => s.name === name) as Seen
const values = (k: Seen['kernel']): object | null => (k ? { idle: k.idle, interval: k.interval, count: k.count } : null)

describe.skipIf(skip !== null)(`Bun preload recipes ${skip ? `(skipped: ${skip})` : ''}`, () => {
  it('bun --preload tcp-keepalive/register configures net.connect', async () => {
    const { seen } = await runBun(['--preload', 'tcp-keepalive/register'], 'net.connect')
    expect(by(seen, 'net.connect').kernel).toMatchObject({ enabled: true, ...PRELOAD })
  })

  it('bunfig.toml preload = ["tcp-keepalive/register"] configures net.connect, and without it nothing is', async () => {
    const { seen: none } = await runBun([], 'net.connect')
    expect(by(none, 'net.connect').kernel).not.toMatchObject(PRELOAD)
    writeFileSync(join(project, 'bunfig.toml'), 'preload = ["tcp-keepalive/register"]\n')
    try {
      const { seen } = await runBun([], 'net.connect')
      expect(by(seen, 'net.connect').kernel).toMatchObject({ enabled: true, ...PRELOAD })
    } finally {
      rmSync(join(project, 'bunfig.toml'))
    }
  })

  it('which client families each recipe reaches under Bun (the README table), and the warning names every one not reached', async () => {
    const { seen, stderr } = await runBun(['--preload', 'tcp-keepalive/register'])
    const table: Record<string, string> = {}
    for (const s of seen) table[s.name] = s.error ? `error: ${s.error}` : values(s.kernel ?? null) === null ? 'no socket found' : JSON.stringify(values(s.kernel ?? null)) === JSON.stringify(PRELOAD) ? 'preload' : JSON.stringify(values(s.kernel ?? null)) === JSON.stringify(EXPLICIT) ? 'explicit' : `not reached: ${JSON.stringify(values(s.kernel ?? null))}`
    console.log(`Bun (${bun ?? ''}): ${JSON.stringify(table, null, 2)}`)
    // 'not reached: <what the kernel held>' compared by its verdict alone.
    const verdicts = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.startsWith('not reached') ? 'not reached' : v]))
    expect(verdicts).toEqual({
      'net.connect': 'preload',
      'http.get, keepAlive agent': 'preload',
      fetch: 'not reached',
      'undici request': 'not reached',
      'undici Agent with connector()': 'not reached',
      'node-fetch': 'not reached',
      'node-fetch with withKeepAlive agent': 'not reached',
      ws: 'not reached',
      'ws with withKeepAlive agent': 'explicit',
    })
    const warning = stderr.split('\n').filter((l) => l.includes('TCP_KEEPALIVE_UNREACHABLE'))
    expect(warning).toHaveLength(1)
    for (const family of ['fetch()', 'ws', 'undici', 'node-fetch']) expect(warning[0]).toContain(family)
  })
})
