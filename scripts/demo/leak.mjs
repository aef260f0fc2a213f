// npm run demo -- leak: the client-per-call leak, found and fixed.
// A local server; a client process (preloaded with TCP_KEEPALIVE=origins=true)
// that builds a keep-alive agent per request; connections() inside it names the
// growing destination and the line that opens the sockets; `tcp-keepalive
// inspect PID` from outside sees the same growth. Then the fixed client, one
// shared agent: flat. About 20 s.
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
// The command as npm installs it: package.json's bin.
const CLI = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin['tcp-keepalive'])
const SECONDS = 8

function inspectCounts(pid, remote) {
  try {
    const rows = JSON.parse(execFileSync(process.execPath, [CLI, 'inspect', String(pid), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
    const mine = rows.filter((r) => r.remote === remote)
    const idle = mine.filter((r) => Math.min(r.tcpInfo.lastDataSent ?? 0, r.tcpInfo.lastDataReceived ?? 0) >= 1000).length
    return { count: mine.length, idle }
  } catch (err) {
    return { error: String(err.stderr ?? err.message).trim().split('\n')[0] }
  }
}

async function scene(mode, url, remote) {
  const child = spawn(process.execPath, ['--require', join(root, 'dist', 'cjs', 'register.js'), join(root, 'scripts', 'demo', 'leak-client.mjs'), mode, url], {
    env: { ...process.env, TCP_KEEPALIVE: 'origins=true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const outside = []
  let second = 0
  for await (const line of createInterface({ input: child.stdout })) {
    second++
    const groups = JSON.parse(line)
    const census = groups.map((g) => `${g.count} socket${g.count === 1 ? "" : "s"} to ${g.remote} (${g.idle} idle >= 1 s), opened at ${g.origin}`).join('; ') || 'none'
    let seen = ''
    if (second % 2 === 0) {
      const o = inspectCounts(child.pid, remote)
      outside.push(o.count ?? 0)
      seen = o.error ? `   inspect: ${o.error}` : `   inspect ${child.pid}: ${o.count} to ${remote}, ${o.idle} idle`
    }
    console.log(`  [${String(second).padStart(2)} s] connections(): ${census}${seen}`)
    if (second >= SECONDS) break
  }
  child.kill()
  const grew = outside.length > 1 && outside.every((n, i) => i === 0 || n > (outside[i - 1] ?? 0))
  return { outside, grew }
}

const server = http.createServer((req, res) => res.end('ok'))
// Longer than the demo: the server never closes the idle sockets for the client.
server.keepAliveTimeout = 60_000
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const url = `http://127.0.0.1:${server.address().port}/`
const remote = `127.0.0.1:${server.address().port}`

console.log(`leak demo: a local server at ${url}; a client makes 10 requests a second for ${SECONDS} s.`)
console.log(`the client runs with TCP_KEEPALIVE=origins=true (node --require tcp-keepalive/register) and prints connections() every second;`)
console.log(`every 2 s, \`tcp-keepalive inspect PID --json\` reads the same process from outside.\n`)
console.log(`A: http.get(url, { agent: new http.Agent({ keepAlive: true }) })   (an agent per request)`)
const a = await scene('leaky', url, remote)
console.log(a.grew ? `  -> inspect: the count to ${remote} grew in every sample (${a.outside.join(' -> ')}), nearly all idle: a client per call. connections() names the line.\n` : `  -> inspect samples: ${a.outside.join(' -> ')}\n`)
console.log(`B: http.get(url, { agent })   (one agent for the process)`)
const b = await scene('fixed', url, remote)
console.log(`  -> inspect: ${b.outside.join(' -> ')}: flat. One pooled socket serves every request.`)
server.closeAllConnections()
server.close()
