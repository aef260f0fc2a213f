// What importing tcp-keepalive costs a process, beside require('net') (which
// it loads too): each figure is the time of that one require/import, timed
// inside a fresh process (so nothing is cached), the median of many,
// alternating sides so machine load hits all alike. Wall and CPU time are
// both printed: on a shared machine the wall figure includes waits.
// node scripts/bench/import-cost.mjs [--quick]; npm run bench prints the same rows.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { printTable } from './table.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const timed = (load, setup = '') => `(async () => {
${setup}
const cpu = process.cpuUsage(); const t0 = performance.now()
${load}
const wall = performance.now() - t0; const c = process.cpuUsage(cpu)
console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / 1000 }))
})()`

const SIDES = [
  ["require('net')", "require('node:net')"],
  ["require('tcp-keepalive')", `require(${JSON.stringify(join(root, 'dist/cjs/index.js'))})`],
  ["import 'tcp-keepalive'", `await import(${JSON.stringify(join(root, 'dist/esm/index.mjs'))})`],
  // What the package adds in a process that already has net, as any that opens sockets does.
  ["require('tcp-keepalive'), net loaded before", `require(${JSON.stringify(join(root, 'dist/cjs/index.js'))})`, "require('node:net')"],
]

/** Rows for the bench table: [what, wall, ratio to require('net'), note]. */
export function importCost(runs) {
  const samples = SIDES.map(() => ({ wall: [], cpu: [] }))
  for (let r = 0; r < runs; r++) {
    SIDES.forEach(([, load, setup], i) => {
      const out = JSON.parse(execFileSync(process.execPath, ['-e', timed(load, setup)], { encoding: 'utf8' }))
      samples[i].wall.push(out.wall)
      samples[i].cpu.push(out.cpu)
    })
  }
  const net = { wall: median(samples[0].wall), cpu: median(samples[0].cpu) }
  return SIDES.map(([what], i) => {
    const wall = median(samples[i].wall)
    const cpu = median(samples[i].cpu)
    const ratio = i === 0 ? 'the baseline' : `${(wall / net.wall).toFixed(1)}x wall, ${(cpu / net.cpu).toFixed(1)}x CPU`
    const note = i === 0 ? '' : i === 2 ? '; includes starting Node\'s ESM loader; goal <= 10 ms' : '; goal <= 10 ms'
    return [what, `${wall.toFixed(1)} ms`, ratio, `CPU ${cpu.toFixed(1)} ms; median of ${runs} fresh processes${note}`]
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = process.argv.includes('--quick') ? 9 : 31
  console.log(`tcp-keepalive import cost: node ${process.version}, ${process.platform}-${process.arch}\n`)
  printTable(['what', 'wall', 'ratio', 'note'], importCost(runs))
}
