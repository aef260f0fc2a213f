#!/usr/bin/env node
// tcp-keepalive inspect PID [--idle-limit 350s] [--json]
// Every failure is one line on stderr and a non-zero exit: 2 for bad
// arguments, 1 for anything else. Never a stack trace.
import { duration as parseEnvDuration } from '../env'
import { inspectProcess, type InspectedConnection } from './inspect'
import { runNodeOptions } from './node-options'

const USAGE = 'usage: tcp-keepalive inspect PID [--idle-limit 350s] [--json] | tcp-keepalive node-options [--check]'
const DEFAULT_LIMIT_MS = 350_000 // AWS NLB's fixed idle timeout

class UsageError extends Error {}

/** `350s`, `6m`, `350000ms`: TCP_KEEPALIVE's duration grammar (a bare number is milliseconds). */
function parseDuration(text: string, name: string): number {
  const ms = parseEnvDuration(text.trim())
  if (ms === null) throw new UsageError(`${name}: "${text}" is not a duration; write milliseconds or a number with ms, s or m (350000, 350s, 5.5m)`)
  if (ms === 'fraction') throw new UsageError(`${name}: "${text}" is not a whole number of milliseconds`)
  if (ms < 1 || !Number.isSafeInteger(ms)) throw new UsageError(`${name}: "${text}" must be at least 1 ms`)
  return ms
}

interface Args {
  pid: number
  limitMs: number
  json: boolean
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help') throw new UsageError(USAGE)
  if (command !== 'inspect') throw new UsageError(`unknown command "${command}"; ${USAGE}`)
  let pid: number | null = null
  let limitMs = DEFAULT_LIMIT_MS
  let json = false
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string
    if (arg === '--json') json = true
    else if (arg === '--idle-limit' || arg.startsWith('--idle-limit=')) {
      const value = arg === '--idle-limit' ? rest[++i] : arg.slice('--idle-limit='.length)
      if (value === undefined || value === '') throw new UsageError('--idle-limit: missing value (e.g. --idle-limit 350s)')
      limitMs = parseDuration(value, '--idle-limit')
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option "${arg}"; ${USAGE}`)
    else if (pid !== null) throw new UsageError(`unexpected argument "${arg}"; ${USAGE}`)
    else if (/^[1-9]\d{0,9}$/.test(arg) && Number(arg) <= 0x3fffffff) pid = Number(arg)
    else throw new UsageError(`PID: "${arg}" is not a process id (a positive integer)`)
  }
  if (pid === null) throw new UsageError(`missing PID; ${USAGE}`)
  return { pid, limitMs, json }
}

function duration(ms: number | null): string {
  if (ms === null) return '?'
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

function limitText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

function why(c: InspectedConnection, limitMs: number): string {
  if (!c.exposed) return 'no'
  const k = c.keepalive
  if (k.enabled !== true) return k.enabled === false ? 'yes: keepalive off' : 'yes: keepalive unknown'
  if ((k.idle ?? Infinity) >= limitMs) return `yes: idle ${duration(k.idle)} >= ${limitText(limitMs)}`
  return `yes: interval ${duration(k.interval)} >= ${limitText(limitMs)}`
}

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ')).join('\n')
}

function summary(connections: InspectedConnection[], limitMs: number): string {
  const n = connections.length
  const exposed = connections.filter((c) => c.exposed).length
  return `${n} connection${n === 1 ? '' : 's'}, ${exposed} exposed to a ${limitText(limitMs)} idle limit`
}

function human(connections: InspectedConnection[], limitMs: number): string {
  const rows = [['FD', 'LOCAL', 'REMOTE', 'STATE', 'KEEPALIVE', 'IDLE', 'INTERVAL', 'COUNT', 'USER-TIMEOUT', 'RTT', 'UNACKED', 'PROBES', 'EXPOSED']]
  for (const c of connections) {
    const k = c.keepalive
    const t = c.tcpInfo
    rows.push([
      String(c.fd),
      c.local,
      c.remote,
      c.state ?? '?',
      k.enabled === null ? '?' : k.enabled ? 'on' : 'off',
      duration(k.idle),
      duration(k.interval),
      k.count === null ? '?' : String(k.count),
      k.userTimeout === 0 ? 'default' : duration(k.userTimeout),
      t.rtt === null ? '?' : `${t.rtt}ms`,
      t.unacked === null ? '?' : String(t.unacked),
      t.keepaliveProbes === null ? '?' : String(t.keepaliveProbes),
      why(c, limitMs),
    ])
  }
  return `${connections.length > 0 ? `${table(rows)}\n` : ''}${summary(connections, limitMs)}\n`
}

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export function run(argv: string[], out: (text: string) => void, err: (text: string) => void): number {
  if (argv[0] === 'node-options') return runNodeOptions(argv.slice(1), out, err)
  let args: Args
  try {
    args = parseArgs(argv)
  } catch (e) {
    err(`tcp-keepalive: ${(e as Error).message}\n`)
    return 2
  }
  try {
    const connections = inspectProcess(args.pid, args.limitMs)
    out(args.json ? `${JSON.stringify(connections, null, 2)}\n` : human(connections, args.limitMs))
    return 0
  } catch (e) {
    err(`tcp-keepalive inspect: ${(e as Error).message}\n`)
    return 1
  }
}

if (require.main === module) {
  process.exitCode = run(
    process.argv.slice(2),
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  )
}
