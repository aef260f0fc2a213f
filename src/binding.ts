import path = require('node:path')

/** The raw range the platform file reports; times in milliseconds. */
export interface NativeRange {
  supported: boolean
  min: number
  max: number
}

export interface NativeBinding {
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
  /** In/out values of set() and get(), shared with the addon so a call converts no arguments:
   *  [verify, enable, idle, interval, count, userTimeout]; -1 = leave (set), -2 = unknown (get).
   *  verify: check the socket is TCP (the handle type did not prove it). */
  slots: Float64Array
  /** target is handle.fd (Unix) or [localAddress, localPort, remoteAddress, remotePort] (Windows). */
  set(target: number | [string, number, string, number]): void
  /** Fills slots[1..5] with what the kernel holds. */
  get(target: number | [string, number, string, number]): void
  /** TCP_INFO fields in tcpinfo.ts's FIELDS order; -1 = unknown. verify as for slots[0]. */
  tcpInfo(target: number | [string, number, string, number], verify: boolean): Float64Array
  /** Linux: borrows fd of pid (pidfd_getfd), checks its inode, reads it, closes the copy.
   *  [enable, idle, interval, count, userTimeout, ...tcpInfo fields]; -1 = unknown. */
  inspect(pid: number, fd: number, inode: bigint): Float64Array
  /** Linux, the inspector's reader (src/cli/diag.ts describes the layouts). */
  socketFds?(pid: number): Float64Array
  socketKinds?(pid: number, fds: Float64Array): Float64Array
  diag?(netnsPath: string, inodes: Float64Array): [Float64Array, Uint8Array]
  take?(pid: number, join: string, orders: Float64Array): [Float64Array, Float64Array, Uint8Array]
}

interface NativeLoad {
  binding: NativeBinding | null
  reason: string | null
}

function complete(b: unknown): b is NativeBinding {
  const x = b as Partial<NativeBinding> | null
  return typeof x?.set === 'function' && typeof x.get === 'function' && x.slots instanceof Float64Array && typeof x.capabilities?.dropTimeMax === 'number'
}

function load(): NativeLoad {
  // dist/cjs/binding.js -> package root, where node-gyp-build looks for
  // build/Release and prebuilds/<platform>-<arch>.
  const root = path.join(__dirname, '..', '..')
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown
    const binding = nodeGypBuild(root)
    // The addon's init gives up quietly rather than abort when its environment
    // goes away mid-load; what it left behind is then incomplete.
    if (!complete(binding)) return { binding: null, reason: 'the native addon did not finish initialising' }
    return { binding, reason: null }
  } catch (err) {
    // A missing or broken addon must not make the package unimportable: the
    // fallback reports native: false and this reason.
    const message = err instanceof Error ? err.message : String(err)
    return { binding: null, reason: message.split('\n')[0] ?? message }
  }
}

export const native: NativeLoad = load()
