// `tcp-keepalive inspect PID` across users, which needs root to set them up:
// the same unprivileged user may read its own process's sockets (the
// same-user ptrace right), another user may not and is told which right is
// missing. test/kernel/inspect.test.ts holds the command's output itself.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')
const root = process.getuid?.() === 0
if (process.platform === 'linux' && !root) console.log('inspect across users skipped: needs root to run processes as another user')

interface Row {
  local: string
}

describe.runIf(process.platform === 'linux' && root)('tcp-keepalive inspect across users', () => {
  let server: net.Server
  let port: number
  // A process of root's with a connection: what another user may not read.
  let child: ChildProcessWithoutNullStreams

  beforeAll(async () => {
    server = net.createServer((s) => s.resume())
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as net.AddressInfo).port
    child = spawn(process.execPath, ['-e', `const s = require('node:net').connect(${port}, '127.0.0.1', () => console.log(s.localPort)); process.stdin.resume()`])
    await once(child.stdout, 'data')
  })
  afterAll(() => {
    child?.kill()
    server?.close()
  })

  it('the same unprivileged user may inspect its own process', async () => {
    // Both as nobody: no CAP_SYS_PTRACE, only the same-user right (no Yama on this kernel, or scope 0).
    const own = spawn(process.execPath, ['-e', `const s = require('node:net').connect(${port}, '127.0.0.1', () => console.log(s.localPort)); process.stdin.resume()`], { uid: 65534, gid: 65534 })
    try {
      const [line] = (await once(own.stdout, 'data')) as [Buffer]
      const r = spawnSync(process.execPath, [CLI, 'inspect', String(own.pid), '--json'], { encoding: 'utf8', uid: 65534, gid: 65534 })
      const scope = (() => {
        try {
          return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8'))
        } catch {
          return 0
        }
      })()
      if (scope > 0) {
        expect(r.stderr).toMatch(/Yama \(kernel\.yama\.ptrace_scope = \d\)/)
        return
      }
      expect(r.stderr).toBe('')
      const rows = JSON.parse(r.stdout) as Row[]
      expect(rows.map((x) => x.local)).toEqual([`127.0.0.1:${Number(line.toString())}`])
    } finally {
      own.kill()
    }
  })

  it('another user without CAP_SYS_PTRACE: says what right is missing, exit 1', () => {
    // As nobody, against the child (root's): the kernel refuses, the command explains.
    const r = spawnSync(process.execPath, [CLI, 'inspect', String(child.pid)], { encoding: 'utf8', uid: 65534, gid: 65534 })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^tcp-keepalive inspect: not permitted to read the sockets of process \d+ .*it belongs to uid 0, this is uid 65534; .*CAP_SYS_PTRACE/)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  })
})
