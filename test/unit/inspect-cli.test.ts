// The inspect command line, in process: what it accepts, what it refuses and
// how it says so (one line, exit 2, every argument quoted with control
// characters escaped), --help, and the exit statuses a health check reads.
import { describe, expect, it } from 'vitest'
import type { InspectedConnection } from '../../src/cli/inspect'

async function cli(): Promise<typeof import('../../src/cli/main')> {
  return import('../../dist/cjs/cli/main.js')
}

async function run(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const status = await (await cli()).run(args, (t) => (stdout += t), (t) => (stderr += t))
  return { status, stdout, stderr }
}

describe('tcp-keepalive inspect: arguments', () => {
  it('--help (anywhere): the usage and exit codes on stdout, exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['inspect', '--help'], ['inspect', '123', '-h']]) {
      const r = await run(...args)
      expect(r.status).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).toMatch(/^usage: tcp-keepalive inspect PID/)
      expect(r.stdout).toMatch(/Exit status: 0 no connection exposed; 3 at least one connection exposed;/)
    }
  })

  it('control characters in arguments are escaped, never echoed raw', async () => {
    for (const args of [['inspect', '12\u001b[2J'], ['inspect', '1', '--bad\u0007'], ['inspect', '1', '--idle-limit', '5\r\n\u009bm'], ['wat\u202e'], ['inspect', '1', '2\u0000']]) {
      const r = await run(...args)
      expect(r.status).toBe(2)
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
      // Nothing a terminal acts on reaches it: no C0/C1 control, DEL or direction override.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      expect(r.stderr.trimEnd()).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
    }
    expect((await run('inspect', '12\u001b[2J')).stderr).toBe('tcp-keepalive: PID: "12\\u001b[2J" is not a process id (a positive integer)\n')
  })

  it.each([
    ['99999999999999999999m', /^tcp-keepalive: --idle-limit: "99999999999999999999m" is too large; give from 1 ms to 2147483647 ms \(about 24.8 days\)$/],
    ['2147483648ms', /is too large; give from 1 ms to 2147483647 ms/],
    ['0', /^tcp-keepalive: --idle-limit: "0" is too small; give from 1 ms to 2147483647 ms/],
  ])('--idle-limit %s: says which way it is out of range, and the range', async (value, message) => {
    const r = await run('inspect', '1', '--idle-limit', value)
    expect(r.status).toBe(2)
    expect(r.stderr.trimEnd()).toMatch(message)
  })

  it.each([
    [['inspect', '1', '--watch', '50ms'], /^tcp-keepalive: --watch: "50ms" is too small; give from 100 ms to/],
    [['inspect', '1', '--watch'], /^tcp-keepalive: --watch: missing value \(e.g. --watch 5s\)/],
    [['inspect', '1', '--count', '3'], /^tcp-keepalive: --count: only with --watch/],
    [['inspect', '1', '--watch', '1s', '--count', '0'], /^tcp-keepalive: --count: "0" is not a number of samples from 1 to 2147483647/],
    [['inspect', '1', '--by', 'local'], /^tcp-keepalive: --by: "local" is not a grouping; the one there is: remote/],
    [['inspect', '1', '--options', 'sometimes'], /^tcp-keepalive: --options: "sometimes" is not auto, never or always/],
    [['inspect', '1', '--json=yes'], /^tcp-keepalive: unknown option "--json=yes"/],
  ])('%j: one line naming the problem, exit 2', async (args, message) => {
    const r = await run(...args)
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trimEnd()).toMatch(message)
  })
})

describe('tcp-keepalive inspect: exit status', () => {
  const row = (over: Partial<InspectedConnection>): InspectedConnection => ({
    fd: 3, local: '127.0.0.1:1', remote: '127.0.0.1:2', state: 'established',
    keepalive: { enabled: true, idle: 30_000, interval: 10_000, count: 9, userTimeout: 0 },
    tcpInfo: {} as InspectedConnection['tcpInfo'], idle: 0, age: null, keepaliveTimer: null, netns: null, accepted: false, exposed: false, unreadable: null, ...over,
  })
  it('0 nothing exposed, 3 exposed for certain (wins), 4 only unknowns', async () => {
    const { exitStatus, EXIT } = await cli()
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, exposed: 3, incomplete: 4 })
    const off = row({ keepalive: { enabled: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 }, exposed: true })
    const unknown = row({ keepalive: { enabled: true, idle: null, interval: null, count: null, userTimeout: null }, exposed: true })
    const unreadable = row({ local: null, remote: null, unreadable: 'another namespace', exposed: true })
    expect(exitStatus([], 350_000)).toBe(0)
    expect(exitStatus([row({})], 350_000)).toBe(0)
    expect(exitStatus([row({}), off], 350_000)).toBe(3)
    expect(exitStatus([unknown, unreadable], 350_000)).toBe(4)
    expect(exitStatus([unknown, off], 350_000)).toBe(3)
  })
})

describe('tcp-keepalive inspect: the table form at scale', () => {
  it('200 000 rows render (no spread of every row into one call), one line each plus the summary', async () => {
    const { human, grouped } = (await import('../../dist/cjs/cli/render.js')) as typeof import('../../src/cli/render')
    const info = { state: 'established', rtt: 0.05, rttVariance: 0.01, rto: 201, mss: 65483, congestionWindow: 10, unacked: 0, retransmits: 0, totalRetransmits: 0, keepaliveProbes: 0, lastDataSent: 5, lastDataReceived: 5, lastAckReceived: 5, bytesSent: 1, bytesReceived: 1, bytesAcked: 2 } as const
    const rows: InspectedConnection[] = Array.from({ length: 200_000 }, (_, i) => ({
      fd: i + 3, local: `127.0.0.1:${1024 + (i % 60000)}`, remote: `10.0.${i % 250}.1:443`, state: 'established',
      keepalive: { enabled: true, idle: 30_000, interval: 10_000, count: 9, userTimeout: 0 },
      tcpInfo: info, idle: 5, age: null, keepaliveTimer: 25_000, netns: null, accepted: false, exposed: false, unreadable: null,
    }))
    const text = human(rows, 350_000)
    expect(text.split('\n')).toHaveLength(200_000 + 3)
    expect(text.trimEnd().split('\n').pop()).toBe('200000 connections, 0 exposed to a 350 s idle limit')
    expect(grouped(rows, 350_000).split('\n')).toHaveLength(250 + 3)
  })
})
