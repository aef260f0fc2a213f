// Lab client for the dead-peer event. One JSON argument:
//   { host, port, sockets: [{ name, mode: 'idle' | 'write', options }] }
// Each socket is opened through install() with a chooser that gives it its
// options, and reports on stdout, one JSON line per event:
//   connected (with localPort), timeout (the tcp-keepalive:timeout message,
//   socket left out), error (the socket's own error code).
// With metrics: true, enableMetrics() on a real SDK MeterProvider, and a last
// line `metrics` with the tcp_keepalive.connection.closed points.
// On "go" on stdin the write sockets send 64 KiB the black-holed peer never
// acknowledges. The process exits when every socket has closed.
import dc from 'node:diagnostics_channel'
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const require = createRequire(import.meta.url)
const { install, enableMetrics, TIMEOUT_CHANNEL } = require(join(root, 'dist/cjs/index.js'))
const spec = JSON.parse(process.argv[2])
const emit = (event, extra = {}) => process.stdout.write(`${JSON.stringify({ event, ...extra })}\n`)
const names = new Map()

dc.subscribe(TIMEOUT_CHANNEL ?? 'tcp-keepalive:timeout', (message) => {
  const { socket, ...rest } = message
  emit('timeout', { which: names.get(socket), isSocket: socket instanceof net.Socket, ...rest })
})

let reader = null
if (spec.metrics) {
  const { MeterProvider, MetricReader } = require(require.resolve('@opentelemetry/sdk-metrics', { paths: [root] }))
  class Reader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  reader = new Reader()
  enableMetrics({ meterProvider: new MeterProvider({ readers: [reader] }) })
}
async function finish() {
  if (reader) {
    const { resourceMetrics } = await reader.collect()
    const closed = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'tcp_keepalive.connection.closed')
    emit('metrics', { which: 'all', closed: (closed?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value })) })
  }
  process.exit(0)
}

const byPort = new Map()
install((socket) => byPort.get(socket)?.options)
let open = spec.sockets.length
const sockets = spec.sockets.map((s) => {
  const socket = new net.Socket()
  names.set(socket, s.name)
  byPort.set(socket, s)
  socket.connect(spec.port, spec.host)
  socket.on('connect', () => emit('connected', { which: s.name, localPort: socket.localPort }))
  socket.on('error', (err) => emit('error', { which: s.name, code: err.code }))
  socket.on('close', () => {
    if (--open === 0) void finish()
  })
  return { socket, spec: s }
})
process.stdin.once('data', () => {
  for (const { socket, spec: s } of sockets) if (s.mode === 'write') socket.write(Buffer.alloc(64 * 1024, 1))
})
