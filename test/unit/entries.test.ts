// The package's ESM and CJS entries, loaded in this process.
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

const load = createRequire(__filename)

describe('entries', () => {
  it('the default import carries every named export, the same functions', async () => {
    const esm = (await import('../../dist/esm/index.mjs')) as Record<string, unknown> & { default: Record<string, unknown> }
    const named = Object.keys(esm).filter((k) => k !== 'default').sort()
    expect(Object.keys(esm.default).sort()).toEqual(named)
    for (const k of named) expect(esm.default[k]).toBe(esm[k])
    const cjs = load('../../dist/cjs/index.js') as { default: unknown; install: unknown }
    expect(cjs.default).toBe(esm.default)
  })
})
