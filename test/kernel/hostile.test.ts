// Hard cases for the native path: an fd number reused after its socket was
// destroyed, half-closed and ended sockets, and the addon in worker threads.
import { closeSync, openSync, readFileSync, rmSync, writeSync, mkdtempSync } from 'node:fs'
import { once } from 'node:events'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { peekSockopt } from '../helpers/kernel'
import { fdOf, tcpPair } from '../helpers/sockets'
import { getKeepAlive, setKeepAlive } from '../lib'

describe('fd reuse', () => {
  it('a destroyed socket whose fd number now belongs to a file: refused, the file untouched', async () => {
    const p = await tcpPair()
    const fd = fdOf(p.client)
    p.client.destroy()
    const dir = mkdtempSync(join(tmpdir(), 'tka-reuse-'))
    const path = join(dir, 'f')
    const file = openSync(path, 'w+')
    try {
      // The kernel hands out the lowest free number: the socket's old one.
      expect(file).toBe(fd)
      writeSync(file, 'data')
      expect(() => setKeepAlive(p.client, { idle: 1000, interval: 1000, count: 2 })).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
      expect(() => getKeepAlive(p.client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
      expect(readFileSync(path, 'utf8')).toBe('data')
    } finally {
      closeSync(file)
      p.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a destroyed socket whose fd number now belongs to another socket: that socket untouched', async () => {
    const p = await tcpPair()
    const fd = fdOf(p.client)
    p.client.destroy()
    // Reconnect to the still-open server: the lowest free number is the old one.
    const victim = net.connect(p.accepted.localPort as number, '127.0.0.1')
    await once(victim, 'connect')
    try {
      expect(fdOf(victim)).toBe(fd)
      const before = [getKeepAlive(victim), peekSockopt(fd)]
      expect(() => setKeepAlive(p.client, { idle: 1000, interval: 1000, count: 2 })).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }))
      expect([getKeepAlive(victim), peekSockopt(fd)]).toEqual(before)
    } finally {
      victim.destroy()
      p.close()
    }
  })
})

describe('socket states', () => {
  it('half-closed (we ended, peer still open): still configurable', async () => {
    const p = await tcpPair()
    try {
      p.client.end()
      setKeepAlive(p.client, { idle: 3000, count: 2 })
      expect(getKeepAlive(p.client)).toMatchObject({ enabled: true, idle: 3000, count: 2 })
      const outside = peekSockopt(fdOf(p.client))
      if (outside) expect(outside).toMatchObject({ enabled: true, idle: 3000, count: 2 })
    } finally {
      p.close()
    }
  })

  it('a never-connected net.Socket: accepted now, nothing to read yet', () => {
    const s = new net.Socket()
    expect(() => setKeepAlive(s, { idle: 1000 })).not.toThrow()
    expect(() => getKeepAlive(s)).toThrow(expect.objectContaining({ code: 'ERR_TCP_KEEPALIVE_NOT_CONNECTED' }))
    s.destroy()
  })
})

describe('worker threads', () => {
  it('the addon works in 4 workers at once, including ones terminated mid-way', async () => {
    const entry = join(__dirname, '..', '..', 'dist', 'cjs', 'index.js')
    const code = `
      const { parentPort, workerData } = require('node:worker_threads')
      const net = require('node:net')
      const { setKeepAlive, getKeepAlive } = require(${JSON.stringify(entry)})
      const server = net.createServer().listen(0, '127.0.0.1', async () => {
        let ok = 0
        for (let i = 0; i < workerData.sockets; i++) {
          const c = net.connect(server.address().port, '127.0.0.1')
          await new Promise((r) => c.once('connect', r))
          setKeepAlive(c, { idle: 1000 + (i % 50) * 1000, interval: 2000, count: 3 })
          if (getKeepAlive(c).idle === 1000 + (i % 50) * 1000) ok++
          c.destroy()
        }
        parentPort.postMessage(ok)
        server.close()
      })`
    const run = (sockets: number, terminateAfterMs?: number) =>
      new Promise<number | 'terminated'>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { sockets } })
        w.once('message', resolve).once('error', reject)
        if (terminateAfterMs !== undefined) setTimeout(() => void w.terminate().then(() => resolve('terminated')), terminateAfterMs)
      })
    const results = await Promise.all([run(1000), run(1000), run(100_000, 300), run(100_000, 500)])
    expect(results).toEqual([1000, 1000, 'terminated', 'terminated'])
    // The main thread's copy still works after workers unloaded theirs.
    const p = await tcpPair()
    setKeepAlive(p.client, { idle: 2000 })
    expect(getKeepAlive(p.client).idle).toBe(2000)
    p.close()
  })
})
