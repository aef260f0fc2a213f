// Synchronized keepalive probes (issue: "healthy connections die when many
// are opened together"). One client process opens N idle connections in one
// burst to a live server, configured by the preload from TCP_KEEPALIVE; the
// script then counts the connections that die over a window and reads the
// kernel's drop counters.
//
// Why connections die: sockets opened together get keepalive deadlines in
// the same timer-wheel slot, so their probes leave in one timer run. On
// loopback and veth every packet is queued to the sending CPU's backlog
// (netif_rx), which holds net.core.netdev_max_backlog packets (1000 by
// default): the rest are dropped (softnet_stat column 2). Loopback hides the
// drop from TCP, so each dropped probe counts as unanswered, the retries of
// the same sockets leave together again, and after `count` of them the
// connection is reset with ETIMEDOUT although the peer is alive.
//
//   node test/harness/stress/sync-probes.mjs [options]
//     --connections N     connections opened together (default 10000, 1..50000)
//     --window S          seconds to watch once all are connected (default 600, 1..3600)
//     --keepalive VALUE   the TCP_KEEPALIVE value the client gets (default '' = recommended)
//     --path P            loopback: a new network namespace of its own (root; default)
//                         veth: client and server namespaces joined through a
//                               forwarding namespace by two veth pairs (root)
//                         host: this namespace's 127.0.0.1 (no root needed; the
//                               host's other traffic shares the counters)
//     --package DIR       the package the preload comes from (default: this checkout)
//     --label TEXT        a name for this run in the result
//     --out FILE          append the result as one JSON line
//
// Bounded: at most --connections sockets, and the whole run stops by itself
// after window + 240 s whatever happens (children are killed by pid, the
// namespaces removed). Each child needs connections + 256 descriptors: the
// script starts it under `prlimit --nofile`, which raising the hard limit
// needs root for; without that it says how many it needs and stops.
//
// Exit status: 0 when no connection was lost, 1 when some were, 2 on a setup
// error. The last line is `RESULT {json}`.
import { spawn, execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import readline from 'node:readline'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..', '..')
const PORT = 7000

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}`)
    const key = a.slice(2)
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`${a} needs a value`)
    out[key] = value
    i++
  }
  return out
}

function intArg(args, name, dflt, min, max) {
  if (args[name] === undefined) return dflt
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number in ${min}..${max}, not ${JSON.stringify(args[name])}`)
  return n
}

const args = parseArgs(process.argv.slice(2))
const role = args.role ?? 'orchestrator'
if (role === 'server') await server()
else if (role === 'client') await client()
else await orchestrate()

// ---- server: accepts and holds, never writes -------------------------------
async function server() {
  const host = args.host
  const sockets = new Set()
  let accepted = 0
  let closed = 0
  const srv = net.createServer((s) => {
    accepted++
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => {
      closed++
      sockets.delete(s)
    })
  })
  srv.listen({ port: Number(args.port), host, backlog: 65535 }, () => {
    console.log(`LISTENING ${srv.address().port}`)
  })
  process.on('SIGTERM', () => {
    console.log(`SERVER ${JSON.stringify({ accepted, closed })}`)
    process.exit(0)
  })
}

