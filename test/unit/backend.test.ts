// One suite, run against both backends (the addon and the fallback over
// Node's own socket.setKeepAlive), as a library with a native and a portable
// implementation tests both: the same public behaviours, each backend held to
// what its capabilities promise.
//
// What the kernel holds is read by a reader other than the backend under
// test where one exists in-process: the fallback's writes are read through
// the addon; the addon's reads are checked against what Node's own
// setKeepAlive wrote, and against its second read path (inspect).
import { once } from 'node:events'
import { readlinkSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

type Backends = typeof import('../../src/backend/native') & typeof import('../../src/backend/fallback')
type Backend = import('../../src/backend/types').Backend
type InternalSocket = import('../../src/socket').InternalSocket
type Normalized = import('../../src/values').Normalized

const load = createRequire(__filename)
const dist = join(__dirname, '..', '..', 'dist', 'cjs', 'backend')
const { native, nativeReason } = load(join(dist, 'native.js')) as Backends
const { createFallback } = load(join(dist, 'fallback.js')) as Backends

const LEAVE = -1
const options = (n: Partial<Normalized>): Normalized => ({ enable: 1, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE, ...n })
const linux = process.platform === 'linux'
// Node 20 and later put interval 1 s and count 10 beside the idle of setKeepAlive(true, ms).
const nodeSetsTiming = Number(process.versions.node.split('.')[0]) >= 20

let server: net.Server
let pipeServer: net.Server
let port: number
const pipePath = process.platform === 'win32' ? `\\\\?\\pipe\\tka-backend-${process.pid}` : join(tmpdir(), `tka-backend-${process.pid}.sock`)
const open: net.Socket[] = []

beforeAll(async () => {
  server = net.createServer((s) => open.push(s)).listen(0, '127.0.0.1')
  pipeServer = net.createServer((s) => open.push(s)).listen(pipePath)
  await Promise.all([once(server, 'listening'), once(pipeServer, 'listening')])
  port = (server.address() as net.AddressInfo).port
})
afterAll(() => {
  for (const s of open) s.destroy()
  server.close()
  pipeServer.close()
  if (process.platform !== 'win32') rmSync(pipePath, { force: true })
})

async function connected(path?: string): Promise<InternalSocket> {
  const s = path === undefined ? net.connect(port, '127.0.0.1') : net.connect(path)
  open.push(s)
  await once(s, 'connect')
  return s as InternalSocket
}

const code = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (err) {
    return (err as { code?: unknown }).code
  }
  return 'no error'
}

function inodeOf(s: InternalSocket): bigint {
  return BigInt(/\d+/.exec(readlinkSync(`/proc/self/fd/${s._handle?.fd as number}`))?.[0] as string)
}

const suites: Array<[string, Backend | null, string]> = [
  ['native', native, `the addon did not load: ${nativeReason ?? ''}`],
  ['fallback', createFallback('loaded by the test instead of the addon'), ''],
]

