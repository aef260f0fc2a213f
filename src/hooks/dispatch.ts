// The hooks: one set per process (registry.hooks), whichever copy of this
// package set them up, dispatching every socket they reach to the newest
// install() of any copy (registry.current).
//
// Which mechanism covers which path:
// - every client socket on Node 22 and later (net.connect, new net.Socket()
//   .connect(), tls.connect, http/https with any agent, built-in fetch):
//   diagnostics_channel `net.client.socket`, which Socket.prototype.connect
//   publishes there.
// - Node 18 and 20 publish it from net.connect() only, and Bun publishes
//   nothing: there the hooks wrap Socket.prototype.connect (tls.connect goes
//   through it too). Which case holds is probed once, by behaviour, at the
//   first install().
// - built-in fetch (either scheme): `undici:client:connected`.
// - accepted sockets ({ server: true }): `net.server.socket`; Bun publishes
//   none, so there net.Server's emit is wrapped and 'connection' seen before
//   the user's handler.
// A connection reached by two paths is configured once.
//
// No structure here holds a socket: listeners and state live on the socket
// itself, so they die with it.
import net = require('node:net')
import { dispatch, registry, type HookSet } from '../registry'
import { channels, connectPublishes, hookPaths } from '../runtime'
import { unwatchConnect, watchConnect } from './sentinel'
import { revocableWrap } from './wrap'

/** Raised when a copy's hooks reach more than an older copy's do: the newer takes over. */
const HOOKS_REVISION = 3

/** This copy's part of the process-wide hooks. */
const hooks = {
  /** The set this copy put in place; live while registry.hooks is this one. */
  set: null as HookSet | null,
  warnedUnreachable: false,
}

function live(): boolean {
  return hooks.set !== null && registry().hooks === hooks.set
}

function dispatchClient(message: unknown): void {
  const socket = (message as { socket?: unknown }).socket
  if (socket instanceof net.Socket) dispatch(socket, 'client')
}

function dispatchServer(message: unknown): void {
  const socket = (message as { socket?: unknown }).socket
  if (socket instanceof net.Socket) dispatch(socket, 'server')
}

const connectWrap = revocableWrap<net.Socket>({
  target: net.Socket.prototype,
  key: 'connect',
  before(socket) {
    if (live()) dispatch(socket, 'client')
  },
  probe(fn) {
    // connect() with neither port nor path throws ERR_MISSING_ARGS before any I/O.
    const s = new net.Socket()
    try {
      Reflect.apply(fn, s, [{}])
    } finally {
      s.destroy()
    }
  },
})

const PROBE_EVENT = Symbol('tcp-keepalive.probe')
const emitWrap = revocableWrap<net.Server>({
  target: net.Server.prototype,
  key: 'emit',
  before(_server, args) {
    // No message object per connection: the socket is checked where it is.
    if (args[0] === 'connection' && args[1] instanceof net.Socket && live()) dispatch(args[1], 'server')
  },
  probe(fn) {
    // An event nobody listens to.
    Reflect.apply(fn, new net.Server(), [PROBE_EVENT])
  },
})

// `net.client.socket`. Where connect is wrapped (Node 18, 20), net.connect()
// publishes just before it calls socket.connect(), which our wrapper sees:
// the channel then only checks that the wrapper is still in place.
function dispatchNetClient(message: unknown): void {
  if (connectWrap.patched && connectWrap.check()) return
  dispatchClient(message)
}

// The sentinel (sentinel.ts) found Socket.prototype.connect replaced: ours
// goes back in, and the socket whose connect() revealed it is configured.
function connectReplaced(socket: net.Socket): void {
  connectWrap.check()
  // From connect(), the socket is about to be marked connecting; from I/O on an open one it is not.
  process.nextTick(() => {
    if (socket.connecting && live()) dispatch(socket, 'client')
  })
}

function setUpHooks(): HookSet {
  // Probed before subscribing: the probe's socket is published on the client channel.
  const paths = hookPaths()
  channels.client.subscribe(dispatchNetClient)
  channels.server.subscribe(dispatchServer)
  channels.undici.subscribe(dispatchClient)
  // By behaviour, not by paths.client: Deno's connect is wrapped too, harmlessly.
  const patch = !connectPublishes()
  if (patch) {
    connectWrap.patch()
    watchConnect(connectReplaced)
  }
  const serverPatch = paths.server === 'patch'
  if (serverPatch) emitWrap.patch()
  if (paths.unreachable.length > 0 && !hooks.warnedUnreachable) {
    hooks.warnedUnreachable = true
    process.emitWarning(`tcp-keepalive: install() cannot reach ${paths.unreachable.join(' nor ')} in ${paths.runtime === 'bun' ? 'Bun' : 'Deno'}.`, {
      type: 'TcpKeepAliveWarning',
      code: 'TCP_KEEPALIVE_UNREACHABLE',
    })
  }
  const set: HookSet = {
    revision: HOOKS_REVISION,
    teardown() {
      channels.client.unsubscribe(dispatchNetClient)
      channels.server.unsubscribe(dispatchServer)
      channels.undici.unsubscribe(dispatchClient)
      if (patch) {
        connectWrap.unpatch()
        unwatchConnect()
      }
      if (serverPatch) emitWrap.unpatch()
      if (hooks.set === set) hooks.set = null
    },
  }
  hooks.set = set
  return set
}

/**
 * Makes sure hooks are in place for an install(): set up here when none are
 * or an older copy's reach less (which are torn down), else kept.
 */
export function ensureHooks(): void {
  const record = registry()
  const current = record.hooks
  if (current === null || current.revision < HOOKS_REVISION) {
    if (current !== null) current.teardown()
    record.hooks = setUpHooks()
  } else if (current === hooks.set && connectWrap.patched) {
    // Someone may have put back the connect they found under ours.
    connectWrap.patch()
    watchConnect(connectReplaced)
  }
}

/** Removes the hooks in place, whichever copy set them up. */
export function removeHooks(): void {
  const record = registry()
  const set = record.hooks
  record.hooks = null
  if (set !== null && typeof set.teardown === 'function') set.teardown()
  // The record lost track of ours (something overwrote `hooks`): ours go all the same.
  else if (hooks.set !== null) hooks.set.teardown()
}
