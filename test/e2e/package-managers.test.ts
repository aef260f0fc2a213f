// The packed package installed by the real package managers with install
// scripts blocked and no compiler on PATH, as pnpm 10 and Bun do by default
// and npm, yarn 1 and Yarn 4 do when told: with a prebuild for this platform
// the addon loads anyway (judged from the kernel: interval, count and user
// timeout hold the recommended values, which only the addon sets on Node 20);
// without one, the preload plus a later install() print exactly one
// TcpKeepAliveWarning naming the fix for that manager.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peekChildSockopt, procObserver } from '../helpers/kernel'
import { newestCached } from '../helpers/runtimes'
import { heldUnderSpread } from '../helpers/spread'
import { recommended } from '../lib'

const root = join(__dirname, '..', '..')
const linuxX64 = process.platform === 'linux' && process.arch === 'x64'
// The addon this checkout built (node-gyp), else its prebuild (prebuildify removes build/).
const addon = [join(root, 'build', 'Release', 'tcp_keepalive.node'), join(root, 'prebuilds', 'linux-x64', 'tcp-keepalive.node')].find((f) => existsSync(f)) ?? ''
const registry = 'https://registry.npmjs.org/'

type Pm = 'npm' | 'pnpm' | 'yarn1' | 'yarn-berry' | 'bun'
const FIX: Record<Pm, string> = {
  npm: 'npm install-scripts approve tcp-keepalive',
  pnpm: 'pnpm approve-builds',
  yarn1: 'yarn install --force',
  'yarn-berry': 'yarn rebuild tcp-keepalive',
  bun: 'bun pm trust tcp-keepalive',
}

function managers(): Partial<Record<Pm, string>> {
  const found: Partial<Record<Pm, string>> = { npm: 'npm' }
  const r = spawnSync('bash', [join(root, 'test', 'harness', 'platforms', 'fetch-package-managers.sh')], { encoding: 'utf8' })
  for (const line of r.stdout.split('\n')) {
    const [name, path] = line.split(' ')
    if (name && path) found[name as Pm] = path
  }
  const bun = newestCached('oven-bun-linux-x64-', 'package/bin/bun')
  if (bun) found.bun = bun
  return found
}

// Packing and fetching need npm, tar and bash; a locked-down runner may have none of them.
const tools = spawnSync('sh', ['-c', 'command -v npm && command -v tar && command -v bash'], { encoding: 'utf8' })
const missingTools = tools.status === 0 ? null : 'needs npm, tar and bash on PATH'

let work: string
let pms: Partial<Record<Pm, string>> = {}
const tarballs = { prebuild: '', none: '' }
let bin: string
beforeAll(() => {
  if (!linuxX64 || !addon || missingTools) return
  work = mkdtempSync(join(tmpdir(), 'tka-pm-'))
  pms = managers()
  // The tarball as published, once with this platform's prebuild, once without any.
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1) as string
  const x = join(work, 'x')
  mkdirSync(x)
  execFileSync('tar', ['-xzf', join(work, packed), '-C', x])
  rmSync(join(x, 'package', 'prebuilds'), { recursive: true, force: true })
  tarballs.none = join(work, 'none.tgz')
  execFileSync('tar', ['-czf', tarballs.none, 'package'], { cwd: x })
  mkdirSync(join(x, 'package', 'prebuilds', 'linux-x64'), { recursive: true })
  copyFileSync(addon, join(x, 'package', 'prebuilds', 'linux-x64', 'tcp-keepalive.node'))
  tarballs.prebuild = join(work, 'prebuild.tgz')
  execFileSync('tar', ['-czf', tarballs.prebuild, 'package'], { cwd: x })
  // node, npm and a shell; nothing that compiles.
  bin = join(work, 'bin')
  mkdirSync(bin)
  for (const tool of ['node', 'npm', 'sh']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool))
}, 120_000)
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

