// Independent views of a socket's keepalive state: they never call
// tcp-keepalive, so a bug in our getsockopt path cannot hide a bug in set.
import { execFileSync, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PEEK, startReader, type Reader, type ReaderAnswer } from './reader'

export interface PeekedState {
  enabled: boolean
  idle: number
  interval: number
  count: number
  /** null where the OS has no TCP_USER_TIMEOUT. */
  userTimeout: number | null
  local: [string, number]
}

/**
 * Whether an outside-the-process observer exists here. Tests assert through
 * the public API everywhere and, where `available`, also through these
 * readers; where not, the test still runs and `notRun()` says which check was
 * skipped and why, once per reason, so a missing observer never passes for one
 * that agreed.
 */
export interface Observer {
  readonly available: boolean
  readonly reason: string | null
}

function probe(command: string, args: string[], what: string): Observer {
  if (process.platform === 'win32') return { available: false, reason: `${what}: not on Windows` }
  const r = spawnSync(command, args, { stdio: 'ignore' })
  return r.status === 0 ? { available: true, reason: null } : { available: false, reason: `${what}: ${command} not found or not usable` }
}

/** An observer decided on first use, so a file that never asks starts nothing. */
function lazy(decide: () => Observer): Observer {
  let decided: Observer | undefined
  const get = (): Observer => (decided ??= decide())
  return {
    get available() {
      return get().available
    },
    get reason() {
      return get().reason
    },
  }
}

// Linux: one reader per test file (reader.ts) borrows each socket with
// pidfd_getfd. Where it may not borrow from this process (not root under
// Yama's ptrace_scope 1) each read of our own fds starts python3 with a
// duplicate of the fd inherited as its fd 3 instead, which needs no right.
let reader: Reader | null | undefined
let readerFailure = 'python3 not usable'
function linuxReader(): Reader | null {
  if (reader !== undefined) return reader
  reader = null
  if (process.platform !== 'linux') return reader
  const started = startReader()
  if ('ready' in started.hello) reader = started
  else readerFailure = String((started.hello as { gone: string }).gone)
  return reader
}

/** getsockopt from another process (python3) on a duplicate of the fd. */
export const sockoptObserver: Observer = lazy(() => {
  if (process.platform !== 'linux') return probe('python3', ['-c', 'import socket'], 'getsockopt from another process')
  return linuxReader() ? { available: true, reason: null } : { available: false, reason: `getsockopt from another process: ${readerFailure}` }
})
/** The kernel's per-socket timers (ss -tno, iproute2; Linux only). */
export const ssObserver: Observer = lazy(() =>
  process.platform === 'linux' ? probe('ss', ['-V'], 'ss timers') : { available: false, reason: 'ss timers: Linux only' },
)
/** Finding a socket by its ports without the socket object (/proc/net/tcp; Linux only). */
export const procObserver: Observer = lazy(() =>
  process.platform === 'linux' && sockoptObserver.available
    ? { available: true, reason: null }
    : { available: false, reason: 'socket lookup by ports: needs /proc/net/tcp and python3' },
)

const reported = new Set<string>()
/** Says once per reason that an observer check did not run. */
export function notRun(observer: Observer): void {
  const reason = observer.reason ?? 'unknown'
  if (reported.has(reason)) return
  reported.add(reason)
  console.log(`observer check not run: ${reason}`)
}

// The errnos after which this process's own fds are read the inheriting way.
const EPERM = 1
const ENOSYS = 38
let borrowOwn = true

function stateOf(got: ReaderAnswer, what: string): PeekedState {
  if ('gone' in got) throw new Error(`peek_sockopt.py, ${what}: ${String(got.gone)}`)
  if ('error' in got) throw new Error(`peek_sockopt.py, ${what}: ${String(got.error)}`)
  return got as unknown as PeekedState
}

/** getsockopt on a duplicate of our fd held by another process; null where no observer exists. */
export function peekSockopt(fd: number): PeekedState | null {
  if (!sockoptObserver.available) {
    notRun(sockoptObserver)
    return null
  }
  const served = borrowOwn ? linuxReader() : null
  if (served) {
    const got = served.read(process.pid, fd)
    if (!('errno' in got) || (got.errno !== EPERM && got.errno !== ENOSYS)) return stateOf(got, `fd ${fd}`)
    borrowOwn = false
  }
  const r = spawnSync('python3', [PEEK], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`peek_sockopt.py failed (${String(r.status)}): ${r.stderr}`)
  return JSON.parse(r.stdout) as PeekedState
}

