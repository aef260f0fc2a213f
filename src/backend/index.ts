// The addon where it loaded, else Node's own setKeepAlive: chosen once, here.
import { createFallback } from './fallback'
import { native, nativeReason } from './native'
import type { Backend } from './types'

export const backend: Backend = native ?? createFallback(nativeReason)
export type { Backend, BackendCapabilities, DiagRow, ProcessReader, TakeOrder, Taken } from './types'
