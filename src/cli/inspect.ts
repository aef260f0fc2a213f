// Lists another process's TCP connections with the keepalive settings and
// TCP_INFO its kernel holds for each. Linux only: sockets are found through
// /proc/PID/fd and /proc/PID/net/tcp{,6}, and read on a copy of the target's
// descriptor taken with pidfd_getfd, closed before the next one is taken.
// Nothing is ever set on the target's sockets.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { endianness } from 'node:os'
import { backend, type InspectedSocket } from '../backend'
import type { KeepAliveState } from '../options'
import type { TcpInfo, TcpState } from '../tcpinfo'

export interface InspectedConnection {
  /** The descriptor number in the target process. */
  fd: number
  /** `address:port`, IPv6 in brackets. */
  local: string
  remote: string
  state: TcpState | null
  /** As the target's kernel holds them; times in ms. */
  keepalive: KeepAliveState
  tcpInfo: TcpInfo
  /** An idle-dropping middlebox with the given limit would forget this connection. */
  exposed: boolean
}

/** Why inspecting failed, in words fit for a terminal; `code` is an errno name or ours. */
export interface InspectError extends Error {
  code: string
}

function fail(code: string, message: string): InspectError {
  const err = new Error(message) as InspectError
  err.code = code
  return err
}

// /proc/net/tcp's st column (include/net/tcp_states.h).
const PROC_STATES: Record<number, TcpState> = {
  1: 'established', 2: 'syn-sent', 3: 'syn-received', 4: 'fin-wait-1', 5: 'fin-wait-2', 6: 'time-wait',
  7: 'closed', 8: 'close-wait', 9: 'last-ack', 10: 'listen', 11: 'closing',
}
const LISTEN = 10

// The kernel prints each 32-bit word of an address as a number in host byte
// order, so on little-endian machines each word's bytes come out reversed.
function addressBytes(hex: string): Buffer {
  const bytes = Buffer.from(hex, 'hex')
  if (endianness() === 'LE') for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse()
  return bytes
}

/** `0100007F:1F90` -> `127.0.0.1:8080`; 32 hex digits -> `[::1]:8080`. */
function decodeProcAddress(text: string): string {
  const [hex = '', portHex = '0'] = text.split(':')
  const port = parseInt(portHex, 16)
  const b = addressBytes(hex)
  if (b.length === 4) return `${b.join('.')}:${port}`
  // IPv4-mapped addresses read best in dotted form.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `[::ffff:${b.subarray(12).join('.')}]:${port}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16))
  // The URL parser writes IPv6 in its canonical, compressed form.
  return `${new URL(`http://[${groups.join(':')}]/`).host}:${port}`
}

interface ProcSocket {
  local: string
  remote: string
  state: number
}

// /proc/PID/net/tcp lists every socket of the process's network namespace,
// possibly tens of thousands: only the lines of `wanted` inodes are decoded.
function readTable(pid: number, wanted: Set<string>): Map<string, ProcSocket> {
  const table = new Map<string, ProcSocket>()
  for (const name of ['tcp', 'tcp6']) {
    let text: string
    try {
      text = readFileSync(`/proc/${pid}/net/${name}`, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && name === 'tcp6') continue // no IPv6 in this kernel
      throw procError(pid, err)
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/, 10)
      // Sockets without an inode (TIME_WAIT, request sockets) have no descriptor to read.
      if (f.length < 10 || !wanted.has(f[9] as string)) continue
      table.set(f[9] as string, { local: decodeProcAddress(f[1] as string), remote: decodeProcAddress(f[2] as string), state: parseInt(f[3] as string, 16) })
    }
  }
  return table
}

function yamaScope(): number | null {
  try {
    return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim())
  } catch {
    return null
  }
}

