// The observing API's names, and enableMetrics loaded at its first call:
// importing the package pays for none of the metrics code.
import type * as Metrics from './metrics'
import type { MetricsHandle, MetricsOptions } from './metrics'

export type { MeterLike, MeterProviderLike, MetricsHandle, MetricsOptions } from './metrics'

/** The diagnostics_channel the dead-peer event is published on. */
export const TIMEOUT_CHANNEL = 'tcp-keepalive:timeout'

/** The instrument names, fixed: dashboards and alerts are built on them. */
export const METRIC_NAMES = Object.freeze({
  count: 'tcp_keepalive.connection.count',
  closed: 'tcp_keepalive.connection.closed',
  retransmits: 'tcp_keepalive.connection.retransmits',
  probes: 'tcp_keepalive.connection.unanswered_probes',
})

let metricsModule: typeof Metrics | undefined

/**
 * Publishes the census as OpenTelemetry metrics (README: "Metrics"): open
 * connections, closes by reason, retransmissions and unanswered keepalive
 * probes. Returns a handle whose disable() stops it.
 */
export function enableMetrics(options: MetricsOptions = {}): MetricsHandle {
  metricsModule ??= require('./metrics') as typeof Metrics
  return metricsModule.enableMetrics(options)
}
