// The plain runner of the portable checks (checks.mjs), for platforms and
// Node lines where vitest does not run (Windows Node under Wine, arm64 Node
// under QEMU, Node 18). Output goes through fs.writeSync(1): under Wine
// stdout is a file.
//
// node test/harness/platforms/subset.mjs [--pkg DIR] [--expect-native] [--hold SECONDS]
import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checks, openFixtures, portableOptions } from './checks.mjs'

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback)
const pkgDir = resolve(value('--pkg', join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')))
const hold = Number(value('--hold', '0'))

const say = (line) => writeSync(1, `${line}\n`)
let passed = 0
let failed = 0
function check(name, ok, detail = '') {
  if (ok) passed++
  else failed++
  say(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`)
}

const lib = createRequire(import.meta.url)(join(pkgDir, 'dist', 'cjs', 'index.js'))
const { setKeepAlive, capabilities } = lib
say(`# node ${process.version} ${process.platform}-${process.arch}`)
say(`# capabilities ${JSON.stringify(capabilities)}`)
if (flag('--expect-native')) check('native addon loaded', capabilities.native === true, capabilities.reason ?? '')

const fx = await openFixtures()
for (const [name, run] of checks) {
  try {
    await run({ lib, fx, check, say })
  } catch (err) {
    check(name, false, `threw ${err?.stack ?? err}`)
  }
}

if (hold > 0) {
  const want = portableOptions(capabilities)
  // The kernel counts idle from the last segment received: one byte from the
  // peer now, so the timer the outside check reads starts at the full idle
  // however long the checks above took (seconds under emulation).
  fx.peer.write('x')
  await new Promise((r) => fx.client.once('data', r))
  setKeepAlive(fx.client, want)
  say(`HOLD local=${fx.client.localPort} remote=${fx.client.remotePort} idle=${want.idle} interval=${want.interval} pid=${process.pid}`)
  await new Promise((r) => setTimeout(r, hold * 1000))
}
fx.close()
say(`${passed} passed, ${failed} failed`)
process.exitCode = failed ? 1 : 0
