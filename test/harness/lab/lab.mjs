// A three-host lab in network namespaces: client -- middlebox -- server.
// The middlebox forwards only packets of flows its conntrack table knows (and
// new SYNs), and forgets a flow idle longer than `idleTimeout` seconds: the
// silent behaviour of an AWS NLB (350 s) or a NAT, shrunk to seconds.
// Addresses come from the documentation ranges and exist only inside the lab.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'

export const CLIENT_IP = '192.0.2.2'
export const MIDDLE_CLIENT_IP = '192.0.2.1'
export const MIDDLE_SERVER_IP = '198.51.100.1'
export const SERVER_IP = '198.51.100.2'

/** Why the lab cannot run here, or null. */
export function labUnavailable() {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root to create network namespaces (run as root, e.g. in CI)'
  for (const tool of ['ip', 'nft']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' })
    } catch {
      return `needs the ${tool} command (apt-get install ${tool === 'ip' ? 'iproute2' : 'nftables'})`
    }
  }
  return null
}

const live = new Set()
function cleanupAll() {
  for (const lab of live) lab.destroy()
}
process.once('exit', cleanupAll)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanupAll()
    process.kill(process.pid, signal)
  })
}

function sh(cmd, args, input) {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
}

export function createLab({ idleTimeout = 4 } = {}) {
  const id = `tka${randomBytes(3).toString('hex')}`
  const ns = { client: `${id}-c`, middle: `${id}-m`, server: `${id}-s` }
  const dev = { c: `${id}c0`, mc: `${id}m0`, ms: `${id}m1`, s: `${id}s0` }
  const inNs = (name, cmd, args, input) => sh('ip', ['netns', 'exec', name, cmd, ...args], input)
  const lab = {
    id,
    ns,
    dev,
    idleTimeout,
    destroyed: false,
    /** Runs a command inside a namespace. */
    exec: inNs,
    /** Starts a long-running process inside a namespace. */
    spawn(name, cmd, args, options = {}) {
      return spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options })
    },
    /** The middlebox drops everything from now on: the peer vanished. */
    blackhole() {
      inNs(ns.middle, 'nft', ['insert', 'rule', 'inet', 'lab', 'pass', 'counter', 'drop'])
    },
    /** Packets the middlebox dropped because their flow was unknown to it (forgotten). */
    dropped() {
      const rules = inNs(ns.middle, 'nft', ['list', 'chain', 'inet', 'lab', 'pass'])
      const m = /counter packets (\d+) bytes \d+ comment "dropped/.exec(rules)
      return m ? Number(m[1]) : 0
    },
    destroy() {
      if (lab.destroyed) return
      lab.destroyed = true
      live.delete(lab)
      for (const name of Object.values(ns)) {
        try {
          sh('ip', ['netns', 'del', name])
        } catch {
          // already gone
        }
      }
    },
  }
  live.add(lab)
  try {
    for (const name of Object.values(ns)) {
      sh('ip', ['netns', 'add', name])
      inNs(name, 'ip', ['link', 'set', 'lo', 'up'])
    }
    sh('ip', ['link', 'add', dev.c, 'netns', ns.client, 'type', 'veth', 'peer', 'name', dev.mc, 'netns', ns.middle])
    sh('ip', ['link', 'add', dev.s, 'netns', ns.server, 'type', 'veth', 'peer', 'name', dev.ms, 'netns', ns.middle])
    const addr = (name, d, cidr) => {
      inNs(name, 'ip', ['addr', 'add', cidr, 'dev', d])
      inNs(name, 'ip', ['link', 'set', d, 'up'])
    }
    addr(ns.client, dev.c, `${CLIENT_IP}/24`)
    addr(ns.middle, dev.mc, `${MIDDLE_CLIENT_IP}/24`)
    addr(ns.middle, dev.ms, `${MIDDLE_SERVER_IP}/24`)
    addr(ns.server, dev.s, `${SERVER_IP}/24`)
    inNs(ns.client, 'ip', ['route', 'add', 'default', 'via', MIDDLE_CLIENT_IP])
    inNs(ns.server, 'ip', ['route', 'add', 'default', 'via', MIDDLE_SERVER_IP])
    inNs(ns.middle, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
    // Only flows conntrack knows, plus new SYNs, pass. loose=0: a mid-stream
    // packet of a forgotten flow is not picked up again as a new flow.
    inNs(ns.middle, 'nft', ['-f', '-'], `
table inet lab {
  chain pass {
    type filter hook forward priority 0; policy drop;
    ct state established,related counter accept
    tcp flags & (syn | ack | fin | rst) == syn ct state new counter accept
    counter comment "dropped: flow unknown to conntrack"
  }
}
`)
    inNs(ns.middle, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_tcp_timeout_established=${idleTimeout}`])
    inNs(ns.middle, 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_loose=0'])
  } catch (err) {
    lab.destroy()
    throw err
  }
  return lab
}

const here = new URL('.', import.meta.url).pathname

/** Starts the lab server in the server namespace; resolves once it listens. */
export async function startServer(lab, port = 8080) {
  const child = lab.spawn(lab.ns.server, process.execPath, [`${here}server.mjs`, String(port)])
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve)
    child.once('exit', (code) => reject(new Error(`lab server exited with ${code}`)))
  })
  return { url: (path) => `http://${SERVER_IP}:${port}${path}`, stop: () => child.kill() }
}

/**
 * Starts a lab client in the client namespace. `events` collects its JSON
 * lines; `next(name)` resolves with the first event of that name; `go()`
 * tells an idle/write client that the clock starts (the blackhole is up).
 */
export function startClient(lab, spec) {
  // spec.nodeArgs / spec.env: node flags and environment, e.g. a preload configured from TCP_KEEPALIVE.
  const child = lab.spawn(lab.ns.client, process.execPath, [...(spec.nodeArgs ?? []), `${here}client.mjs`, JSON.stringify(spec)], spec.env ? { env: { ...process.env, ...spec.env } } : {})
  const events = []
  const waiters = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line)
    events.push(event)
    for (const w of waiters.filter((w) => w.names.includes(event.event))) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(event)
    }
  })
  let stderr = ''
  child.stderr.on('data', (c) => (stderr += c))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    events,
    exited,
    stderr: () => stderr,
    next(...names) {
      const seen = events.find((e) => names.includes(e.event))
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ names, resolve })
        exited.then(() => reject(new Error(`client exited without ${names.join('/')}: ${stderr}`)))
      })
    },
    /** The outcome: the first response, error or give-up. */
    result() {
      return this.next('response', 'error', 'gave-up')
    },
    go: () => child.stdin.write('go\n'),
    kill: () => child.kill(),
  }
}

/**
 * Captures TCP packets the middlebox receives from the client (before its
 * filter drops them): [{ t (s, epoch), srcPort, dstPort, flags ('.' = bare ACK, 'R.' = reset), len }].
 * A keepalive probe is a bare ACK with no payload on an idle connection.
 * `{ replies: true }` adds the packets the middlebox passed on to the client
 * (srcPort is then the server's): what the client received, and when.
 */
export function capture(lab, { replies = false } = {}) {
  const child = lab.spawn(lab.ns.middle, 'tcpdump', ['-i', lab.dev.mc, '-n', '-tt', '-l', `tcp and ${replies ? '' : 'src '}host ${CLIENT_IP}`])
  const packets = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const m = /^(\d+\.\d+) IP [\d.]+\.(\d+) > [\d.]+\.(\d+): Flags \[([^\]]*)\].* length (\d+)/.exec(line)
    if (m) packets.push({ t: Number(m[1]), srcPort: Number(m[2]), dstPort: Number(m[3]), flags: m[4], len: Number(m[5]) })
  })
  const ready = new Promise((resolve) => child.stderr.once('data', resolve))
  return {
    packets,
    ready,
    stop() {
      child.kill()
      return new Promise((r) => child.once('exit', r))
    },
  }
}
