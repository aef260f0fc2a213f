// The native addon as the backend: the only module that knows the addon's
// value layouts, its sentinels and its error codes. Values cross through one
// shared Float64Array (no argument conversion per call); failures come back
// as raw facts and leave as the public errors.
import { dropTimeRuleError, makeError, systemError } from '../errors'
import type { KeepAliveState } from '../options'
import { runtime } from '../runtime'
import { assertConnected, assertTcp, isConnected, Kind, kindOf, stateOf, type InternalSocket } from '../socket'
import type { TcpInfo, TcpState } from '../tcpinfo'
import { merge, UNSET, type Normalized } from '../values'
import { loaded, type Addon, type Target } from './addon'
import { makeGuard } from './guard'
import { processReader } from './inspect'
import type { Backend, BackendCapabilities, SocketReading } from './types'

// addon.slots, in and out of set() and get(): slot 0 is verify, slot 1 + o holds
// native/sys.h's Option o (enum Option: enable, idle, interval, count, userTimeout).
// Verify: check natively that the socket is TCP (its handle type did not prove it).
const enum Slot {
  Verify = 0,
  Enable = 1,
  Idle = 2,
  Interval = 3,
  Count = 4,
  UserTimeout = 5,
}
/** set(): keep the socket's value. Normalized's UNSET is the same number, so options cross unchanged. */
const LEAVE: typeof UNSET = -1
/** get(), tcpInfo(): the OS cannot tell (any negative value). */
const known = (v: number): number | null => (v < 0 ? null : v)

// native/sys.h's TcpState.
const STATES: readonly TcpState[] = [
  'closed', 'listen', 'syn-sent', 'syn-received', 'established', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'closing', 'last-ack', 'time-wait',
]

// tcpInfo() returns native/sys.h's TcpInfoField order. One literal, so that
// every TcpInfo has the same shape: the census builds thousands at a time.
function tcpInfoFrom(v: Float64Array, at: number): TcpInfo {
  const state = v[at] as number
  return {
    state: state < 0 ? null : (STATES[state] ?? null),
    rtt: known(v[at + 1] as number),
    rttVariance: known(v[at + 2] as number),
    rto: known(v[at + 3] as number),
    mss: known(v[at + 4] as number),
    congestionWindow: known(v[at + 5] as number),
    unacked: known(v[at + 6] as number),
    retransmits: known(v[at + 7] as number),
    totalRetransmits: known(v[at + 8] as number),
    keepaliveProbes: known(v[at + 9] as number),
    lastDataSent: known(v[at + 10] as number),
    lastDataReceived: known(v[at + 11] as number),
    lastAckReceived: known(v[at + 12] as number),
    bytesSent: known(v[at + 13] as number),
    bytesReceived: known(v[at + 14] as number),
    bytesAcked: known(v[at + 15] as number),
  }
}

// get() leaves native/sys.h's Option order in slots 1..5; readMany() in each row after its code.
function keepaliveFrom(v: Float64Array, at: number): KeepAliveState {
  const enable = v[at] as number
  return {
    enabled: enable < 0 ? null : enable === 1,
    idle: known(v[at + 1] as number),
    interval: known(v[at + 2] as number),
    count: known(v[at + 3] as number),
    userTimeout: known(v[at + 4] as number),
  }
}

// readMany()'s rows (native/addon.cc, ReadField): the failure code, the options, TCP_INFO.
const ROW_OPTIONS = 1
const ROW_INFO = ROW_OPTIONS + 5
const ROW = ROW_INFO + 16

// The addon's error codes (native/sys.h, FailureCode): a positive uvCode is ours, a negative one libuv's errno.
const NOT_TCP = 1
const NO_SUCH_SOCKET = 2
const DROP_TIME = 3
const WINDOWS_NO_IDLE_READ = 5

function capabilitiesOf(addon: Addon): BackendCapabilities {
  const c = addon.capabilities
  const limit = (r: { min: number; max: number }) => Object.freeze({ min: r.min, max: r.max })
  return Object.freeze({
    native: true,
    // The addon names the platforms it knows; any other Unix is what Node calls it.
    platform: c.platform === '' ? process.platform : c.platform,
    idle: c.idle.supported,
    interval: c.interval.supported,
    count: c.count.supported,
    userTimeout: c.userTimeout.supported,
    limits: Object.freeze({
      idle: limit(c.idle),
      interval: limit(c.interval),
      count: limit(c.count),
      userTimeout: limit(c.userTimeout),
      dropTime: c.dropTimeMax > 0 ? limit({ min: 0, max: c.dropTimeMax }) : null,
    }),
    userTimeoutOption: c.userTimeout.supported ? c.userTimeoutOption : null,
    reason: null,
  })
}

