// tcp-keepalive node-options [--check]
// The NODE_OPTIONS value that preloads this installation from any working
// directory. `--import tcp-keepalive/register` is resolved from each process's
// cwd, so a health check, `docker exec` or a child after process.chdir() dies
// with ERR_MODULE_NOT_FOUND; an absolute path to a fixed file cannot.
// `--require` rather than `--import`: it runs for ESM and CommonJS apps alike,
// on every Node line the package supports, and in every worker.
import fs = require('node:fs')
import path = require('node:path')

/** The preload at a fixed place in the package (package.json `files`). */
const PRELOAD_FILE = 'register.cjs'

/** This package's root: the nearest directory up from here whose package.json is ours. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }
      if (pkg.name === 'tcp-keepalive' && fs.existsSync(path.join(dir, PRELOAD_FILE))) return dir
    } catch {
      // no package.json here: keep going up
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the tcp-keepalive package above ${from}`)
  }
}

/**
 * The path to print. Node hands modules their real path, which under pnpm
 * (node_modules/.pnpm/tcp-keepalive@1.2.3/...) or a link changes with every
 * upgrade; the project's own node_modules/tcp-keepalive survives upgrades, so
 * it is preferred when it leads to this same package.
 */
function preloadPath(root: string = packageRoot(), cwd: string = process.cwd()): string {
  const linked = path.join(cwd, 'node_modules', 'tcp-keepalive')
  try {
    if (fs.realpathSync(linked) === fs.realpathSync(root)) return path.join(linked, PRELOAD_FILE)
  } catch {
    // no such link in cwd: the package's own path
  }
  return path.join(root, PRELOAD_FILE)
}

/**
 * One NODE_OPTIONS argument. Node splits NODE_OPTIONS at spaces outside
 * double quotes and, inside them only, takes a backslash as escaping the next
 * character; anything beyond a plain path is quoted that way.
 */
export function quoteNodeOption(value: string): string {
  if (/^[A-Za-z0-9_./:@+,=%~-]+$/.test(value)) return value
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** NODE_OPTIONS split as Node splits it (spaces outside double quotes; backslash escapes inside). */
export function splitNodeOptions(text: string): string[] {
  const args: string[] = []
  let current: string | null = null
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted && c === '\\' && i + 1 < text.length) current = (current ?? '') + (text[++i] as string)
    else if (c === '"') {
      quoted = !quoted
      current ??= ''
    } else if (c === ' ' && !quoted) {
      if (current !== null) args.push(current)
      current = null
    } else current = (current ?? '') + c
  }
  if (current !== null) args.push(current)
  return args
}

function requiredFiles(args: string[]): string[] {
  const files: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if ((a === '-r' || a === '--require') && i + 1 < args.length) files.push(args[++i] as string)
    else if (a.startsWith('--require=')) files.push(a.slice('--require='.length))
  }
  return files
}

function nodeOptionsValue(file: string = preloadPath()): string {
  return `--require ${quoteNodeOption(file)}`
}

/** Runs `node-options [--check]` (argv after the command); returns the exit code. */
export function runNodeOptions(argv: string[], out: (text: string) => void, err: (text: string) => void, env: NodeJS.ProcessEnv = process.env): number {
  const check = argv[0] === '--check'
  const extra = argv.slice(check ? 1 : 0)
  if (extra.length > 0) {
    err(`tcp-keepalive: unexpected argument "${extra[0] as string}"; usage: tcp-keepalive node-options [--check]\n`)
    return 2
  }
  const value = nodeOptionsValue()
  if (!check) {
    out(`${value}\n`)
    return 0
  }
  // The build-time check: NODE_OPTIONS as set (e.g. by a Dockerfile's ENV) preloads this package's file.
  const wanted = fs.realpathSync(path.join(packageRoot(), PRELOAD_FILE))
  const preloads = requiredFiles(splitNodeOptions(env.NODE_OPTIONS ?? ''))
  if (preloads.some((f) => path.isAbsolute(f) && fs.existsSync(f) && fs.realpathSync(f) === wanted)) {
    out(`NODE_OPTIONS preloads ${wanted}\n`)
    return 0
  }
  err(`tcp-keepalive node-options --check: NODE_OPTIONS is ${JSON.stringify(env.NODE_OPTIONS ?? '')}; for this installation it must contain: ${value}\n`)
  return 1
}
