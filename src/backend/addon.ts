// Loading the native addon. What its values mean is native.ts's business.
import fs = require('node:fs')
import path = require('node:path')
import { stopIfBundled } from '../bundled'

/** The raw range the platform file reports; times in milliseconds. */
export interface NativeRange {
  supported: boolean
  min: number
  max: number
}

/** A socket as the addon finds it: handle.fd (Unix) or [localAddress, localPort, remoteAddress, remotePort] (Windows). */
export type Target = number | [string, number, string, number]

/** The addon's exports, as native.ts uses them (layouts there). */
export interface Addon {
  capabilities: {
    platform: string
    target: 'fd' | 'endpoints'
    idle: NativeRange
    interval: NativeRange
    count: NativeRange
    userTimeout: NativeRange
    userTimeoutOption: string
    /** Largest idle + count x interval (ms) the kernel sums without wrapping; 0 = no such sum. */
    dropTimeMax: number
    /** Whether this OS has TCP_INFO or its like (tcpInfo() fails with ENOSYS otherwise). */
    tcpInfo: boolean
  }
  slots: Float64Array
  set(target: Target): void
  get(target: Target): void
  tcpInfo(target: Target, verify: boolean): Float64Array
  /** Per target a row: failure code (0: read), the get() values, the tcpInfo() fields (layout in native.ts). */
  readMany(targets: Target[], verify: Uint8Array, withInfo: boolean): Float64Array
  /** Linux only (layouts in inspect.ts). */
  socketFds?(pid: number): Float64Array
  socketKinds?(pid: number, fds: Float64Array): Float64Array
  diag?(netnsPath: string, inodes: Float64Array, withInfo: boolean): [Float64Array, Uint8Array]
  take?(pid: number, join: string, orders: Float64Array): [Float64Array, Float64Array, Uint8Array]
}

export interface AddonLoad {
  addon: Addon | null
  /** Why it did not load (first line), when it did not. */
  reason: string | null
}

// Realm-neutral: under a test runner's vm contexts (Jest, vitest's vm pools)
// the addon is loaded once per process, so its objects belong to another
// realm than this copy's Float64Array, and instanceof would refuse them.
const isFloat64Array = (v: unknown): boolean => ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === '[object Float64Array]'

/** What the addon's exports lack, in words; null: nothing. */
function lacking(b: unknown): string | null {
  if (b === null || (typeof b !== 'object' && typeof b !== 'function')) return `any exports (it gave ${b === null ? 'null' : typeof b})`
  const x = b as Partial<Addon>
  const lacks: string[] = []
  if (typeof x.set !== 'function') lacks.push('set()')
  if (typeof x.get !== 'function') lacks.push('get()')
  if (typeof x.readMany !== 'function') lacks.push('readMany()')
  if (!isFloat64Array(x.slots)) lacks.push('slots (a Float64Array)')
  if (typeof x.capabilities?.dropTimeMax !== 'number') lacks.push('capabilities')
  return lacks.length === 0 ? null : lacks.join(', ')
}

/**
 * The addon's file. A local build (build/Release, as npm's install script or
 * `npm run build` leaves it) is taken directly: node-gyp-build's module load
 * and directory scans cost about as much as the addon's own dlopen.
 * Everything else (PREBUILDS_ONLY, TCP_KEEPALIVE_PREBUILD, build/Debug,
 * prebuilds/ with its libc and armv tags) is node-gyp-build's choice.
 */
function resolveAddon(root: string): string {
  if (!process.env.PREBUILDS_ONLY && !process.env.TCP_KEEPALIVE_PREBUILD) {
    const release = path.join(root, 'build', 'Release', 'tcp_keepalive.node')
    if (fs.existsSync(release)) return release
  }
  return (require('node-gyp-build') as { path(dir: string): string }).path(root)
}

function load(): AddonLoad {
  // dist/cjs/backend/addon.js -> package root, where node-gyp-build looks for
  // build/Release and prebuilds/<platform>-<arch>.
  const root = path.join(__dirname, '..', '..', '..')
  stopIfBundled(root)
  try {
    const file = resolveAddon(root)
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the addon's file, resolved above
    const addon: unknown = require(file)
    // The addon's init gives up quietly rather than abort when its environment
    // goes away mid-load; what it left behind is then incomplete.
    const lacks = lacking(addon)
    if (lacks !== null) {
      return { addon: null, reason: `the native addon (${path.relative(root, file)}) exports no ${lacks}: not this version's addon, or its initialisation gave up (its environment went away mid-load)` }
    }
    return { addon: addon as Addon, reason: null }
  } catch (err) {
    // A missing or broken addon must not make the package unimportable: the
    // fallback reports native: false and this reason.
    // Not instanceof Error: under a test runner the loader's error comes from another realm.
    const m = (err as { message?: unknown } | null)?.message
    const message = typeof m === 'string' ? m : String(err)
    return { addon: null, reason: message.split('\n')[0] ?? message }
  }
}

export const loaded: AddonLoad = load()
