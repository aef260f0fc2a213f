// Two copies of the package in one process coordinate through one
// process-wide record: each socket is configured once, the newest install()
// from either copy wins, an old handle never removes a newer install, and
// alternating installs leave nothing behind.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { packageCopy } from '../helpers/copies'

const dir = mkdtempSync(join(tmpdir(), 'tka-copies-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const copy = (name: string): string => packageCopy(dir, name)

it('two copies: one configuration per socket, newest install wins, old handles inert, no leak', () => {
  const a = copy('app')
  const b = copy('lib')
  // Without the prebuild override: each copy loads its own build/Release.
  const { TCP_KEEPALIVE_PREBUILD: _override, ...env } = process.env
  const out = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', join(__dirname, '..', 'fixtures', 'two-copies.cjs'), a, b], { encoding: 'utf8', env, timeout: 60_000 }),
  ) as Record<string, unknown>
  expect(out.distinct).toBe(true)
  const on = (idle: number) => ({ enabled: true, idle, states: 1 })
  expect(out.newestWins).toMatchObject([on(5000), on(5000)])
  expect(out.afterOldUninstall).toMatchObject(on(5000))
  expect(out.backToA).toMatchObject(on(7000))
  expect(out.afterOtherOldUninstall).toMatchObject(on(7000))
  expect(out.afterPoolRelease).toMatchObject({ enabled: true, idle: 7000 })
  expect(out.afterAll).toMatchObject({ enabled: false })
  expect(out.subscribersAfter).toEqual([])
  expect(out.connectRestored).toBe(true)
  expect(out.subscribersAfterCycles).toEqual([])
  expect(out.connectRestoredAfterCycles).toBe(true)
  expect(out.heapGrowthKB).toBeLessThan(2048)
  expect(out.afterCycles).toMatchObject(on(6000))
})
