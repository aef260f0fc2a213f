import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import axios from 'axios'
import { Agent as UndiciAgent, request as undiciRequest } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { harness } from '../helpers/paths'
import { kernelViewByPorts, makeCertificate, procObserver, type PeekedState } from '../helpers/kernel'
import { socketByPorts } from '../helpers/sockets'
import { connector, getKeepAlive, install, withKeepAlive, type KeepAliveState } from '../lib'

// Every server answers with two views of the CLIENT's socket (same process,
// found by its ports): the public getKeepAlive on it, everywhere, and the
// kernel's seen from another process where an observer exists. So the client
// learns what holds for the connection a library opened on its behalf.
let cert: string
let httpServer: http.Server
let httpsServer: https.Server
let httpUrl: string
let httpsUrl: string
const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const [clientPort, serverPort] = [req.socket.remotePort as number, req.socket.localPort as number]
  const client = socketByPorts(clientPort, serverPort)
  const api = client ? getKeepAlive(client) : null
  const view = kernelViewByPorts(clientPort, serverPort)
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ api, view, clientPort }))
}
beforeAll(async () => {
  const pair = makeCertificate()
  cert = pair.cert
  httpServer = http.createServer(handler).listen(0, '127.0.0.1')
  httpsServer = https.createServer({ key: pair.key, cert }, handler).listen(0, '127.0.0.1')
  await Promise.all([once(httpServer, 'listening'), once(httpsServer, 'listening')])
  httpUrl = `http://127.0.0.1:${(httpServer.address() as net.AddressInfo).port}/`
  httpsUrl = `https://localhost:${(httpsServer.address() as net.AddressInfo).port}/`
})
afterAll(() => {
  httpServer.close()
  httpsServer.close()
  httpServer.closeAllConnections()
  httpsServer.closeAllConnections()
})
const handles: Array<{ uninstall(): void }> = []
afterEach(() => {
  for (const h of handles.splice(0)) h.uninstall()
})

interface Answer {
  api: KeepAliveState | null
  view: PeekedState | null
  clientPort: number
}

/** The public API's view must match; the kernel's too where an observer exists. */
function expectSeen(answer: Answer, expected: Partial<KeepAliveState>): void {
  expect(answer.api).toMatchObject(expected)
  if (procObserver.available) expect(answer.view).toMatchObject(expected)
}

function get(url: string, options: https.RequestOptions = {}): Promise<Answer> {
  const mod = url.startsWith('https') ? https : http
  return new Promise((resolve, reject) => {
    mod
      .get(url, { ca: cert, ...options }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve(JSON.parse(body) as Answer))
      })
      .on('error', reject)
  })
}

const opts = { idle: 6000, interval: 2000, count: 3, userTimeout: 7000 }
const kernelOf = (o: { idle: number; interval: number; count: number; userTimeout?: number }) => ({ enabled: true, ...o })

