// Leak check for the hooks: N loopback connections (connect, one small
// request, close) through install(), withKeepAlive() and connector(); then
// the client sockets still alive (FinalizationRegistry) and the open fds
// (/proc/self/fd) must be back at the baseline. The census (connections())
// is on throughout and read every 1000 connections: it must hold nothing
// alive either, and list nothing once the connections are closed.
//
// node --expose-gc test/harness/stress/leak-hooks.mjs [--count 20000] [--only install|withKeepAlive|connector] [--origins] [--self-test]
// --origins: install() records where each connection was opened.
// --self-test keeps every socket in an array: the check must then fail.
import dc from 'node:diagnostics_channel'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')
const args = process.argv.slice(2)
const count = Number(args.includes('--count') ? args[args.indexOf('--count') + 1] : 20000)
const selfTest = args.includes('--self-test')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const require = createRequire(import.meta.url)
const { install, withKeepAlive, connector, connections } = require(join(root, 'dist/cjs/index.js'))
const origins = args.includes('--origins')
const undici = require('undici')

let alive = 0
let listed = 0
const registry = new FinalizationRegistry(() => alive--)
const hoarded = []
dc.subscribe('net.client.socket', ({ socket }) => {
  alive++
  registry.register(socket, null)
  if (selfTest) hoarded.push(socket)
})

const server = http.createServer((req, res) => res.end('ok'))
server.keepAliveTimeout = 100
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const url = `http://127.0.0.1:${server.address().port}/`
const options = { idle: 30000, interval: 5000, count: 3 }

const fds = () => readdirSync('/proc/self/fd').length
async function settle() {
  for (let i = 0; i < 10; i++) {
    await sleep(20)
    globalThis.gc()
  }
}

function viaHttp(agent) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject)
  })
}

async function run(name, request, cleanup = () => {}) {
  const concurrency = 32
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        await request()
        if (next % 1000 === 0) listed = Math.max(listed, connections().length)
      }
    }),
  )
  await cleanup()
  server.closeIdleConnections()
  await settle()
  return name
}

await settle()
const baseFds = fds()
const baseAlive = alive
const rows = []
const hooks = [
  ['install', 'install() + http agent: false', async () => {
    const handle = install(options, { origins })
    await run('install', () => viaHttp(false), () => handle.uninstall())
  }],
  ['withKeepAlive', 'withKeepAlive(new http.Agent())', async () => {
    // One agent per request: every connection is new, and the agents must go too.
    await run('withKeepAlive', () => viaHttp(withKeepAlive(new http.Agent(), options)))
  }],
  ['connector', 'connector() + undici.request', async () => {
    const dispatcher = new undici.Agent({ connect: connector(options), pipelining: 0, keepAliveTimeout: 10 })
    await run('connector', async () => {
      const res = await undici.request(url, { dispatcher, reset: true })
      await res.body.text()
    }, () => dispatcher.close())
  }],
]
let failed = false
for (const [id, name, body] of hooks) {
  if (only && id !== only) continue
  const t0 = performance.now()
  await body()
  const extraSockets = alive - baseAlive
  const extraFds = fds() - baseFds
  const stillListed = connections().length
  const ok = extraSockets <= 2 && extraFds <= 2 && stillListed <= 2
  failed ||= !ok
  rows.push(`${ok ? 'ok' : 'LEAK'}  ${name.padEnd(34)} ${count} connections in ${((performance.now() - t0) / 1000).toFixed(1)} s; sockets alive +${extraSockets}, fds +${extraFds}; census: up to ${listed} listed while running, ${stillListed} after`)
  listed = 0
}
server.close()
console.log(rows.join('\n'))
console.log(`leak check: ${failed ? 'LEAK' : 'ok'} (baseline fds ${baseFds}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB)`)
process.exitCode = failed ? 1 : 0
