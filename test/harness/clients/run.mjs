// Real clients under install(), in whatever runtime runs this file (Node 18+,
// Bun, Deno). It opens each client's connection and stops at every checkpoint
// ("@@tka {json}" on stdout) until the parent answers a line on stdin, so the
// parent can read that socket's options from OUTSIDE this process while the
// socket is open. The client's own port comes from the server where the
// client hides its socket (inet_client_port(), CLIENT INFO, the processlist).
// Stages: `connect` after the first use (for an agent: once the socket is back
// in its pool), `reuse` after a second use of the same connection.
// Run by test/clients.test.ts (every case, this Node) and
// test/clients-runtimes.test.ts (a subset, other runtimes).
//
// env TKA_RUN = JSON { clients: [...], opts: {...}, targets: {...}, ca }
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const require = createRequire(join(root, 'package.json'))
const { clients, opts, targets: t, ca } = JSON.parse(process.env.TKA_RUN)
const runtime = typeof globalThis.Bun !== 'undefined' ? `bun ${globalThis.Bun.version}` : typeof globalThis.Deno !== 'undefined' ? `deno ${globalThis.Deno.version.deno}` : `node ${process.version}`

const say = (msg) => process.stdout.write(`@@tka ${JSON.stringify(msg)}\n`)

// Answers from the parent, one line per checkpoint.
const answers = []
let waiting = null
let pending = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  pending += chunk
  let i
  while ((i = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, i)
    pending = pending.slice(i + 1)
    if (waiting) {
      const w = waiting
      waiting = null
      w(line)
    } else answers.push(line)
  }
})
const answered = () => new Promise((resolve) => (answers.length ? resolve(answers.shift()) : (waiting = resolve)))

let tka
try {
  tka = require(root)
} catch (err) {
  say({ fatal: `the package did not load: ${err.message}`, runtime })
  process.exit(0)
}

let current = null
const errors = new Map()
const note = (err) => {
  const list = errors.get(current) ?? []
  list.push(`${err.code ?? 'no code'}: ${err.message}`)
  errors.set(current, list)
}
let handle
try {
  handle = tka.install(opts, { onError: note })
} catch (err) {
  say({ fatal: `install() threw: ${err.code ?? ''} ${err.message}`, runtime })
  process.exit(0)
}
say({ hello: runtime, capabilities: tka.capabilities })

function apiView(socket) {
  if (!socket) return undefined
  try {
    return tka.getKeepAlive(socket)
  } catch (err) {
    return { error: `${err.code ?? 'no code'}: ${err.message}` }
  }
}

/**
 * Reports one connection state; resolves once the parent has read the kernel.
 * `expect`: what the kernel must hold here, where not install()'s options.
 */
async function checkpoint(stage, local, remote, socket, expect) {
  say({ client: current, stage, local: Number(local), remote: Number(remote), api: apiView(socket), errors: errors.get(current) ?? [], expect })
  await answered()
}
const skipCase = (reason) => say({ client: current, skip: reason })
const reinstall = (settings = {}) => {
  handle.uninstall()
  handle = tka.install(opts, { onError: note, ...settings })
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20))
// Until the agent holds the socket as free: its release (where Node's agent
// calls socket.setKeepAlive(true, 1000)) has run.
async function released(agent) {
  for (let i = 0; i < 200 && !Object.values(agent.freeSockets).some((list) => list.length > 0); i++) await tick()
}
// Removes both listeners, whichever fires: the reconnect case counts listeners.
const once = (emitter, event) => new Promise((resolve, reject) => {
  const ok = (value) => {
    emitter.off('error', ko)
    resolve(value)
  }
  const ko = (err) => {
    emitter.off(event, ok)
    reject(err)
  }
  emitter.once(event, ok)
  emitter.once('error', ko)
})
const httpUrl = `http://127.0.0.1:${t.http}/`
const httpsUrl = `https://localhost:${t.https}/`
const portOf = (body) => JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString()).port

async function httpGet(mod, url, agent) {
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { agent, ca }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ port: portOf(body), socket: req.socket }))
    })
    req.on('error', reject)
  })
}

