// The process-wide record is shared with every other copy of the package, so
// any code can write it. A record of the wrong shape (another package's bug,
// or malice) gives one clear error at install(); one broken after install()
// never throws into net.connect nor crashes the process on an accepted
// connection. Each case runs in its own Node process (the record outlives
// everything in the one that made it).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const entry = join(__dirname, '..', '..', 'dist', 'cjs', 'index.js')

function run(code: string): { status: number | null; out: Record<string, unknown>; stderr: string } {
  const prelude = `
    const net = require('node:net')
    const KEY = Symbol.for('tcp-keepalive.registry')
    const once = (e, ev) => new Promise((r) => e.once(ev, r))
    const report = (o) => console.log(JSON.stringify(o))
    const installError = (k, ...a) => { try { k.install(...a); return null } catch (e) { return { code: e.code, message: e.message } } }
  `
  const r = spawnSync(process.execPath, ['-e', `${prelude}\n(async () => {\n${code}\n})().catch((e) => { console.error(e); process.exit(3) })`], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
  return { status: r.status, out: line ? (JSON.parse(line) as Record<string, unknown>) : {}, stderr: r.stderr }
}

const wrongShapes: Array<[string, string]> = [
  ['hooks without teardown', '{ version: 1, current: null, hooks: { revision: 99 } }'],
  ['current without configure', '{ version: 1, current: 5, hooks: null }'],
  ['a string', "'tcp-keepalive'"],
  ['no version', '{ current: null, hooks: null }'],
  ['installs not a list', '{ version: 2, current: null, hooks: null, installs: {} }'],
]

describe('a record of the wrong shape, there before the package loads', () => {
  for (const [name, shape] of wrongShapes) {
    it(`${name}: install() throws ERR_TCP_KEEPALIVE_REGISTRY naming the fault; setKeepAlive still works`, () => {
      const { status, out } = run(`
        globalThis[KEY] = ${shape}
        const k = require(${JSON.stringify(entry)})
        const error = installError(k, { idle: 7000 })
        const server = net.createServer().listen(0, '127.0.0.1')
        await once(server, 'listening')
        const s = net.connect(server.address().port, '127.0.0.1')
        await once(s, 'connect')
        const hooked = k.getKeepAlive(s)
        k.setKeepAlive(s, { idle: 8000 })
        report({ error, hooked: hooked.enabled, explicit: k.getKeepAlive(s).idle })
        s.destroy(); server.close()
      `)
      expect(status).toBe(0)
      expect(out.error).toMatchObject({ code: 'ERR_TCP_KEEPALIVE_REGISTRY' })
      expect((out.error as { message: string }).message).toMatch(/tcp-keepalive\.registry.*wrong shape/)
      // Refused, not half-installed.
      expect(out.hooked).toBe(false)
      expect(out.explicit).toBe(8000)
    })
  }
})

describe('a record broken after install()', () => {
  it('current replaced by an object without configure: net.connect and an accepted connection go on, one warning', () => {
    const { status, out, stderr } = run(`
      const k = require(${JSON.stringify(entry)})
      k.install({ idle: 7000 }, { server: true })
      globalThis[KEY].current = {}
      const server = net.createServer().listen(0, '127.0.0.1')
      await once(server, 'listening')
      const accepted = once(server, 'connection')
      let thrown = null
      let sockets = []
      try {
        sockets.push(net.connect(server.address().port, '127.0.0.1'))
        sockets.push(new net.Socket().connect(server.address().port, '127.0.0.1'))
      } catch (e) { thrown = e.message }
      await Promise.all([accepted, ...sockets.map((s) => once(s, 'connect'))])
      await new Promise((r) => setTimeout(r, 50))
      report({ thrown, connected: sockets.length })
      sockets.forEach((s) => s.destroy()); server.close()
    `)
    expect(status).toBe(0)
    expect(out).toEqual({ thrown: null, connected: 2 })
    expect(stderr.match(/ERR_TCP_KEEPALIVE_REGISTRY/g)?.length).toBe(1)
  })

  it('hooks replaced by { revision: 99 }: the next install() throws instead of doing nothing; uninstall() still removes ours', () => {
    const { status, out } = run(`
      const dc = require('node:diagnostics_channel')
      const k = require(${JSON.stringify(entry)})
      const h = k.install({ idle: 7000 }, { server: true })
      globalThis[KEY].hooks = { revision: 99 }
      globalThis[KEY].installs = 'broken'
      const error = installError(k, { idle: 9000 })
      let thrown = null
      try { h.uninstall() } catch (e) { thrown = e.message }
      report({ error, thrown, subscribed: dc.channel('net.server.socket').hasSubscribers })
    `)
    expect(status).toBe(0)
    expect(out).toMatchObject({ error: { code: 'ERR_TCP_KEEPALIVE_REGISTRY' }, thrown: null, subscribed: false })
  })
})
