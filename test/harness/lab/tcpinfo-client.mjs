// Lab client for getTcpInfo. One JSON argument: { host, port, options, giveUpMs }.
// Opens two connections: `idle` with the keepalive options, and `write`
// without keepalive, which sends 64 KiB once "go" arrives on stdin (the
// peer is black-holed by then). Prints one JSON line per event:
//   connected { idlePort, writePort }
//   info { t, idle: TcpInfo, write: TcpInfo }   every 250 ms after "go", and at once on "snap"
//   error { which, code, t }                     a connection was dropped
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const { setKeepAlive, getTcpInfo } = createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))
const spec = JSON.parse(process.argv[2])
let t0 = performance.now()
const emit = (event, extra = {}) => process.stdout.write(`${JSON.stringify({ event, t: Math.round(performance.now() - t0), ...extra })}\n`)
setTimeout(() => process.exit(0), spec.giveUpMs).unref()

const connect = () => new Promise((resolve) => {
  const s = net.connect(spec.port, spec.host, () => resolve(s))
})
const idle = await connect()
const write = await connect()
setKeepAlive(idle, spec.options)
const sockets = { idle, write }
for (const [which, s] of Object.entries(sockets)) {
  s.on('error', (err) => {
    emit('error', { which, code: err.code })
    delete sockets[which]
    if (Object.keys(sockets).length === 0) process.exit(0)
  })
}
const snapshot = () => {
  const out = {}
  for (const [which, s] of Object.entries(sockets)) if (!s.destroyed) out[which] = getTcpInfo(s)
  emit('info', out)
}
emit('connected', { idlePort: idle.localPort, writePort: write.localPort })
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'snap') snapshot()
  if (line === 'go') {
    t0 = performance.now()
    write.write(Buffer.alloc(64 * 1024, 1))
    setInterval(snapshot, 250)
  }
})
