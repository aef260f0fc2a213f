// Real database servers from the OS's packages, each started on a free
// loopback port in its own temporary directory and stopped by the caller, so
// the clients under test talk to the servers they are written for. A server
// whose binary is absent is returned as `{ skip: reason }`.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RunningServer {
  name: string
  port: number
  /** The directory holding the server's Unix-domain socket. */
  socketDir: string
  /** Path of the Unix-domain socket, where the server makes one at a fixed name. */
  socketPath: string
  stop(): Promise<void>
}
export type Started = RunningServer | { skip: string }

// Debian installs each PostgreSQL major under its own directory; take the newest.
function pgBin(): string {
  if (process.env.TKA_PG_BIN) return process.env.TKA_PG_BIN
  let majors: number[] = []
  try {
    majors = readdirSync('/usr/lib/postgresql').map(Number).filter((n) => n > 0).sort((a, b) => b - a)
  } catch {
    // not installed
  }
  return `/usr/lib/postgresql/${majors[0] ?? 15}/bin`
}
const PG_BIN = pgBin()

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  return null
}

// Databases refuse to run as root; as root, run them as their package's user
// (which owns the directory; spawn's uid/gid, no wrapper process to signal),
// otherwise as ourselves.
const isRoot = process.getuid?.() === 0
function userExists(user: string): boolean {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
interface Ids {
  uid?: number
  gid?: number
}
function idsOf(user: string): Ids {
  if (!isRoot) return {}
  return {
    uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })),
  }
}

// Asynchronous, so that startServers() initialises the data directories side by side.
const run = promisify(execFile)

/** Resolves once `ready` matches the server's output; rejects if it exits first. */
function waitFor(child: ChildProcess, ready: RegExp, name: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => done(new Error(`${name} not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      if (ready.test(output)) done()
    }
    const onExit = (code: number | null): void => done(new Error(`${name} exited (${String(code)}) before it was ready:\n${output}`))
    function done(err?: Error): void {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve()
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

function ownedDir(prefix: string, user: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const { uid, gid } = idsOf(user)
  if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid)
  return dir
}

/** PostgreSQL, trust auth, no durability (a throwaway cluster): user `postgres`, database `postgres`. */
export async function startPostgres(): Promise<Started> {
  if (!existsSync(join(PG_BIN, 'initdb'))) return { skip: `PostgreSQL not installed (${PG_BIN}/initdb absent)` }
  if (isRoot && !userExists('postgres')) return { skip: 'PostgreSQL refuses root and there is no postgres user' }
  const dir = ownedDir('tka-pg-', 'postgres')
  const data = join(dir, 'data')
  const ids = idsOf('postgres')
  await run(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8'], { cwd: dir, ...ids })
  const port = await freePort()
  const child = spawn(join(PG_BIN, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB',
  ], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...ids })
  try {
    await waitFor(child, /ready to accept connections/, 'postgres')
  } catch (err) {
    await stopper(child, dir)()
    throw err
  }
  child.stdout?.resume()
  child.stderr?.resume()
  return { name: 'postgres', port, socketDir: dir, socketPath: join(dir, `.s.PGSQL.${port}`), stop: stopper(child, dir) }
}

/** redis-server without persistence. */
export async function startRedis(): Promise<Started> {
  const bin = which('redis-server')
  if (!bin) return { skip: 'redis-server not installed' }
  const dir = mkdtempSync(join(tmpdir(), 'tka-redis-'))
  const port = await freePort()
  const socketPath = join(dir, 'redis.sock')
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--unixsocket', socketPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    await waitFor(child, /Ready to accept connections/, 'redis-server')
  } catch (err) {
    await stopper(child, dir)()
    throw err
  }
  child.stdout?.resume()
  child.stderr?.resume()
  return { name: 'redis', port, socketDir: dir, socketPath, stop: stopper(child, dir) }
}

/** MariaDB, root without a password (the fresh data directory's own), small InnoDB. */
export async function startMariadb(): Promise<Started> {
  const bin = which('mariadbd') ?? which('mysqld')
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db')
  if (!bin || !installDb) return { skip: 'mariadb-server not installed' }
  if (isRoot && !userExists('mysql')) return { skip: 'mariadbd refuses root and there is no mysql user' }
  const dir = ownedDir('tka-maria-', 'mysql')
  const data = join(dir, 'data')
  const user = isRoot ? ['--user=mysql'] : []
  await run(installDb, ['--no-defaults', `--datadir=${data}`, '--skip-test-db', '--auth-root-authentication-method=normal', ...user])
  const port = await freePort()
  const socketPath = join(dir, 'mysqld.sock')
  const child = spawn(bin, [
    '--no-defaults', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${socketPath}`,
    '--skip-name-resolve', '--innodb-buffer-pool-size=16M', '--innodb-flush-log-at-trx-commit=0',
    `--pid-file=${join(dir, 'mysqld.pid')}`, ...user,
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    await waitFor(child, /ready for connections/, 'mariadbd')
  } catch (err) {
    await stopper(child, dir)()
    throw err
  }
  child.stdout?.resume()
  child.stderr?.resume()
  return { name: 'mariadb', port, socketDir: dir, socketPath, stop: stopper(child, dir) }
}

/** Starts what is asked, in parallel; prints why a server is skipped. */
export async function startServers<K extends string>(wanted: Record<K, () => Promise<Started>>): Promise<Record<K, Started>> {
  const names = Object.keys(wanted) as K[]
  const results = await Promise.all(
    names.map((n) =>
      wanted[n]().catch((err: unknown) => ({ skip: `${n} failed to start: ${err instanceof Error ? err.message : String(err)}` })),
    ),
  )
  const out = {} as Record<K, Started>
  names.forEach((n, i) => {
    const r = results[i] as Started
    if ('skip' in r) console.log(`server skipped: ${r.skip}`)
    out[n] = r
  })
  return out
}
