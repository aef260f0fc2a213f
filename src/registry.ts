// One record per process, shared by every copy of this package that is
// loaded (an application's and a dependency's nested one, of any version, in
// any realm: test runners load a fresh copy per vm context), so that install()
// means one thing process-wide: the hooks are set up once, installs stack (the
// newest configures sockets; undoing it gives back the one beneath), and a
// socket is configured once. Its fields are a contract between versions
// (README: "Several copies in one process"); a later version may add fields,
// never change these.
import net = require('node:net')
import { makeError, type KeepAliveError } from './errors'

/** What an install() exposes to the hooks, whichever copy made it. */
export interface Installation {
  /** Configures one socket reached by a hook; never throws. */
  configure(socket: net.Socket, direction: 'client' | 'server'): void
}

/** The hooks one copy set up, as the record knows them. */
export interface HookSet {
  /** Higher replaces lower: a newer copy that reaches more paths takes over. */
  readonly revision: number
  /** Removes these hooks (channels, patches); called once. */
  teardown(): void
}

export interface RegistryRecord {
  /** Layout of this record: 2 adds `installs`. A later layout keeps these fields and raises it. */
  readonly version: number
  /** The newest install() not undone, of any copy (the last of `installs`); null when none is active. */
  current: Installation | null
  /** The hooks in place, set up by one copy; null when none are. */
  hooks: HookSet | null
  /** Every install() not undone, oldest first. Absent in a record a version-1 copy made. */
  installs?: Installation[]
}

const KEY = Symbol.for('tcp-keepalive.registry')

/** Per-socket marks shared by every copy: a number, a bit per fact. */
export const kMarks = Symbol.for('tcp-keepalive.marks')
/** Configured by an explicit setKeepAlive() call: hooks leave the socket alone. */
export const MARK_EXPLICIT = 1

type Holder = Record<symbol, unknown>

/** What is wrong with a record, in words; null: nothing. */
function problemOf(found: unknown): string | null {
  if (found === null || typeof found !== 'object') return `it is ${found === null ? 'null' : typeof found}, not an object`
  const r = found as Record<string, unknown>
  if (typeof r.version !== 'number' || !(r.version >= 1)) return `"version" is ${String(r.version)}, not a number from 1`
  const c = r.current as { configure?: unknown } | null
  if (c !== null && (typeof c !== 'object' || typeof c.configure !== 'function')) return '"current" is neither null nor an object with configure()'
  const h = r.hooks as { revision?: unknown; teardown?: unknown } | null
  if (h !== null && (typeof h !== 'object' || typeof h.revision !== 'number' || typeof h.teardown !== 'function')) {
    return '"hooks" is neither null nor an object with a numeric revision and teardown()'
  }
  const list = r.installs
  if (list !== undefined && (!Array.isArray(list) || list.some((i) => i === null || typeof i !== 'object' || typeof (i as Installation).configure !== 'function'))) {
    return '"installs" is not a list of objects with configure()'
  }
  return null
}

function lookUp(): { record: RegistryRecord; fault: string | null } {
  // net.Socket is one object per process whatever the realm (built-in modules
  // are not re-created per vm context, globalThis is); copies from before it
  // was the anchor look on their realm's globalThis.
  const anchor = net.Socket as unknown as Holder
  // Only the main realm's globalThis: a runner's vm context is thrown away
  // after its file, and Jest 30 then rewrites what was left on it.
  const realm = net.Socket instanceof Function ? (globalThis as unknown as Holder) : null
  const found = anchor[KEY] ?? realm?.[KEY]
  if (found !== undefined) {
    const fault = problemOf(found)
    if (fault === null) {
      publish(anchor, found)
      if (realm !== null) publish(realm, found)
      return { record: found as RegistryRecord, fault: null }
    }
    // Refused at install(); a private record keeps the rest of this copy working.
    return { record: { version: 2, current: null, hooks: null, installs: [] }, fault }
  }
  const record: RegistryRecord = { version: 2, current: null, hooks: null, installs: [] }
  publish(anchor, record)
  if (realm !== null) publish(realm, record)
  return { record, fault: null }
}

function publish(holder: Holder, record: unknown): void {
  if (holder[KEY] !== undefined) return
  // Not enumerable, not writable: a later copy finds this one, nothing replaces it by accident.
  try {
    Object.defineProperty(holder, KEY, { value: record, enumerable: false, configurable: false, writable: false })
  } catch {
    // A frozen holder: the other one still carries the record.
  }
}

// Looked up at the first use (an install(), a hook), not at import: importing
// the package changes nothing.
let found: { record: RegistryRecord; fault: string | null } | null = null

/** The process-wide record (a private one when what is there has the wrong shape: checkRegistry() says so). */
export function registry(): RegistryRecord {
  return (found ??= lookUp()).record
}

function registryError(fault: string): KeepAliveError {
  return makeError(
    Error,
    'ERR_TCP_KEEPALIVE_REGISTRY',
    `install() refused: the process-wide record Symbol.for('tcp-keepalive.registry') has the wrong shape (${fault}). ` +
      'Every copy of tcp-keepalive in this process shares it (README: "Several copies in one process"); something else wrote it.',
  )
}

/** Throws ERR_TCP_KEEPALIVE_REGISTRY when the shared record cannot be trusted (found so at load, or since). */
export function checkRegistry(): void {
  const fault = (found ??= lookUp()).fault ?? problemOf(found.record)
  if (fault !== null) throw registryError(fault)
}

/** Puts an install on top: it configures sockets until it is undone or another goes on top. */
// A list another package broke since install() checked it is replaced, not
// thrown over: uninstall() must not fail.
function installsOf(record: RegistryRecord): Installation[] {
  return Array.isArray(record.installs) ? record.installs : (record.installs = [])
}

export function pushInstall(installation: Installation): void {
  const record = registry()
  const list = installsOf(record)
  // A version-1 copy sets `current` without the list: its install stays beneath.
  if (record.current !== null && !list.includes(record.current)) list.push(record.current)
  list.push(installation)
  record.current = installation
}

/**
 * Takes an install out wherever it is in the stack; the one beneath the top
 * becomes current. Returns true when no install is left (the hooks can go),
 * false also when this one was already undone.
 */
export function removeInstall(installation: Installation): boolean {
  const record = registry()
  const list = installsOf(record)
  const at = list.lastIndexOf(installation)
  if (at === -1) {
    // Undone already, or pushed by a version-1 copy's view of the record.
    if (record.current !== installation) return false
    record.current = list.at(-1) ?? null
    return record.current === null
  }
  list.splice(at, 1)
  record.current = list.at(-1) ?? null
  return record.current === null
}

let warnedFault = false

/** The hooks' way to the current install: a record another package broke cannot throw into Node's net code. */
export function dispatch(socket: net.Socket, direction: 'client' | 'server'): void {
  const current = registry().current
  if (current === null) return
  try {
    current.configure(socket, direction)
  } catch (err) {
    if (warnedFault) return
    warnedFault = true
    const fault = problemOf(registry()) ?? `current.configure() threw: ${err instanceof Error ? err.message : String(err)}`
    process.emitWarning(registryError(fault).message.replace('install() refused', 'a socket was left unconfigured'), {
      type: 'TcpKeepAliveWarning',
      code: 'ERR_TCP_KEEPALIVE_REGISTRY',
    })
  }
}
