// The network-namespace lab (test/harness/lab) as the e2e lab suites use it.
import { afterAll, beforeAll } from 'vitest'
import { createLab, labUnavailable, startServer, type Lab, type LabServer } from '../harness/lab/lab.mjs'

/** Why the lab cannot run here (said once on the console), or null. */
export function labSkipReason(): string | null {
  const why = labUnavailable()
  if (why) console.log(`e2e lab skipped: ${why}`)
  return why
}

/**
 * A lab with its HTTP server for the tests of the calling describe block,
 * torn down after them. The middlebox's own idle limit is kept out of the way
 * (60 s): only the test's black hole removes the peer. The fields are set
 * once the block's tests run.
 */
export function blackholeLab(): { lab: Lab; server: LabServer } {
  const ctx = {} as { lab: Lab; server: LabServer }
  beforeAll(async () => {
    ctx.lab = createLab({ idleTimeout: 60 })
    ctx.server = await startServer(ctx.lab)
  })
  afterAll(() => {
    ctx.server?.stop()
    ctx.lab?.destroy()
  })
  return ctx
}
