import { once } from 'node:events'
import net from 'node:net'

export interface Pair {
  client: net.Socket
  accepted: net.Socket
  close(): void
}

/** A connected loopback TCP pair: our client and the server's accepted socket. */
export async function tcpPair(host = '127.0.0.1'): Promise<Pair> {
  const server = net.createServer()
  server.listen(0, host)
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const acceptedP = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect(port, host)
  await once(client, 'connect')
  const [accepted] = await acceptedP
  return {
    client,
    accepted,
    close() {
      client.destroy()
      accepted.destroy()
      server.close()
    },
  }
}

export function fdOf(socket: net.Socket): number {
  // Node keeps the fd on the internal handle; tests read it only to hand it
  // to an independent observer.
  return (socket as unknown as { _handle: { fd: number } })._handle.fd
}

/**
 * This process's connected socket with these ports, found among Node's active
 * handles: lets a test read a socket that a library opened for it through the
 * public API, on every OS, where no outside observer exists.
 */
export function socketByPorts(localPort: number, remotePort: number): net.Socket | null {
  const active = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
  for (const h of active) if (h instanceof net.Socket && h.localPort === localPort && h.remotePort === remotePort) return h
  return null
}

/**
 * A loopback pair that has carried data both ways (200 kB up, 3 kB down), so
 * every TCP_INFO counter has something to count, settled so that nothing
 * moves between two reads of it.
 */
export async function busyPair(): Promise<Pair> {
  const p = await tcpPair()
  const toServer = Buffer.alloc(200_000, 1)
  let got = 0
  const received = new Promise<void>((resolve) => p.accepted.on('data', (c: Buffer) => (got += c.length) >= toServer.length && resolve()))
  p.client.write(toServer)
  await received
  p.accepted.write(Buffer.alloc(3000, 2))
  await once(p.client, 'data')
  // The last ACKs land before anyone reads.
  await new Promise((r) => setTimeout(r, 100))
  return p
}
