import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

// Prints one plain closing line ("N passed, N failed, N skipped") that any
// log reader can parse, whatever vitest's own summary looks like, preceded by
// every skipped test and why: a test skips by a name that says why (a runtime
// not fetched, an observer missing), and vitest's own summary only counts them.
const SHOWN = 40
const NOT_FETCHED = /not fetched|fetch-runtimes\.sh/

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = 0
    const skipped: string[] = []
    for (const mod of modules) {
      let failedHere = 0
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failedHere++
        else skipped.push(`${relative(process.cwd(), mod.moduleId)} > ${test.fullName}`)
      }
      // A file that failed outside its tests (a hook, an import) counts once.
      failed += mod.state() === 'failed' && failedHere === 0 ? 1 : failedHere
    }
    failed += errors.length
    if (skipped.length > 0) {
      const runtimes = skipped.filter((name) => NOT_FETCHED.test(name)).length
      console.log(`\nskipped, and why:`)
      if (runtimes > 0) console.log(`  ${runtimes} runtime tests: the other runtimes (Node 18-26, Bun, Deno) were not fetched; run bash test/harness/platforms/fetch-runtimes.sh, then npm test`)
      for (const name of skipped.slice(0, SHOWN)) console.log(`  - ${name}`)
      if (skipped.length > SHOWN) console.log(`  ... and ${skipped.length - SHOWN} more`)
    }
    console.log(`\n${passed} passed, ${failed} failed, ${skipped.length} skipped`)
  }
}
