// The package without its addon on the Node running this script: what
// capabilities reports, and that it holds. On Node 24.19+/26.4+ interval and
// count go through Node's own 4-argument socket.setKeepAlive.
// node test/harness/platforms/fallback-check.mjs --pkg DIR [--hold]
// DIR: a copy of the package with no build/ and no prebuilds/.
import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { join, resolve } from 'node:path'

const args = process.argv.slice(2)
const pkgDir = resolve(args[args.indexOf('--pkg') + 1])
const { setKeepAlive, capabilities } = createRequire(import.meta.url)(join(pkgDir, 'dist', 'cjs', 'index.js'))
const once = (e, ev) => new Promise((r) => e.once(ev, r))
const codeOf = (fn) => {
  try {
    fn()
    return null
  } catch (e) {
    return e.code ?? String(e)
  }
}
const server = net.createServer().listen(0, '127.0.0.1')
await once(server, 'listening')
const open = async () => {
  const s = net.connect(server.address().port, '127.0.0.1')
  await once(s, 'connect')
  return s
}
const out = { native: capabilities.native, interval: capabilities.interval, count: capabilities.count, limits: capabilities.limits, sockets: {}, errors: {} }
const full = await open()
out.errors.full = codeOf(() => setKeepAlive(full, { idle: 4500, interval: 2000, count: 4 }))
out.sockets.full = full._handle.fd
const later = await open()
out.errors.later = codeOf(() => {
  setKeepAlive(later, { idle: 3000, interval: 2000 })
  setKeepAlive(later, { count: 5 })
})
out.sockets.later = later._handle.fd
const alone = await open()
out.errors.countAlone = codeOf(() => setKeepAlive(alone, { count: 5 }))
out.sockets.alone = alone._handle.fd
out.pid = process.pid
writeSync(1, `${JSON.stringify(out)}\n`)
if (args.includes('--hold')) {
  process.stdin.resume()
  await once(process.stdin, 'end')
}
for (const s of [full, later, alone]) s.destroy()
server.close()
