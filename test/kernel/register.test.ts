// The tcp-keepalive/register preload: the built package as a user runs it (a project with the
// package in node_modules, node -r / --import / NODE_OPTIONS), each socket of
// the child read by its getKeepAlive and, from outside, by this process
// through pidfd_getfd.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { harness } from '../helpers/paths'
import { peekChildSockopt, peekSockopt } from '../helpers/kernel'
import { connectUnderDefaults, expectApi, RECOMMENDED as R } from '../helpers/expect-api'
import { heldUnderSpread } from '../helpers/spread'
import { getKeepAlive } from '../lib'

const root = join(__dirname, '..', '..')

describe('install() without options', () => {
  it('applies the recommended values, as the kernel holds them', () =>
    connectUnderDefaults((c) => {
      // Drawn per socket within the spread (README, "The spread").
      expectApi(getKeepAlive(c), heldUnderSpread({ enabled: true, ...R }))
      const seen = peekSockopt((c as unknown as { _handle: { fd: number } })._handle.fd)
      if (seen) expect(seen).toMatchObject(heldUnderSpread({ enabled: true, ...R }))
    }))
})

// --- The preload, run as a user runs it ---------------------------------

interface Seen {
  fd: number
  api: { enabled: boolean | null; idle: number | null; interval: number | null; count: number | null; userTimeout: number | null }
}
type Report = Partial<Record<'main' | 'accepted' | 'file' | 'eval', Seen>>

let app: string
beforeAll(() => {
  // A project with the package in node_modules (a link to this checkout's dist/ and package.json).
  app = mkdtempSync(join(tmpdir(), 'tka-register-'))
  mkdirSync(join(app, 'node_modules'))
  symlinkSync(root, join(app, 'node_modules', 'tcp-keepalive'), process.platform === 'win32' ? 'junction' : 'dir')
  cpSync(join(harness, 'register-app'), app, { recursive: true })
})
afterAll(() => rmSync(app, { recursive: true, force: true }))

const running: Array<ReturnType<typeof spawn>> = []
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill()
})

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _n, TCP_KEEPALIVE: _t, ...env } = process.env
  return { ...env, ...extra }
}

/** Runs the fixture app; resolves with its report and a peek at its sockets while they are open. */
async function runApp(cwd: string, args: string[], env: Record<string, string>): Promise<{ report: Report; kernel: Partial<Record<keyof Report, object | null>>; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd, env: baseEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  running.push(child)
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string)
    })
    child.once('exit', (code) => reject(new Error(`app exited (${String(code)}) before reporting: ${stderr}`)))
  })
  const report = JSON.parse(line) as Report
  // From outside: this process borrows each fd from the child (pidfd_getfd).
  const kernel: Partial<Record<keyof Report, object | null>> = {}
  for (const [where, seen] of Object.entries(report) as Array<[keyof Report, Seen]>) kernel[where] = peekChildSockopt(child.pid as number, seen.fd)
  child.stdin.end('x')
  await once(child, 'exit')
  return { report, kernel, stderr }
}

function expectConfigured(r: { report: Report; kernel: Partial<Record<keyof Report, object | null>> }, where: keyof Report, expected: object): void {
  expect(r.report[where], where).toBeDefined()
  expectApi(r.report[where]?.api, expected as Record<string, unknown>, `${where}: getKeepAlive`)
  const seen = r.kernel[where]
  if (seen) expect(seen, `${where}: kernel`).toMatchObject(expected)
}

const OFF = { enabled: false }
const ON = heldUnderSpread({ enabled: true, ...R })

