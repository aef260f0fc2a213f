// enableMetrics() read through the real OpenTelemetry SDK (a MetricReader on
// a MeterProvider from @opentelemetry/sdk-metrics), the open-connection count
// checked against the kernel's list of this process's sockets (ss).
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { metrics as otelMetrics } from '@opentelemetry/api'
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { enableMetrics, install, METRIC_NAMES } from '../lib'

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

interface Point {
  attributes: Record<string, unknown>
  value: number
}
async function read(reader: TestReader): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics }
  const out = new Map<string, Point[]>()
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) out.set(m.descriptor.name, m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value as number })))
  }
  return out
}
const sum = (points: Point[] | undefined, where: (a: Record<string, unknown>) => boolean = () => true) => (points ?? []).filter((p) => where(p.attributes)).reduce((a, p) => a + p.value, 0)

/** This process's established TCP sockets whose local or remote port is `port`, as ss lists them. */
function ssCount(port: number): number | null {
  const r = spawnSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' })
  if (r.status !== 0) return null
  return r.stdout.split('\n').filter((l) => l.includes(`pid=${process.pid},`) && new RegExp(`:${port}\\s`).test(`${l} `)).length
}

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

async function httpServer(): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => res.end('ok'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(() => server.close())
  return { port: (server.address() as net.AddressInfo).port, server }
}

