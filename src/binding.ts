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
  }
  /** target is handle.fd (Unix) or [localAddress, localPort, remoteAddress, remotePort] (Windows);
   *  verify: check the socket is TCP (the handle type did not prove it); -1 = leave. */
  set(target: number | [string, number, string, number], verify: boolean, enable: number, idle: number, interval: number, count: number, userTimeout: number): void
  /** [enable, idle, interval, count, userTimeout], -1 where the OS cannot say. */
  get(target: number | [string, number, string, number], verify: boolean): [number, number, number, number, number]
}

interface NativeLoad {
  binding: NativeBinding | null
  reason: string | null
}

function load(): NativeLoad {
  // dist/cjs/binding.js -> package root, where node-gyp-build looks for
  // build/Release and prebuilds/<platform>-<arch>.
  const root = path.join(__dirname, '..', '..')
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeBinding
    return { binding: nodeGypBuild(root), reason: null }
  } catch (err) {
    // A missing or broken addon must not make the package unimportable: the
    // fallback reports native: false and this reason.
    const message = err instanceof Error ? err.message : String(err)
    return { binding: null, reason: message.split('\n')[0] ?? message }
  }
}

export const native: NativeLoad = load()
