// Test runners give every test file a fresh vm context (Jest 29 and 30;
// vitest's vmThreads and vmForks pools), so a process loads this package once
// per file, in a realm whose built-ins (Float64Array, globalThis) are not the
// addon's. The addon must load in every one of them, and the process must hold
// ONE hook set whatever the number of contexts. Each runner (from npm, this
// package's devDependencies) runs 200 generated test files in one process;
// each file installs without undoing it, opens a loopback connection and
// records what it saw, the kernel's view (getsockopt from another process)
// for some of them.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { notRun, sockoptObserver } from '../helpers/kernel'
import { harness, root } from '../helpers/paths'

const FILES = 200
const dir = mkdtempSync(join(tmpdir(), 'tka-runners-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const peek = join(harness, 'observe', 'peek_sockopt.py')

interface Seen {
  file: number
  native: boolean
  reason: string | null
  /** Subscribers of net.server.socket and net.client.socket (Node's channel objects are process-wide). */
  subscribers: [number, number]
  /** Layers between a connect() call and Node's own connect: wrappers of Socket.prototype.connect. */
  layers: number
  api: { enabled: boolean; idle: number }
  kernel: { enabled: boolean; idle: number } | null
}

// One test file's body, CJS (Jest) or ESM (vitest); `load` brings the package in.
function body(i: number, results: string, load: string, head: string): string {
  return `${head}
${load}
test('context ${i}', async () => {
  k.install({ idle: 7000 })
  Error.stackTraceLimit = Infinity
  let layers = -1
  try { new net.Socket().connect({}) } catch (e) {
    const lines = String(e.stack).split('\\n')
    const end = lines.findIndex((l) => l.includes('context-${i}.test'))
    layers = lines.slice(1, end).filter((l) => !l.includes('(node:')).length
  }
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  const s = net.connect(server.address().port, '127.0.0.1')
  await new Promise((r) => s.once('connect', r))
  await new Promise((r) => setImmediate(r))
  const { enabled, idle } = k.getKeepAlive(s)
  let kernel = null
  if (${i % 50 === 0 || i === FILES - 1}) {
    const r = cp.spawnSync('python3', [${JSON.stringify(peek)}], { stdio: ['ignore', 'pipe', 'pipe', s._handle.fd], encoding: 'utf8' })
    if (r.status === 0) { const v = JSON.parse(r.stdout); kernel = { enabled: v.enabled, idle: v.idle } }
  }
  s.destroy()
  server.close()
  const count = (name) => dc.channel(name)._subscribers?.length ?? (dc.channel(name).hasSubscribers ? 1 : 0)
  fs.appendFileSync(${JSON.stringify(results)}, JSON.stringify({
    file: ${i}, native: k.capabilities.native, reason: k.capabilities.reason ?? null,
    subscribers: [count('net.server.socket'), count('net.client.socket')], layers, api: { enabled, idle }, kernel,
  }) + '\\n')
})
`
}

function project(name: string, esm: boolean): { dir: string; results: string } {
  const d = join(dir, name)
  mkdirSync(d, { recursive: true })
  const results = join(d, 'results.jsonl')
  writeFileSync(join(d, 'package.json'), JSON.stringify({ name: `runner-${name}`, private: true, type: esm ? 'module' : 'commonjs' }))
  for (let i = 0; i < FILES; i++) {
    const text = esm
      ? body(i, results, `import k from ${JSON.stringify(join(root, 'dist', 'esm', 'index.mjs'))}`, "import { test } from 'vitest'\nimport net from 'node:net'\nimport dc from 'node:diagnostics_channel'\nimport fs from 'node:fs'\nimport cp from 'node:child_process'")
      : body(i, results, `const k = require(${JSON.stringify(join(root, 'dist', 'cjs', 'index.js'))})`, "const net = require('node:net')\nconst dc = require('node:diagnostics_channel')\nconst fs = require('node:fs')\nconst cp = require('node:child_process')")
    writeFileSync(join(d, `context-${i}.test.${esm ? 'mjs' : 'js'}`), text)
  }
  if (esm) writeFileSync(join(d, 'vitest.config.mjs'), "export default { test: { include: ['*.test.mjs'] } }\n")
  return { dir: d, results }
}

interface Run {
  status: number | null
  stderr: string
}

// Asynchronous, so that the four runners (separate processes, separate
// directories) run side by side: each is one single-threaded process.
async function runner(args: string[], cwd: string): Promise<Run> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const timer = setTimeout(() => child.kill(), 300_000)
  try {
    const [status] = (await once(child, 'exit')) as [number | null]
    return { status, stderr }
  } finally {
    clearTimeout(timer)
  }
}

function judge(run: Run, results: string): void {
  expect(run.status, run.stderr.slice(-2000)).toBe(0)
  const seen = readFileSync(results, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Seen)
  expect(seen).toHaveLength(FILES)
  // The addon in every realm, with a reason that says what failed when it does.
  expect(seen.filter((s) => !s.native).map((s) => `${s.file}: ${s.reason}`)).toEqual([])
  // One hook set for the process: one subscriber per channel, at most one wrapper, in the last context as in the first.
  const subscribers = Math.max(...seen.map((s) => s.subscribers[0]))
  const layers = Math.max(...seen.map((s) => s.layers))
  expect(subscribers).toBe(1)
  expect(layers).toBeLessThanOrEqual(1)
  expect(seen.filter((s) => s.subscribers[1] > 1)).toEqual([])
  // Every connection configured by the newest install.
  expect(seen.filter((s) => !(s.api.enabled && s.api.idle === 7000)).map((s) => s.file)).toEqual([])
  const kernel = seen.filter((s) => s.kernel !== null)
  if (!sockoptObserver.available) notRun(sockoptObserver)
  else {
    expect(kernel.length).toBeGreaterThanOrEqual(4)
    for (const s of kernel) expect(s.kernel, `context ${s.file}`).toEqual({ enabled: true, idle: 7000 })
  }
}

const env = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' }

/** Runs a runner's bin in its project and judges what its test files saw. */
async function runIn(p: ReturnType<typeof project>, bin: string, args: string[]): Promise<void> {
  judge(await runner([bin, ...args], p.dir), p.results)
}

describe.concurrent(`${FILES} test files, one process`, () => {
  for (const jest of ['jest29', 'jest30']) {
    it(`${jest} (${(JSON.parse(readFileSync(join(root, 'node_modules', jest, 'package.json'), 'utf8')) as { version: string }).version}), --runInBand`, async () => {
      const p = project(jest, false)
      await runIn(p, join(root, 'node_modules', jest, 'bin', 'jest.js'), ['--rootDir', p.dir, '--runInBand', '--transform', '{}', '--ci'])
    }, 320_000)
  }
  for (const pool of ['vmThreads', 'vmForks']) {
    it(`vitest pool ${pool}, one worker`, async () => {
      const p = project(pool, true)
      await runIn(p, join(root, 'node_modules', 'vitest', 'vitest.mjs'), ['run', '--root', p.dir, '--pool', pool, '--maxWorkers', '1'])
    }, 320_000)
  }
})
