// When the addon really is unusable, capabilities.reason says what is wrong
// with it rather than a guess. A real native module of another package (one of
// the test runners' own, from node_modules) stands in for ours in a copy of the
// package: it loads, and exports none of what ours does.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { packageCopy } from '../helpers/copies'
import { root } from '../helpers/paths'

const dir = mkdtempSync(join(tmpdir(), 'tka-reason-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function foreignAddon(): string | null {
  const scope = join(root, 'node_modules', '@parcel')
  if (!existsSync(scope)) return null
  for (const d of readdirSync(scope)) {
    const file = join(scope, d, 'watcher.node')
    if (d.startsWith('watcher-') && existsSync(file)) return file
  }
  return null
}
const foreign = foreignAddon()

if (foreign === null) it.skip('another native module in place of ours: not run, no @parcel/watcher binary for this platform in node_modules', () => {})
else it('another native module in place of ours: native false, and the reason names the file and what its exports lack', () => {
  const pkg = packageCopy(dir, 'app')
  cpSync(foreign, join(pkg, 'build', 'Release', 'tcp_keepalive.node'))
  const { TCP_KEEPALIVE_PREBUILD: _override, ...env } = process.env
  const out = JSON.parse(
    execFileSync(process.execPath, ['-p', `JSON.stringify((({ native, reason }) => ({ native, reason }))(require(${JSON.stringify(pkg)}).capabilities))`], { encoding: 'utf8', env }),
  ) as { native: boolean; reason: string }
  expect(out.native).toBe(false)
  expect(out.reason).toBe(
    `the native addon (${join('build', 'Release', 'tcp_keepalive.node')}) exports no set(), get(), readMany(), slots (a Float64Array), capabilities: not this version's addon, or its initialisation gave up (its environment went away mid-load)`,
  )
})