// ---- client: opens N together under the preload, counts the dead -----------
async function client() {
  const n = Number(args.connections)
  const windowMs = Number(args.window) * 1000
  const host = args.host
  const port = Number(args.port)
  const require = createRequire(import.meta.url)
  const pkg = require(join(args.package, 'package.json'))
  const lib = require(join(args.package, pkg.exports['.'].require.default))
  const sockets = []
  let connected = 0
  let connectFailed = 0
  let lost = 0
  let watching = false
  let start = 0
  const errors = {}
  const lostAt = []
  const t0 = Date.now()
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host })
    let up = false
    s.on('connect', () => {
      up = true
      connected++
    })
    s.on('error', (err) => {
      const code = err.code ?? err.message
      errors[code] = (errors[code] ?? 0) + 1
    })
    s.on('close', () => {
      if (!up) connectFailed++
      else {
        lost++
        lostAt.push(watching ? Math.round((Date.now() - start) / 1000) : -1)
      }
    })
    sockets.push(s)
  }
  const deadline = Date.now() + 180_000
  while (connected + connectFailed < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const connectMs = Date.now() - t0
  // What the kernel holds for each connected socket: the spread, if any, shows here.
  const idles = {}
  const intervals = {}
  let unreadable = 0
  for (const s of sockets) {
    if (s.destroyed || s.connecting) continue
    try {
      const k = lib.getKeepAlive(s)
      idles[k.idle] = (idles[k.idle] ?? 0) + 1
      intervals[k.interval] = (intervals[k.interval] ?? 0) + 1
    } catch {
      unreadable++
    }
  }
  console.log(`CONNECTED ${JSON.stringify({ connected, connectFailed, connectMs, idles, intervals, unreadable })}`)
  watching = true
  start = Date.now()
  const tick = setInterval(() => {
    console.log(`PROGRESS ${JSON.stringify({ t: Math.round((Date.now() - start) / 1000), alive: connected - lost, lost, errors })}`)
  }, 30_000)
  await new Promise((r) => setTimeout(r, windowMs))
  clearInterval(tick)
  const firstLost = lostAt.filter((t) => t >= 0).sort((a, b) => a - b)[0] ?? null
  console.log(`CLIENT ${JSON.stringify({ connected, connectFailed, connectMs, lost, errors, firstLostAfterS: firstLost, idles, intervals })}`)
  for (const s of sockets) s.destroy()
  process.exit(0)
}

// ---- orchestrator -----------------------------------------------------------
function run(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}

function softnetDropped() {
  // Column 2 of each CPU's line: packets dropped because the backlog was full.
  // The backlog is per CPU and shared by every namespace.
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[1], 16), 0)
}

function linkDrops(ns) {
  const argv = ns ? ['-n', ns, '-s', '-j', 'link', 'show'] : ['-s', '-j', 'link', 'show']
  const out = {}
  for (const l of JSON.parse(run('ip', argv))) {
    const s = l.stats64 ?? l.stats
    if (!s) continue
    if (ns === null && l.ifname !== 'lo') continue
    out[l.ifname] = { rx: s.rx.dropped, tx: s.tx.dropped }
  }
  return out
}

function tcpExt(ns) {
  // Per namespace: probes sent (TCPKeepAlive) and connections ended by a timeout (TCPAbortOnTimeout).
  const text = ns ? run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/netstat']) : readFileSync('/proc/net/netstat', 'utf8')
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'))
  const names = lines[0].split(/\s+/)
  const values = lines[1].split(/\s+/)
  const get = (k) => Number(values[names.indexOf(k)])
  const all = Object.fromEntries(names.slice(1).map((k, i) => [k, Number(values[i + 1])]))
  return { keepAliveProbes: get('TCPKeepAlive'), abortOnTimeout: get('TCPAbortOnTimeout'), all }
}

function diffDrops(a, b) {
  const out = {}
  for (const [k, v] of Object.entries(b)) out[k] = { rx: v.rx - (a[k]?.rx ?? 0), tx: v.tx - (a[k]?.tx ?? 0) }
  return out
}

