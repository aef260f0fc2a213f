// The addon's reader of another process's sockets (Linux): its value layouts
// (native/addon.cc, DiagField and TakeField) and failures, for native.ts.
import { getSystemErrorName } from 'node:util'
import { makeError, systemError } from '../errors'
import type { TcpInfo, TcpState } from '../tcpinfo'
import type { Addon } from './addon'
import type { DiagRow, ProcessReader, TakeOrder, Taken } from './types'

const STRIDE = 10 + 16
const OPTIONS = 5
const TAKE_STRIDE = 1 + OPTIONS + 3
// native/sys.h's TcpState.
const STATES: readonly TcpState[] = [
  'closed', 'listen', 'syn-sent', 'syn-received', 'established', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'closing', 'last-ack', 'time-wait',
]
// Per-copy codes of ours (sys.h, FailureCode).
const NOT_TCP = 1
const NOT_FOUND = 2

const orNull = (v: number): number | null => (v < 0 ? null : v)

function address(bytes: Uint8Array, family: number, port: number): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}:${port}`
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff
  for (let i = 0; i < 10 && mapped; i++) mapped = bytes[i] === 0
  // IPv4-mapped addresses read best in dotted form.
  if (mapped) return `[::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}]:${port}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16))
  // The URL parser writes IPv6 in its canonical, compressed form.
  return `${new URL(`http://[${groups.join(':')}]/`).host}:${port}`
}

type TcpInfoFrom = (values: Float64Array, offset: number) => TcpInfo

function rowAt(rows: Float64Array, addrs: Uint8Array, i: number, tcpInfoFrom: TcpInfoFrom): DiagRow {
  const o = i * STRIDE
  const family = rows[o + 1] as number
  const timer = rows[o + 5] as number
  return {
    inode: rows[o] as number,
    local: address(addrs.subarray(i * 32, i * 32 + 16), family, rows[o + 2] as number),
    remote: address(addrs.subarray(i * 32 + 16, i * 32 + 32), family, rows[o + 3] as number),
    state: STATES[rows[o + 4] as number] ?? null,
    timer: orNull(timer),
    timerMs: timer > 0 ? orNull(rows[o + 6] as number) : null,
    classid: orNull(rows[o + 8] as number),
    tcpInfo: tcpInfoFrom(rows, o + 10),
  }
}

// The addon's raw failure as a system error (code: the errno name).
function translated<T>(call: () => T): T {
  try {
    return call()
  } catch (err) {
    const e = err as { uvCode?: unknown; syscall?: unknown; option?: unknown }
    if (typeof e?.uvCode !== 'number' || e.uvCode >= 0) throw err
    throw systemError(e.uvCode, typeof e.syscall === 'string' ? e.syscall : '', typeof e.option === 'string' ? e.option : '')
  }
}

export function processReader(addon: Addon, pid: number, tcpInfoFrom: TcpInfoFrom): ProcessReader {
  const socketFds = addon.socketFds?.bind(addon)
  const socketKinds = addon.socketKinds?.bind(addon)
  const diag = addon.diag?.bind(addon)
  const take = addon.take?.bind(addon)
  if (!socketFds || !socketKinds || !diag || !take) throw makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `inspect works on Linux only (it reads /proc and sock_diag); this is ${process.platform}`)
  return {
    socketFds() {
      const flat = translated(() => socketFds(pid))
      const pairs: [number, number][] = []
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] as number, flat[i + 1] as number])
      pairs.sort((x, y) => x[0] - y[0])
      const byInode = new Map<number, number>()
      for (const [fd, inode] of pairs) if (!byInode.has(inode)) byInode.set(inode, fd)
      return byInode
    },
    socketKinds(fds) {
      return Array.from(translated(() => socketKinds(pid, Float64Array.from(fds))))
    },
    dumpTcp(netnsPath, inodes, withInfo) {
      const [rows, addrs] = translated(() => diag(netnsPath, Float64Array.from(inodes), withInfo))
      const out = new Map<number, DiagRow>()
      for (let i = 0; i < rows.length / STRIDE; i++) {
        const row = rowAt(rows, addrs, i, tcpInfoFrom)
        out.set(row.inode, row)
      }
      return out
    },
    take(join, orders: TakeOrder[]) {
      const flat = new Float64Array(orders.length * 3)
      orders.forEach((o, i) => flat.set([o.fd, o.inode, (o.wantInfo ? 1 : 0) | (o.wantTcpInfo ? 2 : 0)], i * 3))
      const [res, rows, addrs] = translated(() => take(pid, join.join('\n'), flat))
      return orders.map((_, i): Taken => {
        const r = res.subarray(i * TAKE_STRIDE, (i + 1) * TAKE_STRIDE)
        const code = r[0] as number
        const error = code === 0 ? null : code === NOT_FOUND ? 'gone' : code === NOT_TCP ? 'not-tcp' : code < 0 ? getSystemErrorName(code) : `E${code}`
        const v = (k: number): number | null => (error ? null : orNull(r[1 + k] as number))
        const enable = v(0)
        return {
          error,
          keepalive: { enabled: enable === null ? null : enable === 1, idle: v(1), interval: v(2), count: v(3), userTimeout: v(4) },
          netns: (r[1 + OPTIONS] as number) > 0 ? (r[1 + OPTIONS] as number) : null,
          row: r[2 + OPTIONS] === 1 ? rowAt(rows, addrs, i, tcpInfoFrom) : null,
          tcpInfo: r[3 + OPTIONS] === 1 ? tcpInfoFrom(rows, i * STRIDE + 10) : null,
        }
      })
    },
  }
}
