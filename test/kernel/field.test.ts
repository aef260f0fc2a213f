// What real clients do to sockets after this package configured them, and
// what install() meets in the field: Node's own setKeepAlive in every form,
// reconnecting sockets, http2 sessions, Unix-domain and closed sockets, and
// explicit calls racing the hooks.
import { once } from 'node:events'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { makeCertificate, peekSockopt } from '../helpers/kernel'
import { fdOf, tcpPair, type Pair } from '../helpers/sockets'
import { connections, getKeepAlive, install, setKeepAlive } from '../lib'

const pairs: Pair[] = []
const handles: Array<{ uninstall(): void }> = []
const cleanups: Array<() => void> = []
afterEach(() => {
  for (const h of handles.splice(0)) h.uninstall()
  for (const p of pairs.splice(0)) p.close()
})
afterAll(() => {
  for (const c of cleanups.splice(0)) c()
})
async function pair(): Promise<Pair> {
  const p = await tcpPair()
  pairs.push(p)
  return p
}
/** The kernel's view from another process, where that observer exists, and ours. */
function expectKernel(socket: net.Socket, expected: Record<string, unknown>): void {
  expect(getKeepAlive(socket)).toMatchObject(expected)
  const seen = peekSockopt(fdOf(socket))
  if (seen) expect(seen).toMatchObject(expected)
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe("Node's own socket.setKeepAlive after ours", () => {
  it('setKeepAlive(false) turns probes off although Node never enabled them itself', async () => {
    const { client } = await pair()
    setKeepAlive(client, { idle: 5000, interval: 2000, count: 3 })
    expectKernel(client, { enabled: true })
    // Node's cache says "off" (it never turned probes on): it would skip the system call.
    client.setKeepAlive(false)
    expectKernel(client, { enabled: false })
    // and back on, with our timing
    client.setKeepAlive(true)
    expectKernel(client, { enabled: true, idle: 5000, interval: 2000, count: 3 })
  })

  it("after { enable: false }, an agent's pool-release setKeepAlive(true, ms) turns probes on with our timing", async () => {
    const { client } = await pair()
    // An agent enabled keepalive once: Node now caches (true, 1 s).
    client.setKeepAlive(true, 1000)
    setKeepAlive(client, { idle: 6000, interval: 2000, count: 4 })
    setKeepAlive(client, { enable: false })
    expectKernel(client, { enabled: false })
    // The same call again: Node's cache says nothing changed.
    client.setKeepAlive(true, 1000)
    expectKernel(client, { enabled: true, idle: 6000, interval: 2000, count: 4 })
  })

  it('a 2-argument call keeps our timing; every argument reaches Node', async () => {
    const { client } = await pair()
    setKeepAlive(client, { idle: 7000, interval: 3000, count: 5 })
    const seen: unknown[][] = []
    const proto = Object.getPrototypeOf(client) as { setKeepAlive: (...a: unknown[]) => unknown }
    const node = proto.setKeepAlive
    // Record what Node's method receives (it still runs).
    Object.setPrototypeOf(client, Object.create(proto, { setKeepAlive: { value(this: unknown, ...a: unknown[]) { seen.push(a); return node.apply(this, a) } } }) as object)
    client.setKeepAlive(true, 1000)
    ;(client.setKeepAlive as (...a: unknown[]) => unknown)(true, 2000, 4000, 6)
    expect(seen).toEqual([[true, 1000], [true, 2000, 4000, 6]])
    if (net.Socket.prototype.setKeepAlive.length < 4) {
      // Node 20 ignores interval and count: the call is a 2-argument one and ours stays.
      expectKernel(client, { enabled: true, idle: 7000, interval: 3000, count: 5 })
    } else {
      expectKernel(client, { enabled: true, idle: 2000, interval: 4000, count: 6 })
    }
  })
})


describe('reconnecting one net.Socket', () => {
  it('adds no listener per reconnect and configures every connection', async () => {
    const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    const socket = new net.Socket()
    const counts: number[] = []
    try {
      for (let i = 0; i < 15; i++) {
        socket.connect(port, '127.0.0.1')
        setKeepAlive(socket, { idle: 3000 + 1000 * (i % 3), interval: 2000 })
        await once(socket, 'connect')
        const expected = { enabled: true, idle: 3000 + 1000 * (i % 3), interval: 2000 }
        if (i === 14) expectKernel(socket, expected)
        else expect(getKeepAlive(socket)).toMatchObject(expected)
        counts.push(socket.listenerCount('connect'))
        const closed = once(socket, 'close')
        socket.destroy()
        await closed
      }
    } finally {
      process.off('warning', onWarning)
      server.close()
    }
    expect(Math.max(...counts)).toBeLessThanOrEqual(1)
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
  })
})


describe('objects the API accepts', () => {
  it("configures an http2 session's socket without throwing", async () => {
    const server = http2.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const session = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)
    await once(session, 'connect')
    try {
      const socket = session.socket
      expect(() => setKeepAlive(socket, { idle: 8000, interval: 2000, count: 3 })).not.toThrow()
      expectKernel(socket, { enabled: true, idle: 8000, interval: 2000, count: 3 })
    } finally {
      session.close()
      server.close()
    }
  })

  it('a rejected call changes nothing, for a TCP socket, a TLS socket and an http2 session socket', async () => {
    const { key, cert } = makeCertificate()
    const tlsServer = tls.createServer({ key, cert }).listen(0, '127.0.0.1')
    const h2Server = http2.createServer().listen(0, '127.0.0.1')
    await Promise.all([once(tlsServer, 'listening'), once(h2Server, 'listening')])
    const { client } = await pair()
    const secure = tls.connect({ port: (tlsServer.address() as net.AddressInfo).port, host: '127.0.0.1', ca: cert, servername: 'localhost' })
    await once(secure, 'secureConnect')
    const session = http2.connect(`http://127.0.0.1:${(h2Server.address() as net.AddressInfo).port}`)
    await once(session, 'connect')
    try {
      for (const socket of [client, secure, session.socket]) {
        const before = getKeepAlive(socket)
        expect(() => setKeepAlive(socket, { idle: 9000, count: 100_000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }))
        expect(() => setKeepAlive(socket, { idle: 9000, intreval: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
        expect(getKeepAlive(socket)).toEqual(before)
      }
    } finally {
      secure.destroy()
      session.close()
      tlsServer.close()
      h2Server.close()
    }
  })
})


describe('install() in the field: no noise', () => {
  it('skips Unix-domain clients and servers, http over socketPath and TLS over Unix silently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tka-unix-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const { key, cert } = makeCertificate()
    const errors: string[] = []
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    handles.push(install({ idle: 5000 }, { server: true }))
    handles.push(install({ idle: 5000 }, { server: true, onError: (e) => errors.push((e as Error & { code: string }).code) }))
    const plainPath = join(dir, 'plain.sock')
    const tlsPath = join(dir, 'tls.sock')
    const httpPath = join(dir, 'http.sock')
    const plain = net.createServer((s) => s.end()).listen(plainPath)
    const secureServer = tls.createServer({ key, cert }, (s) => s.end()).listen(tlsPath)
    const web = http.createServer((_q, r) => r.end('ok')).listen(httpPath)
    await Promise.all([once(plain, 'listening'), once(secureServer, 'listening'), once(web, 'listening')])
    try {
      const c1 = net.connect(plainPath)
      await once(c1, 'connect')
      const c2 = tls.connect({ path: tlsPath, ca: cert, servername: 'localhost' })
      await once(c2, 'secureConnect')
      await new Promise<void>((resolve, reject) => {
        http.get({ socketPath: httpPath, path: '/' }, (res) => res.resume().on('end', resolve)).on('error', reject)
      })
      const c3 = new net.Socket().connect(plainPath)
      await once(c3, 'connect')
      await tick()
      // Nor does the census list them: TLS over a Unix socket is refused by the kernel read, not by its handle's class.
      expect(connections().filter((c) => !/:\d+$/.test(c.local) || !/:\d+$/.test(c.remote))).toEqual([])
      for (const c of [c1, c2, c3]) c.destroy()
    } finally {
      process.off('warning', onWarning)
      plain.close()
      secureServer.close()
      web.close()
    }
    expect(errors).toEqual([])
    expect(warnings.filter((w) => w.name === 'TcpKeepAliveWarning')).toEqual([])
  })

  it("skips a socket the user's own 'connection' handler destroyed", async () => {
    const errors: string[] = []
    handles.push(install({ idle: 5000 }, { server: true, onError: (e) => errors.push((e as Error & { code: string }).code) }))
    const server = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    await once(client, 'close')
    await tick()
    server.close()
    expect(errors).toEqual([])
  })

  it("a failing re-apply from Node's setKeepAlive goes to the install's onError", async () => {
    const errors: Array<[string, net.Socket]> = []
    handles.push(install({ idle: 5000 }, { onError: (e, s) => errors.push([(e as Error & { code: string }).code, s]) }))
    const { client } = await pair()
    await tick()
    expect(getKeepAlive(client)).toMatchObject({ enabled: true, idle: 5000 })
    // The socket's handle now names a file, not a socket: the re-apply after Node's call fails.
    const internal = client as unknown as { _handle: unknown }
    const real = internal._handle
    const dir = mkdtempSync(join(tmpdir(), 'tka-file-'))
    const fd = openSync(join(dir, 'f'), 'w')
    try {
      internal._handle = { fd, constructor: { name: 'TCP' } }
      client.setKeepAlive(true, 1000)
    } finally {
      internal._handle = real
      closeSync(fd)
      rmSync(dir, { recursive: true, force: true })
    }
    expect(errors.map(([code]) => code)).toEqual(['ENOTSOCK'])
    expect(errors[0]?.[1]).toBe(client)
  })

  it('warnings: one per code, and errors without a code do not share one slot', async () => {
    const warnings: Array<{ message: string }> = []
    const onWarning = (w: Error): void => void (w.name === 'TcpKeepAliveWarning' && warnings.push(w))
    process.on('warning', onWarning)
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    let n = 0
    handles.push(
      install(() => {
        n++
        throw new Error(`chooser failure ${n <= 2 ? 'one' : 'two'}`)
      }),
    )
    try {
      for (let i = 0; i < 4; i++) {
        const c = net.connect(port, '127.0.0.1')
        await once(c, 'connect')
        c.destroy()
      }
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      process.off('warning', onWarning)
      server.close()
    }
    expect(n).toBe(4)
    expect(warnings.map((w) => w.message).sort()).toEqual([
      'tcp-keepalive could not configure a socket: chooser failure one',
      'tcp-keepalive could not configure a socket: chooser failure two',
    ])
  })
})


describe('an explicit call beats a hook, whatever the order', () => {
  const hook = { idle: 9000, interval: 4000, count: 7 }
  it("a server's 'connection' handler configuring the socket", async () => {
    handles.push(install(hook, { server: true, client: false }))
    const server = net.createServer((s) => setKeepAlive(s, { idle: 5000 })).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const accepted = once(server, 'connection') as Promise<[net.Socket]>
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    const [socket] = await accepted
    await tick()
    try {
      expectKernel(socket, { enabled: true, idle: 5000 })
      expect(getKeepAlive(socket).count).not.toBe(hook.count)
    } finally {
      client.destroy()
      socket.destroy()
      server.close()
    }
  })

  it('a client configured right after connect(), before the hook applies at connect', async () => {
    handles.push(install(hook))
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    const sockets = [net.connect(port, '127.0.0.1'), new net.Socket().connect(port, '127.0.0.1')]
    for (const s of sockets) setKeepAlive(s, { idle: 5000 })
    // and a chooser hook, which would run at 'connect'
    handles.push(install(() => hook))
    const chosen = net.connect(port, '127.0.0.1')
    setKeepAlive(chosen, { idle: 6000 })
    try {
      for (const s of [...sockets, chosen]) {
        await once(s, 'connect')
        expect(getKeepAlive(s).count).not.toBe(hook.count)
      }
      expectKernel(sockets[0] as net.Socket, { enabled: true, idle: 5000 })
      expectKernel(sockets[1] as net.Socket, { enabled: true, idle: 5000 })
      expectKernel(chosen, { enabled: true, idle: 6000 })
    } finally {
      for (const s of [...sockets, chosen]) s.destroy()
      server.close()
    }
  })
})


describe('other patchers of connect', () => {
  const opts = { idle: 6000, interval: 2000, count: 3 }
  type Connect = (...a: unknown[]) => unknown
  const proto = net.Socket.prototype as unknown as { connect: Connect }
  const wrap = (f: Connect): Connect =>
    function wrapped(this: unknown, ...a: unknown[]) {
      return f.apply(this, a)
    }

  it('20 000 cycles of install, wrap (an APM), uninstall, unwrap leave no layer and every connect working', async () => {
    const originalConnect = proto.connect
    const originalTls = tls.connect
    for (let i = 0; i < 20_000; i++) {
      const h = install(opts)
      const savedConnect = proto.connect
      const savedTls = tls.connect
      proto.connect = wrap(savedConnect)
      tls.connect = wrap(savedTls as Connect) as typeof tls.connect
      h.uninstall()
      proto.connect = savedConnect
      tls.connect = savedTls
    }
    // and wrappers that stay: ours is one layer under all of them
    const kept: Connect[] = []
    for (let i = 0; i < 50; i++) {
      const h = install(opts)
      proto.connect = wrap(proto.connect)
      kept.push(proto.connect)
      h.uninstall()
    }
    handles.push(install(opts))
    const { key, cert } = makeCertificate()
    const server = tls.createServer({ key, cert }).listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    try {
      const plain = new net.Socket().connect(port, '127.0.0.1')
      const secure = tls.connect({ port, host: '127.0.0.1', ca: cert, servername: 'localhost' })
      await Promise.all([once(plain, 'connect'), once(secure, 'secureConnect')])
      expectKernel(plain, { enabled: true, ...opts })
      expectKernel(secure, { enabled: true, ...opts })
      plain.destroy()
      secure.destroy()
    } finally {
      server.close()
      handles.splice(0).forEach((h) => h.uninstall())
      proto.connect = originalConnect
    }
    expect(tls.connect).toBe(originalTls)
  })

  it('a patcher putting back what was there before install() does not drop the hook for good', async () => {
    const before = proto.connect
    handles.push(install(opts))
    proto.connect = wrap(before)
    proto.connect = before
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    try {
      // Any client socket the hooks see again restores the path for the next ones.
      const first = net.connect(port, '127.0.0.1')
      await once(first, 'connect')
      const raw = new net.Socket().connect(port, '127.0.0.1')
      await once(raw, 'connect')
      expectKernel(raw, { enabled: true, ...opts })
      first.destroy()
      raw.destroy()
    } finally {
      server.close()
    }
  })
})
