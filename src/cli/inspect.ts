// Lists another process's TCP connections (Linux) without changing them.
// State, TCP_INFO and the keepalive timer come from sock_diag in the
// namespace that holds each socket; the options sock_diag does not report
// (idle, interval, count, user timeout) from a copy taken with pidfd_getfd,
// only where receiving it provably writes back the cgroup classification it
// already has (cgroups.ts). Nothing is ever set on the target's sockets.
import { backend, type DiagRow, type ProcessReader, type TakeOrder, type Taken } from '../backend'
import type { KeepAliveState } from '../options'
import { isExposed } from '../exposure'
import type { TcpInfo, TcpState } from '../tcpinfo'
import { cgroupPlan, classidKept } from './cgroups'
import { nsInode, otherNamespaces } from './namespaces'
import { fail, permissionError, procError, threadCheck, type InspectError } from './failures'

export type { InspectError }

/** Whether to take a copy of each socket to read idle, interval, count and user timeout. */
export type OptionsMode = 'auto' | 'never' | 'always'

export interface InspectedConnection {
  /** The descriptor number in the target process. */
  fd: number
  /** `address:port`, IPv6 in brackets; null when the socket could not be read. */
  local: string | null
  remote: string | null
  state: TcpState | null
  /** As the target's kernel holds them; times in ms; null: not read. */
  keepalive: KeepAliveState
  tcpInfo: TcpInfo
  /** ms since data last moved either way (TCP_INFO). */
  idle: number | null
  /** ms since the connection opened: Linux does not record it, so null there. */
  age: number | null
  /** ms until the pending keepalive probe (sock_diag's timer), null when another timer or none is pending. */
  keepaliveTimer: number | null
  /** Inode of the socket's network namespace (`net:[inode]`). */
  netns: number | null
  /** Accepted by one of the target's listening sockets (else opened by it). */
  accepted: boolean
  /** An idle-dropping middlebox with the given limit would forget this connection (unknown counts as exposed). */
  exposed: boolean
  /** Why this TCP socket could not be read at all, or null. */
  unreadable: string | null
}

export interface Inspection {
  connections: InspectedConnection[]
  /** What was left unknown and why, one sentence each. */
  notes: string[]
}

// sock_diag's idiag_timer for the keepalive timer.
const TIMER_KEEPALIVE = 2

const UNKNOWN_INFO: TcpInfo = {
  state: null, rtt: null, rttVariance: null, rto: null, mss: null, congestionWindow: null, unacked: null, retransmits: null, totalRetransmits: null,
  keepaliveProbes: null, lastDataSent: null, lastDataReceived: null, lastAckReceived: null, bytesSent: null, bytesReceived: null, bytesAcked: null,
}

/** A system error's facts (errors.ts, systemError), or null for anything else. */
function systemFacts(err: unknown): { errno: string; syscall: string; option: string } | null {
  const e = err as { code?: unknown; syscall?: unknown; option?: unknown }
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') return null
  return { errno: e.code, syscall: e.syscall, option: typeof e.option === 'string' ? e.option : '' }
}

function diagError(pid: number, err: unknown, where: string): InspectError {
  const f = systemFacts(err)
  if (!f) throw err
  if (f.errno === 'EPERM' || f.errno === 'EACCES') return fail('EPERM', `not permitted to read the network namespace of process ${pid} (${f.syscall}: ${f.errno}): sock_diag must be asked there, which needs CAP_SYS_ADMIN over it (e.g. run with sudo)`)
  return fail(f.errno, `sock_diag in ${where} failed (${f.syscall}: ${f.errno})`)
}

function keepaliveOf(t: Taken | undefined, row: DiagRow): KeepAliveState {
  if (t && t.error === null) return t.keepalive
  // Without the options, the pending timer still tells on from off on an
  // established socket: the keepalive timer runs exactly while keepalive is on
  // and no retransmission is pending.
  const enabled = row.state === 'established' && row.timer === TIMER_KEEPALIVE ? true : row.state === 'established' && row.timer === 0 ? false : null
  return { enabled, idle: null, interval: null, count: null, userTimeout: null }
}

const portOf = (address: string): string => address.slice(address.lastIndexOf(':') + 1)

