// The addon where it loaded, else Node's own setKeepAlive: chosen once, at the
// first use rather than at import, so that importing the package loads no
// addon (its dlopen is most of an import's cost). The bundled-copy check
// still runs at import: a bundle must stop before it runs anything.
import path = require('node:path')
import { stopIfBundled } from '../bundled'
import type * as Fallback from './fallback'
import type * as Native from './native'
import type { Backend, BackendCapabilities } from './types'
import type { InternalSocket } from '../socket'
import type { Normalized } from '../values'

stopIfBundled(path.join(__dirname, '..', '..', '..'))

let chosen: Backend | undefined
function choose(): Backend {
  const { native, nativeReason } = require('./native') as typeof Native
  return (chosen = native ?? (require('./fallback') as typeof Fallback).createFallback(nativeReason))
}

export const backend: Backend = Object.freeze({
  get capabilities(): BackendCapabilities {
    return (chosen ?? choose()).capabilities
  },
  ready: (socket: InternalSocket) => (chosen ?? choose()).ready(socket),
  set: (socket: InternalSocket, options: Normalized) => (chosen ?? choose()).set(socket, options),
  get: (socket: InternalSocket) => (chosen ?? choose()).get(socket),
  tcpInfo: (socket: InternalSocket) => (chosen ?? choose()).tcpInfo(socket),
  readAll: (sockets: readonly InternalSocket[]) => (chosen ?? choose()).readAll(sockets),
  inspect: (pid: number) => (chosen ?? choose()).inspect(pid),
})
export type { Backend, BackendCapabilities, DiagRow, ProcessReader, SocketReading, TakeOrder, Taken } from './types'
