// What `inspect` prints for people: a row per connection or per destination,
// and the summary line. Built with loops only: a spread over 100 000 rows
// (Math.max(...widths)) would overflow the call stack.
import type { InspectedConnection } from './inspect'

export function duration(ms: number | null): string {
  if (ms === null) return '?'
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

/** A time for reading at a glance: 850ms, 42s, 7m 5s, 3h 2m. */
export function ago(ms: number | null): string {
  if (ms === null) return '?'
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  return `${Math.floor(s / 3600)}h ${Math.floor(s / 60) % 60}m`
}

function limitText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const r of rows) for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, (r[i] as string).length)
  const lines: string[] = []
  for (const r of rows) lines.push(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ').trimEnd())
  return lines.join('\n')
}

function why(c: InspectedConnection, limitMs: number): string {
  if (c.unreadable) return `unknown: ${c.unreadable}`
  if (!c.exposed) return 'no'
  const k = c.keepalive
  if (k.enabled !== true) return k.enabled === false ? 'yes: keepalive off' : 'unknown: keepalive not read'
  if (k.idle === null || k.interval === null) return 'unknown: keepalive times not read'
  if (k.idle >= limitMs) return `yes: idle ${duration(k.idle)} >= ${limitText(limitMs)}`
  return `yes: interval ${duration(k.interval)} >= ${limitText(limitMs)}`
}

/** Exposed for certain (keepalive read), as opposed to exposed because unknown. */
export function knownExposed(c: InspectedConnection, limitMs: number): boolean {
  return c.exposed && why(c, limitMs).startsWith('yes')
}

export function summary(connections: InspectedConnection[], limitMs: number): string {
  const n = connections.length
  let exposed = 0
  let unknown = 0
  let unreadable = 0
  let closeWait = 0
  let oldest: number | null = null
  for (const c of connections) {
    if (c.unreadable) unreadable++
    else if (knownExposed(c, limitMs)) exposed++
    else if (c.exposed) unknown++
    if (c.state === 'close-wait') {
      closeWait++
      if (c.idle !== null && (oldest === null || c.idle > oldest)) oldest = c.idle
    }
  }
  let text = `${n} connection${n === 1 ? '' : 's'}, ${exposed} exposed to a ${limitText(limitMs)} idle limit`
  if (unknown > 0) text += `, ${unknown} with keepalive not read`
  if (unreadable > 0) text += `, ${unreadable} not readable (another network namespace)`
  if (closeWait > 0) text += `; ${closeWait} in CLOSE_WAIT (the peer closed, the process did not; oldest idle ${ago(oldest)})`
  return text
}

export function human(connections: InspectedConnection[], limitMs: number): string {
  const rows = [['FD', 'LOCAL', 'REMOTE', 'STATE', 'IDLE-FOR', 'KEEPALIVE', 'IDLE', 'INTERVAL', 'COUNT', 'USER-TIMEOUT', 'RTT', 'UNACKED', 'PROBES', 'EXPOSED']]
  for (const c of connections) {
    const k = c.keepalive
    const t = c.tcpInfo
    rows.push([
      String(c.fd),
      c.local ?? '?',
      c.remote ?? '?',
      c.state ?? '?',
      ago(c.idle),
      k.enabled === null ? '?' : k.enabled ? 'on' : 'off',
      duration(k.idle),
      duration(k.interval),
      k.count === null ? '?' : String(k.count),
      k.userTimeout === null ? '?' : k.userTimeout === 0 ? 'default' : duration(k.userTimeout),
      t.rtt === null ? '?' : `${t.rtt}ms`,
      t.unacked === null ? '?' : String(t.unacked),
      t.keepaliveProbes === null ? '?' : String(t.keepaliveProbes),
      why(c, limitMs),
    ])
  }
  return `${connections.length > 0 ? `${table(rows)}\n` : ''}${summary(connections, limitMs)}\n`
}

/** Where a connection goes: the remote end, or for an accepted one the local (listening) end. */
export function destination(c: InspectedConnection): string {
  if (c.accepted) return `${c.local ?? '?'} (accepted)`
  return c.remote ?? '? (not readable)'
}

export interface Group {
  destination: string
  count: number
  established: number
  closeWait: number
  exposed: number
  /** Idle (no data either way) at or beyond the idle limit. */
  idleBeyondLimit: number
  oldestIdle: number | null
}

export function groups(connections: InspectedConnection[], limitMs: number): Group[] {
  const by = new Map<string, Group>()
  for (const c of connections) {
    const key = destination(c)
    let g = by.get(key)
    if (!g) by.set(key, (g = { destination: key, count: 0, established: 0, closeWait: 0, exposed: 0, idleBeyondLimit: 0, oldestIdle: null }))
    g.count++
    if (c.state === 'established') g.established++
    if (c.state === 'close-wait') g.closeWait++
    if (c.exposed) g.exposed++
    if (c.idle !== null && c.idle >= limitMs) g.idleBeyondLimit++
    if (c.idle !== null && (g.oldestIdle === null || c.idle > g.oldestIdle)) g.oldestIdle = c.idle
  }
  return [...by.values()].sort((a, b) => b.count - a.count || (a.destination < b.destination ? -1 : 1))
}

export function grouped(connections: InspectedConnection[], limitMs: number): string {
  const rows = [['DESTINATION', 'COUNT', 'ESTABLISHED', 'CLOSE-WAIT', 'IDLE>LIMIT', 'OLDEST-IDLE', 'EXPOSED']]
  for (const g of groups(connections, limitMs)) rows.push([g.destination, String(g.count), String(g.established), String(g.closeWait), String(g.idleBeyondLimit), ago(g.oldestIdle), String(g.exposed)])
  return `${connections.length > 0 ? `${table(rows)}\n` : ''}${summary(connections, limitMs)}\n`
}
