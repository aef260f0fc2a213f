// `inspect --watch` on the client-per-call leak: a target that creates a new
// keep-alive agent for every request (so every request opens a connection
// that then sits idle in a pool nobody reuses) and holds three sockets whose
// peer closed (CLOSE_WAIT). What the command reports is checked against `ss`.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')
const linux = process.platform === 'linux'
const ssAvailable = linux && spawnSync('ss', ['-V'], { stdio: 'ignore' }).status === 0
if (linux && !ssAvailable) console.log('inspect --watch: the checks against ss are skipped: ss not found (apt-get install iproute2)')

// Leaks one connection per 100 ms to the API until told "stop" on stdin.
const LEAKER = `
const http = require('node:http')
const net = require('node:net')
const [api, closer] = process.argv.slice(1).map(Number)
const half = []
for (let i = 0; i < 3; i++) half.push(net.connect({ port: closer, host: '127.0.0.1', allowHalfOpen: true }).on('end', () => {}))
const keep = []
const timer = setInterval(() => {
  const agent = new http.Agent({ keepAlive: true })
  keep.push(agent)
  http.get({ host: '127.0.0.1', port: api, path: '/', agent }, (res) => res.resume())
}, 100)
process.stdin.on('data', () => { clearInterval(timer); console.log('stopped') })
console.log('started')
`

// The peers, in a process of their own so that they answer while this one
// waits for the command: an API answering every request, keeping the
// connection open, and a server that closes each connection at once.
const PEERS = `
const http = require('node:http')
const net = require('node:net')
const api = http.createServer((_, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  const closer = net.createServer((s) => s.end()).listen(0, '127.0.0.1', () => console.log(api.address().port, closer.address().port))
})
`

interface Row {
  local: string
  remote: string
  state: string
  idle: number | null
  age: number | null
}

function ssCount(state: string, port: number): number {
  return execFileSync('ss', ['-tnH', 'state', state, `( dport = :${port} )`], { encoding: 'utf8' }).split('\n').filter(Boolean).length
}

describe.runIf(linux)('tcp-keepalive inspect --watch', () => {
  let peers: ChildProcessWithoutNullStreams
  let leaker: ChildProcessWithoutNullStreams
  let apiPort = 0
  let closerPort = 0
  const dest = (): string => `127.0.0.1:${apiPort}`

  beforeAll(async () => {
    peers = spawn(process.execPath, ['-e', PEERS])
    ;[apiPort, closerPort] = String(((await once(peers.stdout, 'data')) as [Buffer])[0]).trim().split(' ').map(Number) as [number, number]
    leaker = spawn(process.execPath, ['-e', LEAKER, String(apiPort), String(closerPort)])
    await once(leaker.stdout, 'data')
  })
  afterAll(() => {
    leaker?.kill()
    peers?.kill()
  })

  it('--json: one line per sample, {time, connections}; the leak grows; every row has idle and age', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(leaker.pid), '--watch', '300ms', '--count', '4', '--json'], { encoding: 'utf8' })
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    const samples = lines.map((l) => JSON.parse(l) as { time: string; connections: Row[] })
    const counts = samples.map((s) => s.connections.filter((c) => c.remote === dest()).length)
    for (let i = 1; i < counts.length; i++) expect(counts[i], String(counts)).toBeGreaterThan(counts[i - 1] as number)
    for (const s of samples) {
      expect(new Date(s.time).toISOString()).toBe(s.time)
      for (const c of s.connections) {
        expect(c.idle).toBeGreaterThanOrEqual(0)
        expect(c.age).toBeNull()
      }
      expect(s.connections.filter((c) => c.state === 'close-wait')).toHaveLength(3)
    }
    expect(Date.parse((samples[3] as { time: string }).time) - Date.parse((samples[0] as { time: string }).time)).toBeGreaterThanOrEqual(900)
  })

  it('the table flags the growing, mostly idle destination; the summary counts CLOSE_WAIT with the oldest idle', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(leaker.pid), '--watch', '300ms', '--count', '5'], { encoding: 'utf8' })
    console.log(r.stdout.split('\n[').slice(-1)[0])
    const samples = r.stdout.split(/\n(?=\[\d\d:\d\d:\d\d\])/)
    expect(samples).toHaveLength(5)
    const last = samples[4] as string
    expect(last).toMatch(/^\[\d\d:\d\d:\d\d\] \d+ connections \(\+\d+\), \d+ exposed to a 350 s idle limit; 3 in CLOSE_WAIT \(the peer closed, the process did not; oldest idle \d+(ms|s)\)/)
    const row = last.split('\n').find((l) => l.startsWith(`${dest()} `)) as string
    expect(row).toMatch(new RegExp(`^${dest()}\\s+\\d+\\s+\\+\\d+\\s+0\\s+0\\s+\\d+\\s+LEAK\\? grew in each of the last 4 samples, \\d+ of \\d+ idle >= 300ms$`))
    // The CLOSE_WAIT sockets' destination holds steady: no flag.
    expect(last.split('\n').find((l) => l.startsWith(`127.0.0.1:${closerPort} `))).toMatch(/^\S+\s+3\s+0\s+0\s+3\s+3$/)
    expect(r.status).toBe(3) // the CLOSE_WAIT sockets have keepalive off
  })

  it.runIf(ssAvailable)('once growth stops: --by remote counts agree with ss, per destination and state', async () => {
    leaker.stdin.write('stop\n')
    await once(leaker.stdout, 'data')
    await new Promise((r) => setTimeout(r, 300)) // the last request completes
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(leaker.pid), '--by', 'remote', '--json'], { encoding: 'utf8' })
    const groups = JSON.parse(r.stdout) as Array<{ destination: string; count: number; established: number; closeWait: number }>
    const api = groups.find((g) => g.destination === dest())
    expect(api?.count).toBe(ssCount('established', apiPort))
    expect(api?.count).toBeGreaterThan(10)
    expect(groups.find((g) => g.destination === `127.0.0.1:${closerPort}`)).toMatchObject({ count: 3, closeWait: ssCount('close-wait', closerPort) })
    const table = spawnSync(process.execPath, [CLI, 'inspect', String(leaker.pid), '--by', 'remote'], { encoding: 'utf8' }).stdout.split('\n')
    expect(table[0]).toMatch(/^DESTINATION\s+COUNT\s+ESTABLISHED\s+CLOSE-WAIT\s+IDLE>LIMIT\s+OLDEST-IDLE\s+EXPOSED$/)
    expect(table.find((l) => l.startsWith(`${dest()} `))).toMatch(new RegExp(`^${dest()}\\s+${api?.count}\\s+${api?.count}\\s+0\\s+0\\s`))
  })

  it('SIGINT ends the watch after a whole sample, with the exit status of the last one', async () => {
    const w = spawn(process.execPath, [CLI, 'inspect', String(leaker.pid), '--watch', '200ms'])
    let out = ''
    w.stdout.on('data', (d: Buffer) => (out += d.toString()))
    while (!/\n\S+\s+3\s/.test(out)) await once(w.stdout, 'data')
    w.kill('SIGINT')
    const [code, signal] = (await once(w, 'exit')) as [number | null, string | null]
    expect(signal).toBeNull()
    expect(code).toBe(3)
    // Every sample printed is whole: header, table, and the closer's row last.
    for (const sample of out.trimEnd().split(/\n(?=\[)/)) expect(sample).toMatch(/^\[\d\d:\d\d:\d\d\] .*\nDESTINATION[^\n]*(\n[^\n]+)+$/)
  })
})
