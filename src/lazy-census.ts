// connections() as the entries export it: the census (with the timeout
// channel's close watcher behind it) loads at its first call or at the first
// socket the package configures, not at import.
import type * as Census from './census'
import type { Connection, ConnectionsOptions } from './census'

let censusModule: typeof Census | undefined

/**
 * Every connected TCP socket of this thread that the hooks reached
 * (`install()` or the preload; accepted ones with `server: true`) or that was
 * given to `setKeepAlive`, including sockets idle in a pool. Reads the kernel
 * for each (keepalive options and TCP_INFO). Holds no socket alive.
 */
export function connections(options?: ConnectionsOptions): Connection[] {
  return (censusModule ??= require('./census') as typeof Census).connections(options)
}
