// Instructions executed by a Node script under callgrind (user space only).
// V8 runs with --predictable (no concurrent compiler or GC threads racing the
// main one), so the count for the same script and inputs repeats to within
// 0.01 % whatever else the machine is doing.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function hasValgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export function callgrindCount(script, args) {
  const work = mkdtempSync(join(tmpdir(), 'tka-cg-'))
  try {
    const out = join(work, 'callgrind.out')
    const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`,
      // V8 writes machine code into memory it then runs; callgrind must notice.
      '--smc-check=all-non-file',
      process.execPath, '--predictable', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
    const m = /Collected : (\d+)/.exec(r.stderr)
    if (r.status !== 0 || !m) throw new Error(`callgrind run failed (exit ${r.status}): ${r.stderr.slice(-500)}`)
    return Number(m[1])
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** Steady cost per connection: the slope between two connection counts (startup falls out). */
export function perConnection(script, low, high, flags) {
  const a = callgrindCount(script, [String(low), ...flags])
  const b = callgrindCount(script, [String(high), ...flags])
  const per = (b - a) / (high - low)
  return { perConnection: per, fixed: a - per * low }
}
