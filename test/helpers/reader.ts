// One long-lived outside reader per test file: `peek_sockopt.py --serve`,
// a separate process that borrows a socket with pidfd_getfd and asks the
// kernel with getsockopt, so it never runs tcp-keepalive's code. Starting
// python costs a few hundred milliseconds; starting it once per file instead
// of once per read is what keeps the kernel tier fast.
//
// Tests read synchronously (`expect(peek(fd)).toMatchObject(...)` right after
// a call), so the reader is driven from a worker thread and this thread
// blocks on an Atomics.wait until the answer line is in.
import { join } from 'node:path'
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'

export const PEEK = join(__dirname, '..', 'harness', 'observe', 'peek_sockopt.py')

/** How long one read may take before the reader is declared stuck. */
const READ_TIMEOUT_MS = 20_000

// Plain CommonJS: a worker started from a string is not transformed by vitest.
const WORKER = `
const { spawn } = require('node:child_process')
const { workerData, parentPort } = require('node:worker_threads')
const { signal, port, script } = workerData
function answer(line) {
  port.postMessage(line)
  Atomics.store(signal, 0, 1)
  Atomics.notify(signal, 0)
}
const reader = spawn('python3', [script, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] })
let pending = ''
let stderr = ''
let done = false
reader.stdout.setEncoding('utf8')
reader.stdout.on('data', (chunk) => {
  pending += chunk
  let i
  while ((i = pending.indexOf('\\n')) >= 0) {
    answer(pending.slice(0, i))
    pending = pending.slice(i + 1)
  }
})
reader.stderr.on('data', (chunk) => (stderr += chunk))
const gone = (why) => {
  if (done) return
  done = true
  answer(JSON.stringify({ gone: why + (stderr ? ': ' + stderr.trim() : '') }))
}
reader.on('error', (err) => gone('cannot start python3 (' + err.code + ')'))
reader.on('exit', (code, sig) => gone('peek_sockopt.py exited (' + (sig || code) + ')'))
parentPort.on('message', (line) => {
  if (done) answer(JSON.stringify({ gone: 'peek_sockopt.py is not running' }))
  else reader.stdin.write(line + '\\n')
})
`

export type ReaderAnswer =
  | { ready: true }
  | { gone: string }
  | { error: string; errno: number }
  | Record<string, unknown>

export interface Reader {
  /** The first line: { ready: true }, or { gone } if python3 is missing or failed. */
  hello: ReaderAnswer
  /** One "PID FD" read; blocks this thread until the answer is in. */
  read(pid: number, fd: number): ReaderAnswer
}

/** Starts the reader and waits for its first line. */
export function startReader(): Reader {
  const signal = new Int32Array(new SharedArrayBuffer(4))
  const { port1, port2 } = new MessageChannel()
  const worker = new Worker(WORKER, { eval: true, workerData: { signal, port: port2, script: PEEK }, transferList: [port2] })
  // The reader lives as long as the test file's process, and never holds it open.
  worker.unref()
  const next = (what: string): ReaderAnswer => {
    if (Atomics.wait(signal, 0, 0, READ_TIMEOUT_MS) === 'timed-out') throw new Error(`peek_sockopt.py: no answer to ${what} in ${READ_TIMEOUT_MS} ms`)
    Atomics.store(signal, 0, 0)
    const got = receiveMessageOnPort(port1)
    if (!got) throw new Error(`peek_sockopt.py: signalled without an answer to ${what}`)
    return JSON.parse(got.message as string) as ReaderAnswer
  }
  const hello = next('start-up')
  return {
    hello,
    read(pid, fd) {
      worker.postMessage(`${pid} ${fd}`)
      return next(`${pid} ${fd}`)
    },
  }
}
