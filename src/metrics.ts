// OpenTelemetry metrics over the census. `@opentelemetry/api` is an optional
// peer dependency: it is required here, by enableMetrics() alone, and only
// when no meterProvider is given. Observations are made when the SDK
// collects, by one pass over the census; closes are counted as they happen.
import { hostOf, readConnected } from './census'
import { DEFAULT_IDLE_LIMIT, isExposed } from './exposure'
import { invalidType, makeError } from './errors'
import { kState, type InternalSocket } from './socket'
import type { TcpInfo, TcpState } from './tcpinfo'
import { METRIC_NAMES } from './observe'
import { setCloseListener, watchCloses, type CloseReason } from './timeout-event'

type Attributes = Record<string, string | number | boolean>
interface ObservableResultLike {
  observe(instrument: unknown, value: number, attributes?: Attributes): void
}
/** The part of an OpenTelemetry `Meter` this package uses (structural: no import of the API's types). */
export interface MeterLike {
  createCounter(name: string, options?: { description?: string; unit?: string }): { add(value: number, attributes?: Attributes): void }
  createObservableUpDownCounter(name: string, options?: { description?: string; unit?: string }): object
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): object
  addBatchObservableCallback(callback: (result: ObservableResultLike) => void, observables: object[]): void
  removeBatchObservableCallback(callback: (result: ObservableResultLike) => void, observables: object[]): void
}
/** An OpenTelemetry `MeterProvider` (from `@opentelemetry/sdk-metrics` or the global one). */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike
}

export interface MetricsOptions {
  /** Default: the global provider of `@opentelemetry/api` (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProviderLike
  /** The idle limit `tcp_keepalive.exposed` is judged against, as in connections(). Default 350 000 ms. */
  idleLimit?: number
}

export interface MetricsHandle {
  /** Stops observing and counting. Idempotent. */
  disable(): void
}

const DIRECTION = 'tcp_keepalive.direction'
const EXPOSED = 'tcp_keepalive.exposed'
const REASON = 'tcp_keepalive.close.reason'
const STATE = 'network.connection.state'
const SERVER_ADDRESS = 'server.address'
const SERVER_PORT = 'server.port'

// OpenTelemetry's network.connection.state values are the RFC names with underscores.
const semconvState = (s: TcpState | null): string => (s === null ? 'unknown' : s.replace(/-/g, '_'))

function loadApi(): { metrics: { getMeterProvider(): MeterProviderLike } } {
  try {
    return require('@opentelemetry/api') as { metrics: { getMeterProvider(): MeterProviderLike } }
  } catch (err) {
    const e = makeError(Error, 'ERR_TCP_KEEPALIVE_OPENTELEMETRY_MISSING', 'enableMetrics() without a meterProvider needs the @opentelemetry/api package: npm install @opentelemetry/api (or pass { meterProvider }).')
    ;(e as Error & { cause?: unknown }).cause = err
    throw e
  }
}

type Peer = InternalSocket & { _peername?: { address?: string; port?: number } }

/** Where the connection goes: for client connections only (an accepted socket's peer is unbounded). */
function peerAttributes(s: Peer, attrs: Attributes): void {
  if (s[kState]?.direction === 1) return
  const peer = s._peername
  const address = hostOf(s) ?? peer?.address ?? s.remoteAddress
  const port = peer?.port ?? s.remotePort
  if (address !== undefined) attrs[SERVER_ADDRESS] = address
  if (port !== undefined) attrs[SERVER_PORT] = port
}

function baseAttributes(s: Peer): Attributes {
  const attrs: Attributes = { [DIRECTION]: s[kState]?.direction === 1 ? 'server' : 'client' }
  peerAttributes(s, attrs)
  return attrs
}

const keyOf = (attrs: Attributes): string => JSON.stringify(attrs)

interface Active {
  closed: { add(value: number, attributes?: Attributes): void }
  /** Retransmissions of connections closed since enabled, per attribute set: the counter stays monotonic. */
  closedRetransmits: Map<string, { attrs: Attributes; value: number }>
}
const active = new Set<Active>()

