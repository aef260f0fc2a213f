// The core checks, as a plain script for platforms and Node versions where
// vitest does not run (Windows Node under Wine, arm64 Node under QEMU, Node
// 18..24). Output goes through fs.writeSync(1): under Wine stdout is a file.
//
// node scripts/platforms/subset.mjs [--pkg DIR] [--expect-native] [--hold SECONDS]
import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback)
const pkgDir = resolve(value('--pkg', join(dirname(fileURLToPath(import.meta.url)), '..', '..')))
const hold = Number(value('--hold', '0'))

const say = (line) => writeSync(1, `${line}\n`)
let passed = 0
let failed = 0
function check(name, ok, detail = '') {
  if (ok) passed++
  else failed++
  say(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`)
}
function codeOf(fn) {
  try {
    fn()
    return 'no error'
  } catch (err) {
    return err.code ?? String(err)
  }
}

const { setKeepAlive, getKeepAlive, capabilities, install } = createRequire(import.meta.url)(join(pkgDir, 'dist', 'cjs', 'index.js'))
say(`# node ${process.version} ${process.platform}-${process.arch}`)
say(`# capabilities ${JSON.stringify(capabilities)}`)
if (flag('--expect-native')) check('native addon loaded', capabilities.native === true, capabilities.reason ?? '')

const server = net.createServer()
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const accepted = new Promise((r) => server.once('connection', r))
const client = net.connect(server.address().port, '127.0.0.1')
await new Promise((r, j) => client.once('connect', r).once('error', j))
const peer = await accepted

const want = { idle: 7000, interval: 3000 }
if (capabilities.count) want.count = 4
if (capabilities.userTimeout) want.userTimeout = 9000
check('setKeepAlive on a connected socket', codeOf(() => setKeepAlive(client, want)) === 'no error')
const got = getKeepAlive(client)
check('keepalive enabled', got.enabled === true || got.enabled === null, JSON.stringify(got.enabled))
for (const [key, expected] of Object.entries(want)) {
  if (got[key] === null) say(`# ${key}: unreadable on this platform`)
  else check(`${key} reads back ${expected}`, got[key] === expected, `got ${got[key]}`)
}
check('rounds 1500 ms up to 2000', (() => {
  setKeepAlive(peer, { interval: 1500 })
  const i = getKeepAlive(peer).interval
  return i === null || i === 2000
})())
check('non-socket: ERR_INVALID_ARG_TYPE', codeOf(() => setKeepAlive({}, {})) === 'ERR_INVALID_ARG_TYPE')
check('typo: ERR_INVALID_ARG_VALUE', codeOf(() => setKeepAlive(client, { intreval: 1 })) === 'ERR_INVALID_ARG_VALUE')
check('count 0: ERR_OUT_OF_RANGE or unsupported', ['ERR_OUT_OF_RANGE', 'ERR_TCP_KEEPALIVE_UNSUPPORTED'].includes(codeOf(() => setKeepAlive(client, { count: 0 }))))
check('idle 0: ERR_OUT_OF_RANGE', codeOf(() => setKeepAlive(client, { idle: 0 })) === 'ERR_OUT_OF_RANGE')

const doomed = net.connect(server.address().port, '127.0.0.1')
await new Promise((r) => doomed.once('connect', r))
doomed.destroy()
check('destroyed: ERR_SOCKET_CLOSED', codeOf(() => setKeepAlive(doomed, { idle: 1000 })) === 'ERR_SOCKET_CLOSED')

// install(): the hooks reach net.connect, tls.connect (https) and built-in
// fetch on this Node version. The chooser records each socket it is offered.
{
  const http = await import('node:http')
  const tls = await import('node:tls')
  const offered = []
  const opts = { idle: 5000 }
  // connection: close, so each fetch opens a new socket instead of reusing the pool's.
  const web = http.createServer((req, res) => res.setHeader('connection', 'close').end('ok'))
  await new Promise((r) => web.listen(0, '127.0.0.1', r))
  const port = web.address().port
  // Built-in fetch itself fails under Wine 8 (connect UNKNOWN); check it without us first.
  let fetchWorks = typeof fetch === 'function'
  if (fetchWorks) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/`)).text()
    } catch (err) {
      fetchWorks = false
      say(`# built-in fetch fails on this runtime without tcp-keepalive (${err.cause?.code ?? err.message}): its hook check is skipped`)
    }
  }
  const handle = install((socket) => (offered.push(socket), opts))
  const viaNet = net.connect(port, '127.0.0.1')
  await new Promise((r) => viaNet.once('connect', r))
  await new Promise((r) => setImmediate(r))
  check('install() reaches net.connect', getKeepAlive(viaNet).idle === 5000 || (getKeepAlive(viaNet).idle === null && offered.includes(viaNet)))
  viaNet.destroy()
  const viaTls = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
  viaTls.on('error', () => {})
  await new Promise((r) => viaTls.once('connect', r))
  await new Promise((r) => setImmediate(r))
  check('install() reaches tls.connect', offered.includes(viaTls))
  viaTls.destroy()
  if (fetchWorks) {
    const before = offered.length
    await (await fetch(`http://127.0.0.1:${port}/`)).text()
    const fetched = offered.slice(before)
    check('install() reaches built-in fetch', fetched.length > 0 && fetched.every((s) => s.destroyed || getKeepAlive(s).idle !== 0), `${fetched.length} socket(s)`)
  }
  handle.uninstall()
  const after = net.connect(port, '127.0.0.1')
  await new Promise((r) => after.once('connect', r))
  check('after uninstall() sockets are untouched', !offered.includes(after))
  after.destroy()
  web.closeAllConnections?.()
  web.close()
}

if (hold > 0) {
  setKeepAlive(client, want)
  say(`HOLD local=${client.localPort} remote=${client.remotePort} idle=${want.idle} interval=${want.interval} pid=${process.pid}`)
  await new Promise((r) => setTimeout(r, hold * 1000))
}
client.destroy()
peer.destroy()
server.close()
say(`${passed} passed, ${failed} failed`)
process.exitCode = failed ? 1 : 0
