import type net = require('node:net')
import { native } from './binding'
import { capabilities } from './capabilities'
import { makeError } from './errors'
import { readTcpInfoNative } from './marshal'
import { checkSocket, Kind, kindOf, needsCheck, notTcp, targetOf } from './socket'

/** A TCP connection state (RFC 793 names, lower-case). */
export type TcpState =
  | 'closed'
  | 'listen'
  | 'syn-sent'
  | 'syn-received'
  | 'established'
  | 'fin-wait-1'
  | 'fin-wait-2'
  | 'close-wait'
  | 'closing'
  | 'last-ack'
  | 'time-wait'

/**
 * What the kernel knows about a connection (TCP_INFO on Linux,
 * TCP_CONNECTION_INFO on macOS, SIO_TCP_INFO on Windows). Times are
 * milliseconds, counts are segments, sizes are bytes. `null`: this OS (or
 * this kernel version) does not report the value; see the README's table.
 */
export interface TcpInfo {
  state: TcpState | null
  /** Smoothed round-trip time (fractional ms). */
  rtt: number | null
  /** Round-trip time variance (fractional ms). */
  rttVariance: number | null
  /** Current retransmission timeout. */
  rto: number | null
  /** Sending maximum segment size (bytes). */
  mss: number | null
  /** Congestion window (segments). */
  congestionWindow: number | null
  /** Segments sent and not yet acknowledged. */
  unacked: number | null
  /** Retransmissions of the current unacknowledged data (resets when it is acknowledged). */
  retransmits: number | null
  /** Segments retransmitted over the connection's life. */
  totalRetransmits: number | null
  /** Keepalive (or zero-window) probes sent and not answered so far. */
  keepaliveProbes: number | null
  /** Time since data was last sent. */
  lastDataSent: number | null
  /** Time since data was last received. */
  lastDataReceived: number | null
  /** Time since an acknowledgement was last received. */
  lastAckReceived: number | null
  /** Bytes sent, retransmissions included. */
  bytesSent: number | null
  /** Bytes received. */
  bytesReceived: number | null
  /** Bytes the peer acknowledged. */
  bytesAcked: number | null
}

// Order of the native array (native/sys.h, TcpInfoField).
const FIELDS = [
  'state', 'rtt', 'rttVariance', 'rto', 'mss', 'congestionWindow', 'unacked', 'retransmits', 'totalRetransmits',
  'keepaliveProbes', 'lastDataSent', 'lastDataReceived', 'lastAckReceived', 'bytesSent', 'bytesReceived', 'bytesAcked',
] as const

// Order of native/sys.h's TcpState.
const STATES: readonly TcpState[] = [
  'closed', 'listen', 'syn-sent', 'syn-received', 'established', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'closing', 'last-ack', 'time-wait',
]

/** Builds the public object from the addon's array, starting at `offset`. */
export function tcpInfoFrom(values: Float64Array, offset = 0): TcpInfo {
  const out = {} as Record<(typeof FIELDS)[number], number | null>
  for (let i = 0; i < FIELDS.length; i++) {
    const v = values[offset + i] as number
    out[FIELDS[i] as (typeof FIELDS)[number]] = v < 0 ? null : v
  }
  const state = out.state === null ? null : (STATES[out.state] ?? null)
  return { ...out, state }
}

function unsupported(why: string): Error {
  return makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `getTcpInfo is not supported ${why}`)
}

/**
 * Reads what the kernel knows about a connected TCP socket: state, round-trip
 * time, retransmissions, unanswered keepalive probes, idle times and byte
 * counts. Same argument checks and errors as `getKeepAlive`; without the
 * native addon it throws ERR_TCP_KEEPALIVE_UNSUPPORTED.
 */
export function getTcpInfo(socket: net.Socket): TcpInfo {
  const s = checkSocket(socket)
  const binding = native.binding
  if (!binding) {
    if (kindOf(s._handle) === Kind.Pipe) throw notTcp()
    throw unsupported(`without the native addon (${capabilities.reason ?? 'not loaded'})`)
  }
  const target = targetOf(s)
  if (target === null) throw makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_CONNECTED', 'The socket is not connected yet; read it after \'connect\'')
  try {
    return tcpInfoFrom(readTcpInfoNative(binding, target, needsCheck(s)))
  } catch (err) {
    // The OS (FreeBSD, Windows before 10 1703, Wine) has no such call.
    if ((err as { code?: unknown }).code === 'ENOSYS') throw unsupported(`by this ${capabilities.platform} system (${(err as Error).message})`)
    throw err
  }
}
