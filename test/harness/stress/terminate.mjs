// Worker.terminate() at random points, as worker pools and test runners do:
// while a worker is loading the addon, and while it is inside native calls
// that fail (each one throws). Terminating a worker must end that worker
// only; the process must stay alive and say so at the end.
//
//   node test/harness/stress/terminate.mjs [--workers N] [--parallel P] [--pkg DIR]
//   (N per phase, default 400; P at a time, default 8)
// Exit 0: every worker ended and this process survived to count them.
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

const args = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}
const workers = Number(arg('--workers', 400))
const parallel = Number(arg('--parallel', 8))
const pkg = resolve(arg('--pkg', join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')))
createRequire(join(pkg, 'package.json'))(pkg) // the addon must load here first, or the run proves nothing

// Phase "load": the package (and so the addon's init) is required at once,
// and the worker is terminated somewhere inside or around it.
const loadCode = `
const { workerData } = require('node:worker_threads')
require(workerData.pkg)
`
// Phase "calls": the raw binding (as the package's own calls reach it) and
// the public API both fail in a loop: an fd that is not open (EBADF thrown
// from the addon) and a target the addon refuses before any syscall.
const callCode = `
const { workerData, parentPort } = require('node:worker_threads')
const net = require('node:net')
const binding = require(workerData.nodeGypBuild)(workerData.pkg)
const { setKeepAlive } = require(workerData.pkg)
const closed = new net.Socket()
parentPort.postMessage('ready')
for (let i = 0; ; i++) {
  try { binding.slots[2] = 1000; binding.set(0x7ffffff0) } catch {}
  try { binding.set('nope') } catch {}
  try { binding.get(0x7ffffff0) } catch {}
  try { setKeepAlive(closed, { idle: 1000 }) } catch {}
}
`

const nodeGypBuild = createRequire(join(pkg, 'package.json')).resolve('node-gyp-build')

async function one(phase) {
  const worker = new Worker(phase === 'load' ? loadCode : callCode, { eval: true, workerData: { pkg, nodeGypBuild } })
  worker.on('error', () => {})
  let stop
  if (phase === 'load') {
    // Spread over the load: from before the script runs to after init.
    await new Promise((r) => setTimeout(r, Math.random() * 40))
  } else {
    await new Promise((r) => {
      worker.once('message', r)
      worker.once('exit', r)
    })
    stop = Math.random() * 10
    await new Promise((r) => setTimeout(r, stop))
  }
  const code = await worker.terminate()
  return code
}

const started = process.hrtime.bigint()
const counts = {}
for (const phase of ['load', 'calls']) {
  let done = 0
  let exited = 0
  const next = async () => {
    while (done < workers) {
      done++
      const code = await one(phase)
      if (code !== undefined) exited++
    }
  }
  await Promise.all(Array.from({ length: parallel }, next))
  counts[phase] = exited
}
const ms = Number(process.hrtime.bigint() - started) / 1e6
console.log(
  `terminate: ${counts.load} workers terminated during load, ${counts.calls} during failing native calls, ` +
    `${parallel} at a time, ${Math.round(ms)} ms; process alive`,
)
