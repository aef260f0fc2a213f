// Preload: `node --import tcp-keepalive/register` or `node -r tcp-keepalive/register`
// (also through NODE_OPTIONS). Configures every TCP connection of this thread
// from TCP_KEEPALIVE before the application's first line, or stops the
// process: a service must not start believing it is protected when it is not.
//
// Threads: `-r` runs again in every worker (workers inherit execArgv), and
// `--import` in workers started from a file. Node skips `--import` preloads
// in workers started with `eval: true`, so those are given `--require` of
// this file explicitly. The ESM entry requires this CommonJS file, so the
// preload and `import 'tcp-keepalive'` share one module state.
import { syncBuiltinESMExports } from 'node:module'
import wt = require('node:worker_threads')
import { addonFix } from './addon-warning'
import { capabilities } from './capabilities'
import { parseKeepAliveEnv } from './env'
import { install } from './hooks'

/** Node's own exit code for an invalid argument. */
const EXIT_INVALID = 9

function hasOurRequire(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if ((a === '-r' || a === '--require') && argv[i + 1] === __filename) return true
    if (a === `--require=${__filename}`) return true
  }
  return false
}

let warnedEval = false

function coverEvalWorkers(): void {
  const Original = wt.Worker
  class Worker extends Original {
    constructor(filename: string | URL, options?: wt.WorkerOptions) {
      if (!options?.eval) {
        super(filename, options)
        return
      }
      // Without execArgv a worker inherits ours; naming it explicitly is the
      // only way to add a preload, and a worker refuses process-wide flags
      // (--expose-gc, --max-old-space-size) it would have inherited silently.
      const inherited = options.execArgv === undefined
      const argv = options.execArgv ?? process.execArgv
      if (hasOurRequire(argv)) {
        super(filename, options)
        return
      }
      let refused: Error
      try {
        super(filename, { ...options, execArgv: [...argv, '--require', __filename] })
        return
      } catch (err) {
        if (!inherited || (err as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err
        refused = err as Error
      }
      // The flags a worker refuses are V8's, which act process-wide, so the
      // worker has them anyway: name the rest. Node lists them after ': '.
      const named = new Set(/: (.*)$/.exec(refused.message)?.[1]?.split(', ') ?? [])
      try {
        super(filename, { ...options, execArgv: [...argv.filter((a) => !named.has(a)), '--require', __filename] })
        return
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err
      }
      // Started as asked, uncovered, and said so once.
      super(filename, options)
      if (!warnedEval) {
        warnedEval = true
        process.emitWarning(
          `tcp-keepalive/register: a worker started with eval: true is not configured: adding the preload means naming this process's flags, and a worker refuses some (${refused.message})`,
          { type: 'TcpKeepAliveWarning', code: 'ERR_TCP_KEEPALIVE_WORKER_NOT_COVERED' },
        )
      }
    }
  }
  ;(wt as { Worker: typeof wt.Worker }).Worker = Worker
  // ESM `import { Worker } from 'node:worker_threads'` follows only when told.
  syncBuiltinESMExports()
}

function register(): void {
  let parsed
  try {
    parsed = parseKeepAliveEnv(process.env.TCP_KEEPALIVE)
    if (parsed) install(parsed.options, { server: parsed.server, spread: parsed.spread, origins: parsed.origins === true })
  } catch (err) {
    // One line, no stack: the message names TCP_KEEPALIVE and the bad part.
    // An option refused for want of the addon: the fix goes on the same line.
    const fix = (err as { code?: unknown }).code === 'ERR_TCP_KEEPALIVE_UNSUPPORTED' && !capabilities.native ? ` Fix: ${addonFix()}.` : ''
    process.stderr.write(`tcp-keepalive/register: ${(err as Error).message}${fix}\n`)
    process.exit(EXIT_INVALID)
  }
  if (parsed) coverEvalWorkers()
}

register()
