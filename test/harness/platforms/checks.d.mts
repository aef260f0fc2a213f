// Types of checks.mjs for test/unit/portable.test.ts (subset.mjs runs it as plain JS).
import type { Server, Socket } from 'node:net'

export interface Fixtures {
  server: Server
  client: Socket
  peer: Socket
  close(): void
}

export interface CheckContext {
  /** The package under test: its public exports. */
  lib: Record<string, unknown>
  fx: Fixtures
  check(label: string, ok: boolean, detail?: string): void
  say(line: string): void
}

export function openFixtures(): Promise<Fixtures>
export function portableOptions(capabilities: Record<string, unknown>): Record<string, number>
export const checks: Array<[name: string, run: (context: CheckContext) => Promise<void>]>