describe('enableMetrics through the OpenTelemetry SDK', () => {
  it('tcp_keepalive.connection.count matches the kernel; attributes: direction, state, exposed, server.address/port for clients only', async () => {
    const reader = new TestReader()
    const provider = new MeterProvider({ readers: [reader] })
    const handle = install({ idle: 30_000, interval: 5_000, count: 3 }, { server: true })
    const m = enableMetrics({ meterProvider: provider })
    cleanups.push(() => handle.uninstall(), () => m.disable(), () => void provider.shutdown())
    const { port } = await httpServer()
    const agent = new http.Agent({ keepAlive: true, maxSockets: 5 })
    cleanups.push(() => agent.destroy())
    // 5 pooled sockets: concurrent requests through one agent.
    await Promise.all(Array.from({ length: 5 }, () => new Promise((r) => http.get({ host: 'localhost', port, agent }, (res) => res.resume().on('end', r)))))
    const data = await read(reader)
    const count = data.get(METRIC_NAMES.count)
    console.log(`  ${METRIC_NAMES.count}: ${JSON.stringify(count)}`)
    const clients = sum(count, (a) => a['tcp_keepalive.direction'] === 'client')
    const servers = sum(count, (a) => a['tcp_keepalive.direction'] === 'server')
    expect(clients).toBe(5)
    expect(servers).toBe(5)
    const outside = ssCount(port)
    if (outside !== null) expect(clients + servers).toBe(outside)
    for (const p of count ?? []) {
      expect(p.attributes['network.connection.state']).toBe('established')
      expect(p.attributes['tcp_keepalive.exposed']).toBe(false)
      if (p.attributes['tcp_keepalive.direction'] === 'client') expect(p.attributes).toMatchObject({ 'server.address': 'localhost', 'server.port': port })
      // Never a client's address on accepted sockets: unbounded cardinality.
      else expect(Object.keys(p.attributes).sort()).toEqual(['network.connection.state', 'tcp_keepalive.direction', 'tcp_keepalive.exposed'])
    }
    expect(sum(data.get(METRIC_NAMES.retransmits))).toBe(0)
    expect(sum(data.get(METRIC_NAMES.probes))).toBe(0)

    // exposed: judged against idleLimit (here below the 30 s idle).
    m.disable()
    const strict = enableMetrics({ meterProvider: provider, idleLimit: 10_000 })
    cleanups.push(() => strict.disable())
    const again = (await read(reader)).get(METRIC_NAMES.count)
    expect(sum(again, (a) => a['tcp_keepalive.exposed'] === true)).toBe(10)
  })

  it('tcp_keepalive.connection.closed counts closes by reason: normal, reset', async () => {
    const reader = new TestReader()
    const provider = new MeterProvider({ readers: [reader] })
    const handle = install({ idle: 30_000 }, { server: true })
    const m = enableMetrics({ meterProvider: provider })
    cleanups.push(() => handle.uninstall(), () => m.disable(), () => void provider.shutdown())
    const server = net.createServer((s) => {
      s.on('error', () => {})
      // Node publishes an accepted socket after its 'connection' handlers ran: act on the next turn.
      const reset = resetNext
      setImmediate(() => (reset ? s.resetAndDestroy() : s.end()))
    })
    let resetNext = false
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanups.push(() => server.close())
    const { port } = server.address() as net.AddressInfo
    const connectOnce = async (reset: boolean) => {
      resetNext = reset
      const c = net.connect(port, '127.0.0.1')
      c.on('error', () => {})
      c.on('end', () => c.end())
      await new Promise((r) => c.once('close', r))
    }
    for (let i = 0; i < 3; i++) await connectOnce(false)
    for (let i = 0; i < 2; i++) await connectOnce(true)
    await new Promise((r) => setTimeout(r, 100))
    const closed = (await read(reader)).get(METRIC_NAMES.closed)
    console.log(`  ${METRIC_NAMES.closed}: ${JSON.stringify(closed)}`)
    const by = (dir: string, reason: string) => sum(closed, (a) => a['tcp_keepalive.direction'] === dir && a['tcp_keepalive.close.reason'] === reason)
    expect(by('client', 'normal')).toBe(3)
    expect(by('client', 'reset')).toBe(2)
    expect(by('server', 'normal')).toBe(3)
    expect(by('server', 'reset')).toBe(2)
    for (const p of closed ?? []) if (p.attributes['tcp_keepalive.direction'] === 'client') expect(p.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': port })

    // disable(): nothing more is counted or observed.
    m.disable()
    await connectOnce(false)
    const after = await read(reader)
    expect(sum(after.get(METRIC_NAMES.closed))).toBe(10)
    expect(after.get(METRIC_NAMES.count) ?? []).toHaveLength(0)
  })

  it('without a meterProvider: the global one from @opentelemetry/api', async () => {
    const reader = new TestReader()
    const provider = new MeterProvider({ readers: [reader] })
    expect(otelMetrics.setGlobalMeterProvider(provider)).toBe(true)
    const handle = install({ idle: 30_000 })
    const m = enableMetrics()
    cleanups.push(() => handle.uninstall(), () => m.disable(), () => otelMetrics.disable(), () => void provider.shutdown())
    const { port } = await httpServer()
    const agent = new http.Agent({ keepAlive: true })
    cleanups.push(() => agent.destroy())
    await new Promise((r) => http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().on('end', r)))
    const count = (await read(reader)).get(METRIC_NAMES.count)
    expect(sum(count, (a) => a['server.port'] === port)).toBe(1)
  })

  it("the README's Prometheus recipe: the exporter serves the instruments under their Prometheus names", async () => {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus')
    // As in the README, but on a port of the test's choosing (the README's exporter listens on 9464 itself).
    const exporter = new PrometheusExporter({ preventServerStart: true })
    const provider = new MeterProvider({ readers: [exporter] })
    const handle = install({ idle: 30_000 })
    const m = enableMetrics({ meterProvider: provider })
    cleanups.push(() => handle.uninstall(), () => m.disable(), () => void provider.shutdown())
    const scrape = http.createServer((req, res) => exporter.getMetricsRequestHandler(req, res))
    scrape.listen(0, '127.0.0.1')
    await once(scrape, 'listening')
    cleanups.push(() => scrape.close())
    const { port } = await httpServer()
    const agent = new http.Agent({ keepAlive: true })
    await new Promise((r) => http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().on('end', r)))
    agent.destroy()
    await new Promise((r) => setTimeout(r, 50))
    const text = await new Promise<string>((resolve) =>
      http.get({ host: '127.0.0.1', port: (scrape.address() as net.AddressInfo).port, path: '/metrics', agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve(body))
      }),
    )
    expect(text).toContain('# TYPE tcp_keepalive_connection_count gauge')
    expect(text).toMatch(new RegExp(`tcp_keepalive_connection_closed_total\\{[^}]*server_port="${port}"[^}]*\\} 1`))
    expect(text).toContain('# TYPE tcp_keepalive_connection_retransmits_total counter')
    expect(text).toContain('# TYPE tcp_keepalive_connection_unanswered_probes gauge')
  })

  it('bad options are typed errors', () => {
    expect(() => enableMetrics({ meterProvider: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
    expect(() => enableMetrics({ idleLimit: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
    expect(() => enableMetrics({ provider: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
    expect(() => enableMetrics({ provider: 1 } as never)).toThrow(/options\.provider.*Known options: meterProvider, idleLimit/)
  })

  it('@opentelemetry/api absent: the package loads and works; enableMetrics() without a provider says what is missing', () => {
    // A copy of the built package with no node_modules beside or above it.
    const dir = mkdtempSync(join(tmpdir(), 'tka-no-otel-'))
    try {
      const pkg = join(dir, 'node_modules', 'tcp-keepalive')
      cpSync(join(__dirname, '..', '..', 'dist'), join(pkg, 'dist'), { recursive: true })
      cpSync(join(__dirname, '..', '..', 'package.json'), join(pkg, 'package.json'))
      writeFileSync(join(dir, 'app.mjs'), `
import { enableMetrics, connections, install } from 'tcp-keepalive'
import { createRequire } from 'node:module'
let resolved = true
try { createRequire(import.meta.url).resolve('@opentelemetry/api') } catch { resolved = false }
const h = install({ idle: 30000 })
let error = null
try { enableMetrics() } catch (err) { error = { code: err.code, message: err.message } }
const withProvider = enableMetrics({ meterProvider: { getMeter: () => ({ createCounter: () => ({ add() {} }), createObservableUpDownCounter: () => ({}), createObservableCounter: () => ({}), addBatchObservableCallback() {}, removeBatchObservableCallback() {} }) } })
withProvider.disable()
h.uninstall()
console.log(JSON.stringify({ resolved, error, connections: connections().length }))
`)
      const r = spawnSync(process.execPath, [join(dir, 'app.mjs')], { cwd: dir, encoding: 'utf8' })
      expect(r.stderr.replace(/.*TcpKeepAliveWarning.*\n?|.*--trace-warnings.*\n?/g, '')).toBe('')
      const out = JSON.parse(r.stdout) as { resolved: boolean; error: { code: string; message: string }; connections: number }
      expect(out.resolved).toBe(false)
      expect(out.error.code).toBe('ERR_TCP_KEEPALIVE_OPENTELEMETRY_MISSING')
      expect(out.error.message).toMatch(/npm install @opentelemetry\/api/)
      expect(out.connections).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
