// The command line of `tcp-keepalive inspect`. Every message quotes what it
// was given through `shown`, so a terminal never receives a raw control
// character from an argument.
import { duration as parseEnvDuration, noUnit } from '../env'
import { DEFAULT_IDLE_LIMIT as DEFAULT_LIMIT_MS } from '../exposure'
import type { OptionsMode } from './inspect'

// The package's largest idle (2 147 483 s) fits below this, so any limit a
// keepalive setting can be compared with is accepted.
const MAX_DURATION_MS = 2_147_483_647
const MIN_WATCH_MS = 100
const MAX_COUNT = 2_147_483_647

const USAGE = 'usage: tcp-keepalive inspect PID [--idle-limit 350s] [--json] [--by remote] [--options auto|never|always] [--watch INTERVAL [--count N]] | tcp-keepalive node-options [--check]'

export const HELP = `${USAGE}

Lists the TCP connections of process PID (Linux) with the keepalive settings
and TCP_INFO its kernel holds for each, and marks a connection exposed when a
middlebox that forgets flows idle for --idle-limit would forget it.

  --idle-limit D     the middlebox's idle timeout (default 350s); D as in
                     TCP_KEEPALIVE (with its unit): 350000ms, 350s, 5.5m
  --json             JSON: one array of connections (with --watch: one line
                     per sample, {"time": ..., "connections": [...]})
  --by remote        one row per destination instead of per connection
  --options MODE     idle, interval, count and user timeout need a copy of
                     the socket (pidfd_getfd): auto (default) takes one only
                     where that leaves the socket's cgroup classification as
                     it was; never reads through sock_diag only (no ptrace
                     right needed); always takes every socket
  --watch D          repeat every D until interrupted, per destination: count,
                     change, idle beyond the limit, CLOSE_WAIT, and LEAK? on a
                     destination that grew in every sample while mostly idle
  --count N          with --watch: stop after N samples
  -h, --help         this text

tcp-keepalive node-options [--check] prints the NODE_OPTIONS value that
preloads this installation from any directory (see the README).

Exit status: 0 no connection exposed; 3 at least one connection exposed;
4 none known to be exposed, but some could not be read fully (options or
socket unknown); 1 the process could not be inspected; 2 bad arguments.
`

export class UsageError extends Error {}

// C0 and C1 controls, DEL, and the invisible direction marks that can
// reorder what a terminal shows.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** `text` in double quotes, with every character a terminal could act on escaped. */
export function shown(text: string): string {
  const quoted = JSON.stringify(text)
  return quoted.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `350s`, `6m`, `350000ms`: TCP_KEEPALIVE's duration grammar, where a number needs its unit. */
export function parseDuration(text: string, name: string, min = 1): number {
  const trimmed = text.trim()
  // As in TCP_KEEPALIVE: `--idle-limit 350` read as 350 ms would mark every
  // connection exposed without a word, so a number without a unit is refused.
  const ms = parseEnvDuration(trimmed)
  if (ms === 'no-unit') throw new UsageError(`${name}: ${noUnit(trimmed, shown)}`)
  if (ms === null) throw new UsageError(`${name}: ${shown(text)} is not a duration; write a number with ms, s or m (350000ms, 350s, 5.5m)`)
  if (ms === 'fraction') throw new UsageError(`${name}: ${shown(text)} is not a whole number of milliseconds`)
  const range = `from ${min} ms to ${MAX_DURATION_MS} ms (about 24.8 days)`
  if (ms > MAX_DURATION_MS) throw new UsageError(`${name}: ${shown(text)} is too large; give ${range}`)
  if (ms < min) throw new UsageError(`${name}: ${shown(text)} is too small; give ${range}`)
  return ms
}

export interface Args {
  help: boolean
  pid: number
  limitMs: number
  json: boolean
  by: 'remote' | null
  options: OptionsMode
  watchMs: number | null
  count: number | null
}

export function parseArgs(argv: string[]): Args {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true, pid: 0, limitMs: DEFAULT_LIMIT_MS, json: false, by: null, options: 'auto', watchMs: null, count: null }
  const [command, ...rest] = argv
  if (command === undefined) throw new UsageError(USAGE)
  if (command !== 'inspect') throw new UsageError(`unknown command ${shown(command)}; ${USAGE}`)
  const args: Args = { help: false, pid: 0, limitMs: DEFAULT_LIMIT_MS, json: false, by: null, options: 'auto', watchMs: null, count: null }
  let pid: number | null = null
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = eq === -1 ? arg : arg.slice(0, eq)
    const value = (example: string): string => {
      const v = eq === -1 ? rest[++i] : arg.slice(eq + 1)
      if (v === undefined || v === '') throw new UsageError(`${name}: missing value (e.g. ${name} ${example})`)
      return v
    }
    if (name === '--json' && eq === -1) args.json = true
    else if (name === '--idle-limit') args.limitMs = parseDuration(value('350s'), name)
    else if (name === '--watch') args.watchMs = parseDuration(value('5s'), name, MIN_WATCH_MS)
    else if (name === '--count') {
      const v = value('10')
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_COUNT) throw new UsageError(`${name}: ${shown(v)} is not a number of samples from 1 to ${MAX_COUNT}`)
      args.count = Number(v)
    } else if (name === '--by') {
      const v = value('remote')
      if (v !== 'remote') throw new UsageError(`${name}: ${shown(v)} is not a grouping; the one there is: remote`)
      args.by = 'remote'
    } else if (name === '--options') {
      const v = value('auto')
      if (v !== 'auto' && v !== 'never' && v !== 'always') throw new UsageError(`${name}: ${shown(v)} is not auto, never or always`)
      args.options = v
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${shown(arg)}; ${USAGE}`)
    else if (pid !== null) throw new UsageError(`unexpected argument ${shown(arg)}; ${USAGE}`)
    else if (/^[1-9]\d{0,9}$/.test(arg) && Number(arg) <= 0x3fffffff) pid = Number(arg)
    else throw new UsageError(`PID: ${shown(arg)} is not a process id (a positive integer)`)
  }
  if (pid === null) throw new UsageError(`missing PID; ${USAGE}`)
  if (args.count !== null && args.watchMs === null) throw new UsageError('--count: only with --watch (e.g. --watch 5s --count 10)')
  args.pid = pid
  return args
}
