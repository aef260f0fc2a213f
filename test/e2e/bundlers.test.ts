// Bundling an application that imports tcp-keepalive, with the real bundlers
// (esbuild, webpack; devDependencies). Bundled in, the package cannot reach
// its addon: the bundle stops at startup with one line naming the fix, never
// a TypeError and never a silent fallback. Marked external (the README's
// recipes), the bundle loads the installed package and its addon: the socket
// the app opens after install() holds the recommended values in the kernel,
// read from outside (interval, count and user timeout only the addon sets).
import { spawn } from 'node:child_process'
import { buildSync } from 'esbuild'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peekChildSockopt, procObserver } from '../helpers/kernel'
import { heldUnderSpread } from '../helpers/spread'
import { capabilities, recommended } from '../lib'

const root = join(__dirname, '..', '..')

const APP_CJS = `const net = require('node:net')
const { install, capabilities } = require('tcp-keepalive')
install()
const s = net.connect(Number(process.argv[2]), '127.0.0.1', () => {
  console.log(JSON.stringify({ native: capabilities.native, pid: process.pid, fd: s._handle.fd }))
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => s.destroy())
})
`
const APP_ESM = APP_CJS.replace("const net = require('node:net')", "import net from 'node:net'").replace("const { install, capabilities } = require('tcp-keepalive')", "import { install, capabilities } from 'tcp-keepalive'")

let project: string
let server: net.Server
let port: number
beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'tka-bundle-'))
  mkdirSync(join(project, 'node_modules'))
  symlinkSync(root, join(project, 'node_modules', 'tcp-keepalive'), process.platform === 'win32' ? 'junction' : 'dir')
  writeFileSync(join(project, 'app.cjs'), APP_CJS)
  writeFileSync(join(project, 'app.mjs'), APP_ESM)
  server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as net.AddressInfo).port
})
afterAll(() => {
  server.close()
  rmSync(project, { recursive: true, force: true })
})

function bundleEsbuild(entry: string, out: string, format: 'cjs' | 'esm', external: boolean): void {
  // The JS API: the same build as the command line, on every OS.
  buildSync({ absWorkingDir: project, entryPoints: [entry], bundle: true, platform: 'node', format, outfile: join(project, out), logLevel: 'silent', external: external ? ['tcp-keepalive'] : [] })
}

async function bundleWebpack(entry: string, out: string, external: boolean): Promise<void> {
  const { default: webpack } = (await import('webpack')) as unknown as { default: typeof import('webpack') }
  const esm = out.endsWith('.mjs')
  const stats = await new Promise<import('webpack').Stats>((resolve, reject) => {
    webpack(
      {
        mode: 'production',
        target: 'node',
        context: project,
        entry: join(project, entry),
        output: { path: project, filename: out, ...(esm ? { module: true, chunkFormat: 'module', library: { type: 'module' } } : {}) },
        experiments: esm ? { outputModule: true } : {},
        // The recipe: leave the package to node_modules at run time.
        externals: external ? { 'tcp-keepalive': `${esm ? 'module' : 'commonjs'} tcp-keepalive` } : undefined,
        optimization: { minimize: false },
      },
      (err, s) => (err || !s ? reject(err ?? new Error('webpack: no stats')) : resolve(s)),
    )
  })
  if (stats.hasErrors()) throw new Error(`webpack: ${stats.toString('errors-only')}`)
}

/** Runs a bundle; resolves with its exit, stderr and, while its socket is open, the kernel's view of it. */
async function run(file: string): Promise<{ code: number | null; stderr: string; report: { native: boolean } | null; kernel: object | null }> {
  const { NODE_OPTIONS: _n, TCP_KEEPALIVE: _t, ...env } = process.env
  const child = spawn(process.execPath, [file, String(port)], { cwd: project, env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const line = await new Promise<string | null>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string)
    })
    child.once('exit', () => resolve(null))
  })
  let report = null
  let kernel = null
  if (line !== null) {
    const r = JSON.parse(line) as { native: boolean; pid: number; fd: number }
    report = { native: r.native }
    kernel = procObserver.available ? peekChildSockopt(r.pid, r.fd) : null
    child.stdin.end()
  }
  if (child.exitCode === null) await once(child, 'exit')
  return { code: child.exitCode, stderr, report, kernel }
}

function expectStopped(r: Awaited<ReturnType<typeof run>>, label: string): void {
  console.log(`${label}: exit ${String(r.code)}: ${r.stderr.trim()}`)
  expect(r.report, 'the app never ran').toBeNull()
  expect(r.code).toBe(1)
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^tcp-keepalive: this copy was bundled, so its native addon cannot load; mark tcp-keepalive as external/)
  expect(r.stderr).not.toMatch(/TypeError|Cannot find module/)
}

function expectNative(r: Awaited<ReturnType<typeof run>>, label: string): void {
  console.log(`${label}: exit ${String(r.code)}: ${JSON.stringify(r.report)} kernel ${JSON.stringify(r.kernel)}`)
  expect(r.stderr).toBe('')
  expect(r.report).toEqual({ native: true })
  if (r.kernel) expect(r.kernel).toMatchObject(heldUnderSpread({ enabled: true, ...recommended }))
  else if (!procObserver.available) console.log(`observer check not run: ${procObserver.reason ?? ''}`)
  expect(r.code).toBe(0)
}

describe.skipIf(!capabilities.native)('esbuild --bundle --platform=node', () => {
  it.each([
    ['a CommonJS app to CommonJS', 'app.cjs', 'cjs'],
    ['an ESM app to ESM', 'app.mjs', 'esm'],
    ['an ESM app to CommonJS', 'app.mjs', 'cjs'],
  ])('bundled in, %s: stops with one line naming the fix', async (label, entry, format) => {
    const out = `out-esbuild-${entry}-${format}.${format === 'esm' ? 'mjs' : 'cjs'}`
    bundleEsbuild(entry, join('dist-in', out), format as 'cjs' | 'esm', false)
    expectStopped(await run(join('dist-in', out)), `esbuild ${label}`)
  })

  it.each([
    ['CommonJS', 'app.cjs', 'cjs'],
    ['ESM', 'app.mjs', 'esm'],
  ])('--external:tcp-keepalive (%s): the addon loads from node_modules', async (label, entry, format) => {
    const out = `ext-esbuild-${format}.${format === 'esm' ? 'mjs' : 'cjs'}`
    bundleEsbuild(entry, out, format as 'cjs' | 'esm', true)
    expectNative(await run(out), `esbuild --external:tcp-keepalive ${label}`)
  })
})

describe.skipIf(!capabilities.native)('webpack, target node', () => {
  it.each([
    ['a CommonJS app', 'app.cjs', 'dist-in/wp-in.cjs'],
    ['an ESM app to ESM', 'app.mjs', 'dist-in/wp-in.mjs'],
  ])('bundled in, %s: stops with one line naming the fix', async (label, entry, out) => {
    await bundleWebpack(entry, out, false)
    expectStopped(await run(out), `webpack ${label}`)
  })

  it.each([
    ['CommonJS', 'app.cjs', 'wp-ext.cjs'],
    ['ESM', 'app.mjs', 'wp-ext.mjs'],
  ])("externals: { 'tcp-keepalive': ... } (%s): the addon loads from node_modules", async (label, entry, out) => {
    await bundleWebpack(entry, out, true)
    expectNative(await run(out), `webpack externals ${label}`)
  })
})
