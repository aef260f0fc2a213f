// What this package does in Deno: the addon loads, but Deno's net.Socket has
// no file descriptor, so every call says so with its own error code.
// deno run -A test/harness/platforms/deno-check.mjs [--pkg DIR]
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const pkgDir = resolve(args.includes('--pkg') ? args[args.indexOf('--pkg') + 1] : join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'))
const { setKeepAlive, capabilities } = createRequire(import.meta.url)(join(pkgDir, 'dist', 'cjs', 'index.js'))
const server = net.createServer((c) => c.end())
server.listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => {
    let error = null
    try {
      setKeepAlive(c, { idle: 6000 })
    } catch (e) {
      error = { code: e.code, message: e.message }
    }
    console.log(JSON.stringify({ hooks: capabilities.hooks, error }))
    c.destroy()
    server.close()
  })
})