// Asynchronous, so that the managers install side by side: each case has its
// own directory (and yarn 1 its own cache), and mostly waits on the registry.
async function installWith(pm: Pm, tool: string, tarball: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "name": "app", "version": "1.0.0", "private": true }\n')
  const env = { ...process.env, PATH: bin, npm_config_registry: registry, BUN_CONFIG_REGISTRY: registry, YARN_ENABLE_TELEMETRY: '0' }
  const run = async (file: string, args: string[]): Promise<void> => {
    const child = spawn(file, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const [status] = (await once(child, 'close')) as [number | null]
    if (status !== 0) throw new Error(`${pm} install failed (${String(status)}): ${out}`)
  }
  if (pm === 'npm') await run(join(bin, 'npm'), ['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball])
  else if (pm === 'pnpm') await run(join(bin, 'node'), [tool, 'add', tarball]) // pnpm 10 blocks the script by default
  else if (pm === 'yarn1') await run(join(bin, 'node'), [tool, 'add', '--ignore-scripts', '--registry', registry, '--cache-folder', `${dir}-yarn1-cache`, `file:${tarball}`])
  else if (pm === 'yarn-berry') {
    writeFileSync(join(dir, '.yarnrc.yml'), `nodeLinker: node-modules\nenableScripts: false\nnpmRegistryServer: "${registry.replace(/\/$/, '')}"\nenableGlobalCache: false\nenableTelemetry: false\n`)
    await run(join(bin, 'node'), [tool, 'add', `tcp-keepalive@file:${tarball}`])
  } else await run(tool, ['add', tarball]) // Bun blocks untrusted scripts by default
}

const APP = `const net = require('node:net')
const { install, capabilities } = require('tcp-keepalive')
install() // the preload installed already: one warning for both
const s = net.connect(Number(process.argv[2]), '127.0.0.1', () => {
  console.log(JSON.stringify({ native: capabilities.native, pid: process.pid, fd: s._handle.fd }))
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => s.destroy())
})
`

async function runApp(dir: string): Promise<{ native: boolean; kernel: object | null; stderr: string }> {
  writeFileSync(join(dir, 'app.cjs'), APP)
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { NODE_OPTIONS: _n, ...base } = process.env
  const child = spawn(process.execPath, ['-r', 'tcp-keepalive/register', 'app.cjs', String((server.address() as net.AddressInfo).port)], {
    cwd: dir,
    env: { ...base, TCP_KEEPALIVE: 'on' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string)
      })
      child.once('exit', (code) => reject(new Error(`app exited (${String(code)}): ${stderr}`)))
    })
    const r = JSON.parse(line) as { native: boolean; pid: number; fd: number }
    const kernel = procObserver.available ? peekChildSockopt(r.pid, r.fd) : null
    child.stdin.end()
    await once(child, 'exit')
    return { native: r.native, kernel, stderr }
  } finally {
    if (child.exitCode === null) child.kill()
    server.close()
  }
}

describe.concurrent.each(['npm', 'pnpm', 'yarn1', 'yarn-berry', 'bun'] as const)('%s, install scripts blocked, no compiler', (pm) => {
  it.for<'prebuild' | 'none'>(['prebuild', 'none'])('tarball with %s for linux-x64', { timeout: 180_000 }, async (which, ctx) => {
    if (!linuxX64) ctx.skip('the prebuild case needs linux-x64')
    if (!addon) ctx.skip('no addon built here: run npm run build')
    if (missingTools) ctx.skip(missingTools)
    const tool = pms[pm]
    if (!tool) ctx.skip(`${pm} could not be fetched from the registry`)
    const dir = join(work, `${pm}-${which}`)
    await installWith(pm, tool as string, tarballs[which], dir)
    expect(existsSync(join(dir, 'node_modules', 'tcp-keepalive', 'build')), 'no install script ran').toBe(false)
    const r = await runApp(dir)
    const warnings = r.stderr.split('\n').filter((l) => l.includes('[TCP_KEEPALIVE_ADDON_MISSING]'))
    console.log(`${pm} ${which}: native=${String(r.native)} warnings=${warnings.length} kernel=${JSON.stringify(r.kernel)}`)
    if (which === 'prebuild') {
      expect(r.native).toBe(true)
      expect(warnings).toEqual([])
      // Only the addon sets these on Node 20 (its own setKeepAlive forces 1 s and 10).
      if (r.kernel) expect(r.kernel).toMatchObject(heldUnderSpread({ enabled: true, ...recommended }))
      else if (!procObserver.available) console.log(`observer check not run: ${procObserver.reason ?? ''}`)
    } else {
      expect(r.native).toBe(false)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(FIX[pm])
      expect(warnings[0]).toMatch(/interval, count and user timeout are left to the OS/)
      if (r.kernel) expect(r.kernel).toMatchObject(heldUnderSpread({ enabled: true, idle: 20_000 }))
      // An explicit option only the addon sets stops the preload, with the same fix on its one line.
      const { NODE_OPTIONS: _n, ...base } = process.env
      const strict = spawn(process.execPath, ['-r', 'tcp-keepalive/register', '-e', '0'], { cwd: dir, env: { ...base, TCP_KEEPALIVE: 'userTimeout=60s' }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      strict.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const [status] = (await once(strict, 'close')) as [number | null]
      expect(status).toBe(9)
      expect(stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(stderr).toContain(FIX[pm])
    }
  })
})
