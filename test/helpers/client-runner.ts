// Runs test/harness/clients/run.mjs under a runtime binary and reads, at each of its
// checkpoints, the kernel's options of the connection it names from OUTSIDE
// that process (its /proc/PID entries, then pidfd_getfd). Also starts the web
// servers the HTTP clients talk to: each answers with the client's port.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import type net from 'node:net'
import { join } from 'node:path'
import { expect } from 'vitest'
import { WebSocketServer } from 'ws'
import { childPeeker, makeCertificate, notRun, procObserver, type PeekedState } from './kernel'

export const RUNNER = join(__dirname, '..', 'harness', 'clients', 'run.mjs')

/** What install() is given: none of these is a Node or kernel default. */
export const OPTS = { idle: 7000, interval: 3000, count: 4, userTimeout: 25_000 }
export const EXPECTED = { enabled: true, idle: 7000, interval: 3000, count: 4, userTimeout: 25_000 }

export interface WebServers {
  http: number
  https: number
  h2: number
  ca: string
  close(): void
}

export async function startWebServers(): Promise<WebServers> {
  const { key, cert } = makeCertificate()
  const answer = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ port: req.socket.remotePort }))
  }
  const h1 = http.createServer(answer).listen(0, '127.0.0.1')
  const h1s = https.createServer({ key, cert }, answer).listen(0, '127.0.0.1')
  const h2 = http2.createServer(answer).listen(0, '127.0.0.1')
  const wss = new WebSocketServer({ server: h1, path: '/ws' })
  wss.on('connection', (ws, req) => ws.send(JSON.stringify({ port: req.socket.remotePort })))
  await Promise.all([once(h1, 'listening'), once(h1s, 'listening'), once(h2, 'listening')])
  const port = (s: net.Server): number => (s.address() as net.AddressInfo).port
  return {
    http: port(h1),
    https: port(h1s),
    h2: port(h2),
    ca: cert,
    close() {
      wss.close()
      for (const s of [h1, h1s]) {
        s.close()
        s.closeAllConnections()
      }
      h2.close()
    },
  }
}

export interface Checkpoint {
  stage: string
  local: number
  remote: number
  /** The kernel, read from outside the runner; null where no observer exists or no socket matched. */
  kernel: PeekedState | null
  /** getKeepAlive() inside the runner, where the client exposes its socket. */
  api?: Record<string, unknown>
  /** Failures install() reported through onError for this client so far. */
  errors: string[]
  /** What the kernel must hold here, where the case says so; else EXPECTED. */
  expect?: Record<string, unknown>
}

export interface RunResult {
  runtime: string | null
  fatal: string | null
  capabilities: Record<string, unknown> | null
  checkpoints: Map<string, Checkpoint[]>
  failed: Map<string, string>
  /** Cases the runtime cannot run, with the reason. */
  skipped: Map<string, string>
  stderr: string
}

/** Spawns the runner under `argv` (the runtime and its flags) for these clients. */
export async function runClients(argv: string[], clients: string[], targets: Record<string, unknown>, ca: string, timeoutMs = 120_000): Promise<RunResult> {
  const [bin, ...flags] = argv as [string, ...string[]]
  const child = spawn(bin, [...flags, RUNNER], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TKA_RUN: JSON.stringify({ clients, opts: OPTS, targets, ca }), NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  })
  const result: RunResult = { runtime: null, fatal: null, capabilities: null, checkpoints: new Map(), failed: new Map(), skipped: new Map(), stderr: '' }
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c: string) => (result.stderr += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const peeker = childPeeker()
  // Checkpoints are handled one at a time, in order: the runner waits for each answer.
  let chain = Promise.resolve()
  let pending = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    pending += chunk
    let i
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i)
      pending = pending.slice(i + 1)
      if (line.startsWith('@@tka ')) chain = chain.then(() => handle(line)).catch((err: unknown) => {
        result.fatal ??= `reading the kernel failed: ${String(err)}`
        child.kill('SIGKILL')
      })
    }
  })
  async function handle(line: string): Promise<void> {
    const msg = JSON.parse(line.slice(6)) as Record<string, unknown>
    if (typeof msg.hello === 'string') {
      result.runtime = msg.hello
      result.capabilities = msg.capabilities as Record<string, unknown>
    } else if (typeof msg.fatal === 'string') {
      result.runtime = (msg.runtime as string | undefined) ?? null
      result.fatal = msg.fatal
    } else if (typeof msg.failed === 'string') {
      result.failed.set(msg.client as string, msg.failed)
    } else if (typeof msg.skip === 'string') {
      result.skipped.set(msg.client as string, msg.skip)
    } else if (typeof msg.stage === 'string') {
      const local = msg.local as number
      const remote = msg.remote as number
      const kernel = msg.stage === 'unix' || !peeker ? null : await peeker.view(child.pid as number, local, remote)
      const list = result.checkpoints.get(msg.client as string) ?? []
      list.push({
        stage: msg.stage,
        local,
        remote,
        kernel,
        api: msg.api as Record<string, unknown> | undefined,
        errors: msg.errors as string[],
        expect: msg.expect as Record<string, unknown> | undefined,
      })
      result.checkpoints.set(msg.client as string, list)
      child.stdin.write('next\n')
    }
  }
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null]
  clearTimeout(timer)
  await chain
  peeker?.close()
  if (code !== 0 && !result.fatal) result.fatal = `runner exited ${String(code ?? signal)}: ${result.stderr.slice(-2000)}`
  return result
}

