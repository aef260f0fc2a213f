// The portable checks: each is defined once here and run by both harnesses,
// vitest (test/portable.test.ts) and the plain runner (subset.mjs) for the
// platforms and Node lines where vitest does not run (Windows Node under
// Wine, arm64 Node under QEMU, Node 18). Each check asserts through the
// public API only, so it means the same on every OS; outside observers are
// the other tests' business.
//
// A check is [name, async (t) => void]; t = { lib, fx, check(label, ok, detail), say(line) }.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
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

/** A second connection to `server`, both ends, for checks that must not touch the held one. */
export async function pairOn(server) {
  const side = new Promise((r) => server.once('connection', r))
  const client = net.connect(server.address().port, '127.0.0.1')
  await new Promise((r, j) => client.once('connect', r).once('error', j))
  const peer = await side
  return { client, peer, close: () => (client.destroy(), peer.destroy()) }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * The kernel's own count of keepalive probes sent, system-wide: Linux's
 * TcpExt TCPKeepAlive (/proc/net/netstat), the BSDs' "keepalive probes sent"
 * (netstat -s). An outside view of whether probes go out; null where the OS
 * has none (Windows). Other sockets' probes only add to it, so a check can
 * assert a lower bound and nothing more.
 */
export function keepaliveProbesSent() {
  try {
    if (process.platform === 'linux') {
      const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'))
      const names = lines[0].split(/\s+/)
      const values = lines[1].split(/\s+/)
      const v = Number(values[names.indexOf('TCPKeepAlive')])
      return Number.isFinite(v) && names.includes('TCPKeepAlive') ? v : null
    }
    if (process.platform === 'darwin' || process.platform === 'freebsd') {
      const m = /(\d+) keepalive probes? sent/.exec(execFileSync('netstat', ['-s', '-p', 'tcp'], { encoding: 'utf8' }))
      return m ? Number(m[1]) : null
    }
  } catch {
    // No counter this user may read: unknown, like an OS without one.
  }
  return null
}

/** net.inet.tcp.always_keepalive where the kernel has it (FreeBSD: 1 by default, macOS: 0), else null. */
export function alwaysKeepalive() {
  if (process.platform !== 'darwin' && process.platform !== 'freebsd') return null
  try {
    return execFileSync('sysctl', ['-n', 'net.inet.tcp.always_keepalive'], { encoding: 'utf8' }).trim() !== '0'
  } catch {
    return null
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
    // With idle: before Windows 10 1709 interval alone is refused (next check).
    lib.setKeepAlive(fx.peer, { idle: 7000, interval: 1500 })
    const i = lib.getKeepAlive(fx.peer).interval
    check('rounds 1500 ms up to 2000', i === null || i === 2000, `got ${i}`)
  }],
  ['Windows before 10 1709: interval alone is refused', async ({ lib, fx, check }) => {
    // That Windows (and Wine) cannot read idle back, so interval alone would
    // have to guess it; refused, as Go does. count arrived in the same release.
    if (process.platform !== 'win32' || lib.capabilities.count || !lib.capabilities.native) return
    const doomed = net.connect(fx.server.address().port, '127.0.0.1')
    await new Promise((r) => doomed.once('connect', r))
    check('interval alone before 1709: ERR_TCP_KEEPALIVE_UNSUPPORTED', codeOf(() => lib.setKeepAlive(doomed, { interval: 1500 })) === 'ERR_TCP_KEEPALIVE_UNSUPPORTED')
    doomed.destroy()
  }],
  ['userTimeout 0 restores the OS default', async ({ lib, fx, check }) => {
    if (!lib.capabilities.userTimeout) return
    const want = portableOptions(lib.capabilities)
    const code = codeOf(() => lib.setKeepAlive(fx.client, { userTimeout: 0 }))
    const read = lib.getKeepAlive(fx.client).userTimeout
    check('userTimeout 0 restores the default and reads back 0', code === 'no error' && (read === 0 || read === null), `${code}, read ${read}`)
    lib.setKeepAlive(fx.client, want)
  }],
  // One connection at a time, opened and closed: the OS recycles socket
  // numbers and, once the JS objects are collected, handle memory. Every new
  // socket (both ends) must be found and configured on the first try (on
  // Windows the lookup by endpoints once lost such sockets for good).
  ['churn: 300 connect/close rounds, both ends found and configured', async ({ lib, fx, check }) => {
    const v8 = await import('node:v8')
    const vm = await import('node:vm')
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc')
    const rounds = 300
    let notFound = 0
    let wrong = 0
    let other = ''
    for (let i = 0; i < rounds; i++) {
      const side = new Promise((r) => fx.server.once('connection', r))
      const c = net.connect(fx.server.address().port, '127.0.0.1')
      await new Promise((r, j) => c.once('connect', r).once('error', j))
      const a = await side
      const idle = 1000 * (1 + (i % 60))
      for (const s of [c, a]) {
        const code = codeOf(() => lib.setKeepAlive(s, { idle }))
        if (code === 'ERR_TCP_KEEPALIVE_SOCKET_NOT_FOUND') notFound++
        else if (code !== 'no error') other ||= code
        else {
          const read = lib.getKeepAlive(s).idle
          if (read !== null && read !== idle) wrong++
        }
      }
      const closed = Promise.all([new Promise((r) => c.once('close', r)), new Promise((r) => a.once('close', r))])
      c.destroy()
      a.destroy()
      await closed
      await new Promise((r) => setImmediate(r))
      gc()
    }
    check(`churn: ${rounds} connect/close rounds, both ends configured`, notFound === 0 && wrong === 0 && !other, `${notFound} not found, ${wrong} read back wrong${other ? `, error ${other}` : ''}`)
    // The held connection was idle meanwhile; a segment each way restarts its
    // keepalive clock, so a later look at its timer sees the configured idle.
    fx.peer.write('x')
    fx.client.write('x')
    await new Promise((r) => setTimeout(r, 50))
  }],
  // userTimeout: 0 asks for the system's own limit, which is whatever a
  // fresh socket holds. Windows documents TCP_MAXRT -1 as "retransmit
  // forever", so writing -1 would be wrong wherever the fresh value is not
  // -1: the default is read once at load and written back.
  ['userTimeout 0 gives back what a fresh socket holds', async ({ lib, fx, check, say }) => {
    if (!lib.capabilities.userTimeout) return say('# userTimeout unsupported here')
    const p = await pairOn(fx.server)
    try {
      const fresh = lib.getKeepAlive(p.client).userTimeout
      lib.setKeepAlive(p.client, { userTimeout: 9000 })
      const set = lib.getKeepAlive(p.client).userTimeout
      lib.setKeepAlive(p.client, { userTimeout: 0 })
      const back = lib.getKeepAlive(p.client).userTimeout
      if (fresh === null) say('# userTimeout: unreadable on this platform')
      else check('a fresh socket\'s userTimeout reads 0, then 9000, then 0 again', fresh === 0 && set === 9000 && back === 0, `fresh ${fresh}, set ${set}, back ${back}`)
    } finally {
      p.close()
    }
  }],
  // An RTO is only in force while data is outstanding. macOS reports 0
  // otherwise (tcp_connection_fill_info), which is no timeout: null. Linux
  // and FreeBSD report the current value at any time.
  ['rto is a positive number or null, never 0', async ({ lib, fx, check, say }) => {
    const p = await pairOn(fx.server)
    try {
      p.client.write('x')
      await new Promise((r) => p.peer.once('data', r))
      p.peer.write('y')
      await new Promise((r) => p.client.once('data', r))
      await sleep(100) // every ACK in, nothing outstanding
      let info = null
      const code = codeOf(() => (info = lib.getTcpInfo(p.client)))
      if (code !== 'no error') return say(`# getTcpInfo: ${code}`)
      check('rto is positive or null', info.rto === null || info.rto > 0, `rto ${info.rto}`)
      if (process.platform === 'darwin') check('macOS, nothing outstanding: rto null', info.rto === null, `rto ${info.rto}`)
      // FreeBSD fills it at any time (Linux too, but qemu-user truncates TCP_INFO to 4 bytes).
      if (process.platform === 'freebsd') check('FreeBSD: rto known at rest', info.rto > 0, `rto ${info.rto}`)
    } finally {
      p.close()
    }
  }],
  // Whether TCP_INFO exists is decided once at load: every connected socket
  // then answers alike (Windows used to turn any WSAEINVAL into "unsupported").
  ['getTcpInfo is supported for every socket or for none', async ({ lib, fx, check }) => {
    const p = await pairOn(fx.server)
    try {
      p.client.end()
      await new Promise((r) => p.peer.once('end', r))
      const codes = [fx.client, fx.peer, p.client, p.peer].map((s) => codeOf(() => lib.getTcpInfo(s)))
      const unsupported = codes.filter((c) => c === 'ERR_TCP_KEEPALIVE_UNSUPPORTED').length
      check('getTcpInfo: one answer for every socket (including a half-closed one)', (unsupported === 0 && codes.every((c) => c === 'no error')) || unsupported === codes.length, codes.join(', '))
    } finally {
      p.close()
    }
  }],
  // { enable: false } then { enable: true } without an idle: probes start
  // again at the socket's idle. XNU re-arms its timer only when the idle is
  // set, so the addon writes it again there; the kernel's probe counter is
  // the outside view. Where net.inet.tcp.always_keepalive is set (FreeBSD's
  // default) the kernel probes whatever SO_KEEPALIVE says, and
  // getKeepAlive must say so.
  ['enable: false, then enable: true, probes again at the socket\'s idle', async ({ lib, fx, check, say }) => {
    if (!lib.capabilities.native || !lib.capabilities.idle) return say('# no per-socket idle here')
    const p = await pairOn(fx.server)
    try {
      lib.setKeepAlive(p.client, { idle: 1000, interval: 1000 })
      lib.setKeepAlive(p.client, { enable: false })
      const always = alwaysKeepalive()
      const enabled = lib.getKeepAlive(p.client).enabled
      check(`after enable: false, enabled reads ${always ? 'true (always_keepalive is set)' : 'false'}`, enabled === null || enabled === Boolean(always), `enabled ${enabled}`)
      // Past the idle with keepalive off: XNU has re-armed its timer with the system's 2 h by now.
      await sleep(1500)
      const before = keepaliveProbesSent()
      lib.setKeepAlive(p.client, { enable: true })
      await sleep(2500)
      const after = keepaliveProbesSent()
      if (before === null || after === null) say('# no kernel probe counter here: probes after enable: true not observed')
      else check('probes sent within 2.5 s of enable: true (idle 1 s)', after - before >= 1, `${after - before} probe(s)`)
    } finally {
      p.close()
    }
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
  // The kernel's view of the connection, or a clear "unsupported" where the
  // OS has none (Wine 8 lacks SIO_TCP_INFO). qemu-user hands back only 4
  // bytes of TCP_INFO: the fields past them must then be null, not garbage.
  ['getTcpInfo reads the connection or says it cannot', async ({ lib, fx, check, say }) => {
    let info = null
    const code = codeOf(() => (info = lib.getTcpInfo(fx.client)))
    if (code === 'ERR_TCP_KEEPALIVE_UNSUPPORTED') say('# getTcpInfo unsupported here')
    else {
      check('getTcpInfo: established', code === 'no error' && info.state === 'established', code === 'no error' ? JSON.stringify(info) : code)
      if (info) say(`# getTcpInfo: ${Object.values(info).filter((v) => v !== null).length} of ${Object.keys(info).length} fields known`)
    }
    const doomed = net.connect(fx.server.address().port, '127.0.0.1')
    await new Promise((r) => doomed.once('connect', r))
    doomed.destroy()
    check('getTcpInfo destroyed: ERR_SOCKET_CLOSED', codeOf(() => lib.getTcpInfo(doomed)) === 'ERR_SOCKET_CLOSED')
  }],
  // The census reads every listed socket in one call to the addon: on
  // Windows each target there is a socket's endpoints, found among the
  // loop's handles, not an fd.
  ['connections() lists what setKeepAlive was given, as getKeepAlive reads it', async ({ lib, fx, check }) => {
    const a = await pairOn(fx.server)
    const b = await pairOn(fx.server)
    lib.setKeepAlive(a.client, { idle: 6000 })
    lib.setKeepAlive(b.client, { idle: 7000 })
    const rowOf = (list, s) => list.find((c) => c.local.endsWith(`:${s.localPort}`) && c.remote.endsWith(`:${s.remotePort}`))
    let list = lib.connections()
    for (const [s, idle] of [[a.client, 6000], [b.client, 7000]]) {
      const row = rowOf(list, s)
      const own = lib.getKeepAlive(s)
      check(`connections(): the socket given idle ${idle} is listed as getKeepAlive reads it`, row !== undefined && JSON.stringify(row.keepalive) === JSON.stringify(own) && (own.idle === idle || own.idle === null), row ? JSON.stringify(row.keepalive) : 'not listed')
    }
    a.close()
    list = lib.connections()
    check('connections(): a destroyed socket leaves, the other stays', rowOf(list, a.client) === undefined && rowOf(list, b.client) !== undefined)
    b.close()
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
