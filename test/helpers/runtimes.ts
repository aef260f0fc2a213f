import { existsSync, readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where test/harness/platforms/fetch-runtimes.sh unpacks Node, Bun and Deno from the npm registry. */
export const runtimeCache = process.env.TCP_KEEPALIVE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tcp-keepalive-ci')

const versionKey = (v: string): number[] => v.split('.').map(Number)
// By number, not as text: 20.10.0 is newer than 20.9.0.
const older = (a: string, b: string): number => {
  const x = versionKey(a)
  const y = versionKey(b)
  return (x[0]! - y[0]!) || (x[1]! - y[1]!) || (x[2]! - y[2]!)
}

/**
 * `rel` inside the newest unpacked `<prefix><version>` of the cache (of that
 * major, where given) in which it exists. null where there is none, and on a
 * host that cannot run the cache's linux-x64 binaries.
 */
export function newestCached(prefix: string, rel: string, major?: number): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64' || !existsSync(runtimeCache)) return null
  const v = readdirSync(runtimeCache)
    .filter((d) => d.startsWith(prefix) && /^\d+\.\d+\.\d+$/.test(d.slice(prefix.length)))
    .map((d) => d.slice(prefix.length))
    .filter((v) => (major === undefined || versionKey(v)[0] === major) && existsSync(join(runtimeCache, prefix + v, rel)))
    .sort(older)
    .at(-1)
  return v === undefined ? null : join(runtimeCache, prefix + v, rel)
}
