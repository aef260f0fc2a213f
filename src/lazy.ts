// Entry points as the package's entries export them: their implementations
// (the census with the timeout channel's close watcher behind it, the
// TCP_KEEPALIVE parser with its suggestions) load at the first call, or, for
// the census, at the first socket the package configures; not at import.
import type * as Census from './census'
import type { Connection, ConnectionsOptions } from './census'
import type * as Env from './env'
import type { KeepAliveEnv } from './env'

let censusModule: typeof Census | undefined
let envModule: typeof Env | undefined

/**
 * Every connected TCP socket of this thread that the hooks reached
 * (`install()` or the preload; accepted ones with `server: true`) or that was
 * given to `setKeepAlive`, including sockets idle in a pool. Reads the kernel
 * for each (keepalive options and TCP_INFO). Holds no socket alive.
 */
export function connections(options?: ConnectionsOptions): Connection[] {
  return (censusModule ??= require('./census') as typeof Census).connections(options)
}

/**
 * Parses a TCP_KEEPALIVE value. `undefined`, empty and `on` mean the
 * recommended defaults; `off` returns null (install nothing); otherwise
 * comma-separated `key=value` parts (`idle`, `interval`, `userTimeout`:
 * durations with a unit, ms, s or m, except 0; `count`: probes; `server`,
 * `spread`, `origins`: true or false) replace the
 * recommended value of their key. Throws on anything else, with a one-line
 * message naming `name`, the bad part and, for a typo, the key meant.
 */
export function parseKeepAliveEnv(value: string | undefined, name?: string): KeepAliveEnv | null {
  return (envModule ??= require('./env') as typeof Env).parseKeepAliveEnv(value, name)
}
