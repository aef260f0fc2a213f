#!/usr/bin/env node
// tcp-keepalive inspect PID [--idle-limit 350s] [--json] [--by remote] [--watch 5s [--count N]]
// tcp-keepalive node-options [--check] (node-options.ts)
// Every failure is one line on stderr, never a stack trace. Exit status (also
// in --help): 0 nothing exposed, 3 something exposed, 4 something unread,
// 1 the process could not be inspected, 2 bad arguments.
import { HELP, parseArgs, UsageError, type Args } from './args'
import { inspect, type InspectedConnection } from './inspect'
import { runNodeOptions } from './node-options'
import { grouped, groups, human, knownExposed } from './render'
import { jsonLine, Watcher } from './watch'

export { parseDuration } from './args'
export { summary } from './render'

export const EXIT = { ok: 0, failed: 1, usage: 2, exposed: 3, incomplete: 4 } as const

/** What a health check acts on: exposed for certain, or not known everywhere. */
export function exitStatus(connections: InspectedConnection[], limitMs: number): number {
  let incomplete = false
  for (const c of connections) {
    if (knownExposed(c, limitMs)) return EXIT.exposed
    if (c.exposed) incomplete = true
  }
  return incomplete ? EXIT.incomplete : EXIT.ok
}

type Write = (text: string) => void

function once(args: Args, out: Write, err: Write): number {
  const { connections, notes } = inspect(args.pid, args.limitMs, args.options)
  if (args.json) out(`${JSON.stringify(args.by ? groups(connections, args.limitMs) : connections, null, 2)}\n`)
  else out(args.by ? grouped(connections, args.limitMs) : human(connections, args.limitMs))
  for (const note of notes) err(`tcp-keepalive inspect: ${note}\n`)
  return exitStatus(connections, args.limitMs)
}

async function watch(args: Args, out: Write, err: Write, stop: AbortSignal): Promise<number> {
  const watcher = new Watcher(args.limitMs, args.watchMs as number)
  let status: number = EXIT.ok
  const told = new Set<string>()
  for (let n = 0; args.count === null || n < args.count; n++) {
    if (n > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, args.watchMs as number)
        stop.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
      })
    }
    if (stop.aborted) break
    const sample = { time: new Date(), inspection: inspect(args.pid, args.limitMs, args.options) }
    out(args.json ? jsonLine(sample) : watcher.render(sample))
    for (const note of sample.inspection.notes) {
      if (told.has(note)) continue
      told.add(note)
      err(`tcp-keepalive inspect: ${note}\n`)
    }
    status = exitStatus(sample.inspection.connections, args.limitMs)
  }
  return status
}

/**
 * Runs the command line `argv` (without node and the script); returns the
 * exit status, or a promise of it with --watch (stopped early by `stop`).
 */
export function run(argv: string[], out: Write, err: Write, stop?: AbortSignal): number | Promise<number> {
  if (argv[0] === 'node-options') return runNodeOptions(argv.slice(1), out, err)
  let args: Args
  try {
    args = parseArgs(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    err(`tcp-keepalive: ${e.message}\n`)
    return EXIT.usage
  }
  if (args.help) {
    out(HELP)
    return EXIT.ok
  }
  const failed = (e: unknown): number => {
    err(`tcp-keepalive inspect: ${(e as Error).message}\n`)
    return EXIT.failed
  }
  if (args.watchMs === null) {
    try {
      return once(args, out, err)
    } catch (e) {
      return failed(e)
    }
  }
  return watch(args, out, err, stop ?? new AbortController().signal).catch(failed)
}

if (require.main === module) {
  const stop = new AbortController()
  // The first Ctrl-C ends the watch after the sample in progress; a second one is Node's default.
  process.once('SIGINT', () => stop.abort())
  const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text)
  void Promise.resolve(run(process.argv.slice(2), write(process.stdout), write(process.stderr), stop.signal)).then((code) => {
    process.exitCode = code
    // Nothing else keeps the process: the SIGINT listener is no reason to stay.
    process.removeAllListeners('SIGINT')
  })
}
