// The inspector's view of another process's sockets, from the addon's
// Linux reader (native/diag_linux.cc): sock_diag rows, which leave the
// sockets untouched, and copies taken with pidfd_getfd for the options
// sock_diag does not report. Layouts follow native/addon.cc's DiagField and
// TakeField.
import { getSystemErrorName } from 'node:util'
import type { NativeBinding } from '../binding'
import { tcpInfoFrom, type TcpInfo, type TcpState } from '../tcpinfo'

const STRIDE = 10 + 16
const TAKE_STRIDE = 8
const STATES: readonly TcpState[] = [
  'closed', 'listen', 'syn-sent', 'syn-received', 'established', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'closing', 'last-ack', 'time-wait',
]

/** sock_diag's pending-timer kinds (idiag_timer). */
export const TIMER_KEEPALIVE = 2

export interface DiagRow {
  inode: number
  local: string
  remote: string
  state: TcpState | null
  /** idiag_timer: 0 none, 1 retransmit, 2 keepalive, 4 zero-window probe; null: not read (a taken socket). */
  timer: number | null
  /** ms until that timer fires. */
  timerMs: number | null
  /** cgroup v1 net_cls classid (sk_priority when the classid is 0); null: not reported. */
  classid: number | null
  tcpInfo: TcpInfo
}

export interface Taken {
  /** 0, or why the socket could not be read: 'gone' (fd reused or closed), 'not-tcp', an errno name. */
  error: string | null
  enabled: boolean | null
  idle: number | null
  interval: number | null
  count: number | null
  userTimeout: number | null
  /** Inode of the socket's network namespace (SIOCGSKNS), null when unknown. */
  netns: number | null
  /** For orders with wantInfo: what the copy itself reports. */
  row: DiagRow | null
}

/** A native failure: the errno name (or our code) and the syscall. */
export interface NativeFailure {
  errno: string
  syscall: string
  option: string
}

export function nativeFailure(err: unknown): NativeFailure | null {
  const e = err as { uvCode?: unknown; syscall?: unknown; option?: unknown }
  if (typeof e?.uvCode !== 'number') return null
  return { errno: e.uvCode < 0 ? getSystemErrorName(e.uvCode) : `E${e.uvCode}`, syscall: String(e.syscall ?? ''), option: String(e.option ?? '') }
}

function address(bytes: Uint8Array, family: number, port: number): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}:${port}`
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff
  for (let i = 0; i < 10 && mapped; i++) mapped = bytes[i] === 0
  if (mapped) return `[::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}]:${port}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16))
  // The URL parser writes IPv6 in its canonical, compressed form.
  return `${new URL(`http://[${groups.join(':')}]/`).host}:${port}`
}

const orNull = (v: number): number | null => (v < 0 ? null : v)

function rowAt(rows: Float64Array, addrs: Uint8Array, i: number): DiagRow {
  const o = i * STRIDE
  const family = rows[o + 1] as number
  const state = rows[o + 4] as number
  const timer = rows[o + 5] as number
  return {
    inode: rows[o] as number,
    local: address(addrs.subarray(i * 32, i * 32 + 16), family, rows[o + 2] as number),
    remote: address(addrs.subarray(i * 32 + 16, i * 32 + 32), family, rows[o + 3] as number),
    state: STATES[state] ?? null,
    timer: orNull(timer),
    timerMs: timer > 0 ? orNull(rows[o + 6] as number) : null,
    classid: orNull(rows[o + 8] as number),
    tcpInfo: tcpInfoFrom(rows, o + 10),
  }
}

/** The target's descriptors that are sockets: [fd, inode] pairs, first descriptor of each socket only. */
export function socketFds(b: NativeBinding, pid: number): Map<number, number> {
  const flat = (b.socketFds as NonNullable<NativeBinding['socketFds']>)(pid)
  const pairs: [number, number][] = []
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] as number, flat[i + 1] as number])
  pairs.sort((x, y) => x[0] - y[0])
  const byInode = new Map<number, number>()
  for (const [fd, inode] of pairs) if (!byInode.has(inode)) byInode.set(inode, fd)
  return byInode
}

/** Per fd: 4 or 6 (TCP), 0 (another kind of socket), a negative errno (unreadable). */
export function socketKinds(b: NativeBinding, pid: number, fds: number[]): number[] {
  return Array.from((b.socketKinds as NonNullable<NativeBinding['socketKinds']>)(pid, Float64Array.from(fds)))
}

/** The TCP sockets among `inodes` in the network namespace at netnsPath ('' = ours). */
export function dumpTcp(b: NativeBinding, netnsPath: string, inodes: number[]): Map<number, DiagRow> {
  const [rows, addrs] = (b.diag as NonNullable<NativeBinding['diag']>)(netnsPath, Float64Array.from(inodes))
  const out = new Map<number, DiagRow>()
  for (let i = 0; i < rows.length / STRIDE; i++) {
    const row = rowAt(rows, addrs, i)
    out.set(row.inode, row)
  }
  return out
}

export interface TakeOrder {
  fd: number
  inode: number
  wantInfo: boolean
}

/** Takes and reads each ordered socket from within the cgroups whose tasks files are in `join`. */
export function takeSockets(b: NativeBinding, pid: number, join: string[], orders: TakeOrder[]): Taken[] {
  const flat = new Float64Array(orders.length * 3)
  orders.forEach((o, i) => flat.set([o.fd, o.inode, o.wantInfo ? 1 : 0], i * 3))
  const [res, rows, addrs] = (b.take as NonNullable<NativeBinding['take']>)(pid, join.join('\n'), flat)
  return orders.map((_, i) => {
    const r = res.subarray(i * TAKE_STRIDE, (i + 1) * TAKE_STRIDE)
    const code = r[0] as number
    const error = code === 0 ? null : code === 2 ? 'gone' : code === 1 ? 'not-tcp' : code < 0 ? getSystemErrorName(code) : `E${code}`
    const enable = r[1] as number
    return {
      error,
      enabled: error !== null || enable < 0 ? null : enable === 1,
      idle: error ? null : orNull(r[2] as number),
      interval: error ? null : orNull(r[3] as number),
      count: error ? null : orNull(r[4] as number),
      userTimeout: error ? null : orNull(r[5] as number),
      netns: (r[6] as number) > 0 ? (r[6] as number) : null,
      row: r[7] === 1 ? rowAt(rows, addrs, i) : null,
    }
  })
}
