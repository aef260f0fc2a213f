// Which JavaScript runtime this is, and which of the hook paths it offers.
import dc = require('node:diagnostics_channel')
import net = require('node:net')

export type RuntimeName = 'node' | 'bun' | 'deno'

const g = globalThis as { Bun?: unknown; Deno?: unknown }
export const runtime: RuntimeName = g.Bun !== undefined ? 'bun' : g.Deno !== undefined ? 'deno' : 'node'

/** Node's socket.setKeepAlive takes (enable, initialDelay, interval, count) or an options object (Node 24.19+, 26.4+). */
export const NODE_TIMING = net.Socket.prototype.setKeepAlive.length >= 4

/** How install() reaches one kind of socket here; null: it cannot. */
export type HookPath = 'channel' | 'patch' | null

/** Which hook paths install() has in this runtime. */
export interface HookPaths {
  readonly runtime: RuntimeName
  /** Client sockets: `net.client.socket` published by Socket.prototype.connect (Node 22+), or
   *  Socket.prototype.connect wrapped while installed (Node 18, 20, Bun). */
  readonly client: HookPath
  /** Accepted sockets (`server: true`): `net.server.socket` (Node), or net.Server's 'connection' (Bun). */
  readonly server: HookPath
  /** Built-in fetch: `undici:client:connected` (Node); null where fetch is native (Bun). */
  readonly fetch: HookPath
  /** What install() cannot reach here, in words (empty on Node). */
  readonly unreachable: readonly string[]
}

// The channels the hooks use, held for the life of the process and
// subscribed through these objects: Node 18's registry of channels can drop a
// name whose subscribers came and went, and then hand out a new object for it
// that net, holding the old one, never publishes on.
export const channels = {
  client: dc.channel('net.client.socket'),
  server: dc.channel('net.server.socket'),
  undici: dc.channel('undici:client:connected'),
}

// Does Socket.prototype.connect publish `net.client.socket` itself (Node 22+)?
// Probed once, without I/O: connect() with neither port nor path throws
// ERR_MISSING_ARGS, and where Node publishes it does so before that check.
let publishes: boolean | null = null
export function connectPublishes(): boolean {
  if (publishes !== null) return publishes
  let seen = false
  const probe = (): void => {
    seen = true
  }
  const s = new net.Socket()
  channels.client.subscribe(probe)
  try {
    ;(s.connect as (o: object) => unknown)({})
  } catch {
    // expected: ERR_MISSING_ARGS
  } finally {
    channels.client.unsubscribe(probe)
    s.destroy()
  }
  publishes = seen
  return seen
}

function paths(): HookPaths {
  const client: HookPath = connectPublishes() ? 'channel' : 'patch'
  if (runtime === 'bun') {
    return Object.freeze({
      runtime,
      client,
      server: 'patch',
      fetch: null,
      // Bun substitutes its own ws, undici and node-fetch modules; their sockets are Bun's, not net.Socket.
      unreachable: Object.freeze([
        "Bun's built-in fetch()",
        "the ws, undici and node-fetch modules (Bun's own, on Bun's native sockets; ws takes withKeepAlive(agent))",
        "sockets of Bun's http.Server requests",
      ]),
    })
  }
  if (runtime === 'deno') {
    return Object.freeze({ runtime, client: null, server: null, fetch: null, unreachable: Object.freeze(['every socket: Deno exposes no file descriptor for a net.Socket']) })
  }
  return Object.freeze({ runtime, client, server: 'channel', fetch: 'channel', unreachable: Object.freeze([]) })
}

let found: HookPaths | null = null
/** Probed at the first install() (or read of capabilities.hooks), not at import: importing opens nothing. */
export function hookPaths(): HookPaths {
  if (found === null) found = paths()
  return found
}
