// Types of model.mjs for the type-matrix test (the fuzzer runs it as plain JS).
export type Numeric = 'idle' | 'interval' | 'count' | 'userTimeout'
export type Limits = Readonly<Record<Numeric, { min: number; max: number }>>

export const LINUX_LIMITS: Limits
export const NUMERIC: Numeric[]

/** A sentinel a hostile getter or Proxy trap throws; it must reach the caller unchanged. */
export class Planted extends Error {}

export type SocketKind = 'tcp' | 'not-a-socket' | 'destroyed' | 'unix' | 'forged-file' | 'pending' | (string & {})

/** { error: code, says? } | { error: the thrown value } | { set: the kernel values to expect } */
export interface Expected {
  error?: unknown
  says?: string[]
  set?: Partial<Record<Numeric | 'enabled', number | boolean>>
}

export function expectSet(socketKind: SocketKind, options: unknown, limits?: Limits): Expected
export function validate(options: unknown, limits?: Limits): Expected
export function expectGet(socketKind: SocketKind): { error: string } | { read: true }
/** A description of how `thrown` differs from `expected`, or null. */
export function mismatch(expected: Expected, thrown: unknown): string | null
