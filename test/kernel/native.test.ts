// The addon's own contract, below the TypeScript layer: the order of the
// syscalls it makes, what its raw binding refuses before any syscall, the
// drop-time rule, and Worker.terminate() at any point.
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import net from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { harness, withChildScript } from '../helpers/paths'
import { peekSockopt } from '../helpers/kernel'
import { fdOf, tcpPair } from '../helpers/sockets'
import { capabilities, getKeepAlive, setKeepAlive } from '../lib'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)
interface Raw {
  capabilities: { tcpInfo: boolean }
  slots: Float64Array
  set(target?: unknown): void
  get(target?: unknown): void
  tcpInfo(target?: unknown, verify?: unknown): Float64Array
  readMany(targets?: unknown, verify?: unknown, withInfo?: unknown): Float64Array
  // Linux: the inspector's reader.
  socketFds(pid?: unknown): Float64Array
  socketKinds(pid?: unknown, fds?: unknown): Float64Array
  diag(netnsPath?: unknown, inodes?: unknown, withInfo?: unknown): unknown
  take(pid?: unknown, join?: unknown, orders?: unknown): unknown
}
const raw = (require('node-gyp-build') as (dir: string) => Raw)(root)
// Whether this OS has TCP_INFO or its like (Windows before 10 1703 and Wine have not).
const tcpInfoHere = raw.capabilities.tcpInfo

/** What the raw binding takes for a socket: its fd, or its endpoints on Windows. */
const targetOf = (s: net.Socket): unknown => (process.platform === 'win32' ? [s.localAddress, s.localPort, s.remoteAddress, s.remotePort] : fdOf(s))

/** The code a call throws, or what it did instead. */
const code = (fn: () => unknown): string => {
  try {
    fn()
    return 'no error'
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${String(err)}`
  }
}

const strace = (() => {
  const r = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'])
  if (r.error) return 'strace is not installed'
  if (r.status !== 0) return `strace cannot trace here (${String(r.stderr).trim().split('\n')[0]})`
  return null
})()
if (strace) console.log(`observer check not run: ${strace}`)

// Runs `body` (CommonJS, with `pkg`, `raw`, `mark(name)` and a connected
// `client` in scope) under strace; returns the socket calls on the client's
// fd between each pair of marks.
function traced(body: string): Record<string, string[]> {
  const child = `const net = require('node:net')
const fs = require('node:fs')
const pkg = require(${JSON.stringify(join(root, 'dist', 'cjs', 'index.js'))})
const raw = require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(root)})
let client
const mark = (name) => fs.writeSync(2, 'MARK ' + name + ' ' + client._handle.fd + '\\n')
const server = net.createServer().listen(0, '127.0.0.1', () => {
  client = net.connect(server.address().port, '127.0.0.1', () => {
    ${body}
    mark('end')
    client.destroy()
    server.close()
  })
})
`
  return withChildScript('tka-strace-', child, (script, dir) => {
    const log = join(dir, 'trace')
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=setsockopt,getsockopt,getsockname,write', '-o', log, process.execPath, script], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const out: Record<string, string[]> = {}
    let section: string | null = null
    let fd = -1
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const m = /write\(2, "MARK (\w+) (\d+)\\n"/.exec(line)
      if (m) {
        section = m[1] as string
        fd = Number(m[2])
        out[section] = []
        continue
      }
      const call = /(setsockopt|getsockopt|getsockname)\((\d+), ([A-Z_]+), ([A-Z_]+|\d+)/.exec(line)
      if (section && call && Number(call[2]) === fd) (out[section] as string[]).push(`${call[1]} ${call[4]}`)
      if (section && call && Number(call[2]) !== fd) (out[section] as string[]).push(`${call[1]} on fd ${call[2]}`)
    }
    return out
  })
}

describe.skipIf(process.platform !== 'linux' || !capabilities.native)('syscalls (strace)', () => {
  it.skipIf(strace !== null)('SO_KEEPALIVE is switched on before the timings are set', () => {
    const calls = traced(`mark('set'); pkg.setKeepAlive(client, { idle: 5000, interval: 2000, count: 3, userTimeout: 9000 })`)
    // macOS starts its per-socket idle timer only if keepalive is already on; one order for every OS.
    expect(calls.set).toEqual(['setsockopt SO_KEEPALIVE', 'setsockopt TCP_KEEPIDLE', 'setsockopt TCP_KEEPINTVL', 'setsockopt TCP_KEEPCNT', 'setsockopt TCP_USER_TIMEOUT'])
  })

  it.skipIf(strace !== null)('the raw binding makes no syscall before its target and slots are valid', () => {
    const calls = traced(`
