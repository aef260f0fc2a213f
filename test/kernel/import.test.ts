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
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 })) as Record<string, Record<string, unknown>>
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

// Windows: the addon's load-time probe may use a socket but never connects
// one. Windows' own TCP counters (netstat) around the import in a fresh
// process, with a loopback connection after it as the control that they see
// this process. The counters are the whole machine's, so another process may
// open a connection meanwhile: a clean import in any of three fresh processes
// passes, while a probe that connects moves them in every one. (Under Wine,
// where a network namespace of its own makes the count exact:
// test/harness/platforms/wine-import.sh.)
it('win32: importing opens no TCP connection (Windows\' TCP counters and table)', (ctx) => {
  if (process.platform !== 'win32') return ctx.skip('Windows only; here the descriptor count above is the observer')
  const script = join(root, 'test', 'harness', 'platforms', 'import-opens.cjs')
  type Result = { native: boolean; importing: { active: number; passive: number }; owned: number | null; control: { active: number; passive: number } }
  let result: Result | undefined
  for (let attempt = 0; attempt < 3; attempt++) {
    result = JSON.parse(execFileSync(process.execPath, [script, root], { encoding: 'utf8', timeout: 30_000 })) as Result
    expect(result.control.active, 'the control connection is counted').toBeGreaterThanOrEqual(1)
    if (result.importing.active === 0 && result.importing.passive === 0) break
  }
  expect(result?.importing).toEqual({ active: 0, passive: 0 })
  // Right after the import this process owns no TCP row at all (listening or connected).
  if (result?.owned !== null) expect(result?.owned).toBe(0)
})

// Linux: the descriptor count above misses a socket opened and closed during
// the import; the TCP counters of a network namespace of its own do not. A
// loopback connection after the import is the control that they see this
// process.
const SNMP = `
const fs = require('node:fs')
const net = require('node:net')
const opens = () => {
  const [names, values] = fs.readFileSync('/proc/net/snmp', 'utf8').split('\\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.split(/\\s+/))
  const at = (k) => Number(values[names.indexOf(k)])
  return { active: at('ActiveOpens'), passive: at('PassiveOpens') }
}
const diff = (a, b) => ({ active: b.active - a.active, passive: b.passive - a.passive })
const before = opens()
require(${JSON.stringify(join(root, 'dist/cjs/index.js'))}).capabilities.native
const imported = opens()
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1')
  server.once('connection', (peer) => {
    console.log(JSON.stringify({ importing: diff(before, imported), control: diff(imported, opens()) }))
    peer.destroy(); client.destroy(); server.close()
  })
})
`

it('linux: importing opens no TCP connection (the TCP counters of a network namespace of its own)', (ctx) => {
  if (process.platform !== 'linux') return ctx.skip('Linux only (/proc/net/snmp)')
  if (process.getuid?.() !== 0) return ctx.skip('needs root for a network namespace of its own (unshare -n)')
  type Opens = { active: number; passive: number }
  const out = JSON.parse(execFileSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, '-e', SNMP], { encoding: 'utf8', timeout: 30_000 })) as { importing: Opens; control: Opens }
  expect(out.control.active, 'the control connection is counted').toBeGreaterThanOrEqual(1)
  expect(out.importing).toEqual({ active: 0, passive: 0 })
})

// The addon loads at the first use, not at import: its dlopen is most of an
// import's cost. The kernel's list of this process's mappings tells whether
// the shared object is in; reading capabilities is the control that it is
// seen once loaded.
const MAPS = `
const fs = require('node:fs')
const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').some((l) => l.endsWith('.node') && l.includes('tcp_keepalive'))
const pkg = require(${JSON.stringify(join(root, 'dist/cjs/index.js'))})
const imported = mapped()
const native = pkg.capabilities.native
console.log(JSON.stringify({ imported, native, used: mapped() }))
`

it('linux: importing maps no addon; the first read of capabilities does (/proc/self/maps)', (ctx) => {
  if (process.platform !== 'linux') return ctx.skip('Linux only (/proc/self/maps)')
  const out = JSON.parse(execFileSync(process.execPath, ['-e', MAPS], { encoding: 'utf8', timeout: 30_000 })) as { imported: boolean; native: boolean; used: boolean }
  if (!out.native) return ctx.skip('the addon did not load here, so there is nothing to see mapped')
  expect(out.imported).toBe(false)
  expect(out.used).toBe(true)
})