function idleOf(t: TcpInfo): number | null {
  if (t.lastDataSent === null || t.lastDataReceived === null) return null
  return Math.min(t.lastDataSent, t.lastDataReceived)
}

/**
 * The TCP connections (listening sockets excepted) of process `pid`, as its
 * kernel holds them. Throws an InspectError whose message says what to do.
 */
export function inspect(pid: number, idleLimitMs: number, mode: OptionsMode = 'auto'): Inspection {
  if (process.platform !== 'linux') throw fail('ERR_TCP_KEEPALIVE_UNSUPPORTED', `inspect works on Linux only (it reads /proc and sock_diag); this is ${process.platform}`)
  const b: ProcessReader = backend.inspect(pid)
  threadCheck(pid)
  let byInode: Map<number, number>
  try {
    byInode = b.socketFds()
  } catch (err) {
    const f = systemFacts(err)
    if (!f) throw err
    throw procError(pid, Object.assign(new Error(`${f.syscall}: ${f.errno}`), { code: f.errno }))
  }
  const notes: string[] = []
  const inodes = [...byInode.keys()]
  const targetNs = nsInode(`/proc/${pid}/ns/net`)
  const sameNs = targetNs !== null && targetNs === nsInode('/proc/thread-self/ns/net')
  const found = new Map<number, { row: DiagRow; netns: number | null }>()
  // Copies, only where receiving one writes back the classification it has;
  // TCP_INFO is then read on the copy, sparing sock_diag's fill of every socket.
  const plan = mode === 'never' ? null : cgroupPlan(pid)
  const copies = plan !== null && (plan.unsafe === null || mode === 'always')
  const nsPath = sameNs ? '' : `/proc/${pid}/ns/net`
  if (inodes.length > 0) {
    let rows: Map<number, DiagRow>
    try {
      rows = b.dumpTcp(nsPath, inodes, !copies)
    } catch (err) {
      throw diagError(pid, err, `the network namespace of process ${pid}`)
    }
    for (const [ino, row] of rows) found.set(ino, { row, netns: targetNs })
  }

  // Sockets not in the target's namespace: TCP ones are looked for elsewhere.
  let foreign: number[] = []
  const unmatched = inodes.filter((ino) => !found.has(ino))
  if (unmatched.length > 0) {
    const kinds = b.socketKinds(unmatched.map((ino) => byInode.get(ino) as number))
    foreign = unmatched.filter((_, i) => kinds[i] === 4 || kinds[i] === 6)
  }
  if (foreign.length > 0) {
    for (const [ns, path] of otherNamespaces(pid, targetNs)) {
      let rows: Map<number, DiagRow>
      try {
        rows = b.dumpTcp(path, foreign, true)
      } catch {
        continue // a namespace we may not enter: the socket stays foreign
      }
      for (const [ino, row] of rows) found.set(ino, { row, netns: ns })
    }
    foreign = foreign.filter((ino) => !found.has(ino))
  }

  const orders: TakeOrder[] = []
  let skippedClassid = 0
  if (plan && copies) {
    for (const [ino, { row }] of found) {
      if (row.state === 'listen') continue
      if (mode === 'auto' && !classidKept(row.classid, plan.classid)) skippedClassid++
      else orders.push({ fd: byInode.get(ino) as number, inode: ino, wantInfo: false, wantTcpInfo: true })
    }
    for (const ino of foreign) orders.push({ fd: byInode.get(ino) as number, inode: ino, wantInfo: true, wantTcpInfo: true })
  }
  const taken = new Map<number, Taken>()
  let takeError: string | null = null
  if (orders.length > 0 && plan) {
    const attempt = (join: string[]): Taken[] => b.take(join, orders)
    let results: Taken[] | null = null
    try {
      results = attempt(plan.unsafe === null ? plan.join : [])
    } catch (err) {
      const f = systemFacts(err)
      if (!f) throw err
      if (f.option === 'cgroup tasks') {
        takeError = `cannot join the target's net_cls/net_prio cgroups to take its sockets without changing them (${f.syscall}: ${f.errno})`
        if (mode === 'always') results = attempt([])
      } else if (f.errno === 'ESRCH') throw fail('ESRCH', `no such process: ${pid} (it exited while being inspected)`)
      else if (f.errno === 'ENOSYS') takeError = 'this kernel lacks pidfd_getfd (Linux 5.6 or later)'
      else if (f.errno === 'EPERM' || f.errno === 'EACCES') takeError = permissionError(pid, `${f.syscall}: ${f.errno}`).message.replace(/^not permitted to read the sockets/, 'not permitted to take the sockets')
      else takeError = `taking its sockets failed (${f.syscall}: ${f.errno})`
    }
    if (results) orders.forEach((o, i) => taken.set(o.inode, results[i] as Taken))
  }
  // TCP_INFO of the target namespace's sockets no copy gave, from sock_diag.
  const noInfo = copies ? [...found].filter(([ino, f]) => f.netns === targetNs && f.row.state !== 'listen' && !taken.get(ino)?.tcpInfo).map(([ino]) => ino) : []
  if (noInfo.length > 0) for (const [ino, row] of b.dumpTcp(nsPath, noInfo, true)) found.set(ino, { row, netns: targetNs })
  if (mode === 'never') notes.push('keepalive options not read (--options never): on/off is inferred from the keepalive timer where it shows')
  else if (plan?.unsafe && mode === 'auto') notes.push(`keepalive options not read: ${plan.unsafe}, so taking a socket could change its cgroup classification (--options always reads them anyway)`)
  else if (takeError) notes.push(`keepalive options not read: ${takeError}`)
  if (skippedClassid > 0) notes.push(`keepalive options of ${skippedClassid} socket(s) not read: their net_cls classid differs from their process's cgroup's, and taking them would change it (--options always reads them anyway)`)

  const listening = new Set<string>()
  for (const { row } of found.values()) if (row.state === 'listen') listening.add(portOf(row.local))
  const out: InspectedConnection[] = []
  for (const [ino, { row, netns }] of found) {
    if (row.state === 'listen') continue
    const t = taken.get(ino)
    if (t?.error === 'gone') continue // closed between the listing and the copy
    const keepalive = keepaliveOf(t, row)
    const tcpInfo = t?.tcpInfo ?? row.tcpInfo
    out.push({
      fd: byInode.get(ino) as number,
      local: row.local,
      remote: row.remote,
      state: row.state,
      keepalive,
      tcpInfo,
      idle: idleOf(tcpInfo),
      age: null,
      keepaliveTimer: row.timer === TIMER_KEEPALIVE ? row.timerMs : null,
      netns,
      accepted: listening.has(portOf(row.local)),
      exposed: isExposed(keepalive, idleLimitMs),
      unreadable: null,
    })
  }
  for (const ino of foreign) {
    const t = taken.get(ino)
    const row = t?.row
    if (t?.error === 'gone' || t?.error === 'not-tcp') continue // closed meanwhile
    if (row && t) {
      if (row.state === 'listen') continue
      const keepalive = keepaliveOf(t, row)
      out.push({ fd: byInode.get(ino) as number, local: row.local, remote: row.remote, state: row.state, keepalive, tcpInfo: row.tcpInfo, idle: idleOf(row.tcpInfo), age: null, keepaliveTimer: null, netns: t.netns, accepted: listening.has(portOf(row.local)), exposed: isExposed(keepalive, idleLimitMs), unreadable: null })
      continue
    }
    const keepalive = { enabled: null, idle: null, interval: null, count: null, userTimeout: null }
    const why = t?.error ? `taking it failed (${t.error})` : 'it is in another network namespace, readable only by taking it'
    out.push({ fd: byInode.get(ino) as number, local: null, remote: null, state: null, keepalive, tcpInfo: UNKNOWN_INFO, idle: null, age: null, keepaliveTimer: null, netns: null, accepted: false, exposed: true, unreadable: why })
  }
  out.sort((x, y) => x.fd - y.fd)
  return { connections: out, notes }
}

/** The connections only (see `inspect`). */
export function inspectProcess(pid: number, idleLimitMs: number, mode: OptionsMode = 'auto'): InspectedConnection[] {
  return inspect(pid, idleLimitMs, mode).connections
}