mark('refused')
const bad = [undefined, 'x', -1, 1.5, NaN, Infinity, 2 ** 31, {}, [client._handle.fd]]
const errors = []
for (const target of bad) {
  raw.slots.set([0, 1, 1000, -1, -1, -1])
  try { raw.set(target) } catch (e) { errors.push(e.code) }
  try { raw.get(target) } catch (e) { errors.push(e.code) }
}
try { raw.slots.set([0, 1, 1000, -1, -1, -1]); raw.set() } catch (e) { errors.push(e.code) }
for (const slots of [[0, 1, NaN, -1, -1, -1], [0, 1, 1000.5, -1, -1, -1], [0, 1, Infinity, -1, -1, -1], [0, 1, -1, -1, 128, -1], [0, 2, -1, -1, -1, -1], [0, 1, -2, -1, -1, -1], [0.5, 1, -1, -1, -1, -1], [NaN, 1, -1, -1, -1, -1]]) {
  raw.slots.set(slots)
  try { raw.set(client._handle.fd) } catch (e) { errors.push(e.code) }
}
if (errors.length !== 2 * bad.length + 1 + 8) throw new Error('not every bad call threw: ' + errors.join())
// The census's batch read: one bad target among good ones refuses the whole call.
let refusedMany = 0
for (const target of bad) {
  try { raw.readMany([client._handle.fd, target], new Uint8Array(2), true) } catch (e) { if (e.code === 'ERR_INVALID_ARG_TYPE') refusedMany++ }
}
if (refusedMany !== bad.length) throw new Error('not every bad readMany threw: ' + refusedMany)
mark('valid')
raw.slots.set([0, 1, 7000, -1, -1, -1])
raw.set(client._handle.fd)
`)
    // Not even on fd 0 (what a missing target used to become) or any other fd,
    // nor on the valid target that came first in a batch.
    expect(calls.refused).toEqual([])
    expect(calls.valid).toEqual(['setsockopt SO_KEEPALIVE', 'setsockopt TCP_KEEPIDLE'])
  })
})

describe.skipIf(!capabilities.native)('raw binding', () => {
  it('refuses hostile targets and slots with a code, and leaves the socket as it was', async () => {
    const p = await tcpPair()
    setKeepAlive(p.client, { idle: 4000 })
    const fd = fdOf(p.client)
    const target = targetOf(p.client)
    for (const t of [undefined, null, 'x', -1, 0.5, NaN, Infinity, 2 ** 31, {}, [], Symbol('s'), 10n]) {
      raw.slots.set([0, 1, 9000, -1, -1, -1])
      expect(() => raw.set(t), inspect(t)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    }
    for (const bad of [NaN, Infinity, -Infinity, 1000.5, -2, 0, 2 ** 53, Number.MAX_VALUE]) {
      raw.slots.set([0, 1, bad, -1, -1, -1])
      expect(() => raw.set(target), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
      raw.slots.set([0, 1, -1, -1, bad, -1])
      expect(() => raw.set(target), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    }
    // verify and enable are flags: 0 and 1 (enable also -1 = leave), nothing else.
    for (const bad of [NaN, Infinity, 2, -2, 0.5]) {
      raw.slots.set([bad, 1, -1, -1, -1, -1])
      expect(() => raw.set(target), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
      raw.slots.set([0, bad, -1, -1, -1, -1])
      expect(() => raw.set(target), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    }
    expect(getKeepAlive(p.client)).toMatchObject({ idle: 4000 })
    const seen = peekSockopt(fd)
    if (seen) expect(seen).toMatchObject({ idle: 4000 })
  })

  // One error discipline for every entry point: tcpInfo and the inspector's reader refuse
  // bad arguments with the same typed codes as set and get (they used to
  // throw a bare Error with N-API's own message).
  it('tcpInfo and the inspector reader refuse hostile arguments with a code', async () => {
    const p = await tcpPair()
    const target = targetOf(p.client)
    for (const verify of [undefined, 1, 'true', null]) expect(code(() => raw.tcpInfo(target, verify)), String(verify)).toBe('ERR_INVALID_ARG_TYPE')
    for (const t of [undefined, 'x', -1, 0.5, {}, 10n]) expect(code(() => raw.tcpInfo(t, true)), inspect(t)).toBe('ERR_INVALID_ARG_TYPE')
    if (process.platform === 'linux') {
      // The inspector's reader (Linux only).
      const f64 = (...v: number[]) => Float64Array.from(v)
      for (const pid of ['1', 0, -1, 1.5, NaN, undefined]) {
        expect(code(() => raw.socketFds(pid)), String(pid)).toBe('ERR_INVALID_ARG_TYPE')
        expect(code(() => raw.socketKinds(pid, f64(3))), String(pid)).toBe('ERR_INVALID_ARG_TYPE')
        expect(code(() => raw.take(pid, '', f64(3, 1, 0))), String(pid)).toBe('ERR_INVALID_ARG_TYPE')
      }
      for (const list of [[3], new Uint8Array(1), undefined, '3'])
        expect(code(() => raw.socketKinds(process.pid, list)), inspect(list)).toBe('ERR_INVALID_ARG_TYPE')
      for (const [ns, inodes, withInfo] of [[1, f64(), true], ['', [1], true], ['', f64(), 1], ['', f64(), undefined]] as const)
        expect(code(() => raw.diag(ns, inodes, withInfo)), inspect([ns, inodes, withInfo])).toBe('ERR_INVALID_ARG_TYPE')
      for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
        expect(code(() => raw.socketKinds(process.pid, f64(bad))), String(bad)).toBe('ERR_OUT_OF_RANGE')
        expect(code(() => raw.diag('', f64(bad), true)), String(bad)).toBe('ERR_OUT_OF_RANGE')
        expect(code(() => raw.take(process.pid, '', f64(bad, 1, 0))), String(bad)).toBe('ERR_OUT_OF_RANGE')
        expect(code(() => raw.take(process.pid, '', f64(3, bad, 0))), String(bad)).toBe('ERR_OUT_OF_RANGE')
      }
      expect(code(() => raw.take(process.pid, 7, f64(3, 1, 0)))).toBe('ERR_INVALID_ARG_TYPE')
    }
    p.close()
  })

  it('readMany: a row per target, as another process reads the socket; a target that fails fails its own row', async () => {
    const a = await tcpPair()
    const b = await tcpPair()
    setKeepAlive(a.client, { idle: 4000, ...(capabilities.interval ? { interval: 2000 } : {}), ...(capabilities.count ? { count: 3 } : {}) })
    setKeepAlive(b.client, { idle: 9000 })
    const targets: unknown[] = [targetOf(a.client), targetOf(b.client), targetOf(a.accepted)]
    const verify = [0, 1, 0]
    // Unix: a Unix-domain socket (proven not TCP when verified) and a file (no socket at all).
    const dir = mkdtempSync(join(tmpdir(), 'tka-readmany-'))
    const unixServer = net.createServer()
    let unix: net.Socket | null = null
    let file = -1
    if (process.platform !== 'win32') {
      unixServer.listen(join(dir, 's'))
      await once(unixServer, 'listening')
      unix = net.connect(join(dir, 's'))
      await once(unix, 'connect')
      file = openSync(join(dir, 'f'), 'w')
      targets.push(fdOf(unix), file)
      verify.push(1, 1)
    }
    try {
      const STRIDE = 22
      const rows = raw.readMany(targets, Uint8Array.from(verify), true)
      expect(rows.length).toBe(targets.length * STRIDE)
      const row = (i: number) => Array.from(rows.subarray(i * STRIDE, (i + 1) * STRIDE))
      // [code, enable, idle, interval, count, userTimeout, TCP_INFO fields...]
      const same = (i: number, s: net.Socket) => {
        const r = row(i)
        expect(r[0], `row ${i}`).toBe(0)
        const own = getKeepAlive(s)
        // -2: the OS cannot tell (enable too: not the same as off).
        const known = (v: number | undefined) => (v === undefined || v === -2 ? null : v)
        expect([known(r[1]), known(r[2]), known(r[3]), known(r[4]), known(r[5])]).toEqual([own.enabled === null ? null : Number(own.enabled), own.idle, own.interval, own.count, own.userTimeout])
        // TCP_INFO's state: established (native/sys.h's TcpState 4), where the OS has TCP_INFO.
        if (tcpInfoHere) expect(r[6]).toBe(4)
        const outside = process.platform === 'linux' ? peekSockopt(fdOf(s)) : null
        if (outside) expect({ enabled: r[1] === 1, idle: r[2], interval: r[3], count: r[4], userTimeout: r[5] }).toEqual({ enabled: outside.enabled, idle: outside.idle, interval: outside.interval, count: outside.count, userTimeout: outside.userTimeout })
      }
      same(0, a.client)
      same(1, b.client)
      same(2, a.accepted)
      expect(row(0)[2]).toBe(4000)
      expect(row(1)[2]).toBe(9000)
      if (process.platform !== 'win32') {
        // native/sys.h's kNotTcp, then a negative errno (ENOTSOCK); the rest of each row unread.
        expect(row(3)[0]).toBe(1)
        expect(row(4)[0]).toBeLessThan(0)
      }
      // Without TCP_INFO asked for, the info fields stay unknown.
      const bare = raw.readMany(targets.slice(0, 1), new Uint8Array(1), false)
      expect(Array.from(bare.subarray(6))).toEqual(new Array<number>(16).fill(-1))
      expect(raw.readMany([], new Uint8Array(0), true).length).toBe(0)
    } finally {
      unix?.destroy()
      unixServer.close()
      if (file >= 0) closeSync(file)
      rmSync(dir, { recursive: true, force: true })
      a.close()
      b.close()
    }
  })

  it('readMany refuses hostile arguments with a code, and survives a getter that detaches its flags', async () => {
    const p = await tcpPair()
    const target = targetOf(p.client)
    const one = () => new Uint8Array(1)
    const bad: Array<[unknown, unknown, unknown]> = [
      [undefined, one(), true], [target, one(), true], [{ length: 1, 0: target }, one(), true],
      [[target], [0], true], [[target], new Uint8Array(2), true], [[target], new Float64Array(1), true], [[target], undefined, true],
      [[target], one(), 1], [[target], one(), undefined],
      [['x'], one(), true], [[-1], one(), true], [[0.5], one(), true], [[{}], one(), true], [[10n], one(), true], [[target, undefined], new Uint8Array(2), true],
    ]
    for (const args of bad) expect(code(() => raw.readMany(...args)), inspect(args)).toBe('ERR_INVALID_ARG_TYPE')
    // Reading an element may run a getter; one that detaches the flags'
    // buffer, and fills what it moved to with 1s, must not change what the
    // flags said when the call began: 0 for both, so the Unix socket below is
    // read unverified and fails on its TCP option (EOPNOTSUPP) like the first.
    if (process.platform !== 'win32') {
      const dir = mkdtempSync(join(tmpdir(), 'tka-detach-'))
      const unixServer = net.createServer().listen(join(dir, 's'))
      await once(unixServer, 'listening')
      const unix = net.connect(join(dir, 's'))
      await once(unix, 'connect')
      try {
        const flags = new Uint8Array(2)
        const hostile: unknown[] = [fdOf(unix)]
        Object.defineProperty(hostile, 1, {
          get() {
            new Uint8Array(structuredClone(flags.buffer, { transfer: [flags.buffer] })).fill(1)
            return fdOf(unix)
          },
          enumerable: true,
        })
        const rows = raw.readMany(hostile, flags, true)
        expect(flags.byteLength).toBe(0)
        // Read through the moved bytes, the second row would be verified: native/sys.h's kNotTcp (1).
        expect(rows[22]).toBe(rows[0])
        expect(rows[0]).toBeLessThan(0)
      } finally {
        unix.destroy()
        unixServer.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    p.close()
  })

  it('reads "unknown" and "leave" as different values', async () => {
    const p = await tcpPair()
    raw.slots.set([0, -1, -1, -1, -1, -1])
    raw.get(targetOf(p.client))
    // Every value Linux reports is a real one; none may come back as "leave".
    for (const v of raw.slots.subarray(1)) expect(v).not.toBe(-1)
  })
})

describe('drop-time rule', () => {
  const rule = capabilities.limits.dropTime
  it.skipIf(rule !== null)('has no combined bound here (separate timers)', () => {
    // Linux: idle, then count probes interval apart, each on its own timer; the
    // largest of each together is accepted.
    if (process.platform !== 'linux' || !capabilities.native) return
    expect(capabilities.limits.dropTime).toBeNull()
  })
  it.skipIf(rule === null)('refuses idle + count x interval beyond limits.dropTime.max, naming all three', async () => {
    const max = (rule as { max: number }).max
    const p = await tcpPair()
    const tooLong = (): void => setKeepAlive(p.client, { idle: 30_000, interval: 86_400_000, count: 50 })
    expect(tooLong).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(tooLong).toThrow(/"idle", "interval" and "count".*idle \+ count x interval.*<= \d+ ms/)
    setKeepAlive(p.client, { idle: 1000, interval: 1000, count: 1 })
    // Partial: judged against the socket's current idle and count.
    expect(() => setKeepAlive(p.client, { interval: capabilities.limits.interval.max })).not.toThrow()
    expect(() => setKeepAlive(p.client, { count: 10, interval: Math.floor(max / 10 / 1000) * 1000 + 1000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
  })
})

describe.skipIf(!capabilities.native)('worker termination', () => {
  it('workers terminated during load and during failing native calls leave the process alive', () => {
    const r = spawnSync(process.execPath, [join(harness, 'stress', 'terminate.mjs'), '--workers', '16'], { encoding: 'utf8', timeout: 60_000 })
    expect(r.signal, r.stderr).toBeNull()
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/16 workers terminated during load, 16 during failing native calls.*process alive/)
  }, 70_000)
})