// A second use that got another port means the pool opened a new connection:
// the checkpoint still runs, under a name that says so.
const reuseStage = (a, b) => (b === a ? 'reuse' : 'reuse (new socket)')

// Node's http/https agent with one pooled socket: two requests, each read
// once the agent has released the socket (and so made its own setKeepAlive call).
async function agentTwice(mod, url, port) {
  const agent = new mod.Agent({ keepAlive: true, maxSockets: 1 })
  const a = await httpGet(mod, url, agent)
  await released(agent)
  await checkpoint('connect', a.port, port, a.socket)
  const b = await httpGet(mod, url, agent)
  await released(agent)
  await checkpoint(reuseStage(a.port, b.port), b.port, port, b.socket)
  agent.destroy()
}

// A database pool of one (pg, mysql2): take its connection, ask the server
// which port it sees, give it back; twice, so the second use is a reuse.
async function pooledTwice(acquire, serverSeenPort, remote) {
  const use = async () => {
    const c = await acquire()
    const port = await serverSeenPort(c)
    const stream = c.connection.stream
    c.release()
    return { port, stream }
  }
  const a = await use()
  await checkpoint('connect', a.port, remote, a.stream)
  const b = await use()
  await checkpoint(reuseStage(a.port, b.port), b.port, remote, b.stream)
}

// A TLS connection to the HTTPS server through tls.connect as it stands now
// (wrapped by us, or by us over someone else), checked once connected.
async function tlsChecked(tls) {
  const s = tls.connect({ port: t.https, host: '127.0.0.1', servername: 'localhost', ca })
  await once(s, 'secureConnect')
  await tick()
  await checkpoint('connect', s.localPort, t.https, s)
  s.destroy()
}

