// Importing the package opens nothing and changes nothing: no net.Socket is
// made, no descriptor opened, no channel subscribed, no prototype wrapped,
// until the first install(). Each case is a fresh process, watched from
// before the package loads.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const root = join(__dirname, '..', '..')

// Counts net.Socket constructions through the module object the package
// reads net.Socket from, and socket descriptors where /proc lists them.
const WATCH = `
const fs = require('node:fs')
const net = require('node:net')
const dc = require('node:diagnostics_channel')
const counts = { constructed: 0 }
const Original = net.Socket
net.Socket = new Proxy(Original, { construct(target, args, newTarget) { counts.constructed++; return Reflect.construct(target, args, newTarget) } })
const sockets = () => {
  try { return fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd).startsWith('socket:') } catch { return false } }).length } catch { return null }
}
const channels = ['net.client.socket', 'net.server.socket', 'undici:client:connected']
const snapshot = () => ({
  constructed: counts.constructed,
  sockets: sockets(),
  subscribed: channels.filter((c) => dc.channel(c).hasSubscribers),
  connect: Original.prototype.connect,
  emit: net.Server.prototype.emit,
})
`
const REPORT = `
const changed = (a, b) => ({ constructed: b.constructed - a.constructed, sockets: a.sockets === null ? null : b.sockets - a.sockets, subscribed: b.subscribed, connectWrapped: a.connect !== b.connect, emitWrapped: a.emit !== b.emit })
console.log(JSON.stringify({ importing: changed(before, imported), installing: changed(imported, installed), procFd: before.sockets !== null }))
`

function run(load: string, esm: boolean): Record<string, Record<string, unknown>> {
  const body = `${WATCH}
const before = snapshot()
${load}
const imported = snapshot()
pkg.capabilities.native
const handle = pkg.install({ idle: 5000 })
const installed = snapshot()
handle.uninstall()
${REPORT}`
  const code = esm ? `(async () => {\n${body}\n})()` : body
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 }))
}

const nothing = { constructed: 0, subscribed: [], connectWrapped: false, emitWrapped: false }

const LOADS: Array<[string, string, boolean]> = [
  ['require', `const pkg = require(${JSON.stringify(join(root, 'dist/cjs/index.js'))})`, false],
  ['import', `const pkg = await import(${JSON.stringify(join(root, 'dist/esm/index.mjs'))})`, true],
  ['the register preload with TCP_KEEPALIVE=off', `process.env.TCP_KEEPALIVE = 'off'; require(${JSON.stringify(join(root, 'dist/cjs/register.js'))}); const pkg = require(${JSON.stringify(join(root, 'dist/cjs/index.js'))})`, false],
]

it.each(LOADS)('%s: no net.Socket made, no channel subscribed, nothing wrapped', (_name, load, esm) => {
  const out = run(load, esm)
  expect(out.importing).toMatchObject(nothing)
  // The watch sees what the package does: the first install() probes the runtime with a net.Socket and subscribes.
  expect(out.installing?.constructed).toBeGreaterThan(0)
  expect(out.installing?.subscribed).toContain('net.client.socket')
})

it.for(LOADS)('%s: no socket descriptor opened', ([, load, esm], ctx) => {
  const out = run(load, esm)
  if (!out.procFd) return ctx.skip('no /proc/self/fd on this OS to count socket descriptors')
  expect(out.importing?.sockets).toBe(0)
})
