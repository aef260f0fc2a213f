import { defineConfig } from 'vitest/config'

// Three tiers, each on its own by `npm run test:unit|test:kernel|test:e2e`.
// `npm test` runs unit beside kernel (unit touches nothing kernel-wide), then
// e2e alone (groupOrder):
//   unit    in-process: pure modules and round trips through the public API;
//           no child process, no root, no outside observer; any OS.
//   kernel  loopback sockets read back by observers outside this process
//           (getsockopt on a pidfd_getfd copy, ss, strace), child processes.
//   e2e     root, network namespaces, real databases, other runtimes.
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
          // and the tier runs beside the kernel tier.
          pool: 'threads',
          sequence: { groupOrder: 0 },
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
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
