// Lab client for the dead-peer event. One JSON argument:
//   { host, port, sockets: [{ name, mode: 'idle' | 'write', options }] }
// Each socket is opened through install() with a chooser that gives it its
// options, and reports on stdout, one JSON line per event:
//   connected (with localPort), timeout (the tcp-keepalive:timeout message,
//   socket left out), error (the socket's own error code).
// On "go" on stdin the write sockets send 64 KiB the black-holed peer never
// acknowledges. The process exits when every socket has closed.
import dc from 'node:diagnostics_channel'
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { install, TIMEOUT_CHANNEL } = createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))
const spec = JSON.parse(process.argv[2])
const emit = (event, extra = {}) => process.stdout.write(`${JSON.stringify({ event, ...extra })}\n`)
const names = new Map()

dc.subscribe(TIMEOUT_CHANNEL ?? 'tcp-keepalive:timeout', (message) => {
  const { socket, ...rest } = message
  emit('timeout', { which: names.get(socket), isSocket: socket instanceof net.Socket, ...rest })
})

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
    if (--open === 0) process.exit(0)
  })
  return { socket, spec: s }
})
process.stdin.once('data', () => {
  for (const { socket, spec: s } of sockets) if (s.mode === 'write') socket.write(Buffer.alloc(64 * 1024, 1))
})
