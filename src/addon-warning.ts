// One TcpKeepAliveWarning when the addon is missing and something relies on
// it (the preload, the first install()). Package managers swallow the install
// script's own message, and pnpm 10, Bun and npm's allowScripts policy block
// the script by default, so without this the fallback would be silent.
import fs = require('node:fs')
import path = require('node:path')
import { capabilities } from './capabilities'
import { runtime } from './runtime'

export type PackageManager = 'npm' | 'pnpm' | 'yarn1' | 'yarn-berry' | 'bun'

const ADDON_MISSING_CODE = 'TCP_KEEPALIVE_ADDON_MISSING'

/**
 * Which package manager installed the package at `root`: its layout first
 * (pnpm's .pnpm store, Yarn's .yarn folders, Bun's .bun store), then the
 * project's lockfile, then the manager running this process (npm_config_user_agent).
 */
export function detectPackageManager(root: string, env: NodeJS.ProcessEnv = process.env): PackageManager | null {
  const p = root.split(path.sep).join('/')
  if (p.includes('/node_modules/.pnpm/')) return 'pnpm'
  if (p.includes('/.yarn/')) return 'yarn-berry'
  if (p.includes('/node_modules/.bun/') || p.includes('/.bun/install/')) return 'bun'
  // The project: the directory holding the node_modules the package sits in.
  const at = p.lastIndexOf('/node_modules/')
  for (let dir = at >= 0 ? root.slice(0, at) : root, i = 0; i < 8; dir = path.dirname(dir), i++) {
    const has = (f: string): boolean => fs.existsSync(path.join(dir, f))
    if (has('pnpm-lock.yaml')) return 'pnpm'
    if (has('bun.lock') || has('bun.lockb')) return 'bun'
    if (has('yarn.lock')) return has('.yarnrc.yml') ? 'yarn-berry' : 'yarn1'
    if (has('package-lock.json') || has('npm-shrinkwrap.json')) return 'npm'
    if (path.dirname(dir) === dir) break
  }
  const agent = /^(npm|pnpm|yarn|bun)\/(\d+)/.exec(env.npm_config_user_agent ?? '')
  if (agent) return agent[1] === 'yarn' ? (agent[2] === '1' ? 'yarn1' : 'yarn-berry') : (agent[1] as PackageManager)
  return runtime === 'bun' ? 'bun' : null
}

const FIX: Record<PackageManager, string> = {
  npm: 'let npm run its install script: `npm install-scripts approve tcp-keepalive` (npm 11: allowScripts in package.json), then `npm rebuild tcp-keepalive` (not with --ignore-scripts)',
  pnpm: 'let pnpm run its install script: `pnpm approve-builds` (select tcp-keepalive), then `pnpm rebuild tcp-keepalive`',
  yarn1: 'run the install script: `yarn install --force` without --ignore-scripts (nor ignore-scripts in .yarnrc or .npmrc)',
  'yarn-berry': 'let Yarn build it: `enableScripts` not false in .yarnrc.yml and no `dependenciesMeta["tcp-keepalive"].built: false` in package.json, then `yarn rebuild tcp-keepalive`',
  bun: 'trust its install script: `bun pm trust tcp-keepalive` (adds it to trustedDependencies in package.json and runs it)',
}

const COMPILER = 'where no prebuild fits, the script compiles the addon and needs python3, make and a C++ compiler (Debian/Ubuntu: apt-get install python3 make g++; Alpine: apk add python3 make g++)'

export function fixFor(pm: PackageManager | null): string {
  const how = pm === null ? Object.values(FIX).join('; or ') : FIX[pm]
  return `${how}; ${COMPILER}`
}

/** What the fallback cannot set here, in words. */
function lostOptions(): string[] {
  const lost: string[] = []
  if (!capabilities.interval) lost.push('interval')
  if (!capabilities.count) lost.push('count')
  if (!capabilities.userTimeout) lost.push('user timeout')
  return lost
}

/** The fix for the package manager that installed this copy. */
export function addonFix(): string {
  return fixFor(detectPackageManager(packageRoot()))
}

let warned = false

// dist/cjs/addon-warning.js -> the package root (where node-gyp-build looked).
function packageRoot(): string {
  return path.join(__dirname, '..', '..')
}

/** Emits the warning once per process copy of the package; nothing when the addon loaded. */
export function warnIfAddonMissing(): void {
  if (warned || capabilities.native || runtime === 'deno') return
  warned = true
  const lost = lostOptions()
  const what = lost.length > 0 ? `${lost.join(', ').replace(/, ([^,]*)$/, ' and $1')} ${lost.length === 1 ? 'is' : 'are'} left to the OS (only the idle time is set)` : 'getKeepAlive() reads nothing back'
  process.emitWarning(
    `tcp-keepalive: the native addon is not loaded (${capabilities.reason ?? 'unknown reason'}), so ${what}. Fix: ${addonFix()}.`,
    { type: 'TcpKeepAliveWarning', code: ADDON_MISSING_CODE },
  )
}
