// An HTTP/2 session's `socket` is a proxy that throws on every read once the
// session lets go of its socket. Given to setKeepAlive, it must not stay in the
// census as something later bookkeeping reads: destroying another socket
// after the session closed emitted ERR_HTTP2_SOCKET_UNBOUND on that socket
// (seen in the real-client run as a crash of the client process, whenever the
// proxy happened to be the census's last entry).
import { once } from 'node:events'
import type http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { afterAll, expect, it } from 'vitest'
import { connections, setKeepAlive, withKeepAlive } from '../lib'

const h2 = http2.createServer()
const plain = net.createServer((s) => s.on('error', () => {}))
afterAll(() => {
  h2.close()
  plain.close()
})

it('a closed HTTP/2 session given to setKeepAlive breaks neither a later destroy nor connections()', async () => {
  await Promise.all([once(h2.listen(0, '127.0.0.1'), 'listening'), once(plain.listen(0, '127.0.0.1'), 'listening')])
  const other = net.connect((plain.address() as net.AddressInfo).port, '127.0.0.1')
  await once(other, 'connect')
  setKeepAlive(other, { enable: true, idle: 5000 })
  const session = http2.connect(`http://127.0.0.1:${(h2.address() as net.AddressInfo).port}`)
  await once(session, 'connect')
  setKeepAlive(session.socket, { enable: true, idle: 6000 })
  session.close()
  await once(session, 'close')
  const errors: unknown[] = []
  other.on('error', (err) => errors.push(err))
  other.destroy()
  await once(other, 'close')
  expect(errors).toEqual([])
  expect(() => connections()).not.toThrow()
})

// The same proxy handed to a bulk path (a custom agent's createConnection under
// withKeepAlive): with an idle over 16 s its first keepalive timer would be
// re-armed 2 to 3 s later, when reading the proxy throws. That used to escape
// from a timer as an uncaught ERR_HTTP2_SOCKET_UNBOUND.
it('an HTTP/2 session socket configured in bulk and closed before its re-arm: nothing thrown later', async () => {
  // Six sessions: 17.5 s draws 16, 17 or 18 s, and a 16 s draw needs no re-arm.
  const sessions = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const session = http2.connect(`http://127.0.0.1:${(h2.address() as net.AddressInfo).port}`)
      await once(session, 'connect')
      return session
    }),
  )
  for (const session of sessions) {
    const agent = withKeepAlive({ createConnection: () => session.socket } as unknown as http.Agent, { idle: 17_500 })
    ;(agent as unknown as { createConnection(): net.Socket }).createConnection()
  }
  const thrown: unknown[] = []
  const onThrown = (err: unknown): void => void thrown.push(err)
  process.on('uncaughtException', onThrown)
  try {
    await Promise.all(sessions.map((session) => (session.close(), once(session, 'close'))))
    // Past the re-arm: 17.5 s less 15 s, rounded up to the next whole second.
    await new Promise((r) => setTimeout(r, 4000))
  } finally {
    process.off('uncaughtException', onThrown)
  }
  expect(thrown).toEqual([])
}, 10_000)
