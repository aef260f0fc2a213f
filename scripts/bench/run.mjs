// npm run bench: what tcp-keepalive costs per socket, against the system
// calls themselves (a C program built now), Node's own setKeepAlive and the
// npm peers, plus hook overhead and import cost. Every ratio is measured in
// this run on this machine. node scripts/bench/run.mjs [--quick] [--peers DIR]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { censusRows } from './census.mjs'
import { importCost } from './import-cost.mjs'
import { printTable } from './table.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const peersDir = args.includes('--peers') ? args[args.indexOf('--peers') + 1] : process.env.TCP_KEEPALIVE_BENCH_PEERS
const require = createRequire(import.meta.url)
const pkgPath = join(root, 'dist/cjs/index.js')
const { setKeepAlive, getKeepAlive, capabilities } = require(pkgPath)
const N = quick ? 20_000 : 200_000
const RUNS = quick ? 3 : 7
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
const row = (what, ns, base, note = '') => rows.push([what, ns === null ? '-' : ns.toFixed(0), base ? (ns / base).toFixed(2) + 'x' : '', note])

function timeLoop(fn) {
  const samples = []
  // Long enough for V8 to reach its optimizing tier before the clock starts.
  for (let i = 0; i < 50_000; i++) fn()
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < 1000; i++) fn()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < N; i++) fn()
    samples.push(Number(process.hrtime.bigint() - t0) / N)
  }
  return median(samples)
}

const server = net.createServer().listen(0, '127.0.0.1')
await new Promise((r) => server.once('listening', r))
const socket = net.connect(server.address().port, '127.0.0.1')
await new Promise((r) => socket.once('connect', r))
const opts = { idle: 30_000, interval: 5_000, count: 3 }

// The physical limit: the same syscalls from C.
const work = mkdtempSync(join(tmpdir(), 'tka-bench-'))
let cSet = null
let cGet = null
try {
  execFileSync('cc', ['-O2', '-o', join(work, 'baseline'), join(here, 'baseline.c')])
  const runs = Array.from({ length: RUNS }, () => execFileSync(join(work, 'baseline'), [String(N)], { encoding: 'utf8' }))
  cSet = median(runs.map((o) => Number(/set_ns ([\d.]+)/.exec(o)[1])))
  cGet = median(runs.map((o) => Number(/get_ns ([\d.]+)/.exec(o)[1])))
} finally {
  rmSync(work, { recursive: true, force: true })
}

// Every timed call changes the idle time: Node skips its syscalls when asked
// for what it set last, and a row of no-ops would compare nothing.
const opts2 = { ...opts, idle: 31_000 }
let turn = 0
const ours = timeLoop(() => setKeepAlive(socket, ++turn % 2 ? opts : opts2))
row('C: 4 x setsockopt (idle, interval, count, on)', cSet, cSet, 'the floor')
row('setKeepAlive(socket, { idle, interval, count })', ours, cSet, 'goal <= 1.3x')
const nodeOwn = timeLoop(() => socket.setKeepAlive(true, ++turn % 2 ? 30_000 : 31_000))
row("Node's socket.setKeepAlive(true, 30000 | 31000)", nodeOwn, cSet, 'idle, plus forced interval 1 s and 10 probes: 4 setsockopt')

for (const [name, load, call] of [
  ['net-keepalive (ffi)', (m) => m, (m) => () => {
    m.setKeepAliveInterval(socket, 5000)
    m.setKeepAliveProbes(socket, 3)
    socket.setKeepAlive(true, ++turn % 2 ? 30_000 : 31_000)
  }],
  // sockopt takes the socket and reads its fd itself; Linux option numbers.
  ['sockopt', (m) => m, (m) => () => {
    m.setsockopt(socket, 6, 4, 30)
    m.setsockopt(socket, 6, 5, 5)
    m.setsockopt(socket, 6, 6, 3)
    m.setsockopt(socket, 1, 9, 1)
  }],
]) {
  const pkg = name.split(' ')[0]
  try {
    if (!peersDir) throw new Error('not installed (pass --peers DIR with net-keepalive and sockopt installed)')
    const m = load(createRequire(join(peersDir, 'package.json'))(pkg))
    const ns = timeLoop(call(m))
    row(`${name}, same three options`, ns, cSet, `tcp-keepalive is ${(ns / ours).toFixed(1)}x faster`)
  } catch (err) {
    row(`${name}`, null, null, String(err.message).split('\n')[0].slice(0, 90))
  }
}

const get = timeLoop(() => getKeepAlive(socket))
row('C: 5 x getsockopt', cGet, cGet, 'the floor')
row('getKeepAlive(socket)', get, cGet, 'returns a fresh object')
socket.destroy()
server.close()

// Hook overhead: separate processes, so each starts clean, pinned to one CPU
// where taskset exists (the run-to-run spread on a 2-core VM is otherwise
// several %), run in alternating rounds so drift hits every side alike. The
// figures are medians of the per-round ratios. "Node's own keepalive" turns
// keepalive on through the same channel with socket.setKeepAlive(true, ms):
// the kernel's keepalive timer costs that much whoever sets it.
const conns = quick ? 2000 : 20_000
let pin = []
try {
  execFileSync('taskset', ['-c', '0', 'true'])
  pin = ['taskset', '-c', '1']
} catch {
  // no taskset: unpinned
}
const load = (extra) => {
  const cmd = [...pin, process.execPath, join(here, 'hook-load.mjs'), String(conns), ...extra]
  return JSON.parse(execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }))
}
const rounds = Array.from({ length: quick ? 3 : 9 }, () => ({ without: load([]), node: load(['--node']), ours: load(['--install']) }))
const pct = (r) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %`
const ratio = (side, what) => median(rounds.map((r) => r[side][what] / r.without[what]))
rows.push([`${conns} connections, CPU without keepalive`, `${median(rounds.map((r) => r.without.cpuMs)).toFixed(0)} ms`, '', `median of ${rounds.length} rounds${pin.length ? ', pinned to one CPU' : ''}`])
rows.push([`  with Node's own keepalive (same channel)`, `${median(rounds.map((r) => r.node.cpuMs)).toFixed(0)} ms`, pct(ratio('node', 'cpuMs')), 'SO_KEEPALIVE + idle (+ forced interval/count): the kernel timer'])
rows.push([`  with install({ idle, interval, count })`, `${median(rounds.map((r) => r.ours.cpuMs)).toFixed(0)} ms`, pct(ratio('ours', 'cpuMs')), `goal <= 3 %; per round ${rounds.map((r) => pct(r.ours.cpuMs / r.without.cpuMs)).join(', ')}`])
rows.push([`  wall with install()`, `${median(rounds.map((r) => r.ours.wallMs)).toFixed(0)} ms`, pct(ratio('ours', 'wallMs')), ''])

// Import cost: the require/import itself, in fresh processes, beside require('net').
rows.push(...importCost(quick ? 9 : 31))

// The census (connections(), origins): its own script, same table.
rows.push(...censusRows({ quick }))

console.log(`tcp-keepalive bench: node ${process.version}, ${process.platform}-${process.arch}, native ${capabilities.native}, ${N} calls x ${RUNS} runs (medians)\n`)
printTable(['what', 'ns/call', 'ratio', 'note'], rows)
