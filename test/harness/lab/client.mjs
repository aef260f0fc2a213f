// Lab client. One JSON argument:
//   { url, path, options, mode, giveUpMs }
// path: none | socket | agent | install | undici | node  (how keepalive is set)
// mode: request (HTTP GET url) | idle | write (raw TCP; blackholed on "go")
// Prints one JSON line per event: { event, t } with t in ms since start, or
// for idle/write since "go" arrived on stdin.
import http from 'node:http'
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const require = createRequire(import.meta.url)
const { setKeepAlive, getKeepAlive, install, withKeepAlive, connector } = require(join(root, 'dist/cjs/index.js'))
const spec = JSON.parse(process.argv[2])
let t0 = performance.now()
const emit = (event, extra = {}) => process.stdout.write(`${JSON.stringify({ event, t: Math.round(performance.now() - t0), ...extra })}\n`)
setTimeout(() => {
  emit('gave-up')
  process.exit(0)
}, spec.giveUpMs).unref()

function configure(socket) {
  if (spec.path === 'socket') setKeepAlive(socket, spec.options)
  if (spec.path === 'node') socket.setKeepAlive(true, spec.options.idle)
}

if (spec.mode === 'request') {
  const done = (res) => {
    emit('response', { status: res.statusCode ?? res.status })
    process.exit(0)
  }
  const failed = (err) => {
    emit('error', { code: err.code ?? err.cause?.code ?? err.message })
    process.exit(0)
  }
  if (spec.path === 'undici') {
    // The documented recipe: undici's global dispatcher, used by built-in fetch too.
    const undici = require(require.resolve('undici', { paths: [root] }))
    undici.setGlobalDispatcher(new undici.Agent({ connect: connector(spec.options), headersTimeout: 0, bodyTimeout: 0 }))
    fetch(spec.url).then(done, failed)
  } else {
    if (spec.path === 'install') install(spec.options)
    const agent = spec.path === 'agent' ? withKeepAlive(new http.Agent({ keepAlive: true }), spec.options) : false
    const req = http.get(spec.url, { agent }, done).on('error', failed)
    req.on('socket', (socket) => {
      configure(socket)
      socket.once('connect', () => emit('connected', { localPort: socket.localPort }))
    })
  }
  emit('sent')
} else {
  const url = new URL(spec.url)
  const socket = net.connect(Number(url.port), url.hostname)
  socket.on('connect', () => {
    configure(socket)
    emit('connected', { localPort: socket.localPort, kernel: getKeepAlive(socket) })
  })
  socket.on('error', (err) => {
    emit('error', { code: err.code })
    process.exit(0)
  })
  process.stdin.once('data', () => {
    t0 = performance.now()
    if (spec.mode === 'write') socket.write(Buffer.alloc(64 * 1024, 1))
  })
}
