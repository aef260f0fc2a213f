// Hook overhead counted in instructions instead of seconds: on a shared
// 2-core VM the CPU-time rounds of run.mjs spread by several percent, while
// callgrind's count for the same script and inputs repeats to within 0.01 %
// whatever else the machine is doing, once V8 runs with --predictable (no
// concurrent compiler or GC threads racing the main one).
//
// Each side (no keepalive, Node's own, install()) runs scripts/bench/hook-load.mjs
// under callgrind at two connection counts. The difference divided by the
// difference in connections is the steady per-connection cost: module load
// and most of V8's compilation fall out (the rest of warm-up still leans on
// the slope, equally for every side), and startup is reported apart.
// Callgrind sees user space only; the kernel's side (the setsockopt calls,
// the keepalive timer) is what run.mjs's CPU rounds add on top.
//
// node scripts/bench/instructions.mjs [--quick]   (needs valgrind)
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hasValgrind, perConnection } from './callgrind.mjs'
import { printTable } from './table.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
const [low, high] = quick ? [1000, 2000] : [2000, 4000]

if (!hasValgrind()) {
  console.log('bench-instructions: valgrind is not installed; nothing measured')
  process.exit(0)
}

const sides = [
  ['no keepalive', ''],
  ["Node's own keepalive (same channel)", '--node'],
  ['install({ idle, interval, count })', '--install'],
  // The spread's own part: its re-arm of the first keepalive timer (idle 30 s here) is scheduled per connection.
  ['  the same with { spread: false }', '--install --spread-off'],
]
const results = sides.map(([name, flags]) => ({ name, ...perConnection(join(here, 'hook-load.mjs'), low, high, flags ? flags.split(' ') : []) }))

const base = results[0]
const signed = (n, text) => `${n >= 0 ? '+' : ''}${text}`
console.log(`tcp-keepalive bench-instructions: node ${process.version}, callgrind, ${low} and ${high} connections per side`)
console.log('')
printTable(['side', 'instructions per connection', 'vs no keepalive', 'startup (load, compile)'], results.map((r) => {
  const extra = r.perConnection - base.perConnection
  const startup = r === base ? r.fixed : r.fixed - base.fixed
  return [
    r.name,
    `${(r.perConnection / 1000).toFixed(1)}k`,
    r === base ? '' : signed(extra, `${(extra / 1000).toFixed(1)}k (${signed(extra, ((extra / base.perConnection) * 100).toFixed(2))} %)`),
    r === base ? `${(startup / 1e6).toFixed(1)}M` : signed(startup, `${(startup / 1e6).toFixed(1)}M`),
  ]
}))
// A side whose startup comes out below the baseline's had V8 still compiling
// between the two counts: the slope then holds warm-up, not steady cost.
if (results.some((r) => r.fixed < base.fixed)) {
  console.log(`note: warm-up is still inside the slope at ${low}/${high} connections (a startup below the baseline's); read these as indicative${quick ? ' and run the full form (2000/4000)' : ''}`)
}
