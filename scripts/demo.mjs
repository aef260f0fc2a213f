// npm run demo: the hanging request, reproduced and fixed.
// npm run demo -- leak: the client-per-call leak (scripts/demo/leak.mjs).
// As root on Linux it builds a client -- middlebox -- server lab in network
// namespaces (the middlebox forgets flows idle for 4 s, like an AWS NLB at
// 350 s). Elsewhere it configures a loopback connection and shows the
// kernel's view of it.
import { execFileSync } from 'node:child_process'
import net from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { capture, createLab, labUnavailable, startClient, startServer } from '../test/harness/lab/lab.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { setKeepAlive, getKeepAlive, capabilities } = createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))
const IDLE_S = 4
const ANSWER_MS = 10_000
const GIVE_UP_MS = 16_000
const say = (t, text) => console.log(`${`[${(t / 1000).toFixed(1)} s]`.padStart(9)} ${text}`)

async function lab() {
  console.log(`lab: client -- middlebox -- server in network namespaces; the middlebox forgets a flow idle for ${IDLE_S} s, silently (no RST, no FIN)`)
  console.log(`the server answers GET /slow after ${ANSWER_MS / 1000} s; two clients ask at once:`)
  console.log('  A: plain http.get (no TCP keepalive: what most clients do)')
  console.log('  B: the same, with setKeepAlive(socket, { idle: 1000, interval: 1000, count: 5 })\n')
  const l = createLab({ idleTimeout: IDLE_S })
  try {
    const server = await startServer(l)
    const url = server.url(`/slow?ms=${ANSWER_MS}`)
    const wire = capture(l)
    await wire.ready
    const t0 = Date.now()
    const plain = startClient(l, { url, path: 'none', options: {}, mode: 'request', giveUpMs: GIVE_UP_MS })
    const fixed = startClient(l, { url, path: 'socket', options: { idle: 1000, interval: 1000, count: 5 }, mode: 'request', giveUpMs: GIVE_UP_MS })
    say(0, 'both requests sent')
    const portB = fixed.next('connected').then((e) => e.localPort)
    let bPort = 0
    portB.then((p) => (bPort = p))
    // Bare ACKs from B after the handshake: nothing else is sent while it waits.
    const probes = () => wire.packets.filter((p) => p.srcPort === bPort && p.len === 0 && p.flags === '.' && p.t * 1000 - t0 > 500).length
    let done = 0
    const finish = (name, r) => {
      done++
      const t = Date.now() - t0
      if (r.event === 'response') say(t, `${name}: ${r.status} received`)
      else if (r.event === 'gave-up') say(t, `${name}: still no response; giving up (without a bound it would wait forever)`)
      else say(t, `${name}: ${r.code}`)
    }
    plain.result().then((r) => finish('A, no keepalive', r))
    fixed.result().then((r) => finish('B, tcp-keepalive', r))
    let said = false
    const ticker = setInterval(() => {
      const t = Date.now() - t0
      if (!said && t >= IDLE_S * 1000) {
        said = true
        say(t, `middlebox: A's flow idle ${IDLE_S} s -> forgotten; B's flow kept alive by ${probes()} keepalive probes so far`)
      } else if (t < GIVE_UP_MS && done < 2) say(t, `still waiting... (B's keepalive probes seen by the middlebox: ${probes()}; packets of forgotten flows dropped: ${l.dropped()})`)
    }, 2000)
    await Promise.all([plain.result(), fixed.result()])
    clearInterval(ticker)
    await wire.stop()
    server.stop()
    console.log(`\nthe server answered both at ${ANSWER_MS / 1000} s. The middlebox passed B's answer and dropped ${l.dropped()} packets of A's forgotten flow (the answer and its retransmissions): A never hears back.`)
  } finally {
    l.destroy()
  }
}

async function loopback() {
  console.log(`no lab here (${labUnavailable()}); showing a configured loopback connection instead.\n`)
  console.log(`capabilities: ${JSON.stringify(capabilities)}`)
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  const socket = net.connect(server.address().port, '127.0.0.1')
  const options = { idle: 7000, interval: 3000, count: 4 }
  setKeepAlive(socket, options)
  await new Promise((r) => socket.once('connect', r))
  console.log(`setKeepAlive(socket, ${JSON.stringify(options)})`)
  console.log(`getKeepAlive(socket) -> ${JSON.stringify(getKeepAlive(socket))}`)
  try {
    const ss = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${socket.localPort} )`], { encoding: 'utf8' })
    console.log(`ss (the kernel's timer for this socket): ${ss.trim().replace(/\s+/g, ' ')}`)
  } catch {
    // ss is Linux-only
  }
  socket.destroy()
  server.close()
}

if (process.argv[2] === 'leak') await import('./demo/leak.mjs')
else if (labUnavailable()) await loopback()
else await lab()