describe.each(suites)('%s backend', (name, maybe, skipReason) => {
  it.skipIf(maybe === null)(maybe === null ? `loads (skipped: ${skipReason})` : 'loads', () => {
    expect(maybe?.capabilities.native).toBe(name === 'native')
  })
  if (maybe === null) return
  const b = maybe
  const caps = b.capabilities
  // The kernel's view: through the addon when it loaded, else nothing in-process can read it.
  const observe = native === null ? null : (s: InternalSocket) => native.get(s)

  it('capabilities: each supported option has a range, the rest none', () => {
    for (const k of ['idle', 'interval', 'count', 'userTimeout'] as const) {
      const limit = caps.limits[k]
      if (caps[k]) expect(limit.min).toBeLessThanOrEqual(limit.max)
      else expect(limit).toEqual({ min: 0, max: 0 })
    }
    expect(caps.reason === null).toBe(name === 'native')
  })

  it('set then read: the kernel holds the values, rounded up to whole seconds; off turns probes off', async () => {
    const s = await connected()
    expect(b.ready(s)).toBe(true)
    const want = options({ idle: 4500, ...(caps.interval ? { interval: 3000 } : {}), ...(caps.count ? { count: 4 } : {}) })
    b.set(s, want)
    const expected = { enabled: true, idle: 5000, ...(caps.interval ? { interval: 3000 } : {}), ...(caps.count ? { count: 4 } : {}) }
    if (observe) expect(observe(s)).toMatchObject(expected)
    // Its own read: the value, or null where it cannot tell; never another value.
    const own = b.get(s)
    for (const [k, v] of Object.entries(expected)) expect([v, null]).toContainEqual(own[k as keyof typeof own])
    if (caps.native) expect(own).toMatchObject(expected)
    b.set(s, options({ enable: 0 }))
    if (observe) expect(observe(s)).toMatchObject({ enabled: false })
  })

  it('a field left alone keeps what was set before', async (ctx) => {
    if (!caps.count) return ctx.skip(`${name} cannot set count here`)
    const s = await connected()
    b.set(s, options({ idle: 6000 }))
    b.set(s, options({ count: 3 }))
    const seen = observe ? observe(s) : null
    if (seen === null) return ctx.skip('no in-process reader of the kernel without the addon')
    expect(seen).toMatchObject({ enabled: true, idle: 6000, count: 3 })
  })

  it("reads what Node's own setKeepAlive wrote (never another value)", async () => {
    const s = await connected()
    s.setKeepAlive(true, 7000)
    const seen = b.get(s)
    const expected = { enabled: true, idle: 7000, ...(nodeSetsTiming ? { interval: 1000, count: 10 } : {}) }
    for (const [k, v] of Object.entries(expected)) expect([v, null]).toContainEqual(seen[k as keyof typeof seen])
    if (caps.native) expect(seen).toMatchObject(expected)
  })

  it('a value the kernel refuses: a system error, or the kernel keeps its value', async () => {
    const s = await connected()
    b.set(s, options({ idle: 8000 }))
    // Past Linux's 32767 s, macOS's and Windows' limits are far higher: only checked where it is refused.
    const refused = code(() => b.set(s, options({ idle: 40_000_000 })))
    // The addon refuses it before the syscall; Node's own call (Node 20) ignores the kernel's refusal.
    if (caps.native && linux) expect(['ERR_OUT_OF_RANGE', 'EINVAL']).toContain(refused)
    if (observe && linux) expect(observe(s).idle).toBe(8000)
  })

  it('not connected yet: not ready, and no value is reported', async () => {
    const fresh = new net.Socket() as InternalSocket
    const getting = code(() => b.get(fresh))
    if (caps.native) expect(getting).toBe('ERR_TCP_KEEPALIVE_NOT_CONNECTED')
    else expect(b.get(fresh)).toEqual({ enabled: null, idle: null, interval: null, count: null, userTimeout: null })
    expect(code(() => b.tcpInfo(fresh))).toBe(caps.native ? 'ERR_TCP_KEEPALIVE_NOT_CONNECTED' : 'ERR_TCP_KEEPALIVE_UNSUPPORTED')
    const connecting = net.connect(port, '127.0.0.1') as InternalSocket
    open.push(connecting)
    expect(b.ready(connecting)).toBe(false)
    if (caps.native) {
      expect(b.ready(fresh)).toBe(false)
      expect(code(() => b.set(connecting, options({ idle: 5000 })))).toBe('ERR_TCP_KEEPALIVE_NOT_CONNECTED')
    }
    await once(connecting, 'connect')
  })

  it('a Unix-domain socket or named pipe: ERR_TCP_KEEPALIVE_NOT_TCP from every call', async () => {
    const p = await connected(pipePath)
    expect(code(() => b.set(p, options({ idle: 5000 })))).toBe('ERR_TCP_KEEPALIVE_NOT_TCP')
    expect(code(() => b.get(p))).toBe('ERR_TCP_KEEPALIVE_NOT_TCP')
    expect(code(() => b.tcpInfo(p))).toBe('ERR_TCP_KEEPALIVE_NOT_TCP')
  })

  it('TCP_INFO of a connected socket, or ERR_TCP_KEEPALIVE_UNSUPPORTED', async () => {
    const s = await connected()
    if (!caps.native) {
      expect(code(() => b.tcpInfo(s))).toBe('ERR_TCP_KEEPALIVE_UNSUPPORTED')
      return
    }
    const info = b.tcpInfo(s)
    expect(info.state).toBe('established')
    if (linux) expect(info.mss).toBeGreaterThan(0)
  })

  it('readAll: per socket, in order, what get() and tcpInfo() say; null for what is not a connected TCP socket', async () => {
    const a = await connected()
    const c = await connected()
    b.set(a, options({ idle: 5000 }))
    b.set(c, options({ idle: 6000 }))
    const pipe = await connected(pipePath)
    const fresh = new net.Socket() as InternalSocket
    const gone = await connected()
    gone.destroy()
    const reads = b.readAll([a, fresh, pipe, c, gone])
    expect(reads).toHaveLength(5)
    expect([reads[1], reads[2], reads[4]]).toEqual([null, null, null])
    for (const [i, s] of [[0, a], [3, c]] as const) {
      const read = reads[i]
      expect(read?.keepalive, `socket ${i}`).toEqual(b.get(s))
      if (!caps.native) expect(read?.info).toBeNull()
      else if (linux) {
        // Counters that cannot move on an idle socket agree with a separate read.
        const info = b.tcpInfo(s)
        expect(read?.info).toMatchObject({ state: 'established', mss: info.mss, bytesSent: info.bytesSent, bytesReceived: info.bytesReceived, totalRetransmits: info.totalRetransmits })
      }
    }
    if (observe) expect(observe(a)).toMatchObject({ enabled: true, idle: 5000 })
    // The fallback cannot read back; the addon reads what was set.
    if (caps.native) expect([reads[0]?.keepalive.idle, reads[3]?.keepalive.idle]).toEqual([5000, 6000])
    expect(b.readAll([])).toEqual([])
  })

  it.runIf(process.platform !== 'win32')('readAll: a socket whose handle the addon refuses costs its own entry only', async () => {
    const a = await connected()
    const odd = await connected()
    const c = await connected()
    const internal = odd as unknown as { _handle: unknown }
    const real = internal._handle
    // Past INT_MAX: no descriptor, refused by the addon's argument check rather than by the OS.
    internal._handle = { fd: 2 ** 31, constructor: { name: 'TCP' } }
    let reads: ReturnType<Backend['readAll']>
    try {
      reads = b.readAll([a, odd, c])
    } finally {
      internal._handle = real
    }
    expect(reads[0]?.keepalive).toEqual(b.get(a))
    expect(reads[2]?.keepalive).toEqual(b.get(c))
    if (caps.native) expect(reads[1]).toBeNull()
  })

  it.runIf(linux)("inspect: another read path agrees on this process's socket; a stale inode reads as gone", async () => {
    const s = await connected()
    if (!caps.native) {
      expect(code(() => b.inspect(process.pid))).toBe('ERR_TCP_KEEPALIVE_UNSUPPORTED')
      return
    }
    b.set(s, options({ idle: 9000, interval: 2000, count: 5 }))
    const read = b.inspect(process.pid)
    const fd = s._handle?.fd as number
    const inode = Number(inodeOf(s))
    expect(read.socketFds().get(inode)).toBe(fd)
    const row = read.dumpTcp('', [inode], true).get(inode)
    expect(row?.state).toBe('established')
    expect(row?.local).toBe(`127.0.0.1:${s.localPort}`)
    expect(row?.tcpInfo.state).toBe('established')
    const [seen, stale] = read.take([], [
      { fd, inode, wantInfo: true, wantTcpInfo: false },
      { fd, inode: inode + 1, wantInfo: false, wantTcpInfo: true },
    ])
    expect(seen?.keepalive).toMatchObject({ enabled: true, idle: 9000, interval: 2000, count: 5 })
    expect(seen?.row?.remote).toBe(row?.remote)
    expect(seen?.tcpInfo?.state).toBe('established')
    expect(stale?.error).toBe('gone')
  })
})
