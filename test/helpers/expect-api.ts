// What getKeepAlive must report, shared by the unit tier (in process) and the
// kernel tier (the preload as a user runs it).
import { once } from 'node:events'
import net from 'node:net'
import { expect } from 'vitest'
import { capabilities, install } from '../lib'

const linux = process.platform === 'linux'

/** The recommended defaults, written out here so a change to them fails a test. */
export const RECOMMENDED = { idle: 20_000, interval: 5000, count: 20, userTimeout: 120_000 }

/**
 * getKeepAlive against what was set. Linux reads back every option; elsewhere
 * a value the OS cannot report is null and an option it lacks is not set.
 */
export function expectApi(actual: object | undefined, expected: Record<string, unknown>, label?: string): void {
  if (linux) {
    expect(actual, label).toEqual(expected)
    return
  }
  const got = actual as Record<string, unknown>
  for (const [k, v] of Object.entries(expected)) {
    if (k !== 'enabled' && !capabilities[k as 'idle']) continue
    if (got[k] !== null) expect(got[k], `${label ?? ''} ${k}`).toEqual(v)
  }
}

/**
 * A loopback connection opened under install() without options, handed to
 * check while connected; the hooks and the server are gone afterwards.
 */
export async function connectUnderDefaults(check: (socket: net.Socket) => void): Promise<void> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const handle = install()
  try {
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    await once(c, 'connect')
    try {
      check(c)
    } finally {
      c.destroy()
    }
  } finally {
    handle.uninstall()
    server.close()
  }
}
