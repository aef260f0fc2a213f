import { join } from 'node:path'

/** The checkout: its dist/, package.json and node_modules/ are what the tests load. */
export const root = join(__dirname, '..', '..')
/** Verification code shared by the tests and the CI stages (lab, client runner, fuzzer, stressors). */
export const harness = join(root, 'test', 'harness')
