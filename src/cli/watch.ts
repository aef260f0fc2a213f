// `inspect --watch`: the same reading, repeated, per destination, with the
// shape of the client-per-call leak named: a destination whose connection
// count grew at every sample of the window while most of its connections
// carry no data.
import type { Inspection } from './inspect'
import { ago, destination, groups, summary, table } from './render'

/** Samples a destination's growth is judged over (fewer at the start, three at least). */
const WINDOW = 5

export interface Sample {
  time: Date
  inspection: Inspection
}

export class Watcher {
  private history = new Map<string, number[]>()
  private samples = 0
  private lastTotal: number | null = null

  constructor(
    private readonly limitMs: number,
    private readonly intervalMs: number,
  ) {}

  /** The table for one sample; call once per sample, in order. */
  render(sample: Sample): string {
    const { connections } = sample.inspection
    const current = groups(connections, this.limitMs)
    this.samples++
    const quiet = new Map<string, number>()
    for (const c of connections) if (c.idle !== null && c.idle >= this.intervalMs) quiet.set(destination(c), (quiet.get(destination(c)) ?? 0) + 1)
    const seen = new Set<string>()
    const rows = [['DESTINATION', 'COUNT', 'CHANGE', 'IDLE>LIMIT', 'CLOSE-WAIT', 'EXPOSED', 'LEAK']]
    for (const g of current) {
      seen.add(g.destination)
      const h = this.push(g.destination, g.count)
      const change = h.length > 1 ? g.count - (h[h.length - 2] as number) : 0
      rows.push([g.destination, String(g.count), signed(change), String(g.idleBeyondLimit), String(g.closeWait), String(g.exposed), this.leak(h, g.count, quiet.get(g.destination) ?? 0)])
    }
    // Destinations gone since the last sample: their drop is a change too.
    for (const [key, h] of this.history) {
      if (seen.has(key)) continue
      const before = h[h.length - 1] as number
      this.push(key, 0)
      if (before > 0) rows.push([key, '0', signed(-before), '0', '0', '0', ''])
      else if (h.every((n) => n === 0)) this.history.delete(key)
    }
    const total = connections.length
    const delta = this.lastTotal === null ? '' : ` (${signed(total - this.lastTotal)})`
    this.lastTotal = total
    const head = `[${sample.time.toISOString().slice(11, 19)}] ${summary(connections, this.limitMs).replace(/^(\d+ connections?)/, `$1${delta}`)}`
    return `${head}\n${rows.length > 1 ? `${table(rows)}\n` : ''}`
  }

  private push(key: string, count: number): number[] {
    let h = this.history.get(key)
    if (!h) {
      // A destination first seen now grew from nothing, unless this is the first sample.
      h = this.samples > 1 ? [0] : []
      this.history.set(key, h)
    }
    h.push(count)
    if (h.length > WINDOW) h.shift()
    return h
  }

  private leak(h: number[], count: number, quiet: number): string {
    if (h.length < 3) return ''
    for (let i = 1; i < h.length; i++) if ((h[i] as number) <= (h[i - 1] as number)) return ''
    if (quiet * 2 <= count) return ''
    return `LEAK? grew in each of the last ${h.length - 1} samples, ${quiet} of ${count} idle >= ${ago(this.intervalMs)}`
  }
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n)
}

/** One `--json --watch` line. */
export function jsonLine(sample: Sample): string {
  return `${JSON.stringify({ time: sample.time.toISOString(), connections: sample.inspection.connections })}\n`
}
