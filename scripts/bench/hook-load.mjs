// One side of the hook-overhead benchmark: N loopback connections (connect,
// one small request, close), with or without install(). Prints CPU and wall.
// node hook-load.mjs N [--install [--census-off | --origins] [--spread-off] | --node]
// --node: the same channel, but Node's own socket.setKeepAlive(true, 30000) at
// 'connect', which also arms the kernel's keepalive timer: what keepalive
// itself costs, whoever turns it on.
import dc from 'node:diagnostics_channel'
import http from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const n = Number(process.argv[2] ?? 20000)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { install } = createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))
// --census-off: the hooks without the census (the baseline of its cost); --origins: a stack per connection;
// --spread-off: every socket the same idle and interval, no timer to re-arm the first probe's.
const settings = { census: !process.argv.includes('--census-off'), origins: process.argv.includes('--origins'), spread: !process.argv.includes('--spread-off') }
if (process.argv.includes('--install')) install({ idle: 30000, interval: 5000, count: 3 }, settings)
if (process.argv.includes('--node')) {
  const on = function () {
    this.setKeepAlive(true, 30000)
  }
  dc.subscribe('net.client.socket', ({ socket }) => socket.once('connect', on))
}
const server = http.createServer((req, res) => res.end('ok'))
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const url = `http://127.0.0.1:${server.address().port}/`
const get = () => new Promise((resolve, reject) => http.get(url, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject))
const cpu0 = process.cpuUsage()
const t0 = performance.now()
let next = 0
await Promise.all(Array.from({ length: 16 }, async () => { while (next++ < n) await get() }))
const wall = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
server.close()
console.log(JSON.stringify({ wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000 }))
