// How the per-call cost grows with the number of open TCP handles in this
// event loop. On Windows the addon finds the SOCKET by walking the loop's
// handles (uv_walk) and comparing endpoints; on Unix it reads handle.fd.
// Prints one JSON line per K: { k, handles, setNs, getNs, nodeNs, firstNs, firstAcceptedNs }.
// setNs/getNs: repeated calls on one socket (the cached path). firstNs: the
// first call on a new connection (the path every hook takes), median of 31
// fresh connections opened among the K; firstAcceptedNs: the same on the
// accepted end (install({ server: true })).
// node lookup.mjs [--pkg DIR] [K...]   (defaults 10 100 1000)
// Output through fs.writeSync(1): under Wine stdout must be a file.
import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const pkgIndex = args.indexOf('--pkg')
const pkgDir = resolve(pkgIndex >= 0 ? args[pkgIndex + 1] : join(dirname(fileURLToPath(import.meta.url)), '..', '..'))
const ks = args.filter((a, i) => pkgIndex < 0 || (i !== pkgIndex && i !== pkgIndex + 1)).map(Number)
const { setKeepAlive, getKeepAlive, capabilities } = createRequire(join(pkgDir, 'package.json'))(pkgDir)
const say = (line) => writeSync(1, `${line}\n`)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function time(fn, n) {
  const samples = []
  for (let i = 0; i < 200; i++) fn()
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn()
    samples.push(Number(process.hrtime.bigint() - t0) / n)
  }
  return median(samples)
}

const server = net.createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1')
await new Promise((r) => server.once('listening', r))
const port = server.address().port
const clients = []
const opts = { idle: 30_000, interval: 5_000, count: capabilities.count ? 3 : undefined }
say(`# lookup: ${process.platform}, target ${capabilities.native ? 'native' : 'fallback'}`)
for (const k of ks.length ? ks : [10, 100, 1000]) {
  while (clients.length < k) {
    const c = net.connect(port, '127.0.0.1')
    c.on('error', () => {})
    await new Promise((r) => c.once('connect', r))
    clients.push(c)
  }
  // The one measured is the newest: a walk that starts from the oldest handle pays for all of them.
  const s = clients[clients.length - 1]
  const n = Math.max(200, Math.floor(200_000 / k))
  let turn = 0
  const a = { ...opts }
  const b = { ...opts, idle: 31_000 }
  const setNs = time(() => setKeepAlive(s, ++turn % 2 ? a : b), n)
  const getNs = time(() => getKeepAlive(s), n)
  const nodeNs = time(() => s.setKeepAlive(true, ++turn % 2 ? 30_000 : 31_000), n)
  const first = []
  const firstAccepted = []
  for (let i = 0; i < 31; i++) {
    const side = new Promise((r) => server.once('connection', r))
    const c = net.connect(port, '127.0.0.1')
    c.on('error', () => {})
    await new Promise((r) => c.once('connect', r))
    const peer = await side
    let t0 = process.hrtime.bigint()
    setKeepAlive(c, opts)
    first.push(Number(process.hrtime.bigint() - t0))
    t0 = process.hrtime.bigint()
    setKeepAlive(peer, opts)
    firstAccepted.push(Number(process.hrtime.bigint() - t0))
    c.destroy()
    peer.destroy()
    await new Promise((r) => c.once('close', r))
  }
  // Both ends of every connection are handles of this loop, plus the server.
  say(JSON.stringify({ k, handles: 2 * k + 1, setNs: Math.round(setNs), getNs: Math.round(getNs), nodeNs: Math.round(nodeNs), firstNs: median(first), firstAcceptedNs: median(firstAccepted) }))
}
for (const c of clients) c.destroy()
server.close()