function onClose(s: InternalSocket, reason: CloseReason, info: TcpInfo | null): void {
  const attrs = baseAttributes(s)
  const retrans = info?.totalRetransmits ?? 0
  const key = keyOf(attrs)
  for (const a of active) {
    a.closed.add(1, { ...attrs, [REASON]: reason })
    if (retrans > 0) {
      const slot = a.closedRetransmits.get(key)
      if (slot) slot.value += retrans
      else a.closedRetransmits.set(key, { attrs, value: retrans })
    }
  }
}

/**
 * Publishes the census as OpenTelemetry metrics (README: "Metrics"): open
 * connections, closes by reason, retransmissions and unanswered keepalive
 * probes. Returns a handle whose disable() stops it.
 */
export function enableMetrics(options: MetricsOptions = {}): MetricsHandle {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
  for (const key of Object.keys(options)) {
    if (key !== 'meterProvider' && key !== 'idleLimit') {
      throw makeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property "options.${key}" is not an enableMetrics() option. Known options: meterProvider, idleLimit.`)
    }
  }
  const limit = options.idleLimit ?? DEFAULT_IDLE_LIMIT
  if (typeof limit !== 'number') throw invalidType('options.idleLimit', 'of type number', limit)
  if (!Number.isInteger(limit) || limit < 1) throw makeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.idleLimit" is out of range. It must be an integer >= 1 (ms). Received ${String(limit)}`)
  let provider = options.meterProvider
  if (provider === undefined) provider = loadApi().metrics.getMeterProvider()
  else if (provider === null || typeof (provider as { getMeter?: unknown }).getMeter !== 'function') {
    throw invalidType('options.meterProvider', 'an OpenTelemetry MeterProvider (an object with getMeter)', provider)
  }
  const meter = provider.getMeter('tcp-keepalive')
  const count = meter.createObservableUpDownCounter(METRIC_NAMES.count, { description: 'Open TCP connections seen by tcp-keepalive', unit: '{connection}' })
  const closed = meter.createCounter(METRIC_NAMES.closed, { description: 'TCP connections closed, by reason', unit: '{connection}' })
  const retransmits = meter.createObservableCounter(METRIC_NAMES.retransmits, { description: 'Segments retransmitted', unit: '{segment}' })
  const probes = meter.createObservableUpDownCounter(METRIC_NAMES.probes, { description: 'Keepalive probes sent and not answered, over open connections', unit: '{probe}' })
  const me: Active = { closed, closedRetransmits: new Map() }

  const observe = (result: ObservableResultLike): void => {
    const counts = new Map<string, { attrs: Attributes; value: number }>()
    const retrans = new Map<string, { attrs: Attributes; value: number }>()
    const unanswered = new Map<string, { attrs: Attributes; value: number }>()
    const add = (m: typeof counts, attrs: Attributes, v: number) => {
      const key = keyOf(attrs)
      const slot = m.get(key)
      if (slot) slot.value += v
      else m.set(key, { attrs, value: v })
    }
    for (const [key, slot] of me.closedRetransmits) retrans.set(key, { attrs: slot.attrs, value: slot.value })
    readConnected((s, read) => {
      const base = baseAttributes(s)
      const info = read.info
      add(counts, { ...base, [STATE]: semconvState(info?.state ?? null), [EXPOSED]: isExposed(read.keepalive, limit) }, 1)
      add(retrans, base, info?.totalRetransmits ?? 0)
      add(unanswered, base, info?.keepaliveProbes ?? 0)
    })
    for (const { attrs, value } of counts.values()) result.observe(count, value, attrs)
    for (const { attrs, value } of retrans.values()) result.observe(retransmits, value, attrs)
    for (const { attrs, value } of unanswered.values()) result.observe(probes, value, attrs)
  }
  const observables = [count, retransmits, probes]
  meter.addBatchObservableCallback(observe, observables)
  active.add(me)
  watchCloses()
  setCloseListener(onClose)
  let enabled = true
  return {
    disable() {
      if (!enabled) return
      enabled = false
      meter.removeBatchObservableCallback(observe, observables)
      active.delete(me)
      if (active.size === 0) setCloseListener(null)
    },
  }
}
