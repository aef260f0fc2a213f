// One record per process, shared by every copy of this package that is
// loaded (an application's and a dependency's nested one, of any version), so
// that install() means one thing process-wide: the hooks are set up once, the
// newest install() from any copy is the one that configures sockets, and a
// socket is configured once. Its fields are a contract between versions
// (README: "Several copies in one process"); a later version may add fields,
// never change these.
import type net = require('node:net')

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
  /** Layout of this record. 1 here; a later layout keeps these fields and raises it. */
  readonly version: number
  /** The newest install() of any copy; null when none is active. */
  current: Installation | null
  /** The hooks in place, set up by one copy; null when none are. */
  hooks: HookSet | null
}

const KEY = Symbol.for('tcp-keepalive.registry')

/** Per-socket marks shared by every copy: a number, a bit per fact. */
export const kMarks = Symbol.for('tcp-keepalive.marks')
/** Configured by an explicit setKeepAlive() call: hooks leave the socket alone. */
export const MARK_EXPLICIT = 1

export const registry: RegistryRecord = (() => {
  const g = globalThis as unknown as Record<symbol, RegistryRecord | undefined>
  const found = g[KEY]
  if (found !== null && typeof found === 'object' && typeof found.version === 'number' && found.version >= 1) return found
  const record: RegistryRecord = { version: 1, current: null, hooks: null }
  // Not enumerable, not writable: a later copy finds this one, nothing replaces it by accident.
  if (found === undefined) Object.defineProperty(globalThis, KEY, { value: record, enumerable: false, configurable: false, writable: false })
  return record
})()
