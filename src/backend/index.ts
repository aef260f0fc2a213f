// The addon where it loaded, else Node's own setKeepAlive: chosen once, here.
// The fallback's module loads only when it is the one chosen.
import type * as Fallback from './fallback'
import { native, nativeReason } from './native'
import type { Backend } from './types'

export const backend: Backend = native ?? (require('./fallback') as typeof Fallback).createFallback(nativeReason)
export type { Backend, BackendCapabilities, DiagRow, ProcessReader, TakeOrder, Taken } from './types'
