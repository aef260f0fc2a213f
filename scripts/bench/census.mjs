// What the census costs (npm run bench runs this; alone:
// node scripts/bench/census.mjs [--quick]):
// - per connection, in instructions (callgrind, see callgrind.mjs): the hook
//   benchmark (hook-load.mjs) with install() and the census off, on (the
//   default), and on with origins; goal: census on <= +1 % over off.
// - connections() over 10 000 sockets (5 000 loopback pairs, both ends
//   reached): wall time, against reading the same sockets one by one with
//   getKeepAlive + getTcpInfo, and against the addon's bare batch read of
//   the same descriptors (the system calls any census must make), both in
//   the same process; goal <= 50 ms.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hasValgrind, perConnection } from './callgrind.mjs'

const here = dirname(fileURLToPath(import.meta.url))

export function censusRows({ quick }) {
  const rows = []
  const sockets = JSON.parse(execFileSync(process.execPath, [join(here, 'census-load.mjs'), '5000', '--runs', quick ? '3' : '7'], { encoding: 'utf8' }))
  rows.push([`connections() over ${sockets.listed} sockets`, `${sockets.connectionsMs.toFixed(1)} ms`, `${(sockets.connectionsMs / sockets.floorMs).toFixed(2)}x`, `goal <= 50 ms; vs getKeepAlive + getTcpInfo on each: ${sockets.floorMs.toFixed(1)} ms`])
  rows.push([`  its system calls alone (one batch read)`, `${sockets.kernelMs.toFixed(1)} ms`, `${(sockets.connectionsMs / sockets.kernelMs).toFixed(2)}x`, `connections() over it; the JavaScript part: ${(sockets.connectionsMs - sockets.kernelMs).toFixed(1)} ms`])
  if (!hasValgrind()) {
    rows.push(['census cost per connection', '-', '', 'valgrind is not installed; not measured'])
    return rows
  }
  const [low, high] = quick ? [1000, 2000] : [2000, 4000]
  const load = join(here, 'hook-load.mjs')
  const off = perConnection(load, low, high, ['--install', '--census-off'])
  const on = perConnection(load, low, high, ['--install'])
  const origins = perConnection(load, low, high, ['--install', '--origins'])
  const pct = (x) => `${x >= off.perConnection ? '+' : ''}${(((x - off.perConnection) / off.perConnection) * 100).toFixed(2)} %`
  rows.push([`install(), census off: instructions per connection`, `${(off.perConnection / 1000).toFixed(1)}k`, '', `callgrind, slope ${low} -> ${high} connections`])
  rows.push([`  census on (the default)`, `${(on.perConnection / 1000).toFixed(1)}k`, pct(on.perConnection), 'goal <= +1 %'])
  rows.push([`  census on, origins: true`, `${(origins.perConnection / 1000).toFixed(1)}k`, pct(origins.perConnection), 'a stack trace per connection'])
  return rows
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { printTable } = await import('./table.mjs')
  printTable(['what', 'figure', 'ratio', 'note'], censusRows({ quick: process.argv.includes('--quick') }))
}
