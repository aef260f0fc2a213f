// Installs stack, from any copy of the package: a dependency that calls
// install() and later uninstall() gives back the operator's preload instead of
// removing it. Judged by the kernel's view of a new connection after each step.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { packageCopy } from '../helpers/copies'
import { notRun, sockoptObserver } from '../helpers/kernel'

const root = join(__dirname, '..', '..')
interface View {
  enabled: boolean
  idle: number
}
const dir = mkdtempSync(join(tmpdir(), 'tka-stack-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it.skipIf(process.platform === 'win32')("a dependency's install() and uninstall() leave the preload's options in place (two copies)", () => {
  const app = packageCopy(dir, 'app')
  const lib = packageCopy(join(dir, 'app', 'node_modules', 'some-dependency'), 'nested')
  const { TCP_KEEPALIVE_PREBUILD: _override, ...env } = process.env
  const text = execFileSync(
    process.execPath,
    ['-r', join(app, 'dist', 'cjs', 'register.js'), join(root, 'test', 'harness', 'stack.cjs'), lib, join(root, 'test', 'harness', 'observe', 'peek_sockopt.py')],
    { encoding: 'utf8', env: { ...env, TCP_KEEPALIVE: 'idle=45s,spread=false' }, timeout: 60_000 },
  )
  const out = JSON.parse(text) as Record<string, { api: View; kernel: View | null }>
  const on = (idle: number): View => ({ enabled: true, idle })
  const expected = {
    preload: on(45000),
    dependency: on(20000),
    afterDependencyUninstall: on(45000),
    middleUndone: on(25000),
    allDependencyUndone: on(45000),
    undoneTwice: on(45000),
  }
  expect(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.api]))).toEqual(expected)
  if (!sockoptObserver.available) notRun(sockoptObserver)
  else expect(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.kernel]))).toEqual(expected)
})
