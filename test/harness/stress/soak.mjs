// Soak: memory per call and per worker.
//   calls:   N setKeepAlive + getKeepAlive pairs (valid, and a share of
//            rejected ones, whose errors must not pin native memory); RSS
//            growth after a warm-up must stay under 2 MiB.
//   workers: rounds of 4 workers each configuring K sockets, two of them
//            terminated half-way; fds and RSS of the process after each round
//            must come back (a per-instance leak grows with every round).
//
// node --expose-gc test/harness/stress/soak.mjs [--calls 1000000] [--workers-sockets 10000] [--rounds 3] [--self-test]
// --self-test keeps every result it reads: the RSS check must then fail.
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')
const args = process.argv.slice(2)
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt)
const CALLS = arg('--calls', 1_000_000)
const SOCKETS = arg('--workers-sockets', 10_000)
const ROUNDS = arg('--rounds', 3)
const selfTest = args.includes('--self-test')
const kept = []
const entry = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'cjs', 'index.js')
const { setKeepAlive, getKeepAlive, capabilities } = createRequire(import.meta.url)(entry)
const MiB = 2 ** 20
const fds = () => readdirSync('/proc/self/fd').length
async function settledRss() {
  for (let i = 0; i < 5; i++) {
    globalThis.gc()
    await sleep(10)
  }
  return process.memoryUsage().rss
}
let failed = false
const report = (ok, text) => {
  failed ||= !ok
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${text}`)
}

// --- calls ------------------------------------------------------------------
const server = net.createServer().listen(0, '127.0.0.1')
await once(server, 'listening')
const socket = net.connect(server.address().port, '127.0.0.1')
await once(socket, 'connect')
const rejected = [{ idle: 0 }, { count: 1.5 }, { intreval: 1 }, { idle: '1000' }, null]
function batch(n) {
  let wrong = 0
  for (let i = 0; i < n; i++) {
    const idle = 1000 + (i % 600) * 1000
    setKeepAlive(socket, { idle, interval: 1000 + (i % 7) * 1000, count: 1 + (i % 9) })
    const state = getKeepAlive(socket)
    if (state.idle !== idle) wrong++
    if (selfTest) kept.push(state)
    if (i % 10 === 0) {
      try {
        setKeepAlive(socket, rejected[i % rejected.length])
        wrong++
      } catch {
        // expected: the point is that nothing stays behind
      }
    }
  }
  return wrong
}
batch(Math.min(100_000, CALLS)) // warm the JIT and the allocator
const before = await settledRss()
const t0 = performance.now()
const wrong = batch(CALLS)
const seconds = (performance.now() - t0) / 1000
const after = await settledRss()
const growth = (after - before) / MiB
report(wrong === 0, `${CALLS} set+get pairs (+${CALLS / 10} rejected calls) in ${seconds.toFixed(1)} s, all read back as set: ${wrong} wrong`)
report(growth < 2, `RSS over them: ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(2)} MiB; limit < 2)`)
socket.destroy()
server.close()

// --- workers ------------------------------------------------------------------
const workerCode = `
  const { parentPort, workerData } = require('node:worker_threads')
  const net = require('node:net')
  const { setKeepAlive, getKeepAlive } = require(workerData.entry)
  const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1', async () => {
    let ok = 0
    for (let i = 0; i < workerData.sockets; i++) {
      const c = net.connect(server.address().port, '127.0.0.1')
      c.on('error', () => {})
      // Half before 'connect' (deferred), half after.
      if (i % 2) setKeepAlive(c, { idle: 1000 + (i % 50) * 1000, interval: 2000, count: 3 })
      await new Promise((r) => c.once('connect', r))
      if (!(i % 2)) setKeepAlive(c, { idle: 1000 + (i % 50) * 1000, interval: 2000, count: 3 })
      if (getKeepAlive(c).idle === 1000 + (i % 50) * 1000) ok++
      c.destroy()
      if (i === workerData.halfway) parentPort.postMessage('halfway')
    }
    server.close(() => parentPort.postMessage(ok))
  })`
// terminate: stop the worker when it says it is half-way, in the middle of its loop.
function runWorker(sockets, terminate) {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerCode, { eval: true, workerData: { sockets, entry, halfway: terminate ? sockets / 2 : -1 } })
    w.on('message', (m) => {
      if (m === 'halfway') void w.terminate().then(() => resolve('terminated'))
      else void w.terminate().then(() => resolve(m))
    })
    w.once('error', reject)
  })
}
if (capabilities.native) {
  const fdsBefore = fds()
  const rss = []
  for (let round = 1; round <= ROUNDS; round++) {
    const t = performance.now()
    const results = await Promise.all([runWorker(SOCKETS), runWorker(SOCKETS), runWorker(SOCKETS, true), runWorker(SOCKETS, true)])
    const r = await settledRss()
    rss.push(r)
    const extraFds = fds() - fdsBefore
    report(
      results[0] === SOCKETS && results[1] === SOCKETS && results[2] === 'terminated' && results[3] === 'terminated' && extraFds <= 0,
      `round ${round}: 2 workers x ${SOCKETS} sockets all read back as set (${results[0]}, ${results[1]}), 2 terminated half-way through theirs; ${((performance.now() - t) / 1000).toFixed(1)} s; fds ${extraFds >= 0 ? '+' : ''}${extraFds}; RSS ${(r / MiB).toFixed(1)} MiB`,
    )
  }
  // The first round grows the heap to its working size; later rounds must not keep growing.
  if (rss.length >= 3) {
    const drift = (rss[rss.length - 1] - rss[1]) / MiB
    report(drift < 8, `RSS from round 2 to round ${rss.length}: ${drift >= 0 ? '+' : ''}${drift.toFixed(1)} MiB (limit < 8: a worker isolate left behind is over 10 MiB; native leaks are LeakSanitizer's job)`)
  }
}
console.log(`soak: ${failed ? 'FAILED' : 'ok'}`)
process.exitCode = failed ? 1 : 0