function createNative(addon: Addon): Backend {
  const capabilities = capabilitiesOf(addon)
  const slots = addon.slots
  const fdTarget = addon.capabilities.target === 'fd'
  const withInfo = addon.capabilities.tcpInfo === true

  function translate(err: unknown): Error {
    const e = err as { uvCode?: unknown; syscall?: unknown; option?: unknown }
    if (typeof e?.uvCode !== 'number') return err as Error
    if (e.uvCode === NOT_TCP) return makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', 'The socket is not an IPv4/IPv6 TCP socket')
    if (e.uvCode === NO_SUCH_SOCKET) return makeError(Error, 'ERR_TCP_KEEPALIVE_SOCKET_NOT_FOUND', "No TCP handle of this event loop matches the socket's endpoints")
    if (e.uvCode === DROP_TIME) return dropTimeRuleError(capabilities.limits.dropTime?.max ?? 0, capabilities.platform, "with the socket's current values for the options not given")
    if (e.uvCode === WINDOWS_NO_IDLE_READ) return makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', 'This Windows (before 10 1709) cannot read a socket\'s idle time, so "interval" must be given together with "idle"')
    return systemError(e.uvCode, String(e.syscall), String(e.option))
  }

  // The OS socket behind `socket`, read from the live handle now (fd numbers
  // are reused after close, so it is never cached). Also sets the verify
  // slot: a handle Node created as TCP is TCP; anything else (TLSWrap, which
  // may sit on a pipe) is checked natively at the cost of two syscalls.
  function targetOf(socket: InternalSocket): Target {
    const handle = socket._handle
    const kind = kindOf(handle)
    if (kind === Kind.Pipe) assertTcp(socket)
    if (handle === null || socket.connecting) assertConnected(socket)
    slots[Slot.Verify] = kind === Kind.Tcp ? 0 : 1
    const live = handle as NonNullable<typeof handle>
    if (fdTarget) {
      const fd = live.fd
      if (typeof fd !== 'number' || fd < 0) {
        if (runtime === 'deno') throw makeError(Error, 'ERR_TCP_KEEPALIVE_RUNTIME_UNSUPPORTED', 'Deno does not expose the file descriptor of a net.Socket, so tcp-keepalive cannot reach it in Deno.')
        throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', `The socket has no OS socket behind it (handle: ${live.constructor?.name ?? 'unknown'}).`)
      }
      return fd
    }
    const { localAddress, localPort, remoteAddress, remotePort } = socket
    if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) {
      throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', `The socket has no TCP endpoints (handle: ${live.constructor?.name ?? 'unknown'}).`)
    }
    return [localAddress, localPort, remoteAddress, remotePort]
  }

  /** Sets exactly `n` (LEAVE fields kept by the kernel); records nothing. */
  function write(socket: InternalSocket, n: Normalized, target: Target = targetOf(socket)): void {
    slots[Slot.Enable] = n.enable
    slots[Slot.Idle] = n.idle
    slots[Slot.Interval] = n.interval
    slots[Slot.Count] = n.count
    slots[Slot.UserTimeout] = n.userTimeout
    try {
      addon.set(target)
    } catch (err) {
      throw translate(err)
    }
  }

  function read(socket: InternalSocket): KeepAliveState {
    const target = targetOf(socket)
    try {
      addon.get(target)
    } catch (err) {
      throw translate(err)
    }
    return keepaliveFrom(slots, Slot.Enable)
  }

  // One crossing for the whole census: per socket, the target as set() and
  // get() take it. Fds are read from the live handles in this same
  // synchronous call and never kept: nothing between here and the system
  // calls runs code that could close a socket.
  function readAll(sockets: readonly InternalSocket[]): Array<SocketReading | null> {
    const targets: Target[] = []
    const at = new Int32Array(sockets.length).fill(-1)
    const verify = new Uint8Array(sockets.length)
    for (let i = 0; i < sockets.length; i++) {
      try {
        targets.push(targetOf(sockets[i] as InternalSocket))
      } catch {
        // Not connected, a pipe, no OS socket: not a connection to read.
        continue
      }
      verify[targets.length - 1] = slots[Slot.Verify] as number
      at[i] = targets.length - 1
    }
    const flags = verify.subarray(0, targets.length)
    let rows: Float64Array
    try {
      rows = addon.readMany(targets, flags, withInfo)
    } catch {
      // A target the addon refuses (none that Node builds): one at a time, so that it costs its own row only.
      rows = new Float64Array(targets.length * ROW).fill(-1)
      for (let t = 0; t < targets.length; t++) {
        try {
          rows.set(addon.readMany([targets[t] as Target], flags.subarray(t, t + 1), withInfo), t * ROW)
        } catch {
          // Its row stays failed (code -1).
        }
      }
    }
    const out: Array<SocketReading | null> = new Array<SocketReading | null>(sockets.length)
    for (let i = 0; i < sockets.length; i++) {
      const row = (at[i] as number) * ROW
      out[i] = row < 0 || rows[row] !== 0 ? null : { keepalive: keepaliveFrom(rows, row + ROW_OPTIONS), info: withInfo ? tcpInfoFrom(rows, row + ROW_INFO) : null }
    }
    return out
  }

  const guard = makeGuard({ write, read })

  return {
    capabilities,
    ready: isConnected,
    set(socket, n) {
      const target = targetOf(socket)
      const state = stateOf(socket)
      // Before the values: guard() never throws, so a call refused here has changed nothing.
      if (!state.applied) guard(socket)
      // Windows may have to set idle and interval together (SIO_KEEPALIVE_VALS)
      // without being able to read the one not given: hand it everything we set.
      write(socket, fdTarget ? n : merge(state, n), target)
      state.enable = n.enable
      if (n.idle !== LEAVE) state.idle = n.idle
      if (n.interval !== LEAVE) state.interval = n.interval
      if (n.count !== LEAVE) state.count = n.count
      if (n.userTimeout !== LEAVE) state.userTimeout = n.userTimeout
      state.applied = true
    },
    get: read,
    readAll,
    tcpInfo(socket) {
      const target = targetOf(socket)
      try {
        return tcpInfoFrom(addon.tcpInfo(target, slots[Slot.Verify] === 1), 0)
      } catch (err) {
        const e = translate(err)
        // The OS (FreeBSD, Windows before 10 1703, Wine) has no such call.
        if ((e as { code?: unknown }).code === 'ENOSYS') throw makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `getTcpInfo is not supported by this ${capabilities.platform} system (${e.message})`)
        throw e
      }
    },
    inspect(pid) {
      return processReader(addon, pid, tcpInfoFrom)
    },
  }
}

/** The addon's backend, or null (with loaded.reason) where it did not load. */
export const native: Backend | null = loaded.addon === null ? null : createNative(loaded.addon)
export const nativeReason: string | null = loaded.reason
