// npm test must say why it skipped what it skipped: runtime tests skip when
// the other runtimes were not fetched, and a count alone reads like a pass.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const root = join(__dirname, '..', '..')

it('without the runtimes cache, the closing summary says the runtimes were not fetched and how to fetch them', () => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/e2e/runtimes.test.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TCP_KEEPALIVE_CACHE: join(root, 'no-such-cache'), CI: 'true', NO_COLOR: '1' },
    timeout: 120_000,
  })
  const out = r.stdout
  expect(out).toMatch(/\d+ runtime tests: the other runtimes \(Node 18-26, Bun, Deno\) were not fetched; run bash test\/harness\/platforms\/fetch-runtimes\.sh/)
  expect(out).toMatch(/- test\/e2e\/runtimes\.test\.ts > .*Node 18: not run, no binary in .*no-such-cache/)
  expect(out).toMatch(/\n0 passed, 0 failed, \d+ skipped/)
})
