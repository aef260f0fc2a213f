import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { makeCertificate, notRun, peekChildSockopt, peekSockopt, sockoptObserver, ssObserver, ssTimer } from '../helpers/kernel'
import { packageWithoutAddon } from '../helpers/no-addon'
import { fdOf, tcpPair, type Pair } from '../helpers/sockets'
import { getKeepAlive, setKeepAlive } from '../lib'

const linux = process.platform === 'linux'
const full = { idle: 7000, interval: 3000, count: 4, userTimeout: 9000 }
const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})
async function pair(): Promise<Pair> {
  const p = await tcpPair()
  cleanups.push(() => p.close())
  return p
}

/** Both our readback and the kernel seen from outside must equal `expected`. */
function expectKernel(socket: net.Socket, expected: { enabled?: boolean; idle?: number; interval?: number; count?: number; userTimeout?: number }): void {
  expect(getKeepAlive(socket)).toMatchObject(expected)
  const seen = linux ? peekSockopt(fdOf(socket)) : null
  if (seen) expect(seen).toMatchObject(expected)
}


describe('setKeepAlive / getKeepAlive on live sockets', () => {
  it('sets every option on a client socket, as the kernel reports it', async () => {
    const { client } = await pair()
    setKeepAlive(client, full)
    expectKernel(client, { enabled: true, ...full })
  })

  it('arms the kernel keepalive timer at the configured idle (ss)', async () => {
    const { client, accepted } = await pair()
    setKeepAlive(client, { idle: 7000 })
    expect(getKeepAlive(client)).toMatchObject({ enabled: true, idle: 7000 })
    if (!ssObserver.available) return notRun(ssObserver)
    const timer = ssTimer(client.localPort as number, accepted.localPort)
    expect(timer?.name).toBe('keepalive')
    // Counting down from 7 s; a wrong idle (Node's default 0, the OS 7200 s) is far outside.
    expect(timer?.remainingMs).toBeGreaterThan(5000)
    expect(timer?.remainingMs).toBeLessThanOrEqual(7000)
  })

  it('rounds times up to whole seconds and never to 0', async () => {
    const { client } = await pair()
    setKeepAlive(client, { idle: 1, interval: 1500, userTimeout: 1500 })
    // userTimeout is milliseconds in the kernel: kept exactly.
    expectKernel(client, { idle: 1000, interval: 2000, userTimeout: 1500 })
  })

  it('leaves omitted options as they are', async () => {
    const { client } = await pair()
    setKeepAlive(client, full)
    setKeepAlive(client, { count: 7 })
    expectKernel(client, { enabled: true, ...full, count: 7 })
  })

  it('turns keepalive off with enable: false, and the timer stops', async () => {
    const { client, accepted } = await pair()
    setKeepAlive(client, { idle: 5000 })
    setKeepAlive(client, { enable: false })
    expectKernel(client, { enabled: false, idle: 5000 })
    if (ssObserver.available) expect(ssTimer(client.localPort as number, accepted.localPort)).toBeNull()
    else notRun(ssObserver)
  })

  it('configures sockets accepted by net.Server', async () => {
    const { accepted } = await pair()
    setKeepAlive(accepted, full)
    expectKernel(accepted, { enabled: true, ...full })
  })

  it('configures a socket still connecting once it connects', async () => {
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanups.push(() => server.close())
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    cleanups.push(() => client.destroy())
    expect(client.connecting).toBe(true)
    setKeepAlive(client, { idle: 4000 })
    setKeepAlive(client, { count: 3 }) // merged with the pending idle
    expect(() => getKeepAlive(client)).toThrow(expect.objectContaining({ code: 'ERR_TCP_KEEPALIVE_NOT_CONNECTED' }))
    await once(client, 'connect')
    expectKernel(client, { enabled: true, idle: 4000, count: 3 })
  })

  it("wins over net.connect({ keepAlive }) which Node applies just before 'connect'", async () => {
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanups.push(() => server.close())
    const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 1000 })
    cleanups.push(() => client.destroy())
    setKeepAlive(client, { idle: 6000, interval: 2000, count: 5 })
    await once(client, 'connect')
    expectKernel(client, { enabled: true, idle: 6000, interval: 2000, count: 5 })
  })

  it("keeps its interval/count after Node's own socket.setKeepAlive(true, ms)", async () => {
    const { client } = await pair()
    setKeepAlive(client, { idle: 6000, interval: 2000, count: 5 })
    // Node 20 would set TCP_KEEPINTVL=1 s and TCP_KEEPCNT=10 here.
    client.setKeepAlive(true, 3000)
    expectKernel(client, { enabled: true, idle: 6000, interval: 2000, count: 5 })
    client.setKeepAlive(false)
    expectKernel(client, { enabled: false })
  })

  it('configures TLS client and TLS server sockets (certificate made now)', async () => {
    const { key, cert } = makeCertificate()
    const server = tls.createServer({ key, cert }, (s) => s.on('error', () => {})).listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanups.push(() => server.close())
    const acceptedP = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>
    const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', ca: cert, servername: 'localhost' })
    cleanups.push(() => client.destroy())
    setKeepAlive(client, full) // still connecting: deferred
    await once(client, 'secureConnect')
    expectKernel(client, { enabled: true, ...full })
    const [accepted] = await acceptedP
    setKeepAlive(accepted, { idle: 11_000, interval: 1000, count: 2 })
    expectKernel(accepted, { enabled: true, idle: 11_000, interval: 1000, count: 2 })
  })

  it('configures sockets of http.Server and https.Server requests', async () => {
    const { key, cert } = makeCertificate()
    const seen: Array<ReturnType<typeof getKeepAlive>> = []
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      setKeepAlive(req.socket, { idle: 8000, interval: 2000, count: 3 })
      seen.push(getKeepAlive(req.socket))
      const outside = linux ? peekSockopt(fdOf(req.socket)) : null
      if (outside) seen.push({ ...outside, userTimeout: null })
      res.end('ok')
    }
    const plain = http.createServer(handler).listen(0, '127.0.0.1')
    const secure = https.createServer({ key, cert }, handler).listen(0, '127.0.0.1')
    await Promise.all([once(plain, 'listening'), once(secure, 'listening')])
    cleanups.push(() => plain.close(), () => secure.close())
    const get = (mod: typeof http | typeof https, port: number) =>
      new Promise<string>((resolve, reject) => {
        mod.get({ host: '127.0.0.1', port, agent: false, ca: cert, servername: 'localhost' }, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString())).on('end', () => resolve(body))
        }).on('error', reject)
      })
    expect(await get(http, (plain.address() as net.AddressInfo).port)).toBe('ok')
    expect(await get(https, (secure.address() as net.AddressInfo).port)).toBe('ok')
    expect(seen.length).toBe(linux && sockoptObserver.available ? 4 : 2)
    for (const s of seen) expect(s).toMatchObject({ enabled: true, idle: 8000, interval: 2000, count: 3 })
  })

  it('configures IPv6 sockets', async () => {
    let p: Pair
    try {
      p = await tcpPair('::1')
    } catch {
      return // no IPv6 loopback on this host: nothing to configure
    }
    cleanups.push(() => p.close())
    setKeepAlive(p.client, full)
    expectKernel(p.client, { enabled: true, ...full })
  })
})