// Each case: connect, checkpoint; where the client pools, release, use the same
// connection again and checkpoint again.
const cases = {
  async 'net.connect'() {
    const net = require('node:net')
    const s = net.connect(t.http, '127.0.0.1')
    await once(s, 'connect')
    await tick()
    await checkpoint('connect', s.localPort, t.http, s)
    s.destroy()
  },
  async 'net.Socket().connect'() {
    const net = require('node:net')
    const s = new net.Socket()
    s.connect(t.http, '127.0.0.1')
    await once(s, 'connect')
    await tick()
    await checkpoint('connect', s.localPort, t.http, s)
    s.destroy()
  },
  async 'tls.connect'() {
    const tls = require('node:tls')
    await tlsChecked(tls)
  },
  'http agent': () => agentTwice(require('node:http'), httpUrl, t.http),
  'https agent': () => agentTwice(require('node:https'), httpsUrl, t.https),
  async fetch() {
    const a = portOf(await (await fetch(httpUrl)).text())
    await tick()
    await checkpoint('connect', a, t.http)
    const b = portOf(await (await fetch(httpUrl)).text())
    await tick()
    await checkpoint(reuseStage(a, b), b, t.http)
  },
  async undici() {
    const { Pool } = require('undici')
    const pool = new Pool(`http://127.0.0.1:${t.http}`, { connections: 1 })
    const get = async () => portOf(await (await pool.request({ path: '/', method: 'GET' })).body.text())
    const a = await get()
    await tick()
    await checkpoint('connect', a, t.http)
    const b = await get()
    await tick()
    await checkpoint(reuseStage(a, b), b, t.http)
    await pool.close()
  },
  async pg() {
    const { Client } = require('pg')
    const client = new Client({ host: '127.0.0.1', port: t.pg, user: 'postgres', database: 'postgres' })
    await client.connect()
    const { rows } = await client.query('SELECT inet_client_port() AS port')
    await checkpoint('connect', rows[0].port, t.pg, client.connection.stream)
    await client.end()
  },
  // keepAlive: true makes pg call socket.setKeepAlive(true, 0) itself.
  async 'pg Pool'() {
    const { Pool } = require('pg')
    const pool = new Pool({ host: '127.0.0.1', port: t.pg, user: 'postgres', database: 'postgres', max: 1, keepAlive: true })
    await pooledTwice(() => pool.connect(), async (c) => (await c.query('SELECT inet_client_port() AS port')).rows[0].port, t.pg)
    await pool.end()
  },
  // A Unix-domain connection: nothing to configure, nothing to report.
  async 'pg unix socket'() {
    const { Client } = require('pg')
    const client = new Client({ host: t.pgSocketDir, port: t.pg, user: 'postgres', database: 'postgres' })
    await client.connect()
    await client.query('SELECT 1')
    await tick()
    say({ client: current, stage: 'unix', errors: errors.get(current) ?? [] })
    await answered()
    await client.end()
  },
  async 'postgres.js'() {
    const mod = require('postgres')
    const postgres = mod.default ?? mod // Bun hands back the ESM namespace
    const sql = postgres({ host: '127.0.0.1', port: t.pg, user: 'postgres', database: 'postgres', max: 1, onnotice: () => {} })
    const port = async () => (await sql`SELECT inet_client_port() AS port`)[0].port
    const a = await port()
    await checkpoint('connect', a, t.pg)
    const b = await port()
    await checkpoint(reuseStage(a, b), b, t.pg)
    await sql.end({ timeout: 1 })
  },
  async ioredis() {
    const Redis = require('ioredis')
    const redis = new Redis({ host: '127.0.0.1', port: t.redis, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    await redis.connect()
    const port = async () => /\baddr=[^ ]*:(\d+)/.exec(await redis.call('CLIENT', 'INFO'))[1]
    const a = await port()
    await checkpoint('connect', a, t.redis, redis.stream)
    await redis.set('k', 'v')
    const b = await port()
    await checkpoint(reuseStage(a, b), b, t.redis, redis.stream)
    redis.disconnect()
  },
  async mysql2() {
    const mysql = require('mysql2/promise')
    const pool = mysql.createPool({ host: '127.0.0.1', port: t.mysql, user: 'root', connectionLimit: 1 })
    const serverSeenPort = async (c) => {
      const [rows] = await c.query("SELECT SUBSTRING_INDEX(host, ':', -1) AS port FROM information_schema.processlist WHERE id = CONNECTION_ID()")
      return rows[0].port
    }
    await pooledTwice(() => pool.getConnection(), serverSeenPort, t.mysql)
    await pool.end()
  },
  async 'mysql2 unix socket'() {
    const mysql = require('mysql2/promise')
    const c = await mysql.createConnection({ socketPath: t.mysqlSocket, user: 'root' })
    await c.query('SELECT 1')
    await tick()
    say({ client: current, stage: 'unix', errors: errors.get(current) ?? [] })
    await answered()
    await c.end()
  },
  async ws() {
    const WebSocket = require('ws')
    const ws = new WebSocket(`ws://127.0.0.1:${t.http}/ws`)
    const data = await once(ws, 'message')
    await checkpoint('connect', portOf(data.toString()), t.http, ws._socket)
    ws.close()
  },
  async got() {
    const http = require('node:http')
    const { default: got } = await import('got')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const a = portOf(await got(httpUrl, { agent: { http: agent } }).text())
    await released(agent)
    await checkpoint('connect', a, t.http)
    const b = portOf(await got(httpUrl, { agent: { http: agent } }).text())
    await released(agent)
    await checkpoint(reuseStage(a, b), b, t.http)
    agent.destroy()
  },
  async 'node-fetch'() {
    const http = require('node:http')
    const { default: nodeFetch } = await import('node-fetch')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const a = portOf(await (await nodeFetch(httpUrl, { agent })).text())
    await released(agent)
    await checkpoint('connect', a, t.http)
    const b = portOf(await (await nodeFetch(httpUrl, { agent })).text())
    await released(agent)
    await checkpoint(reuseStage(a, b), b, t.http)
    agent.destroy()
  },
  async axios() {
    const http = require('node:http')
    const axios = require('axios')
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const a = (await axios.get(httpUrl, { httpAgent: agent })).data.port
    await released(agent)
    await checkpoint('connect', a, t.http)
    const b = (await axios.get(httpUrl, { httpAgent: agent })).data.port
    await released(agent)
    await checkpoint(reuseStage(a, b), b, t.http)
    agent.destroy()
  },
  // One session, two streams: the same socket carries both.
  async http2() {
    const http2 = require('node:http2')
    const session = http2.connect(`http://127.0.0.1:${t.h2}`)
    const get = () => new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/' })
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (c) => (body += c))
      req.on('end', () => resolve(portOf(body)))
      req.on('error', reject)
    })
    const a = await get()
    await checkpoint('connect', a, t.h2, session.socket)
    const b = await get()
    await checkpoint(reuseStage(a, b), b, t.h2, session.socket)
    // The session's socket is a proxy that refuses most socket methods; an
    // explicit call must still configure it, and not throw.
    try {
      tka.setKeepAlive(session.socket, { idle: 9000 })
    } catch (err) {
      note(err)
    }
    await checkpoint('setKeepAlive', b, t.h2, session.socket, { ...opts, enabled: true, idle: 9000 })
    session.close()
  },

  // The cases of the hooks' known failures, per runtime.
  async 'setKeepAlive(false) after install'() {
    const net = require('node:net')
    const s = net.connect(t.http, '127.0.0.1')
    await once(s, 'connect')
    await tick()
    s.setKeepAlive(false)
    await checkpoint('connect', s.localPort, t.http, s, { enabled: false })
    s.destroy()
  },
  async 'setKeepAlive(true, ms) after enable: false'() {
    const net = require('node:net')
    const s = net.connect(t.http, '127.0.0.1')
    await once(s, 'connect')
    await tick()
    tka.setKeepAlive(s, { enable: false })
    s.setKeepAlive(true, 1000) // what an agent does at every pool release
    await checkpoint('connect', s.localPort, t.http, s, { enabled: true })
    s.destroy()
  },
  async 'setKeepAlive with interval and count'() {
    const net = require('node:net')
    if (net.Socket.prototype.setKeepAlive.length < 4) return skipCase(`${runtime}: socket.setKeepAlive takes no interval or count`)
    const s = net.connect(t.http, '127.0.0.1')
    await once(s, 'connect')
    await tick()
    s.setKeepAlive(true, 5000, 2000, 6)
    await checkpoint('connect', s.localPort, t.http, s, { enabled: true, idle: 5000, interval: 2000, count: 6 })
    s.destroy()
  },
  // One socket connected again and again, as pools do: no listener may pile up.
  async 'reconnecting socket'() {
    const net = require('node:net')
    const onWarning = (w) => w.name === 'MaxListenersExceededWarning' && note(w)
    process.on('warning', onWarning)
    const s = new net.Socket()
    for (let i = 0; i < 12; i++) {
      s.connect(t.http, '127.0.0.1')
      tka.setKeepAlive(s, opts)
      await once(s, 'connect')
      if (i < 11) {
        s.destroy()
        await once(s, 'close')
      }
    }
    await tick()
    process.off('warning', onWarning)
    await checkpoint('connect', s.localPort, t.http, s)
    s.destroy()
  },
  // Without install(), on a session's socket (a proxy refusing most methods).
  async 'http2 setKeepAlive without install'() {
    const http2 = require('node:http2')
    handle.uninstall()
    const session = http2.connect(`http://127.0.0.1:${t.h2}`)
    try {
      await once(session, 'connect')
      try {
        tka.setKeepAlive(session.socket, opts)
      } catch (err) {
        note(err)
      }
      await checkpoint('connect', session.socket.localPort, t.h2, session.socket)
    } finally {
      session.close()
      handle = tka.install(opts, { onError: note })
    }
  },
  async 'http socketPath'() {
    const http = require('node:http')
    const { mkdtempSync, rmSync } = require('node:fs')
    const { tmpdir } = require('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'tka-unix-'))
    const server = http.createServer((req, res) => res.end('x')).listen(join(dir, 's'))
    await once(server, 'listening')
    reinstall({ server: true })
    try {
      await new Promise((resolve, reject) => http.get({ socketPath: join(dir, 's'), path: '/' }, (res) => res.resume().on('end', resolve)).on('error', reject))
      await tick()
      say({ client: current, stage: 'unix', errors: errors.get(current) ?? [] })
      await answered()
    } finally {
      server.close()
      rmSync(dir, { recursive: true, force: true })
      reinstall()
    }
  },
  // Cycles of install -> another library wraps tls.connect -> uninstall -> it
  // unwraps: our part of the chain must stay one layer (one pass-through left
  // per cycle overflows the stack within 20 000 cycles).
  async 'tls.connect wrap cycles'() {
    const tls = require('node:tls')
    handle.uninstall()
    try {
      for (let i = 0; i < 20_000; i++) {
        const h = tka.install(opts, { onError: note })
        const theirs = tls.connect
        tls.connect = function wrapped(...args) {
          return theirs.apply(this, args)
        }
        h.uninstall()
        tls.connect = theirs
      }
    } finally {
      handle = tka.install(opts, { onError: note })
    }
    await tlsChecked(tls)
  },
  // A library stubs tls.connect, we install over the stub, it restores its saved original.
  async 'tls.connect restored by another library'() {
    const tls = require('node:tls')
    handle.uninstall()
    const saved = tls.connect
    tls.connect = function stub(...args) {
      return saved.apply(this, args)
    }
    handle = tka.install(opts, { onError: note })
    tls.connect = saved
    await tlsChecked(tls)
  },
  // An app's copy and a library's nested copy of this package in one process:
  // the most recent install() wins, whichever copy made it, and an older
  // handle's uninstall() leaves a newer install in place.
  async 'two copies'() {
    const net = require('node:net')
    const { cpSync, mkdtempSync, rmSync, existsSync } = require('node:fs')
    const { tmpdir } = require('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'tka-copy-'))
    try {
      for (const part of ['dist', 'build/Release', 'prebuilds', 'package.json', 'node_modules/node-gyp-build']) {
        if (existsSync(join(root, part))) cpSync(join(root, part), join(dir, part), { recursive: true })
      }
      const other = require(dir)
      const theirs = { idle: 11_000, interval: 2000, count: 3, userTimeout: 15_000 }
      const open = async (stage, want) => {
        const s = net.connect(t.http, '127.0.0.1')
        await once(s, 'connect')
        await tick()
        await checkpoint(stage, s.localPort, t.http, s, want)
        s.destroy()
      }
      // spread: false: the exact values tell which copy configured a socket.
      const h = other.install(theirs, { onError: note, spread: false })
      await open('other copy installed last', { enabled: true, ...theirs })
      handle.uninstall()
      await open('first copy uninstalled', { enabled: true, ...theirs })
      handle = tka.install(opts, { onError: note })
      await open('first copy installed again', { enabled: true, ...opts })
      h.uninstall()
      await open('other copy uninstalled', { enabled: true, ...opts })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
  // The user's own call in a 'connection' handler wins over install({ server: true }).
  async 'explicit call in a connection handler'() {
    const net = require('node:net')
    reinstall({ server: true })
    const server = net.createServer((s) => tka.setKeepAlive(s, { idle: 5000 }))
    const accepted = new Promise((resolve) => server.once('connection', resolve))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = server.address().port
    const c = net.connect(port, '127.0.0.1')
    try {
      await once(c, 'connect')
      const s = await accepted
      await tick()
      await checkpoint('connect', port, c.localPort, s, { enabled: true, idle: 5000 })
    } finally {
      c.destroy()
      server.close()
      reinstall()
    }
  },
}

const withTimeout = (promise, ms) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer after ${ms} ms`)), ms).unref?.())])
for (const name of clients) {
  current = name
  const run = cases[name]
  if (!run) {
    say({ client: name, failed: 'no such case' })
    continue
  }
  try {
    await withTimeout(run(), 15_000)
  } catch (err) {
    say({ client: name, failed: `${err.code ?? ''} ${err.message}`.trim(), errors: errors.get(name) ?? [] })
  }
}
handle.uninstall()
say({ done: true })
process.exit(0)