function ownerOf(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

function permissionError(pid: number, what: string): InspectError {
  const owner = ownerOf(pid)
  const me = process.getuid?.() ?? null
  const whose = owner !== null && me !== null && owner !== me ? `it belongs to uid ${owner}, this is uid ${me}; ` : ''
  const scope = yamaScope()
  const yama =
    scope === null || scope === 0
      ? ''
      : scope === 1
        ? ', and Yama (kernel.yama.ptrace_scope = 1) lets only a parent process trace without it'
        : scope === 2
          ? ', and Yama (kernel.yama.ptrace_scope = 2) requires it'
          : ', but Yama (kernel.yama.ptrace_scope = 3) forbids tracing to everyone until reboot'
  return fail('EPERM', `not permitted to read the sockets of process ${pid} (${what}): ${whose}this needs the right to ptrace it, CAP_SYS_PTRACE (e.g. run with sudo) or the same user${yama}`)
}

function procError(pid: number, err: unknown): InspectError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ESRCH') return fail('ESRCH', `no such process: ${pid}`)
  if (code === 'EACCES' || code === 'EPERM') return permissionError(pid, `reading /proc/${pid}/fd: ${code}`)
  return fail(code ?? 'UNKNOWN', `cannot read /proc/${pid}: ${(err as Error).message}`)
}

function kernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

/** Whether a middlebox that forgets flows idle for `limitMs` would forget this one. */
function isExposed(k: KeepAliveState, limitMs: number): boolean {
  // Unknown counts as exposed: nothing shows the connection is protected.
  if (k.enabled !== true) return true
  return (k.idle ?? Infinity) >= limitMs || (k.interval ?? Infinity) >= limitMs
}

/**
 * The TCP connections (listening sockets excepted) of process `pid`, as its
 * kernel holds them. Throws an InspectError whose message says what to do.
 */
export function inspectProcess(pid: number, idleLimitMs: number): InspectedConnection[] {
  if (process.platform !== 'linux') throw fail('ERR_TCP_KEEPALIVE_UNSUPPORTED', `inspect works on Linux only (it reads /proc and uses pidfd_getfd); this is ${process.platform}`)
  const read = backend.inspect(pid)
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch (err) {
    throw procError(pid, err)
  }
  // fd -> socket inode, first descriptor of each socket only.
  const sockets = new Map<number, string>()
  const inodes = new Set<string>()
  for (const name of fds.sort((a, b) => Number(a) - Number(b))) {
    let link: string
    try {
      link = readlinkSync(`/proc/${pid}/fd/${name}`)
    } catch {
      continue // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1]
    if (inode === undefined || inodes.has(inode)) continue
    inodes.add(inode)
    sockets.set(Number(name), inode)
  }
  const table = inodes.size > 0 ? readTable(pid, inodes) : new Map<string, ProcSocket>()
  const out: InspectedConnection[] = []
  for (const [fd, inode] of sockets) {
    const entry = table.get(inode)
    if (entry === undefined || entry.state === LISTEN) continue
    let seen: InspectedSocket | null
    try {
      seen = read(fd, BigInt(inode))
    } catch (err) {
      const e = err as { code?: unknown; syscall?: unknown }
      if (typeof e.code !== 'string') throw err
      const what = `${String(e.syscall)}: ${e.code}`
      if (e.code === 'EPERM' || e.code === 'EACCES') throw permissionError(pid, what)
      if (e.code === 'ESRCH') throw fail('ESRCH', `no such process: ${pid} (it exited while being inspected)`)
      if (e.code === 'ENOSYS') throw fail('ENOSYS', `this kernel (${kernelRelease()}) lacks pidfd_getfd, which inspect needs (Linux 5.6 or later)`)
      throw fail(e.code, `reading fd ${fd} of process ${pid} failed (${what})`)
    }
    if (seen === null) continue // closed meanwhile, or the number now names another socket
    const { keepalive, tcpInfo } = seen
    out.push({
      fd,
      local: entry.local,
      remote: entry.remote,
      state: tcpInfo.state ?? PROC_STATES[entry.state] ?? null,
      keepalive,
      tcpInfo,
      exposed: isExposed(keepalive, idleLimitMs),
    })
  }
  return out
}
