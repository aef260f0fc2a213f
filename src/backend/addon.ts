// Loading the native addon. What its values mean is native.ts's business.
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
  }
  slots: Float64Array
  set(target: Target): void
  get(target: Target): void
  tcpInfo(target: Target, verify: boolean): Float64Array
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
  if (!isFloat64Array(x.slots)) lacks.push('slots (a Float64Array)')
  if (typeof x.capabilities?.dropTimeMax !== 'number') lacks.push('capabilities')
  return lacks.length === 0 ? null : lacks.join(', ')
}

function load(): AddonLoad {
  // dist/cjs/backend/addon.js -> package root, where node-gyp-build looks for
  // build/Release and prebuilds/<platform>-<arch>.
  const root = path.join(__dirname, '..', '..', '..')
  stopIfBundled(root)
  try {
    const nodeGypBuild = require('node-gyp-build') as ((dir: string) => unknown) & { path?: (dir: string) => string }
    const addon = nodeGypBuild(root)
    // The addon's init gives up quietly rather than abort when its environment
    // goes away mid-load; what it left behind is then incomplete.
    const lacks = lacking(addon)
    if (lacks !== null) {
      const file = typeof nodeGypBuild.path === 'function' ? ` (${path.relative(root, nodeGypBuild.path(root))})` : ''
      return { addon: null, reason: `the native addon${file} exports no ${lacks}: not this version's addon, or its initialisation gave up (its environment went away mid-load)` }
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
