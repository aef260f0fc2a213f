import type { Reporter, TestModule } from 'vitest/node'

// Prints one plain closing line ("N passed, N failed, N skipped") that any
// log reader can parse, whatever vitest's own summary looks like.
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const mod of modules) {
      let failedHere = 0
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failedHere++
        else skipped++
      }
      // A file that failed outside its tests (a hook, an import) counts once.
      failed += mod.state() === 'failed' && failedHere === 0 ? 1 : failedHere
    }
    failed += errors.length
    console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
  }
}