describe('tcp-keepalive/register', () => {
  it('--import, TCP_KEEPALIVE unset: recommended defaults in the main thread and in file and eval: true workers', async () => {
    const r = await runApp(app, ['--import', 'tcp-keepalive/register', 'app.mjs', 'main,file,eval'], {})
    for (const where of ['main', 'file', 'eval'] as const) expectConfigured(r, where, ON)
    // Accepted sockets only with server=true.
    expect(r.report.accepted?.api.enabled).toBe(false)
    if (r.kernel.accepted) expect(r.kernel.accepted).toMatchObject(OFF)
    expect(r.stderr).toBe('')
  })

  it('-r with a CommonJS app and explicit values', async () => {
    const r = await runApp(app, ['-r', 'tcp-keepalive/register', 'app.cjs', 'main,file,eval'], { TCP_KEEPALIVE: 'idle=5s,interval=2s,count=3' })
    // userTimeout not given: idle + interval x count.
    for (const where of ['main', 'file', 'eval'] as const) expectConfigured(r, where, { enabled: true, idle: 5000, interval: 2000, count: 3, userTimeout: 11_000 })
  })

  it.each([['--import'], ['-r']])('NODE_OPTIONS="%s tcp-keepalive/register" with server=true also configures accepted sockets', async (flag) => {
    const r = await runApp(app, ['app.mjs', 'main,file,eval'], { NODE_OPTIONS: `${flag} tcp-keepalive/register`, TCP_KEEPALIVE: 'server=true' })
    for (const where of ['main', 'accepted', 'file', 'eval'] as const) expectConfigured(r, where, ON)
  })

  it('off installs nothing, and without the preload nothing is configured either', async () => {
    const off = await runApp(app, ['--import', 'tcp-keepalive/register', 'app.mjs', 'main,file,eval'], { TCP_KEEPALIVE: 'off' })
    const none = await runApp(app, ['app.mjs', 'main,file,eval'], { TCP_KEEPALIVE: 'on' })
    for (const r of [off, none]) for (const where of ['main', 'file', 'eval'] as const) expectConfigured(r, where, { ...r.report[where]?.api, enabled: false })
  })

  it('shares one module state with import "tcp-keepalive": a later install() replaces the preload\'s', async () => {
    // The app calls install({}, { client: false }): with one state its client socket is left alone.
    const r = await runApp(app, ['--import', 'tcp-keepalive/register', 'app.mjs', 'reinstall,main'], {})
    expect(r.report.main?.api.enabled).toBe(false)
    if (r.kernel.main) expect(r.kernel.main).toMatchObject(OFF)
  })

  it('eval: true workers are covered when the process has flags a worker refuses (--expose-gc)', async () => {
    const r = await runApp(app, ['--expose-gc', '--import', 'tcp-keepalive/register', 'app.mjs', 'eval'], {})
    expectConfigured(r, 'eval', ON)
    expect(r.stderr).toBe('')
  })

  it.each([
    ['--import', 'app.mjs'],
    ['-r', 'app.cjs'],
  ])('a typo stops the process at startup (%s): exit 9, one line naming TCP_KEEPALIVE, the part and the option meant', (flag, script) => {
    const r = spawnSync(process.execPath, [flag, 'tcp-keepalive/register', script, 'main'], {
      cwd: app,
      env: baseEnv({ TCP_KEEPALIVE: 'idle=60s,intreval=10s,count=6' }),
      encoding: 'utf8',
      input: 'x',
    })
    expect(r.status).toBe(9)
    expect(r.stdout).toBe('') // the app never ran
    expect(r.stderr).toBe(
      'tcp-keepalive/register: TCP_KEEPALIVE: unknown option "intreval" in "intreval=10s"; did you mean "interval"? Options: idle, interval, count, userTimeout, server, spread, origins\n',
    )
  })

  it('an out-of-range value stops it too, with the API\'s range message', () => {
    const r = spawnSync(process.execPath, ['--import', 'tcp-keepalive/register', 'app.mjs'], { cwd: app, env: baseEnv({ TCP_KEEPALIVE: 'count=0' }), encoding: 'utf8', input: 'x' })
    expect(r.status).toBe(9)
    expect(r.stdout).toBe('')
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^tcp-keepalive\/register: TCP_KEEPALIVE: "count=0": The value of "TCP_KEEPALIVE.count" is out of range\. It must be >= 1 && <= \d+ \(probes, \w+\)\. Received 0\n$/)
  })
})

describe('tcp-keepalive/register without the native addon', () => {
  // A copy of the package with no build/ and no prebuilds/, as on a platform
  // with neither: only the idle time can be set (through Node).
  let bare: string
  beforeAll(() => {
    bare = mkdtempSync(join(tmpdir(), 'tka-register-bare-'))
    const pkg = join(bare, 'node_modules', 'tcp-keepalive')
    cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true })
    cpSync(join(root, 'package.json'), join(pkg, 'package.json'))
    cpSync(join(root, 'node_modules', 'node-gyp-build'), join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true })
    cpSync(join(harness, 'register-app'), bare, { recursive: true })
  })
  afterAll(() => rmSync(bare, { recursive: true, force: true }))
  // Without the override node-gyp-build honours, which would point it at an addon elsewhere.
  const noOverride = { TCP_KEEPALIVE_PREBUILD: '' }

  it('the defaults degrade to what can be set: idle 20 s (spread: 18-20 s), the rest left to the OS', async () => {
    const r = await runApp(bare, ['--import', 'tcp-keepalive/register', 'app.mjs', 'main'], noOverride)
    expect(r.report.main?.api).toEqual({ enabled: null, idle: null, interval: null, count: null, userTimeout: null })
    if (r.kernel.main) expect(r.kernel.main).toMatchObject(heldUnderSpread({ enabled: true, idle: 20_000 }))
    console.log(`  without the addon, TCP_KEEPALIVE unset: ${JSON.stringify(r.kernel.main)}`)
  })

  it('an explicit option it cannot honour stops the process', () => {
    const r = spawnSync(process.execPath, ['--import', 'tcp-keepalive/register', 'app.mjs'], { cwd: bare, env: baseEnv({ ...noOverride, TCP_KEEPALIVE: 'idle=20s,interval=5s' }), encoding: 'utf8', input: 'x' })
    expect(r.status).toBe(9)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^tcp-keepalive\/register: TCP_KEEPALIVE: "interval=5s": The option "TCP_KEEPALIVE.interval" is not supported without the native addon \(.*\)\.\n$/)
  })
})
