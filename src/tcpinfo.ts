import type net = require('node:net')
import { backend } from './backend'
import { checkSocket } from './socket'

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

/**
 * Reads what the kernel knows about a connected TCP socket: state, round-trip
 * time, retransmissions, unanswered keepalive probes, idle times and byte
 * counts. Same argument checks and errors as `getKeepAlive`; without the
 * native addon it throws ERR_TCP_KEEPALIVE_UNSUPPORTED.
 */
export function getTcpInfo(socket: net.Socket): TcpInfo {
  return backend.tcpInfo(checkSocket(socket))
}
