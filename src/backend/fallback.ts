// Without the addon: Node's own socket.setKeepAlive, the only per-socket
// control Node offers. It sets idle in whole seconds (and, on Node
// 24.19+/26.4+, interval and count with it); it reads nothing back and never
// says when the OS refused.
import net = require('node:net')
import { makeError, systemError } from '../errors'
import type { KeepAliveState } from '../options'
import { NODE_TIMING } from '../runtime'
import { assertTcp, isConnected, isPipe, stateOf, type InternalSocket } from '../socket'
import { merge, UNSET, type Normalized } from '../values'
import type { Backend, BackendCapabilities } from './types'

// The kernel's bounds, which Node would otherwise hit silently (it ignores setsockopt failures).
const IDLE_MAX_S = process.platform === 'linux' ? 32767 : process.platform === 'win32' ? 4294967 : 2147483
const COUNT_MAX = process.platform === 'linux' ? 127 : process.platform === 'win32' ? 255 : 2147483647

function capabilitiesOf(reason: string | null): BackendCapabilities {
  const none = Object.freeze({ min: 0, max: 0 })
  return Object.freeze({
    native: false,
    platform: process.platform,
    idle: true,
    // Node 24.19+/26.4+ set interval and count per socket too (socket.setKeepAlive's 4-argument form).
    interval: NODE_TIMING,
    count: NODE_TIMING,
    userTimeout: false,
    limits: Object.freeze({
      idle: Object.freeze({ min: 1, max: IDLE_MAX_S * 1000 }),
      interval: NODE_TIMING ? Object.freeze({ min: 1, max: IDLE_MAX_S * 1000 }) : none,
      count: NODE_TIMING ? Object.freeze({ min: 1, max: COUNT_MAX }) : none,
      userTimeout: none,
      dropTime: null,
    }),
    userTimeoutOption: null,
    reason,
  })
}

type FallbackHandle = { setKeepAlive?: (enable: boolean, idle: number, interval?: number, count?: number) => unknown }

// Validation already refused what Node cannot do; round up like the addon.
const seconds = (ms: number): number => Math.ceil(ms / 1000)

function set(socket: InternalSocket, n: Normalized): void {
  assertTcp(socket)
  if (!NODE_TIMING || n.enable === 0) {
    net.Socket.prototype.setKeepAlive.call(socket, n.enable === 1, n.idle === UNSET ? 0 : seconds(n.idle) * 1000)
    return
  }
  // Node 24.19+/26.4+: one call sets idle, interval and count together, and
  // puts its own 1 s / 10 probes in place of an interval or count not given.
  // So what this package set before is given again, and an idle is needed.
  const state = stateOf(socket)
  const m = merge(state.applied ? state : undefined, n)
  if (m.idle === UNSET && (m.interval !== UNSET || m.count !== UNSET)) {
    throw makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', 'Without the native addon, "interval" and "count" need "idle" (in this call or an earlier one): Node sets the three together.')
  }
  const idle = m.idle === UNSET ? 0 : seconds(m.idle)
  const interval = m.interval === UNSET ? undefined : seconds(m.interval)
  const count = m.count === UNSET ? undefined : m.count
  const handle = socket._handle as FallbackHandle | null
  if (idle > 0 && handle !== null && typeof handle.setKeepAlive === 'function') {
    // Node's own method ignores the handle's answer: ask the handle first.
    const rc = handle.setKeepAlive(true, idle, interval, count)
    if (typeof rc === 'number' && rc < 0) throw systemError(rc, 'setsockopt', interval === undefined && count === undefined ? 'TCP_KEEPIDLE' : 'TCP_KEEPINTVL/TCP_KEEPCNT')
  }
  // Then through Node, so its own record of the socket agrees.
  ;(net.Socket.prototype.setKeepAlive as (...a: unknown[]) => unknown).call(socket, true, idle * 1000, interval === undefined ? undefined : interval * 1000, count)
  state.applied = true
  state.enable = 1
  state.idle = m.idle
  state.interval = m.interval
  state.count = m.count
}

function unsupported(what: string, reason: string | null): Error {
  return makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `${what} (${reason ?? 'not loaded'})`)
}

const unknown = (): KeepAliveState => ({ enabled: null, idle: null, interval: null, count: null, userTimeout: null })

/** The fallback backend; `reason` says why the addon did not load. */
export function createFallback(reason: string | null): Backend {
  return {
    capabilities: capabilitiesOf(reason),
    // Node keeps a call made before connect() and applies it when the handle exists.
    ready: (socket) => !socket.connecting,
    set,
    get(socket) {
      assertTcp(socket)
      return unknown()
    },
    // Node reads nothing back: a connected socket is listed with what cannot be known.
    readAll: (sockets) => sockets.map((s) => (isConnected(s) && !isPipe(s) ? { keepalive: unknown(), info: null } : null)),
    tcpInfo(socket) {
      assertTcp(socket)
      throw unsupported('getTcpInfo is not supported without the native addon', reason)
    },
    inspect() {
      throw makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', `inspect needs the native addon, which did not load: ${reason ?? 'unknown reason'}`)
    },
  }
}