/** peekSockopt for many sockets of this process, through one reader; null where no observer exists. */
export function peekSockopts(fds: number[]): PeekedState[] | null {
  if (!sockoptObserver.available) {
    notRun(sockoptObserver)
    return null
  }
  const r = spawnSync('python3', [PEEK, '--inherited', String(fds.length)], { stdio: ['ignore', 'pipe', 'pipe', ...fds], encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`peek_sockopt.py failed (${String(r.status)}): ${r.stderr}`)
  return JSON.parse(r.stdout) as PeekedState[]
}

/** The same view of a socket held by a child process of this one (pidfd_getfd; Linux 5.6+). */
export function peekChildSockopt(pid: number, fd: number): PeekedState | null {
  if (!procObserver.available) {
    notRun(procObserver)
    return null
  }
  return stateOf((linuxReader() as Reader).read(pid, fd), `pid ${pid} fd ${fd}`)
}

/** The fd of this process's TCP socket with these ports (/proc/net/tcp inode, then /proc/self/fd). */
export function fdByPorts(localPort: number, remotePort: number): number | null {
  return fdOfProcessByPorts('self', localPort, remotePort)
}

/** The same for another process (its /proc/PID/net and /proc/PID/fd). */
export function fdOfProcessByPorts(pid: number | 'self', localPort: number, remotePort: number): number | null {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0')
  const inodes = new Set<string>()
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      if ((f[1] as string).endsWith(`:${hex(localPort)}`) && (f[2] as string).endsWith(`:${hex(remotePort)}`)) inodes.add(f[9] as string)
    }
  }
  if (inodes.size === 0) return null
  let fds: string[] = []
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return null
  }
  for (const name of fds) {
    let link = ''
    try {
      link = readlinkSync(`/proc/${pid}/fd/${name}`)
    } catch {
      continue
    }
    const m = /^socket:\[(\d+)\]$/.exec(link)
    if (m && inodes.has(m[1] as string)) return Number(name)
  }
  return null
}

/**
 * ss prints timers as `59sec`, `119min`, `476ms` (0.476 s) and, on this
 * iproute2, `6.720ms` meaning 6.72 s. Returns milliseconds.
 */
export function parseSsTimer(text: string): number {
  const m = /^(\d+)(?:\.(\d+))?(ms|sec|min)$/.exec(text)
  if (!m) throw new Error(`unrecognised ss timer: ${text}`)
  const whole = Number(m[1])
  const frac = m[2] ?? ''
  if (m[3] === 'min') return whole * 60_000
  if (m[3] === 'sec') return whole * 1000
  return frac ? whole * 1000 + Number(frac.padEnd(3, '0').slice(0, 3)) : whole
}

export interface SsTimer {
  name: string
  remainingMs: number
  retries: number
}

/** The kernel's timer on the TCP socket bound to local port `port`, per `ss -tno`; null also where ss is absent (see ssObserver). */
export function ssTimer(localPort: number, remotePort?: number): SsTimer | null {
  if (!ssObserver.available) {
    notRun(ssObserver)
    return null
  }
  const filter = remotePort === undefined ? `( sport = :${localPort} )` : `( sport = :${localPort} and dport = :${remotePort} )`
  const out = execFileSync('ss', ['-tnoH', 'state', 'established', filter], { encoding: 'utf8' })
  const m = /timer:\((\w+),([^,]+),(\d+)\)/.exec(out)
  if (!m) return null
  return { name: m[1] as string, remainingMs: parseSsTimer(m[2] as string), retries: Number(m[3]) }
}

/** A throwaway self-signed certificate for 127.0.0.1/localhost, made with openssl now. */
export function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tka-cert-'))
  try {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    writeFileSync(join(dir, 'key.pem'), key)
    execFileSync('openssl', [
      'req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' })
    return { key, cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * A new temporary directory holding key.pem and cert.pem of a fresh
 * certificate, for a child process that serves TLS. The caller removes it.
 */
export function certificateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const { key, cert } = makeCertificate()
  writeFileSync(join(dir, 'key.pem'), key)
  writeFileSync(join(dir, 'cert.pem'), cert)
  return dir
}

/**
 * The kernel's keepalive settings of this process's TCP socket with the given
 * local and remote ports (no socket object needed, so it works for
 * connections a library opened for us). null: no observer here, or no such
 * socket (check procObserver.available to tell which).
 */
export function kernelViewByPorts(localPort: number, remotePort: number): PeekedState | null {
  if (!procObserver.available) {
    notRun(procObserver)
    return null
  }
  const fd = fdByPorts(localPort, remotePort)
  return fd === null ? null : peekSockopt(fd)
}

export interface ChildPeeker {
  /** The kernel's keepalive settings of a child's TCP socket with these ports; null: no such socket. */
  view(pid: number, localPort: number, remotePort: number): Promise<PeekedState | null>
  close(): void
}

/**
 * Reads CHILD processes' sockets by ports (/proc/PID/net, /proc/PID/fd, then
 * pidfd_getfd) through one long-lived reader, for runs with many reads: the
 * child's runtime (another Node, Bun, Deno) is never asked. null where no
 * observer exists here.
 */
export function childPeeker(): ChildPeeker | null {
  if (!procObserver.available) {
    notRun(procObserver)
    return null
  }
  const served = linuxReader() as Reader
  return {
    view(pid, localPort, remotePort) {
      const fd = fdOfProcessByPorts(pid, localPort, remotePort)
      return Promise.resolve(fd === null ? null : stateOf(served.read(pid, fd), `pid ${pid} fd ${fd}`))
    },
    close() {},
  }
}
