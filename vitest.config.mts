import { defineConfig } from 'vitest/config'

// Three tiers, each on its own by `npm run test:unit|test:kernel|test:e2e`.
// `npm test` runs the kernel tier alone, one file at a time (its observers
// read kernel-wide views), and unit beside e2e, three files at a time:
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
const E2E_WORKERS = 3

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
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
