// The portable checks: each is defined once here and run by both harnesses,
// vitest (test/portable.test.ts) and the plain runner (subset.mjs) for the
// platforms and Node lines where vitest does not run (Windows Node under
// Wine, arm64 Node under QEMU, Node 18). Each check asserts through the
// public API only, so it means the same on every OS; outside observers are
// the other tests' business.
//
// A check is [name, async (t) => void]; t = { lib, fx, check(label, ok, detail), say(line) }.
import net from 'node:net'

const codeOf = (fn) => {
  try {
    fn()
    return 'no error'
  } catch (err) {
    return err.code ?? String(err)
  }
}

/** A listening server, a connected client and the accepted peer. */
export async function openFixtures() {
  const server = net.createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const accepted = new Promise((r) => server.once('connection', r))
  const client = net.connect(server.address().port, '127.0.0.1')
  await new Promise((r, j) => client.once('connect', r).once('error', j))
  const peer = await accepted
  return {
    server,
    client,
    peer,
    close() {
      client.destroy()
      peer.destroy()
      server.close()
    },
  }
}

/** The options every platform can take, as far as `capabilities` says. */
export function portableOptions(capabilities) {
  const want = { idle: 7000, interval: 3000 }
  if (capabilities.count) want.count = 4
  if (capabilities.userTimeout) want.userTimeout = 9000
  return want
}

export const checks = [
  ['setKeepAlive on a connected socket reads back', async ({ lib, fx, check, say }) => {
    const want = portableOptions(lib.capabilities)
    check('setKeepAlive on a connected socket', codeOf(() => lib.setKeepAlive(fx.client, want)) === 'no error')
    const got = lib.getKeepAlive(fx.client)
    check('keepalive enabled', got.enabled === true || got.enabled === null, JSON.stringify(got.enabled))
    for (const [key, expected] of Object.entries(want)) {
      if (got[key] === null) say(`# ${key}: unreadable on this platform`)
      else check(`${key} reads back ${expected}`, got[key] === expected, `got ${got[key]}`)
    }
  }],
  ['rounds 1500 ms up to 2000', async ({ lib, fx, check }) => {
    lib.setKeepAlive(fx.peer, { interval: 1500 })
    const i = lib.getKeepAlive(fx.peer).interval
    check('rounds 1500 ms up to 2000', i === null || i === 2000, `got ${i}`)
  }],
  ['bad input gets its error code', async ({ lib, fx, check }) => {
    check('non-socket: ERR_INVALID_ARG_TYPE', codeOf(() => lib.setKeepAlive({}, {})) === 'ERR_INVALID_ARG_TYPE')
    check('typo: ERR_INVALID_ARG_VALUE', codeOf(() => lib.setKeepAlive(fx.client, { intreval: 1 })) === 'ERR_INVALID_ARG_VALUE')
    check('count 0: ERR_OUT_OF_RANGE or unsupported', ['ERR_OUT_OF_RANGE', 'ERR_TCP_KEEPALIVE_UNSUPPORTED'].includes(codeOf(() => lib.setKeepAlive(fx.client, { count: 0 }))))
    check('idle 0: ERR_OUT_OF_RANGE', codeOf(() => lib.setKeepAlive(fx.client, { idle: 0 })) === 'ERR_OUT_OF_RANGE')
  }],
  ['a destroyed socket is refused', async ({ lib, fx, check }) => {
    const doomed = net.connect(fx.server.address().port, '127.0.0.1')
    await new Promise((r) => doomed.once('connect', r))
    doomed.destroy()
    check('destroyed: ERR_SOCKET_CLOSED', codeOf(() => lib.setKeepAlive(doomed, { idle: 1000 })) === 'ERR_SOCKET_CLOSED')
  }],
  // The hooks reach net.connect, tls.connect (https) and built-in fetch on
  // this Node line; the chooser records each socket it is offered.
  ['install() reaches net, tls and fetch, and uninstall() stops', async ({ lib, check, say }) => {
    const http = await import('node:http')
    const tls = await import('node:tls')
    const offered = []
    const opts = { idle: 5000 }
    // connection: close, so each fetch opens a new socket instead of reusing the pool's.
    const web = http.createServer((req, res) => res.setHeader('connection', 'close').end('ok'))
    await new Promise((r) => web.listen(0, '127.0.0.1', r))
    const port = web.address().port
    // Built-in fetch itself fails under Wine 8 (connect UNKNOWN); check it without us first.
    let fetchWorks = typeof fetch === 'function'
    if (fetchWorks) {
      try {
        await (await fetch(`http://127.0.0.1:${port}/`)).text()
      } catch (err) {
        fetchWorks = false
        say(`# built-in fetch fails on this runtime without tcp-keepalive (${err.cause?.code ?? err.message}): its hook check is skipped`)
      }
    }
    const handle = lib.install((socket) => (offered.push(socket), opts))
    try {
      const viaNet = net.connect(port, '127.0.0.1')
      await new Promise((r) => viaNet.once('connect', r))
      await new Promise((r) => setImmediate(r))
      const idle = lib.getKeepAlive(viaNet).idle
      check('install() reaches net.connect', idle === 5000 || (idle === null && offered.includes(viaNet)), `idle ${idle}`)
      viaNet.destroy()
      const viaTls = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      viaTls.on('error', () => {})
      await new Promise((r) => viaTls.once('connect', r))
      await new Promise((r) => setImmediate(r))
      check('install() reaches tls.connect', offered.includes(viaTls))
      viaTls.destroy()
      if (fetchWorks) {
        const before = offered.length
        await (await fetch(`http://127.0.0.1:${port}/`)).text()
        const fetched = offered.slice(before)
        check('install() reaches built-in fetch', fetched.length > 0 && fetched.every((s) => s.destroyed || lib.getKeepAlive(s).idle !== 0), `${fetched.length} socket(s)`)
      }
    } finally {
      handle.uninstall()
    }
    const after = net.connect(port, '127.0.0.1')
    await new Promise((r) => after.once('connect', r))
    check('after uninstall() sockets are untouched', !offered.includes(after))
    after.destroy()
    web.closeAllConnections?.()
    web.close()
  }],
]
