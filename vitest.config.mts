import { relative } from 'node:path'
import { defineConfig } from 'vitest/config'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

// Three tiers, each on its own by `npm run test:unit|test:kernel|test:e2e`.
// `npm test` runs the kernel tier alone, one file at a time (its observers
// read kernel-wide views), and unit beside e2e, four files at a time:
// unit touches nothing kernel-wide, and e2e files own what they observe (their
// own namespaces, ports, pids and fds), spending most of their time waiting on
// kernel timers and child processes rather than on the two cores.
// Vitest runs projects side by side only within one groupOrder and with one
// maxWorkers for the whole group, so unit and e2e share both; a project with
// fileParallelism false and groupOrder 0 (kernel) gets a group of its own.
//   unit    in-process: pure modules and round trips through the public API;
//           no child process, no root, no outside observer; any OS.
//   kernel  loopback sockets read back by observers outside this process
//           (getsockopt on a pidfd_getfd copy, ss, strace), child processes.
//   e2e     root, network namespaces, real databases, other runtimes.
const E2E_WORKERS = 4

// Longest files first within each group, so that the slow e2e files start
// while the short ones fill the other workers and no long file is left to
// run alone at the end. Vitest orders by the durations it cached on the last
// run; a clean clone (CI) has none and would order by file size, so the
// durations measured here stand in until the first run records its own.

/** Seconds per file, measured alone on two cores; only the order matters. */
const MEASURED: Record<string, number> = {
  'test/e2e/test-runners.test.ts': 37,
  'test/e2e/clients-runtimes.test.ts': 29,
  'test/e2e/package-managers.test.ts': 19,
  'test/e2e/lab.test.ts': 15,
  'test/e2e/hooks-lifecycle.test.ts': 12,
  'test/e2e/user-timeout.test.ts': 9,
  'test/e2e/tcpinfo-lab.test.ts': 7,
  'test/unit/portable.test.ts': 7,
  'test/e2e/bundlers.test.ts': 6,
  'test/e2e/clients.test.ts': 6,
  'test/e2e/runtimes.test.ts': 5,
  'test/e2e/timeout-event.test.ts': 5,
}

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const seconds = (spec: TestSpecification): number => {
      const path = relative(spec.project.config.root, spec.moduleId)
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`)
      return cached ? cached.duration / 1000 : (MEASURED[path] ?? 0)
    }
    const group = (spec: TestSpecification): number => spec.project.config.sequence.groupOrder
    // Stable: files of equal weight keep the order vitest chose.
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => group(a.spec) - group(b.spec) || seconds(b.spec) - seconds(a.spec) || a.i - b.i)
      .map(({ spec }) => spec)
  }
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Nothing here touches kernel-wide state, so files share the cores,
          // and the tier runs beside the e2e tier.
          pool: 'threads',
          maxWorkers: E2E_WORKERS,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          // Kernel-wide views (ss, /proc/net/tcp) and child processes: one
          // file at a time, each in its own process.
          pool: 'forks',
          fileParallelism: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          maxWorkers: E2E_WORKERS,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
