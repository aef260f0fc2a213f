// install() and Node's own setKeepAlive on the runtime running this script
// (any Node from 18, or Bun): every way a client opens a TCP socket is
// configured, Node's own calls in each form end where the README says, and
// uninstall() restores exactly what install() changed. Run by
// test/runtimes.test.ts for each runtime binary present; also by hand:
//
// node test/harness/platforms/hooks-field.mjs [--pkg DIR] [--key FILE --cert FILE] [--hold]
//
// Prints "ok - ..." / "not ok - ..." lines, then one JSON line with this
// process's pid and the fd of each configured socket; with --hold it then waits
// for stdin to close, so another process can read those sockets from outside.
import { readFileSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { dirname, join, resolve } from 'node:path'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const value = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const pkgDir = resolve(value('--pkg') ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'))
const say = (line) => writeSync(1, `${line}\n`)
let failed = 0
function check(name, ok, detail) {
  if (!ok) failed++
  say(`${ok ? 'ok' : 'not ok'} - ${name}${detail === undefined ? '' : ` (${typeof detail === 'string' ? detail : JSON.stringify(detail)})`}`)
}
const same = (got, want) => Object.entries(want).every(([k, v]) => got[k] === v)
const once = (emitter, event) => new Promise((resolve, reject) => {
  emitter.once(event, resolve)
  if (event !== 'error') emitter.once('error', reject)
})

const { setKeepAlive, getKeepAlive, install, capabilities } = createRequire(import.meta.url)(join(pkgDir, 'dist', 'cjs', 'index.js'))
const runtime = typeof globalThis.Bun === 'object' ? `bun ${globalThis.Bun.version}` : `node ${process.version}`
say(`# ${runtime}; hooks: ${JSON.stringify(capabilities.hooks ?? null)}`)
// Node 22 moved the net.client.socket publish into Socket.prototype.connect; Bun has none.
const isBun = typeof globalThis.Bun === 'object'
const wantClient = isBun || Number(process.versions.node.split('.')[0]) < 22 ? 'patch' : 'channel'
check(`capabilities.hooks.client is '${wantClient}'`, capabilities.hooks?.client === wantClient, capabilities.hooks)
check('capabilities.hooks.server and .fetch', isBun ? capabilities.hooks?.server === 'patch' && capabilities.hooks?.fetch === null : capabilities.hooks?.server === 'channel' && capabilities.hooks?.fetch === 'channel', capabilities.hooks)

const keyFile = value('--key')
const certFile = value('--cert')
const tlsOptions = keyFile && certFile ? { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') } : null
const server = tlsOptions ? tls.createServer(tlsOptions) : net.createServer()
const plainServer = net.createServer()
server.listen(0, '127.0.0.1')
plainServer.listen(0, '127.0.0.1')
await Promise.all([once(server, 'listening'), once(plainServer, 'listening')])
const tlsPort = server.address().port
const port = plainServer.address().port

const opts = { idle: 6000, interval: 2000, count: 3 }
const beforeConnect = net.Socket.prototype.connect
const beforeTls = tls.connect
const beforeEmit = net.Server.prototype.emit

// Another patcher (an APM) wrapping and unwrapping around install/uninstall
// cycles: our part of each chain stays one layer, every original comes back.
for (let i = 0; i < 20000; i++) {
  const h = install(opts, { server: true })
  const saved = [net.Socket.prototype.connect, net.Server.prototype.emit, tls.connect]
  net.Socket.prototype.connect = function (...a) { return saved[0].apply(this, a) }
  net.Server.prototype.emit = function (...a) { return saved[1].apply(this, a) }
  tls.connect = function (...a) { return saved[2].apply(this, a) }
  h.uninstall()
  ;[net.Socket.prototype.connect, net.Server.prototype.emit, tls.connect] = saved
}
// A wrapper of ours left under theirs at uninstall steps out at its next call.
try {
  new net.Socket().connect({})
} catch {
  // ERR_MISSING_ARGS: no I/O
}
new net.Server().emit('tcp-keepalive-check')
check('20000 install/wrap/uninstall/unwrap cycles restore connect, emit and tls.connect',
  net.Socket.prototype.connect === beforeConnect && net.Server.prototype.emit === beforeEmit && tls.connect === beforeTls)
const accepted = once(plainServer, 'connection')
const handle = install(opts, { server: true })

const configured = []
async function viaHook(name, open, event = 'connect') {
  const socket = open()
  await once(socket, event)
  // Teardown resets are not what this checks.
  socket.on('error', () => {})
  const got = getKeepAlive(socket)
  check(`install() reaches ${name}`, same(got, { enabled: true, ...opts }), got)
  configured.push({ name, fd: socket._handle?.fd, socket })
  return socket
}
await viaHook('new net.Socket().connect()', () => new net.Socket().connect(port, '127.0.0.1'))
const first = await accepted
check('install({ server: true }) reaches accepted sockets', same(getKeepAlive(first), { enabled: true, ...opts }), getKeepAlive(first))
first.on('error', () => {})
await viaHook('net.connect()', () => net.connect(port, '127.0.0.1'))
if (tlsOptions) await viaHook('tls.connect()', () => tls.connect({ port: tlsPort, host: '127.0.0.1', ca: tlsOptions.cert, servername: 'localhost' }), 'secureConnect')
else say('# tls.connect not checked: no --key/--cert given')

// Node's own setKeepAlive after ours (what agents call at every pool release).
const raw = new net.Socket().connect(port, '127.0.0.1')
await once(raw, 'connect')
raw.on('error', () => {})
const read = () => getKeepAlive(raw)
raw.setKeepAlive(false)
check("socket.setKeepAlive(false) turns probes off", read().enabled === false, read())
raw.setKeepAlive(true, 1000)
check("socket.setKeepAlive(true, ms) turns them on with our timing", same(read(), { enabled: true, ...opts }), read())
if (net.Socket.prototype.setKeepAlive.length >= 4) {
  raw.setKeepAlive(true, 3000, 2000, 4)
  check('a 4-argument call is the caller\'s timing', same(read(), { enabled: true, idle: 3000, interval: 2000, count: 4 }), read())
  raw.setKeepAlive(true, 1000)
  check('a later 2-argument call keeps it', same(read(), { enabled: true, idle: 3000, interval: 2000, count: 4 }), read())
  raw.setKeepAlive({ enable: true, initialDelay: 5000, interval: 3000, count: 5 })
  check('an options object is the caller\'s timing', same(read(), { enabled: true, idle: 5000, interval: 3000, count: 5 }), read())
  setKeepAlive(raw, opts)
  check('setKeepAlive() of this package takes it back', same(read(), { enabled: true, ...opts }), read())
} else {
  raw.setKeepAlive(true, 3000, 2000, 4)
  check('a 4-argument call where Node takes 2 keeps ours', same(read(), { enabled: true, ...opts }), read())
}

handle.uninstall()
check('uninstall() restores Socket.prototype.connect', net.Socket.prototype.connect === beforeConnect)
check('uninstall() leaves tls.connect as it was', tls.connect === beforeTls)
check('uninstall() restores net.Server.prototype.emit', net.Server.prototype.emit === beforeEmit)
const after = new net.Socket().connect(port, '127.0.0.1')
await once(after, 'connect')
check('after uninstall() new sockets are untouched', getKeepAlive(after).enabled === false, getKeepAlive(after))
after.destroy()
say(JSON.stringify({ pid: process.pid, failed, sockets: configured.map(({ name, fd }) => ({ name, fd })) }))
if (args.includes('--hold')) {
  process.stdin.resume()
  await once(process.stdin, 'end')
}
for (const { socket } of configured) socket.destroy()
raw.destroy()
server.close()
plainServer.close()
process.exitCode = failed === 0 ? 0 : 1
