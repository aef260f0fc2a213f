// The census, origins, timeout channel and metrics entry points: arguments,
// exports in both module systems, and what connections() lists in-process
// (the kernel tier checks the fields against ss).
import { once } from 'node:events'
import { createRequire } from 'node:module'
import net from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import tcpKeepAlive from '../../dist/esm/index.mjs'
import { connections, enableMetrics, install, METRIC_NAMES, setKeepAlive, TIMEOUT_CHANNEL } from '../lib'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

async function pair(): Promise<{ client: net.Socket; accepted: net.Socket }> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const acceptedP = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  const [accepted] = await acceptedP
  cleanups.push(() => {
    client.destroy()
    accepted.destroy()
    server.close()
  })
  return { client, accepted }
}

describe('census, origins, timeout channel, metrics: the API surface', () => {
  it('is exported from ESM, CJS and the default export alike', () => {
    const cjs = createRequire(__filename)(join(__dirname, '..', '..', 'dist', 'cjs', 'index.js')) as Record<string, unknown>
    expect(cjs.connections).toBe(connections)
    expect(cjs.enableMetrics).toBe(enableMetrics)
    expect(tcpKeepAlive.connections).toBe(connections)
    expect(tcpKeepAlive.enableMetrics).toBe(enableMetrics)
    expect(TIMEOUT_CHANNEL).toBe('tcp-keepalive:timeout')
    expect(METRIC_NAMES).toEqual({
      count: 'tcp_keepalive.connection.count',
      closed: 'tcp_keepalive.connection.closed',
      retransmits: 'tcp_keepalive.connection.retransmits',
      probes: 'tcp_keepalive.connection.unanswered_probes',
    })
  })

  it('rejects bad settings and options with typed errors', () => {
    const thrown = (fn: () => unknown): { code?: unknown; message?: unknown } => {
      try {
        fn()
      } catch (err) {
        return err as { code?: unknown; message?: unknown }
      }
      throw new Error('did not throw')
    }
    expect(thrown(() => install({}, { census: 'yes' } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: /"settings\.census" property must be of type boolean/ })
    expect(thrown(() => install({}, { origins: 1 } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: /"settings\.origins"/ })
    expect(thrown(() => install({}, { origin: true } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: /census, origins/ })
    expect(thrown(() => connections(null as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    expect(thrown(() => connections({ idleLimit: '350s' } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
    expect(thrown(() => connections({ idleLimit: 0 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' })
    expect(thrown(() => connections({ idleLimit: 1.5 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' })
    expect(thrown(() => connections({ limit: 1 } as never))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: /Known options: idleLimit/ })
  })

  it('lists sockets given to setKeepAlive (client and accepted) until they close; exposed follows idleLimit', async () => {
    const { client, accepted } = await pair()
    const before = connections().length
    setKeepAlive(client, { idle: 60_000 })
    setKeepAlive(accepted, { idle: 60_000 })
    const listed = connections().filter((c) => c.local === `127.0.0.1:${client.localPort}` || c.remote === `127.0.0.1:${client.localPort}`)
    expect(listed.map((c) => c.direction).sort()).toEqual(['client', 'server'])
    for (const c of listed) expect(c).toMatchObject({ exposed: false, origin: null, host: null, keepalive: { idle: 60_000 } })
    expect(connections({ idleLimit: 30_000 }).filter((c) => listed.some((l) => l.local === c.local)).every((c) => c.exposed)).toBe(true)
    client.destroy()
    accepted.destroy()
    expect(connections().length).toBe(before)
  })

  it('origins: the line that opened the connection, only when asked for', async () => {
    const server = net.createServer((s) => s.on('error', () => {}))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as net.AddressInfo).port
    const on = install({ idle: 30_000 }, { origins: true })
    const a = net.connect(port, '127.0.0.1') // opened here
    await once(a, 'connect')
    on.uninstall()
    const off = install({ idle: 30_000 })
    const b = net.connect(port, '127.0.0.1')
    await once(b, 'connect')
    off.uninstall()
    cleanups.push(() => {
      a.destroy()
      b.destroy()
      server.close()
    })
    const find = (s: net.Socket) => connections().find((c) => c.local === `127.0.0.1:${s.localPort}`)
    expect(find(a)?.origin).toMatch(/observe\.test\.ts:\d+$/)
    expect(find(b)?.origin).toBeNull()
  })
})
