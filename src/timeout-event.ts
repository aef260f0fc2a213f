// The dead-peer event: when the kernel closes a socket this package
// configured because keepalive probes went unanswered or the user timeout
// expired, one message on diagnostics_channel `tcp-keepalive:timeout`.
//
// The kernel's verdict reaches Node as a read error (ETIMEDOUT), and Node
// closes the descriptor inside socket._destroy(), before 'error' is emitted.
// What the kernel knew (unacknowledged data, probes sent) can only be read
// before that, so Socket.prototype._destroy is wrapped, once, by the first
// socket the census tracks. The wrapper takes a tracked socket out of the
// census; beyond that it does work only for a destroy with an error while
// someone subscribes, or while metrics count closes.
import dc = require('node:diagnostics_channel')
import net = require('node:net')
import { hostOf, readSocket, untrack } from './census'
import { TIMEOUT_CHANNEL } from './observe'
import { kState, type InternalSocket } from './socket'
import type { TcpInfo } from './tcpinfo'

/** Why the kernel gave up on the connection. */
export type TimeoutReason = 'keepalive' | 'user-timeout' | 'timeout'

/** The message published on `tcp-keepalive:timeout`. Times in ms; `null`: unknown. */
export interface TimeoutEvent {
  socket: net.Socket
  remoteAddress: string | null
  remotePort: number | null
  host: string | null
  /** keepalive: probes went unanswered on an idle connection; user-timeout: sent data stayed
   *  unacknowledged past the user timeout; timeout: the kernel timed out and did not say which. */
  reason: TimeoutReason
  /** Keepalive probes sent and unanswered when the kernel gave up (TCP_INFO). */
  probes: number | null
  idle: number | null
  interval: number | null
  count: number | null
  userTimeout: number | null
}

const timeoutChannel = dc.channel(TIMEOUT_CHANNEL)

/** How a tracked socket closed, for the metrics. */
export type CloseReason = TimeoutReason | 'reset' | 'normal' | 'error'
/** Told of every tracked socket closing, with what TCP_INFO said just before. */
export type CloseListener = (socket: InternalSocket, reason: CloseReason, info: TcpInfo | null) => void

let closeListener: CloseListener | null = null
export function setCloseListener(listener: CloseListener | null): void {
  closeListener = listener
}

/**
 * From what the kernel reported just before the close. By then it has
 * dropped the unsent and unacknowledged data (unacked reads 0), but the
 * retransmissions of the last run remain: data that was never acknowledged.
 * With none, probes out means keepalive gave up. (Keepalive never probes
 * while data is in flight, so the two do not mix.)
 */
function classify(info: TcpInfo | null, userTimeout: number | null): TimeoutReason {
  if (info === null) return 'timeout'
  if ((info.unacked ?? 0) > 0 || (info.retransmits ?? 0) > 0) return userTimeout !== null && userTimeout > 0 ? 'user-timeout' : 'timeout'
  if ((info.keepaliveProbes ?? 0) > 0) return 'keepalive'
  return 'timeout'
}

type Peer = InternalSocket & { _peername?: { address?: string; port?: number } }

function onClosing(s: Peer, err: unknown): void {
  const state = s[kState]
  if (state === undefined || !state.tracked || s._handle === null) return
  const code = (err as { code?: unknown } | null)?.code
  const timedOut = code === 'ETIMEDOUT'
  const publish = timedOut && state.applied && timeoutChannel.hasSubscribers
  if (!publish && closeListener === null) return
  const read = readSocket(s)
  const info = read?.info ?? null
  const k = read?.keepalive ?? null
  let reason: CloseReason
  if (timedOut) reason = classify(info, k?.userTimeout ?? null)
  else if (err == null) reason = 'normal'
  else reason = code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' ? 'reset' : 'error'
  // resetAndDestroy(): this side sends the RST, with no error of its own.
  if (err == null && (s as { resetAndClosing?: boolean }).resetAndClosing === true) reason = 'reset'
  if (publish) {
    // getpeername fails once the kernel closed the connection: only an address read before is known.
    const peer = s._peername
    const message: TimeoutEvent = {
      socket: s,
      remoteAddress: peer?.address ?? null,
      remotePort: peer?.port ?? null,
      host: hostOf(s),
      reason: reason as TimeoutReason,
      probes: info?.keepaliveProbes ?? null,
      idle: k?.idle ?? null,
      interval: k?.interval ?? null,
      count: k?.count ?? null,
      userTimeout: k?.userTimeout ?? null,
    }
    try {
      timeoutChannel.publish(message)
    } catch {
      // A subscriber's throw is reported by diagnostics_channel itself; the close goes on.
    }
  }
  if (closeListener !== null) {
    try {
      closeListener(s, reason, info)
    } catch {
      // metrics must never break a close
    }
  }
}

type DestroyFn = (this: net.Socket, err: Error | null, cb: (err: Error | null) => void) => void
let destroyNext: DestroyFn | null = null

function destroyWrapper(this: net.Socket, err: Error | null, cb: (err: Error | null) => void): void {
  const state = (this as Peer)[kState]
  if (state !== undefined && state.tracked) {
    untrack(this as Peer)
    if (closeListener !== null || (err != null && timeoutChannel.hasSubscribers)) onClosing(this as Peer, err)
  }
  return (destroyNext as DestroyFn).call(this, err, cb)
}

/** Puts the close watch in place (once per process for this copy). */
let watching = false
export function watchCloses(): void {
  if (watching) return
  watching = true
  const proto = net.Socket.prototype as unknown as { _destroy?: DestroyFn }
  // A runtime whose net.Socket has no _destroy (Bun's own implementation): no close watch there,
  // the census then relies on its sweep.
  if (typeof proto._destroy !== 'function') return
  destroyNext = proto._destroy
  proto._destroy = destroyWrapper
}

/** For the addresses in the event: getpeername works only while the connection is up. */
export function rememberPeer(s: net.Socket): void {
  if (timeoutChannel.hasSubscribers || closeListener !== null) void s.remoteAddress
}
