// One side of the census benchmark: N loopback connections, both ends reached
// by install({ server: true }), so 2N sockets in the census; then the time of
// connections() over all of them, against two baselines over the same
// sockets: reading them one by one with getKeepAlive + getTcpInfo (what a
// user could do without a census), and the addon's bare batch read of the
// same descriptors (the system calls any census must make, and nothing else).
// Prints JSON medians.
// node census-load.mjs N [--runs R]
import net from 'node:net'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const n = Number(process.argv[2] ?? 5000)
const runs = Number(process.argv.includes('--runs') ? process.argv[process.argv.indexOf('--runs') + 1] : 7)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)
const { install, connections, getKeepAlive, getTcpInfo } = require(join(root, 'dist/cjs/index.js'))
const addon = require('node-gyp-build')(root)
install({ idle: 30000, interval: 5000, count: 3 }, { server: true })
const accepted = []
const server = net.createServer((s) => accepted.push(s))
server.listen(0, '127.0.0.1', 4096)
await once(server, 'listening')
const { port } = server.address()
const clients = []
for (let i = 0; i < n; i += 200) {
  const batch = Array.from({ length: Math.min(200, n - i) }, () => net.connect(port, '127.0.0.1'))
  await Promise.all(batch.map((s) => once(s, 'connect')))
  clients.push(...batch)
}
while (accepted.length < n) await new Promise((r) => setTimeout(r, 10))
await new Promise((r) => setTimeout(r, 50))
const all = [...clients, ...accepted]
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
// Alternating runs, so load on a shared machine hits both sides alike.
const census = []
const floor = []
const kernel = []
let listed = 0
const readAll = () => {
  for (const s of all) {
    getKeepAlive(s)
    getTcpInfo(s)
  }
}
const fds = all.map((s) => s._handle.fd)
const notVerified = new Uint8Array(fds.length)
const readKernel = () => addon.readMany(fds, notVerified, true)
connections()
readAll()
readKernel()
for (let r = 0; r < runs; r++) {
  let t0 = performance.now()
  listed = connections().length
  census.push(performance.now() - t0)
  t0 = performance.now()
  readAll()
  floor.push(performance.now() - t0)
  t0 = performance.now()
  readKernel()
  kernel.push(performance.now() - t0)
}
console.log(JSON.stringify({ sockets: all.length, listed, connectionsMs: median(census), floorMs: median(floor), kernelMs: median(kernel) }))
process.exit(0)