/** One row of the summary table: what the kernel held per stage. */
export function describeResult(r: RunResult, client: string): string {
  if (r.fatal) return `fatal: ${r.fatal}`
  const failed = r.failed.get(client)
  const cps = r.checkpoints.get(client) ?? []
  const parts = cps.map((c) => {
    if (c.stage === 'unix') return `unix: errors ${c.errors.length ? c.errors.join('; ') : 'none'}`
    const k = c.kernel
    const v = k ? `${k.enabled ? 'on' : 'OFF'} ${k.idle}/${k.interval}/${k.count}/${String(k.userTimeout)}` : procObserver.available ? 'no socket found' : 'not observed'
    return `${c.stage}: ${v}${c.errors.length ? ` (errors: ${c.errors.join('; ')})` : ''}`
  })
  if (failed) parts.push(`failed: ${failed}`)
  const skipped = r.skipped.get(client)
  if (skipped) parts.push(`not run: ${skipped}`)
  return parts.join(', ') || 'nothing reported'
}

export type Runtime =
  | { kind: 'node'; major: number; label: string; argv: string[] }
  | { kind: 'bun' | 'deno'; label: string; argv: string[] }

/** Clients that keep a connection and hand it out again: checked after connect and after reuse. */
const POOLED = new Set(['http agent', 'https agent', 'fetch', 'undici', 'pg Pool', 'postgres.js', 'ioredis', 'mysql2', 'got', 'node-fetch', 'axios'])
/**
 * Node's own clients and the database drivers every runtime is checked with:
 * the other-runtimes suite runs these, the full suite these and more.
 */
export const PORTABLE_CLIENTS: Array<[client: string, server: 'pg' | 'redis' | null]> = [
  ['net.connect', null],
  ['net.Socket().connect', null],
  ['tls.connect', null],
  ['http agent', null],
  ['https agent', null],
  ['fetch', null],
  ['undici', null],
  ['pg', 'pg'],
  ['pg Pool', 'pg'],
  ['postgres.js', 'pg'],
  ['ioredis', 'redis'],
]
/** The cases of hook behaviour beyond connecting (Node's own setKeepAlive after ours, reconnects, http2, Unix sockets, explicit calls, other patchers, two copies), run in every runtime after the clients. */
export const ITEM_CASES: Array<[client: string, server: null]> = [
  ['setKeepAlive(false) after install', null],
  ['setKeepAlive(true, ms) after enable: false', null],
  ['setKeepAlive with interval and count', null],
  ['reconnecting socket', null],
  ['http2 setKeepAlive without install', null],
  ['http socketPath', null],
  ['explicit call in a connection handler', null],
  ['tls.connect restored by another library', null],
  ['two copies', null],
  // Last: where it fails it leaves tls.connect broken for the rest of the run.
  ['tls.connect wrap cycles', null],
]

export const UNIX_CLIENTS = new Set(['pg unix socket', 'mysql2 unix socket', 'http socketPath'])

export function stagesOf(client: string): string[] {
  if (UNIX_CLIENTS.has(client)) return ['unix']
  if (client === 'http2') return ['connect', 'reuse', 'setKeepAlive']
  if (client === 'two copies') return ['other copy installed last', 'first copy uninstalled', 'first copy installed again', 'other copy uninstalled']
  return POOLED.has(client) ? ['connect', 'reuse'] : ['connect']
}

/**
 * The correct outcome for one client: every checkpoint it should reach, no
 * failure reported by install(), and the configured values in the kernel
 * (read from outside the runner) and through getKeepAlive() inside it.
 */
export function expectClient(r: RunResult, client: string): void {
  expect(r.fatal, 'runner').toBeNull()
  expect(r.failed.get(client), `${client} failed in the runner`).toBeUndefined()
  const cps = r.checkpoints.get(client) ?? []
  expect(cps.map((c) => c.stage), `${client}: checkpoints reached`).toEqual(stagesOf(client))
  for (const c of cps) {
    expect(c.errors, `${client} ${c.stage}: failures install() reported`).toEqual([])
    if (c.stage === 'unix') continue
    const want = c.expect ?? EXPECTED
    if (c.api) expect(c.api, `${client} ${c.stage}: getKeepAlive()`).toMatchObject(want)
    if (procObserver.available) expect(c.kernel, `${client} ${c.stage}: the kernel`).toMatchObject(want)
    else notRun(procObserver)
  }
}

/** A markdown-ish table row per client, printed for the record. */
export function printTable(label: string, r: RunResult, clients: string[]): void {
  const lines = [`${label} (${r.runtime ?? 'did not start'}): enabled idle/interval/count/userTimeout per checkpoint`]
  for (const c of clients) lines.push(`  ${c.padEnd(22)} ${describeResult(r, c)}`)
  console.log(lines.join('\n'))
}
