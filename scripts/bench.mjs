// npm run bench: what tcp-keepalive costs per socket, against the system
// calls themselves (a C program built now), Node's own setKeepAlive and the
// npm peers, plus hook overhead and import cost. Every ratio is measured in
// this run on this machine. node scripts/bench.mjs [--quick] [--peers DIR]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
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
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < 1000; i++) fn() // warm the JIT
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
  execFileSync('cc', ['-O2', '-o', join(work, 'baseline'), join(here, 'bench/baseline.c')])
  const runs = Array.from({ length: RUNS }, () => execFileSync(join(work, 'baseline'), [String(N)], { encoding: 'utf8' }))
  cSet = median(runs.map((o) => Number(/set_ns ([\d.]+)/.exec(o)[1])))
  cGet = median(runs.map((o) => Number(/get_ns ([\d.]+)/.exec(o)[1])))
} finally {
  rmSync(work, { recursive: true, force: true })
}

const ours = timeLoop(() => setKeepAlive(socket, opts))
row('C: 4 x setsockopt (idle, interval, count, on)', cSet, cSet, 'the floor')
row('setKeepAlive(socket, { idle, interval, count })', ours, cSet, 'goal <= 1.3x')
const nodeOwn = timeLoop(() => socket.setKeepAlive(true, 30_000))
row("Node's socket.setKeepAlive(true, 30000)", nodeOwn, cSet, 'sets idle (and forces interval 1 s, count 10): 4 setsockopt')

for (const [name, load, call] of [
  ['net-keepalive (ffi)', (m) => m, (m) => () => {
    m.setKeepAliveInterval(socket, 5000)
    m.setKeepAliveProbes(socket, 3)
    socket.setKeepAlive(true, 30000)
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

// Hook overhead: separate processes, so each starts clean, run in
// alternating pairs so machine drift hits both sides alike; the figure is the
// median of the per-pair ratios.
const conns = quick ? 2000 : 20_000
const load = (extra) => JSON.parse(execFileSync(process.execPath, [join(here, 'bench/hook-load.mjs'), String(conns), ...extra], { encoding: 'utf8' }))
const pairs = Array.from({ length: quick ? 3 : 9 }, () => {
  const without = load([])
  const withHook = load(['--install'])
  return { without, withHook, cpu: withHook.cpuMs / without.cpuMs, wall: withHook.wallMs / without.wallMs }
})
const cpuWithout = median(pairs.map((p) => p.without.cpuMs))
const cpuWith = median(pairs.map((p) => p.withHook.cpuMs))
const pct = (r) => `${((r - 1) * 100).toFixed(1)} %`
rows.push([`${conns} connections, CPU without hooks`, `${cpuWithout.toFixed(0)} ms`, '', `median of ${pairs.length}`])
rows.push([`${conns} connections, CPU with install()`, `${cpuWith.toFixed(0)} ms`, pct(median(pairs.map((p) => p.cpu))), `goal <= 3 %; per-pair CPU ratios ${pairs.map((p) => pct(p.cpu)).join(', ')}`])
rows.push([`${conns} connections, wall with install()`, `${median(pairs.map((p) => p.withHook.wallMs)).toFixed(0)} ms`, pct(median(pairs.map((p) => p.wall))), 'median per-pair wall ratio'])

// Import cost: a whole Node start with and without the package.
const startMs = (code) =>
  median(Array.from({ length: quick ? 5 : 15 }, () => {
    const t0 = performance.now()
    execFileSync(process.execPath, ['-e', code])
    return performance.now() - t0
  }))
const bare = startMs('0')
const req = startMs(`require(${JSON.stringify(pkgPath)})`)
const imp = startMs(`import(${JSON.stringify(join(root, 'dist/esm/index.mjs'))})`)
rows.push(['node -e 0 (bare start)', `${bare.toFixed(1)} ms`, '', ''])
rows.push(["require('tcp-keepalive')", `${req.toFixed(1)} ms`, `+${(req - bare).toFixed(1)} ms`, ''])
rows.push(["import 'tcp-keepalive'", `${imp.toFixed(1)} ms`, `+${(imp - bare).toFixed(1)} ms`, ''])

console.log(`tcp-keepalive bench: node ${process.version}, ${process.platform}-${process.arch}, native ${capabilities.native}, ${N} calls x ${RUNS} runs (medians)\n`)
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => String(r[i]).length), 4))
console.log(['what', 'ns/call', 'ratio', 'note'].map((h, i) => h.padEnd(widths[i])).join(' | '))
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join(' | '))
