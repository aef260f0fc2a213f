// install() across a socket's and an install's lifetime, on the runtime
// running this script (any Node from 18): a socket connected again, a failed
// attempt retried after uninstall(), sockets still in DNS lookup when an
// install is stacked or undone, and a patcher that puts back the
// Socket.prototype.connect it saved before install() (then TLS, https and
// new Socket().connect() must still be configured). Every verdict is the
// kernel's, read by another process (the python getsockopt observer) on a
// duplicate of the socket's fd; the public API's view is recorded beside it.
//
// node test/harness/hooks-lifecycle.mjs --pkg DIR --peek PEEK.py --key FILE --cert FILE [--reconnects N]
// Prints one JSON line.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import { createRequire } from 'node:module'
import net from 'node:net'
import { join, resolve } from 'node:path'
import tls from 'node:tls'

const args = process.argv.slice(2)
const value = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const pkgDir = resolve(value('--pkg'))
const peekPy = value('--peek')
const key = readFileSync(value('--key'), 'utf8')
const cert = readFileSync(value('--cert'), 'utf8')
const reconnects = Number(value('--reconnects') ?? 1000)
const { install, getKeepAlive } = createRequire(import.meta.url)(join(pkgDir, 'dist', 'cjs', 'index.js'))

const once = (emitter, event) => new Promise((r) => emitter.once(event, r))
const fdOf = (s) => s._handle.fd
/** The kernel's view from another process, or null where python3 is missing. */
function kernel(socket) {
  const r = spawnSync('python3', [peekPy], { stdio: ['ignore', 'pipe', 'pipe', fdOf(socket)], encoding: 'utf8' })
  if (r.error || r.status !== 0) return null
  const { enabled, idle, interval, count } = JSON.parse(r.stdout)
  return { enabled, idle, interval, count }
}
const api = (s) => {
  const { enabled, idle, interval, count } = getKeepAlive(s)
  return { enabled, idle, interval, count }
}
/** The kernel's view (null without python3) beside the API's. */
const both = (s) => ({ kernel: kernel(s), api: api(s) })
const closed = async (s) => {
  if (s.destroyed && !s._handle) return
  const c = once(s, 'close')
  s.destroy()
  await c
}

const out = { node: process.version }
const server = net.createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1')
await once(server, 'listening')
const port = server.address().port
// A port nothing listens on: bound, never listening, so a connect is refused.
const dead = net.createServer().listen(0, '127.0.0.1')
await once(dead, 'listening')
const deadPort = dead.address().port
await new Promise((r) => dead.close(r))

// What a socket nobody configured holds here (the OS default).
{
  const s = net.connect(port, '127.0.0.1')
  await once(s, 'connect')
  out.baseline = both(s)
  await closed(s)
}

const A = { idle: 7000, interval: 2000, count: 3 }
const B = { idle: 9000, interval: 3000, count: 4 }

// 1. One net.Socket connected again and again, as pools and reconnecting clients do.
{
  const h = install(A)
  const s = new net.Socket()
  s.on('error', () => {})
  let firstBad = null
  let bad = 0
  const seen = {}
  for (let i = 1; i <= reconnects; i++) {
    s.connect(port, '127.0.0.1')
    await once(s, 'connect')
    const view = api(s)
    if (!(view.enabled && view.idle === A.idle && view.interval === A.interval && view.count === A.count)) {
      bad++
      if (firstBad === null) firstBad = { attempt: i, api: view, kernel: kernel(s) }
    }
    if (i <= 3 || i === reconnects) seen[i] = both(s)
    await closed(s)
  }
  h.uninstall()
  out.reconnect = { attempts: reconnects, bad, firstBad, kernel: seen }
}

// 2. A refused attempt, then uninstall(), then the retry succeeds.
{
  const h = install(A)
  const s = new net.Socket()
  s.on('error', () => {})
  s.connect(deadPort, '127.0.0.1')
  await once(s, 'close')
  h.uninstall()
  s.connect(port, '127.0.0.1')
  await once(s, 'connect')
  out.retryAfterUninstall = both(s)
  await closed(s)
}

