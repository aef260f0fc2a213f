// Loading the native addon. What its values mean is native.ts's business.
import path = require('node:path')

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

function complete(b: unknown): b is Addon {
  const x = b as Partial<Addon> | null
  return typeof x?.set === 'function' && typeof x.get === 'function' && x.slots instanceof Float64Array && typeof x.capabilities?.dropTimeMax === 'number'
}

function load(): AddonLoad {
  // dist/cjs/backend/addon.js -> package root, where node-gyp-build looks for
  // build/Release and prebuilds/<platform>-<arch>.
  const root = path.join(__dirname, '..', '..', '..')
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown
    const addon = nodeGypBuild(root)
    // The addon's init gives up quietly rather than abort when its environment
    // goes away mid-load; what it left behind is then incomplete.
    if (!complete(addon)) return { addon: null, reason: 'the native addon did not finish initialising' }
    return { addon, reason: null }
  } catch (err) {
    // A missing or broken addon must not make the package unimportable: the
    // fallback reports native: false and this reason.
    const message = err instanceof Error ? err.message : String(err)
    return { addon: null, reason: message.split('\n')[0] ?? message }
  }
}

export const loaded: AddonLoad = load()
