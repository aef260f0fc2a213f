// Real clients against real servers (PostgreSQL, redis, MariaDB from the OS's
// packages; HTTP, HTTPS, HTTP/2 and WebSocket servers here), under install()
// in this Node. Each connection's options are read from the kernel from
// outside the process that holds it, after connect and, where the client
// pools, after a release and reuse.
import { afterAll, beforeAll, describe, it } from 'vitest'
import { expectClient, ITEM_CASES, PORTABLE_CLIENTS, printTable, runClients, startWebServers, type RunResult, type Runtime, type WebServers } from '../helpers/client-runner'
import { startMariadb, startPostgres, startRedis, startServers, type Started } from '../helpers/servers'

const CLIENTS: Array<[client: string, server: 'pg' | 'redis' | 'mysql' | null]> = [
  ...PORTABLE_CLIENTS,
  ['pg unix socket', 'pg'],
  ['mysql2', 'mysql'],
  ['mysql2 unix socket', 'mysql'],
  ['ws', null],
  ['got', null],
  ['node-fetch', null],
  ['axios', null],
  ['http2', null],
  ...ITEM_CASES,
]
const here: Runtime = { kind: 'node', major: Number(process.versions.node.split('.')[0]), label: `node ${process.version}`, argv: [process.execPath] }

let servers: Record<'pg' | 'redis' | 'mysql', Started>
let web: WebServers
let result: RunResult

beforeAll(async () => {
  ;[servers, web] = await Promise.all([startServers({ pg: startPostgres, redis: startRedis, mysql: startMariadb }), startWebServers()])
  const up = (s: Started): s is Exclude<Started, { skip: string }> => !('skip' in s)
  const clients = CLIENTS.filter(([, s]) => s === null || up(servers[s])).map(([c]) => c)
  const { pg, redis, mysql } = servers
  result = await runClients(here.argv, clients, {
    http: web.http,
    https: web.https,
    h2: web.h2,
    pg: up(pg) ? pg.port : null,
    pgSocketDir: up(pg) ? pg.socketDir : null,
    redis: up(redis) ? redis.port : null,
    mysql: up(mysql) ? mysql.port : null,
    mysqlSocket: up(mysql) ? mysql.socketPath : null,
  }, web.ca)
  printTable(here.label, result, clients)
}, 240_000)

afterAll(async () => {
  web?.close()
  await Promise.all(Object.values(servers ?? {}).flatMap((s) => ('stop' in s ? [s.stop()] : [])))
})

describe(`real clients under install() (${here.label})`, () => {
  for (const [client, server] of CLIENTS) {
    const skip = server ? (): string | null => {
      const s = servers[server]
      return 'skip' in s ? s.skip : null
    } : (): null => null
    const body = (ctx: { skip: (note?: string) => void }): void => {
      const why = skip()
      if (why) return ctx.skip(why)
      const r = result
      const na = r.skipped.get(client)
      if (na) return ctx.skip(na)
      expectClient(r, client)
    }
    it(client, body)
  }
})
