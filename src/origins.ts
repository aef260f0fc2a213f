// Where a connection was opened: the first stack frame outside Node's
// internals and outside this package, so that "400 sockets to api:443" comes
// with the line that opens them. A stack per connection costs (see the
// benchmark), so this runs only when origins are on.
//
// Library frames (node_modules) are passed over while an application frame
// follows: the line to fix is the application's call into the client library.
// Only a string is kept: a CallSite holds its function and receiver alive.
import { findSourceMap } from 'node:module'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// dist/cjs (or a folder below it) -> the package root.
const OWN_ROOT = (() => {
  const at = __dirname.lastIndexOf(`${sep}dist${sep}`)
  return at === -1 ? resolve(__dirname, '..') : __dirname.slice(0, at)
})()
const OWN_DIST = OWN_ROOT + sep + 'dist' + sep
// Another copy of this package (a dependency's nested one) is not the origin either.
const ANY_COPY = `${sep}node_modules${sep}tcp-keepalive${sep}`
const DEPENDENCY = `${sep}node_modules${sep}`
const DEPTH = 64

type Site = { getFileName(): string | null | undefined; getLineNumber(): number | null; getColumnNumber(): number | null }

function collectSites(_: Error, sites: Site[]): Site[] {
  return sites
}

function fileOf(site: Site): string | null {
  const name = site.getFileName()
  if (!name || name.startsWith('node:')) return null
  if (name.startsWith('file://')) {
    try {
      return fileURLToPath(name)
    } catch {
      return null
    }
  }
  // Node's internals are "node:…"; anything else not a path (evalmachine, [eval]) names no line to fix.
  if (!isAbsolute(name)) return null
  if (name.startsWith(OWN_DIST) || name.includes(ANY_COPY)) return null
  return name
}

// One entry per line that opens connections: bounded by the code, not by the traffic.
const formatted = new Map<string, string>()

function format(file: string, site: Site): string {
  const key = `${file}:${site.getLineNumber() ?? 0}:${site.getColumnNumber() ?? 0}`
  let text = formatted.get(key)
  if (text === undefined) {
    text = describe(file, site)
    formatted.set(key, text)
  }
  return text
}

function describe(file: string, site: Site): string {
  let line = site.getLineNumber() ?? 0
  let shown = file
  // With --enable-source-maps the line is the source's (src/client.ts), not the built file's.
  const map = findSourceMap?.(file)
  if (map !== undefined) {
    const entry = map.findEntry(line - 1, (site.getColumnNumber() ?? 1) - 1) as { originalSource?: string; originalLine?: number }
    if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
      shown = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource
      line = entry.originalLine + 1
    }
  }
  const rel = relative(process.cwd(), shown)
  return `${rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : shown}:${line}`
}

/** `file:line` of the code that opened the connection now being set up, or null. */
export function captureOrigin(): string | null {
  const limit = Error.stackTraceLimit
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back as it was, never called here
  const prepare = Error.prepareStackTrace
  const holder: { stack?: Site[] } = {}
  try {
    Error.stackTraceLimit = DEPTH
    Error.prepareStackTrace = collectSites
    // The frames above this function: the hooks', then the opener's.
    Error.captureStackTrace(holder)
    const sites = holder.stack
    if (!Array.isArray(sites)) return null
    let library: { file: string; site: Site } | null = null
    for (const site of sites) {
      const file = fileOf(site)
      if (file === null) continue
      if (!file.includes(DEPENDENCY)) return format(file, site)
      library ??= { file, site }
    }
    return library === null ? null : format(library.file, library.site)
  } catch {
    return null
  } finally {
    Error.stackTraceLimit = limit
    Error.prepareStackTrace = prepare
  }
}
