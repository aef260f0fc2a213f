// `tcp-keepalive inspect` over many sockets, against `ss` reading the same
// sockets in the same run (the ratio is what counts; times vary by machine).
// In a network namespace of its own: a server and a target holding
// --sockets client connections to it (default 20000, or as many as the
// descriptor limit lets one process hold). Times the command as
// users run it (a new process: Node's start-up included), the inspect()
// call alone, and `ss -tanoi` (every TCP socket of the namespace, with
// TCP_INFO and timers: the target's and the server's ends).
// Linux, root: node scripts/bench/inspect.mjs [--sockets 20000] [--runs 5]
// [--other-cli PATH]: also time another build's bin (e.g. an older checkout's).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { openSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const cli = join(root, 'dist', 'cjs', 'cli', 'main.js')
const args = process.argv.slice(2)
const flag = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback)
// One process holds at most its hard descriptor limit, less a few for stdio.
const hardLimit = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || Infinity
const SOCKETS = Math.min(flag('--sockets', 20_000), hardLimit - 64)
const RUNS = flag('--runs', 5)
const otherCli = args.includes('--other-cli') ? args[args.indexOf('--other-cli') + 1] : null
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

if (process.platform !== 'linux' || process.getuid?.() !== 0) {
  console.log('inspect benchmark skipped: needs Linux and root (a network namespace of its own)')
  process.exit(0)
}

const NS = `tka-bench-inspect-${process.pid}`
execFileSync('ip', ['netns', 'add', NS])
const children = []
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL')
  spawnSync('ip', ['netns', 'del', NS])
}
process.on('exit', cleanup)
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130))
execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'])

// Both ends need more descriptors than the usual 1024.
const inNs = (code, ...argv) => {
  const c = spawn('sh', ['-c', `ulimit -n ${Math.min(SOCKETS + 64, hardLimit)} && exec ip netns exec ${NS} "$0" -e "$@"`, process.execPath, code, ...argv.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(c)
  return c
}
const SERVER = `
const kept = []
const s = require('node:net').createServer((c) => kept.push(c)).listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => console.log(s.address().port))
`
// Opens the connections 250 at a time (a reset under load is retried);
// half get keepalive, as a real mix would.
const TARGET = `
const net = require('node:net')
const [port, n] = process.argv.slice(1).map(Number)
const kept = []
;(async () => {
  const open = (k, tries) => new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => { if (k % 2 === 0) c.setKeepAlive(true, 60000); kept.push(c); resolve() })
    c.on('error', (err) => (tries > 0 ? open(k, tries - 1).then(resolve, reject) : reject(err)))
  })
  for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: Math.min(250, n - i) }, (_, j) => open(i + j, 3)))
  console.log('ready')
})()
`
const line = async (child) => String((await once(child.stdout, 'data'))[0]).trim()
const server = inNs(SERVER)
const port = Number(await line(server))
const target = inNs(TARGET, port, SOCKETS)
if ((await line(target)) !== 'ready') throw new Error('the target did not open its connections')

const time = (fn) => {
  const samples = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint()
    fn()
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return median(samples)
}
let rows = 0
// Output to /dev/null for both, as a health check or a script would discard most of it.
const devNull = openSync('/dev/null', 'w')
const run = (cmd, argv, ok) => {
  const r = spawnSync(cmd, argv, { stdio: ['ignore', devNull, 'pipe'] })
  if (!ok.includes(r.status)) throw new Error(`${cmd} ${argv.join(' ')}: exit ${r.status}: ${r.stderr}`)
}
const ss = time(() => run('ip', ['netns', 'exec', NS, 'ss', '-tanoi'], [0]))
const command = time(() => run(process.execPath, [cli, 'inspect', String(target.pid), '--json'], [0, 3, 4]))
rows = JSON.parse(spawnSync(process.execPath, [cli, 'inspect', String(target.pid), '--json'], { maxBuffer: 1 << 30, encoding: 'utf8' }).stdout).length
const { inspect } = createRequire(import.meta.url)(join(root, 'dist', 'cjs', 'cli', 'inspect.js'))
const call = time(() => inspect(target.pid, 350_000, 'auto'))
const table = time(() => run(process.execPath, [cli, 'inspect', String(target.pid)], [0, 3, 4]))
const other = otherCli ? time(() => run(process.execPath, [otherCli, 'inspect', String(target.pid), '--json'], [0, 3, 4])) : null
if (rows !== SOCKETS) throw new Error(`inspect listed ${rows} connections, the target holds ${SOCKETS}`)

const pad = (s, n) => String(s).padEnd(n)
console.log(`${SOCKETS} connections held by the target (${2 * SOCKETS + 1} TCP sockets in the namespace), median of ${RUNS} runs`)
console.log(`${pad('what', 46)}${pad('ms', 10)}vs ss`)
for (const [what, ms] of [
  ['ss -tanoi (baseline)', ss],
  ['tcp-keepalive inspect PID --json (new process)', command],
  ['tcp-keepalive inspect PID (table, new process)', table],
  ['inspect() call alone', call],
  ...(other === null ? [] : [[`${otherCli} --json`, other]]),
]) console.log(`${pad(what, 46)}${pad(ms.toFixed(0), 10)}${(ms / ss).toFixed(2)}x`)
