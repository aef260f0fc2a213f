// `tcp-keepalive node-options`: the NODE_OPTIONS value it prints preloads the
// package from any working directory. A project whose path holds a space
// (the quoting), an app started in an empty directory far from it, and a
// child that app spawns after process.chdir(): each one's socket read by the
// kernel from outside (pidfd_getfd), never by the package under test.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peekChildSockopt, procObserver } from '../helpers/kernel'
import { heldUnderSpread } from '../helpers/spread'

const root = join(__dirname, '..', '..')
const bin = join(root, (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['tcp-keepalive'] as string)

let work: string
let project: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tka-node-options-'))
  // A space and (where the file system allows) double quotes: both need NODE_OPTIONS quoting.
  project = join(work, process.platform === 'win32' ? 'my app dir' : 'my "app" dir')
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  symlinkSync(root, join(project, 'node_modules', 'tcp-keepalive'), process.platform === 'win32' ? 'junction' : 'dir')
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const { NODE_OPTIONS: _n, ...base } = process.env
  return spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...base, ...env }, encoding: 'utf8' })
}

// Parent (ESM): connects, reports, chdirs to a directory without the package,
// spawns the child (CommonJS) there; both hold their sockets until stdin ends.
const PARENT = `import net from 'node:net'
import { spawn } from 'node:child_process'
const [port, elsewhere, childFile] = process.argv.slice(2)
const s = net.connect(Number(port), '127.0.0.1', () => {
  console.log(JSON.stringify({ who: 'parent', pid: process.pid, fd: s._handle.fd, cwd: process.cwd() }))
  process.chdir(elsewhere)
  const child = spawn(process.execPath, [childFile, port], { stdio: ['pipe', 'inherit', 'inherit'] })
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => { child.stdin.end(); s.destroy() })
})
`
const CHILD = `const net = require('node:net')
const s = net.connect(Number(process.argv[2]), '127.0.0.1', () => {
  console.log(JSON.stringify({ who: 'child', pid: process.pid, fd: s._handle.fd, cwd: process.cwd() }))
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => s.destroy())
})
`

describe('tcp-keepalive node-options', () => {
  it('prints --require and the absolute, quoted path of the preload file in the project', () => {
    const r = cli(['node-options'], project)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    // Node's NODE_OPTIONS grammar: double quotes, backslash escapes inside them.
    const expected = `--require "${join(project, 'node_modules', 'tcp-keepalive', 'register.cjs').replace(/[\\"]/g, (c) => `\\${c}`)}"`
    expect(r.stdout).toBe(`${expected}\n`)
  })

  it('--check passes with that value in NODE_OPTIONS, and fails naming the value without it', () => {
    const value = cli(['node-options'], project).stdout.trim()
    expect(cli(['node-options', '--check'], work, { NODE_OPTIONS: value }).status).toBe(0)
    const bad = cli(['node-options', '--check'], work, { NODE_OPTIONS: '--max-old-space-size=200' })
    expect(bad.status).toBe(1)
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(bad.stderr).toContain('--require ')
    expect(cli(['node-options', 'extra'], project).status).toBe(2)
  })

  it('a process started in an empty directory with it is configured, and so is its child after process.chdir()', async (ctx) => {
    if (!procObserver.available) ctx.skip(`no outside observer: ${procObserver.reason ?? ''}`)
    const value = cli(['node-options'], project).stdout.trim()
    const empty = join(work, 'empty')
    const elsewhere = join(work, 'elsewhere')
    const scripts = join(work, 'scripts')
    for (const d of [empty, elsewhere, scripts]) mkdirSync(d, { recursive: true })
    writeFileSync(join(scripts, 'parent.mjs'), PARENT)
    writeFileSync(join(scripts, 'child.cjs'), CHILD)
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    const { NODE_OPTIONS: _n, TCP_KEEPALIVE: _t, ...base } = process.env
    const app = spawn(process.execPath, [join(scripts, 'parent.mjs'), String(port), elsewhere, join(scripts, 'child.cjs')], {
      cwd: empty,
      env: { ...base, NODE_OPTIONS: value, TCP_KEEPALIVE: 'idle=45s,interval=7s,count=4' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    app.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    try {
      const lines = await new Promise<string[]>((resolve, reject) => {
        app.stdout.on('data', (c: Buffer) => {
          stdout += c.toString()
          const l = stdout.split('\n').filter(Boolean)
          if (l.length >= 2) resolve(l)
        })
        app.once('exit', (code) => reject(new Error(`app exited (${String(code)}): ${stderr}`)))
      })
      const seen = lines.map((l) => JSON.parse(l) as { who: string; pid: number; fd: number; cwd: string })
      expect(seen.map((s) => s.who).sort()).toEqual(['child', 'parent'])
      for (const s of seen) {
        expect(s.cwd).toBe(s.who === 'parent' ? empty : elsewhere)
        expect(peekChildSockopt(s.pid, s.fd), s.who).toMatchObject(heldUnderSpread({ enabled: true, idle: 45_000, interval: 7_000, count: 4, userTimeout: 45_000 + 4 * 7_000 }))
      }
      expect(stderr).toBe('')
    } finally {
      app.stdin.end()
      if (app.exitCode === null) await once(app, 'exit')
      server.close()
    }
  })

  it('the same with --import tcp-keepalive/register dies in the empty directory (what the absolute path avoids)', () => {
    const { NODE_OPTIONS: _n, ...base } = process.env
    const r = spawnSync(process.execPath, ['-e', '0'], { cwd: join(work), env: { ...base, NODE_OPTIONS: '--import tcp-keepalive/register' }, encoding: 'utf8' })
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('ERR_MODULE_NOT_FOUND')
  })
})