describe('fallback without the native addon', () => {
  it('imports (without undici too), reports native: false, sets idle through Node and refuses the rest', () => {
    const { dir, env } = packageWithoutAddon()
    try {
      const script = join(dir, 'probe.mjs')
      writeFileSync(
        script,
        `import net from 'node:net'
import { capabilities, setKeepAlive, getKeepAlive, connector } from 'tcp-keepalive'
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => {
    const out = { native: capabilities.native, reason: capabilities.reason, fd: c._handle.fd }
    setKeepAlive(c, { idle: 4500 })
    out.read = getKeepAlive(c)
    try { setKeepAlive(c, { interval: 1000 }) } catch (e) { out.intervalError = e.code }
    try { connector({ idle: 1000 }) } catch (e) { out.undiciError = e.code }
    console.log(JSON.stringify(out))
    process.stdin.once('data', () => process.exit(0))
  })
})

`,
      )
      const child = spawn(process.execPath, [script], { cwd: dir, env, stdio: ['pipe', 'pipe', 'inherit'] })
      return new Promise<void>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => {
          try {
            const out = JSON.parse(chunk.toString()) as { native: boolean; reason: string; fd: number; read: object; intervalError: string; undiciError: string }
            expect(out.native).toBe(false)
            expect(out.reason).toMatch(/No native build/)
            expect(out.read).toEqual({ enabled: null, idle: null, interval: null, count: null, userTimeout: null })
            expect(out.intervalError).toBe('ERR_TCP_KEEPALIVE_UNSUPPORTED')
            // undici is an optional peer: the package imported without it, connector() says what is missing.
            expect(out.undiciError).toBe('ERR_TCP_KEEPALIVE_UNDICI_MISSING')
            // Node's own call, rounded up by us to 5 s, seen from outside.
            const outside = linux ? peekChildSockopt(child.pid as number, out.fd) : null
            if (outside) expect(outside).toMatchObject({ enabled: true, idle: 5000 })
            resolve()
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)))
          } finally {
            child.stdin.end('x')
          }
        })
        child.on('error', reject)
      })
    } finally {
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    }
  })

  it('the ESM and CJS entries are one module (one state for hooks)', () => {
    const root = join(__dirname, '..', '..')
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import * as esm from ${JSON.stringify(join(root, 'dist/esm/index.mjs'))}; import { createRequire } from 'node:module'; const cjs = createRequire(import.meta.url)(${JSON.stringify(join(root, 'dist/cjs/index.js'))}); console.log(esm.setKeepAlive === cjs.setKeepAlive && esm.capabilities === cjs.capabilities)`],
      { encoding: 'utf8' },
    )
    expect(out.trim()).toBe('true')
  })
})
