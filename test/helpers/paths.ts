import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The checkout: its dist/, package.json and node_modules/ are what the tests load. */
export const root = join(__dirname, '..', '..')
/** Verification code shared by the tests and the CI stages (lab, client runner, fuzzer, stressors). */
export const harness = join(root, 'test', 'harness')

/**
 * Writes `source` as child.cjs in a new temporary directory, hands its path
 * (and the directory, for other files) to `use`, and removes the directory
 * afterwards: a child process for a test that must watch one from outside.
 */
export function withChildScript<T>(prefix: string, source: string, use: (script: string, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  try {
    const script = join(dir, 'child.cjs')
    writeFileSync(script, source)
    return use(script, dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