// 3. Sockets in DNS lookup while installs change: each gets what is installed when it connects.
{
  const slowLookup = (host, options, callback) => {
    setTimeout(() => {
      if (options && options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
      else callback(null, '127.0.0.1', 4)
    }, 100)
  }
  const start = () => {
    const s = net.connect({ port, host: 'localhost', lookup: slowLookup, family: 4 })
    s.on('error', () => {})
    return s
  }
  const hA = install(A)
  const s1 = start()
  const hB = install(B) // stacked on A while s1 looks up
  await once(s1, 'connect')
  const s2 = start()
  hB.uninstall() // back to A while s2 looks up
  await once(s2, 'connect')
  hA.uninstall()
  const h = install(A)
  const s3 = start()
  h.uninstall() // nothing installed while s3 looks up
  await once(s3, 'connect')
  out.lookup = { replaced: both(s1), undoneToBeneath: both(s2), undone: both(s3) }
  await Promise.all([closed(s1), closed(s2), closed(s3)])
}

// 4. A patcher that saved Socket.prototype.connect before install() and puts it back.
{
  const tlsServer = tls.createServer({ key, cert }).listen(0, '127.0.0.1')
  const httpsServer = https.createServer({ key, cert }, (req, res) => {
    res.end('ok')
  }).listen(0, '127.0.0.1')
  await Promise.all([once(tlsServer, 'listening'), once(httpsServer, 'listening')])
  const proto = net.Socket.prototype
  const original = proto.connect
  const paths = {
    'tls.connect()': async () => {
      const s = tls.connect({ port: tlsServer.address().port, host: '127.0.0.1', ca: cert, servername: 'localhost' })
      await once(s, 'secureConnect')
      return s
    },
    'https.request()': async () => {
      const agent = new https.Agent({ keepAlive: true, ca: cert })
      const req = https.request({ port: httpsServer.address().port, host: '127.0.0.1', servername: 'localhost', agent })
      const [res] = await Promise.all([once(req, 'response'), req.end()])
      res.resume()
      await once(res, 'end')
      return req.socket
    },
    'new net.Socket().connect()': async () => {
      const s = new net.Socket().connect(port, '127.0.0.1')
      await once(s, 'connect')
      return s
    },
  }
  out.restoredConnect = {}
  for (const [name, open] of Object.entries(paths)) {
    // The patcher wraps before install() and, later, restores what it saved.
    const saved = proto.connect
    proto.connect = function apmConnect(...a) {
      return saved.apply(this, a)
    }
    const h = install(A)
    proto.connect = saved
    const s = await open()
    out.restoredConnect[name] = both(s)
    s.destroy()
    h.uninstall()
    proto.connect = original
  }
  tlsServer.close()
  httpsServer.close()
  httpsServer.closeAllConnections?.()
}

// 5. Install/uninstall cycles interleaved with a patcher of the same methods leave nothing behind.
{
  const proto = net.Socket.prototype
  const originalConnect = proto.connect
  const originalUnref = proto._unrefTimer
  for (let i = 0; i < 2000; i++) {
    const h = install(A)
    const savedUnref = proto._unrefTimer
    const savedConnect = proto.connect
    proto._unrefTimer = function apmUnref() {
      return savedUnref.call(this)
    }
    proto.connect = function apmConnect(...a) {
      return savedConnect.apply(this, a)
    }
    h.uninstall()
    proto._unrefTimer = savedUnref
    proto.connect = savedConnect
  }
  // A pass-through left on top steps out at its first call.
  const probe = new net.Socket()
  probe._unrefTimer()
  try {
    probe.connect({})
  } catch {
    // Only the wrapper's reaction to the call matters, not Node's refusal of {}.
  }
  probe.destroy()
  out.cycles = { connectRestored: proto.connect === originalConnect, unrefRestored: proto._unrefTimer === originalUnref }
}

server.close()
console.log(JSON.stringify(out))
process.exit(0)
