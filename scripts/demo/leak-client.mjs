// The client of the leak demo, started with the preload
// (TCP_KEEPALIVE=origins=true). `leaky`: a keep-alive agent per request, the
// client-per-call mistake: each request leaves a pooled socket behind that
// nobody will ever reuse or close. `fixed`: one agent for the process. Every
// second it prints what connections() says, grouped by destination and origin.
import http from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { connections } = createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))
const [mode, url] = process.argv.slice(2)
const shared = new http.Agent({ keepAlive: true })

function leaky() {
  return new Promise((resolve) => http.get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => res.resume().on('end', resolve)))
}
function fixed() {
  return new Promise((resolve) => http.get(url, { agent: shared }, (res) => res.resume().on('end', resolve)))
}
const request = mode === 'leaky' ? leaky : fixed

setInterval(() => {
  const groups = new Map()
  for (const c of connections()) {
    if (c.direction !== 'client') continue
    const key = `${c.remote} ${c.origin ?? '?'}`
    const g = groups.get(key) ?? { remote: c.remote, origin: c.origin, count: 0, idle: 0 }
    g.count++
    if ((c.idle ?? 0) >= 1000) g.idle++
    groups.set(key, g)
  }
  process.stdout.write(`${JSON.stringify([...groups.values()])}\n`)
}, 1000)

// Ten requests a second, one at a time, like a handler calling an API.
for (;;) {
  await request()
  await new Promise((r) => setTimeout(r, 100))
}