async function orchestrate() {
  const n = intArg(args, 'connections', 10_000, 1, 50_000)
  const window = intArg(args, 'window', 600, 1, 3600)
  const path = args.path ?? 'loopback'
  if (!['loopback', 'veth', 'host'].includes(path)) throw new Error(`--path is loopback, veth or host, not ${JSON.stringify(path)}`)
  const keepalive = args.keepalive ?? ''
  const pkgDir = resolve(args.package ?? ROOT)
  const label = args.label ?? `${path}-${process.pid}`
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  const registerFile = join(pkgDir, pkg.exports['./register'].import.default)
  const root = process.getuid?.() === 0
  if (path !== 'host' && !root) {
    console.error(`--path ${path} creates network namespaces: run as root, or use --path host`)
    process.exit(2)
  }
  const needFds = n + 256
  const hardText = run('sh', ['-c', 'ulimit -Hn']).trim()
  const hard = hardText === 'unlimited' ? Infinity : Number(hardText)
  if (!root && hard < needFds) {
    console.error(`each child needs ${needFds} file descriptors; the hard limit is ${hard}: raise it (ulimit -Hn ${needFds} as root, or limits.conf) or lower --connections`)
    process.exit(2)
  }
  const prlimit = spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0
  if (!prlimit && Number(run('sh', ['-c', 'ulimit -n']).trim()) < needFds) {
    console.error(`prlimit (util-linux) is missing and ulimit -n is below ${needFds}: run under ulimit -n ${needFds}`)
    process.exit(2)
  }
  const limited = (argv) => (prlimit ? ['prlimit', `--nofile=${needFds}:${needFds}`, '--', ...argv] : argv)

  const tag = `sp${process.pid}`
  const namespaces = []
  let clientNs = null
  let serverNs = null
  let host = '127.0.0.1'
  let port = PORT
  const children = []
  let cleaned = false
  const cleanup = () => {
    if (cleaned) return
    cleaned = true
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  }
  process.on('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(2))

  const nsSetup = (ns) => {
    run('ip', ['netns', 'add', ns])
    namespaces.push(ns)
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    const sys = (k, v) => run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${k}=${v}`])
    sys('net.ipv4.ip_local_port_range', '1024 65000')
    sys('net.core.somaxconn', '65535')
    sys('net.ipv4.tcp_max_syn_backlog', '65535')
    return ns
  }
  try {
    if (path === 'loopback') {
      clientNs = serverNs = nsSetup(`${tag}l`)
    } else if (path === 'veth') {
      clientNs = nsSetup(`${tag}c`)
      const fwd = nsSetup(`${tag}f`)
      serverNs = nsSetup(`${tag}s`)
      run('ip', ['link', 'add', `${tag}a`, 'netns', clientNs, 'type', 'veth', 'peer', 'name', `${tag}b`, 'netns', fwd])
      run('ip', ['link', 'add', `${tag}d`, 'netns', serverNs, 'type', 'veth', 'peer', 'name', `${tag}e`, 'netns', fwd])
      const ip = (ns, ...a) => run('ip', ['-n', ns, ...a])
      ip(clientNs, 'addr', 'add', '10.77.1.1/24', 'dev', `${tag}a`)
      ip(fwd, 'addr', 'add', '10.77.1.2/24', 'dev', `${tag}b`)
      ip(fwd, 'addr', 'add', '10.77.2.2/24', 'dev', `${tag}e`)
      ip(serverNs, 'addr', 'add', '10.77.2.1/24', 'dev', `${tag}d`)
      for (const [ns, dev] of [[clientNs, `${tag}a`], [fwd, `${tag}b`], [fwd, `${tag}e`], [serverNs, `${tag}d`]]) ip(ns, 'link', 'set', dev, 'up')
      ip(clientNs, 'route', 'add', 'default', 'via', '10.77.1.2')
      ip(serverNs, 'route', 'add', 'default', 'via', '10.77.2.2')
      run('ip', ['netns', 'exec', fwd, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      host = '10.77.2.1'
    } else {
      port = 0
    }
  } catch (err) {
    console.error(`namespace setup failed: ${err.message}`)
    process.exit(2)
  }

  const inNs = (ns, argv) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv)
  const self = fileURLToPath(import.meta.url)
  const startChild = (ns, argv, env) => {
    const full = inNs(ns, limited(argv))
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env })
    children.push(child)
    return child
  }
  const hardStop = setTimeout(() => {
    console.error(`stopping: the run exceeded window + 240 s`)
    process.exit(2)
  }, (window + 240) * 1000)
  hardStop.unref()

  const serverChild = startChild(serverNs, [process.execPath, self, '--role', 'server', '--port', String(port), '--host', path === 'veth' ? '0.0.0.0' : host], { ...process.env, TCP_KEEPALIVE: 'off' })
  const serverLines = readline.createInterface({ input: serverChild.stdout })
  let serverStats = null
  port = await new Promise((resolveListening, reject) => {
    serverLines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) resolveListening(Number(line.slice(10)))
      else if (line.startsWith('SERVER ')) serverStats = JSON.parse(line.slice(7))
    })
    serverChild.on('exit', (code) => reject(new Error(`server exited (${code})`)))
  })

  const before = { softnet: softnetDropped(), links: linkDrops(clientNs), serverLinks: serverNs !== clientNs ? linkDrops(serverNs) : null, tcp: tcpExt(clientNs) }
  const started = new Date().toISOString()
  console.log(`${label}: ${n} connections, path ${path}, TCP_KEEPALIVE=${JSON.stringify(keepalive)}, window ${window} s, package ${pkgDir}`)
  const clientChild = startChild(
    clientNs,
    [process.execPath, '--import', pathToFileURL(registerFile).href, self, '--role', 'client', '--connections', String(n), '--window', String(window), '--host', host, '--port', String(port), '--package', pkgDir],
    { ...process.env, TCP_KEEPALIVE: keepalive },
  )
  let clientResult = null
  let connectedInfo = null
  const clientLines = readline.createInterface({ input: clientChild.stdout })
  const linesDone = new Promise((r) => clientLines.once('close', r))
  const clientExit = new Promise((r) => clientChild.on('exit', (c, sig) => r(sig ?? c)))
  clientLines.on('line', (line) => {
    if (line.startsWith('CLIENT ')) clientResult = JSON.parse(line.slice(7))
    else if (line.startsWith('CONNECTED ')) {
      connectedInfo = JSON.parse(line.slice(10))
      console.log(`${label}: ${line}`)
    } else console.log(`${label}: ${line}`)
  })
  const code = await clientExit
  await linesDone
  const serverExit = new Promise((r) => serverChild.once('exit', r))
  const serverLinesDone = new Promise((r) => serverLines.once('close', r))
  serverChild.kill('SIGTERM')
  await Promise.all([serverExit, serverLinesDone])
  await new Promise((r) => setTimeout(r, 100))

  const after = { softnet: softnetDropped(), links: linkDrops(clientNs), serverLinks: serverNs !== clientNs ? linkDrops(serverNs) : null, tcp: tcpExt(clientNs) }
  const result = {
    label,
    started,
    connections: n,
    path,
    keepalive,
    window,
    netdevMaxBacklog: Number(readFileSync('/proc/sys/net/core/netdev_max_backlog', 'utf8')),
    connected: clientResult?.connected ?? connectedInfo?.connected ?? null,
    connectFailed: clientResult?.connectFailed ?? null,
    lost: clientResult ? clientResult.lost : null,
    errors: clientResult?.errors ?? null,
    firstLostAfterS: clientResult?.firstLostAfterS ?? null,
    softnetDrops: after.softnet - before.softnet,
    linkDrops: diffDrops(before.links, after.links),
    serverLinkDrops: after.serverLinks ? diffDrops(before.serverLinks, after.serverLinks) : null,
    keepAliveProbes: after.tcp.keepAliveProbes - before.tcp.keepAliveProbes,
    abortOnTimeout: after.tcp.abortOnTimeout - before.tcp.abortOnTimeout,
    // Every TcpExt counter of the client's namespace that moved (loopback: the server's too).
    tcpExt: Object.fromEntries(Object.entries(after.tcp.all).map(([k, v]) => [k, v - before.tcp.all[k]]).filter(([, d]) => d !== 0)),
    idles: connectedInfo?.idles ?? null,
    intervals: connectedInfo?.intervals ?? null,
    server: serverStats,
    clientExit: code,
  }
  const line = `RESULT ${JSON.stringify(result)}`
  if (args.out) appendFileSync(args.out, `${JSON.stringify(result)}\n`)
  console.log(`${label}: lost ${result.lost} of ${result.connected}, softnet drops ${result.softnetDrops} (all CPUs, all namespaces), probes sent ${result.keepAliveProbes}, aborted on timeout ${result.abortOnTimeout}`)
  console.log(line)
  cleanup()
  process.exit(clientResult === null ? 2 : result.lost === 0 ? 0 : 1)
}
