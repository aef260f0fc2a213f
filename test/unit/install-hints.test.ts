// The pure parts of items a user meets at install time: which package manager
// installed the package (from real directory layouts and lockfiles), and the
// NODE_OPTIONS quoting of `tcp-keepalive node-options`, checked against a
// splitter written to Node's documented NODE_OPTIONS rules.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const dist = join(__dirname, '..', '..', 'dist', 'cjs')
const load = createRequire(__filename)
const hints = load(join(dist, 'addon-warning.js')) as typeof import('../../src/addon-warning')
const nodeOptions = load(join(dist, 'cli', 'node-options.js')) as typeof import('../../src/cli/node-options')

const work = mkdtempSync(join(tmpdir(), 'tka-hints-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** A project with `files` at its top and the package installed at `pkgPath` inside it. */
function project(name: string, files: string[], pkgPath = 'node_modules/tcp-keepalive'): string {
  const dir = join(work, name)
  mkdirSync(join(dir, pkgPath), { recursive: true })
  for (const f of files) writeFileSync(join(dir, f), '')
  return join(dir, pkgPath)
}

describe('detectPackageManager', () => {
  const noAgent = {}
  it.each([
    ['pnpm store layout', project('a', [], 'node_modules/.pnpm/tcp-keepalive@1.0.0/node_modules/tcp-keepalive'), 'pnpm'],
    ['Yarn unplugged', project('b', [], '.yarn/unplugged/tcp-keepalive-npm-1.0.0-abc/node_modules/tcp-keepalive'), 'yarn-berry'],
    ['Bun isolated store', project('c', [], 'node_modules/.bun/tcp-keepalive@1.0.0/node_modules/tcp-keepalive'), 'bun'],
    ['pnpm-lock.yaml', project('d', ['package.json', 'pnpm-lock.yaml']), 'pnpm'],
    ['bun.lock', project('e', ['package.json', 'bun.lock']), 'bun'],
    ['bun.lockb', project('f', ['package.json', 'bun.lockb']), 'bun'],
    ['yarn.lock and .yarnrc.yml', project('g', ['package.json', 'yarn.lock', '.yarnrc.yml']), 'yarn-berry'],
    ['yarn.lock alone', project('h', ['package.json', 'yarn.lock']), 'yarn1'],
    ['package-lock.json', project('i', ['package.json', 'package-lock.json']), 'npm'],
  ])('%s', (_label, root, expected) => {
    expect(hints.detectPackageManager(root, noAgent)).toBe(expected)
  })

  it('no layout and no lockfile: the user agent of the running manager, else unknown', () => {
    const root = project('j', ['package.json'])
    expect(hints.detectPackageManager(root, { npm_config_user_agent: 'pnpm/10.34.9 npm/? node/v20.20.2 linux x64' })).toBe('pnpm')
    expect(hints.detectPackageManager(root, { npm_config_user_agent: 'yarn/1.22.22 npm/? node/v20.20.2 linux x64' })).toBe('yarn1')
    expect(hints.detectPackageManager(root, { npm_config_user_agent: 'yarn/4.18.1 npm/? node/v20.20.2 linux x64' })).toBe('yarn-berry')
    expect(hints.detectPackageManager(root, {})).toBeNull()
  })

  it('the fix names each manager\'s own command, and every one when unknown', () => {
    expect(hints.fixFor('pnpm')).toContain('pnpm approve-builds')
    expect(hints.fixFor('bun')).toContain('bun pm trust tcp-keepalive')
    expect(hints.fixFor('npm')).toContain('npm install-scripts approve tcp-keepalive')
    const all = hints.fixFor(null)
    for (const cmd of ['npm install-scripts approve', 'pnpm approve-builds', 'yarn install --force', 'yarn rebuild tcp-keepalive', 'bun pm trust']) expect(all).toContain(cmd)
    expect(all).toContain('C++ compiler')
  })
})

describe('NODE_OPTIONS quoting', () => {
  it.each([
    ['/app/node_modules/tcp-keepalive/register.cjs', '/app/node_modules/tcp-keepalive/register.cjs'],
    ['/srv/my app/register.cjs', '"/srv/my app/register.cjs"'],
    ['/srv/a "b"/register.cjs', '"/srv/a \\"b\\"/register.cjs"'],
    ['C:\\app dir\\register.cjs', '"C:\\\\app dir\\\\register.cjs"'],
  ])('%s', (path, quoted) => {
    expect(nodeOptions.quoteNodeOption(path)).toBe(quoted)
    expect(nodeOptions.splitNodeOptions(`--max-old-space-size=100 --require ${quoted} --trace-warnings`)).toEqual(['--max-old-space-size=100', '--require', path, '--trace-warnings'])
  })
})
