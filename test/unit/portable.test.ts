// The portable checks, defined once in test/harness/platforms/checks.mjs: the same
// definitions the plain runner executes under Wine, QEMU and Node 18.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checks, openFixtures } from '../harness/platforms/checks.mjs'
import * as lib from '../lib'

type Fixtures = Awaited<ReturnType<typeof openFixtures>>
let fx: Fixtures
beforeAll(async () => {
  fx = await openFixtures()
})
afterAll(() => fx.close())

describe('portable checks', () => {
  it.each(checks)('%s', async (_name, run) => {
    const failed: string[] = []
    await run({ lib, fx, check: (label: string, ok: boolean, detail = '') => void (ok || failed.push(`${label} ${detail}`)), say: () => {} })
    expect(failed).toEqual([])
  })
})