describe('install()', () => {
  it.each([
    ['http, agent: false', () => get(httpUrl, { agent: false })],
    ['http, new http.Agent()', () => get(httpUrl, { agent: new http.Agent() })],
    ['http, global agent', () => get(httpUrl)],
    ['https, agent: false', () => get(httpsUrl, { agent: false })],
    ['https, new https.Agent({ keepAlive: true })', () => get(httpsUrl, { agent: new https.Agent({ keepAlive: true }) })],
    ['built-in fetch', async () => (await (await fetch(httpUrl)).json()) as Answer],
  ])('configures %s', async (_name, request) => {
    handles.push(install(opts))
    const answer = await request()
    expectSeen(answer, kernelOf(opts))
  })

  it('configures raw net.connect and tls.connect sockets', async () => {
    handles.push(install(opts))
    const port = (httpsServer.address() as net.AddressInfo).port
    const plain = net.connect(port, '127.0.0.1')
    const secure = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: cert })
    await Promise.all([once(plain, 'connect'), once(secure, 'secureConnect')])
    for (const s of [plain, secure]) {
      const seen = kernelViewByPorts(s.localPort as number, port)
      if (seen) expect(seen).toMatchObject(kernelOf(opts))
      expect(getKeepAlive(s)).toMatchObject(opts)
      s.destroy()
    }
  })

  it('keeps interval/count on a keep-alive agent socket reused across requests', async () => {
    handles.push(install(opts))
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000 })
    const first = await get(httpUrl, { agent })
    // Between requests the agent calls socket.setKeepAlive(true, 1000): Node 20 would reset interval 1 s / count 10.
    const second = await get(httpUrl, { agent })
    agent.destroy()
    expect(second.clientPort).toBe(first.clientPort)
    expectSeen(second, kernelOf(opts))
  })

  it('after uninstall(), new sockets are untouched; tls.connect is never replaced', async () => {
    // Identities compared, never called.
    const original: unknown = tls.connect
    const originalConnect: unknown = Reflect.get(net.Socket.prototype, 'connect')
    const handle = install(opts)
    expect(Reflect.get(tls, 'connect')).toBe(original)
    handle.uninstall()
    expect(Reflect.get(net.Socket.prototype, 'connect')).toBe(originalConnect)
    handle.uninstall()
    expect(tls.connect).toBe(original)
    const answer = await get(httpUrl, { agent: false })
    expectSeen(answer, { enabled: false })
    // built-in fetch would reuse a pooled connection from an earlier test: close it, let the pool see the FIN
    httpServer.closeAllConnections()
    await new Promise((r) => setTimeout(r, 200))
    const fetched = (await (await fetch(httpUrl)).json()) as Answer
    // built-in fetch sets its own 60 s idle; what matters is that ours (6 s) is gone
    expect(fetched.api?.idle).not.toBe(opts.idle)
    if (procObserver.available) expect(fetched.view?.idle).not.toBe(opts.idle)
  })

  it('install() twice replaces the options; an old handle cannot remove the new install', async () => {
    const a = install({ idle: 9000 })
    const b = install(opts)
    handles.push(b)
    a.uninstall()
    expectSeen(await get(httpUrl, { agent: false }), kernelOf(opts))
  })

  it('a chooser function picks options per connection, or skips with false', async () => {
    const httpPort = (httpServer.address() as net.AddressInfo).port
    const seen: string[] = []
    handles.push(
      install((_socket, info) => {
        seen.push(`${info.direction} ${info.remoteAddress}:${info.remotePort}`)
        return info.remotePort === httpPort ? { idle: 4000, interval: 1000, count: 2 } : false
      }),
    )
    expectSeen(await get(httpUrl, { agent: false }), { enabled: true, idle: 4000, interval: 1000, count: 2 })
    expectSeen(await get(httpsUrl, { agent: false }), { enabled: false })
    expect(seen).toContain(`client 127.0.0.1:${httpPort}`)
  })

  it('configures accepted sockets only with { server: true }', async () => {
    const server = net.createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    const accept = async (): Promise<net.Socket> => {
      const accepted = once(server, 'connection') as Promise<[net.Socket]>
      const client = net.connect(port, '127.0.0.1')
      const [socket] = await accepted
      client.destroy()
      return socket
    }
    handles.push(install(opts, { client: false, server: true }))
    const s1 = await accept()
    expect(getKeepAlive(s1)).toMatchObject(kernelOf(opts))
    handles.splice(0).forEach((h) => h.uninstall())
    handles.push(install(opts))
    const s2 = await accept()
    expect(getKeepAlive(s2).enabled).toBe(false)
    s1.destroy()
    s2.destroy()
    server.close()
  })

  it('failures go to onError and never break the connection', async () => {
    const errors: string[] = []
    handles.push(install(() => ({ count: 100_000 }), { onError: (err) => errors.push((err as Error & { code: string }).code) }))
    const answer = await get(httpUrl, { agent: false })
    expect(answer.clientPort).toBeGreaterThan(0) // the request still completed
    expect(errors).toEqual(['ERR_OUT_OF_RANGE'])
  })
})

describe('withKeepAlive(agent)', () => {
  it.each([
    ['http.Agent', () => new http.Agent(), () => httpUrl],
    ['https.Agent({ keepAlive: true })', () => new https.Agent({ keepAlive: true, ca: cert }), () => httpsUrl],
    ['a subclass overriding createConnection', () => new (class extends http.Agent {
      override createConnection(options: net.NetConnectOpts, cb?: (err: Error | null, s: Duplex) => void): Duplex | null | undefined {
        return super.createConnection(options, cb)
      }
    })(), () => httpUrl],
  ])('configures every socket of %s and returns the same agent', async (_name, make, url) => {
    const agent = make()
    expect(withKeepAlive(agent, opts)).toBe(agent)
    const answer = await get(url(), { agent })
    expectSeen(answer, kernelOf(opts))
    agent.destroy()
  })

  it('works for axios', async () => {
    const httpAgent = withKeepAlive(new http.Agent({ keepAlive: true }), opts)
    const res = await axios.get<Answer>(httpUrl, { httpAgent })
    expectSeen(res.data, kernelOf(opts))
    httpAgent.destroy()
  })
})

describe('connector() for undici', () => {
  it('configures sockets of an undici Agent, http and https', async () => {
    const dispatcher = new UndiciAgent({ connect: connector(opts, { ca: cert }) })
    for (const url of [httpUrl, httpsUrl]) {
      const res = await undiciRequest(url, { dispatcher })
      const answer = (await res.body.json()) as Answer
      expectSeen(answer, kernelOf(opts))
    }
    await dispatcher.close()
  })
})

describe('no leaks', () => {
  it('sockets and fds return to baseline after 1000 connections through each hook', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', join(harness, 'stress', 'leak-hooks.mjs'), '--count', '1000'], {
      encoding: 'utf8',
      timeout: 120_000,
    })
    expect(out).toMatch(/^leak check: ok/m)
  })
})
