import type net = require('node:net')
import { getSystemErrorMap, inspect } from 'node:util'

/** Every `code` this package puts on an error it throws or reports. */
export type KeepAliveErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_SOCKET_CLOSED'
  | 'ERR_TCP_KEEPALIVE_NOT_TCP'
  | 'ERR_TCP_KEEPALIVE_NOT_CONNECTED'
  | 'ERR_TCP_KEEPALIVE_SOCKET_NOT_FOUND'
  | 'ERR_TCP_KEEPALIVE_UNSUPPORTED'
  | 'ERR_TCP_KEEPALIVE_UNDICI_MISSING'
  | 'ERR_TCP_KEEPALIVE_OPENTELEMETRY_MISSING'
  | 'ERR_TCP_KEEPALIVE_RUNTIME_UNSUPPORTED'
  | 'ERR_TCP_KEEPALIVE_REGISTRY'

/** An OS call failed: `code` is the errno name (`EINVAL`), as on Node's own system errors. */
export interface KeepAliveSystemError extends Error {
  code: string
  /** Negative libuv error number, as Node's `err.errno`. */
  errno: number
  syscall: string
  /** The socket option being set or read, e.g. `TCP_KEEPCNT`. */
  option: string
}

export type KeepAliveError = (TypeError | RangeError | Error) & { code: KeepAliveErrorCode }

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error

export function makeError(Base: ErrorClass, code: KeepAliveErrorCode, message: string): KeepAliveError {
  const err = new Base(message) as KeepAliveError
  err.code = code
  return err
}

function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return `Received ${String(value)}`
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name
    return name ? `Received an instance of ${name}` : `Received ${inspect(value, { depth: 0 })}`
  }
  const shown = inspect(value).slice(0, 28)
  return `Received type ${typeof value} (${shown})`
}

/** The macOS/FreeBSD rule idle + count x interval <= limits.dropTime.max (`max` ms on `platform`), broken. */
export function dropTimeRuleError(max: number, platform: string, detail: string): KeepAliveError {
  return makeError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The values of "idle", "interval" and "count" are out of range together. idle + count x interval (each time rounded up to whole seconds) must be <= ${max} ms on ${platform}, ${detail}`,
  )
}

export function invalidType(name: string, expected: string, value: unknown): KeepAliveError {
  return makeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" ${name.includes(".") ? "property" : "argument"} must be ${expected}. ${describeReceived(value)}`)
}

export function systemError(uvCode: number, syscall: string, option: string): KeepAliveSystemError {
  const [name, text] = getSystemErrorMap().get(uvCode) ?? [`Unknown system error ${uvCode}`, 'unknown error']
  const what = option ? `${syscall} ${option}` : syscall
  const err = new Error(`${what} failed: ${name} (${text})`) as KeepAliveSystemError
  err.code = name
  err.errno = uvCode
  err.syscall = syscall
  err.option = option
  return err
}

/** Receives a failure nobody can catch (a deferred or automatic apply). */
export type ErrorSink = (err: Error, socket: net.Socket) => void

const warned = new Set<string>()

/** Default sink for failures that happen where nobody can catch them (deferred or automatic configuration). */
export function reportError(err: Error, onError?: ErrorSink, socket?: net.Socket): void {
  if (onError && socket) {
    onError(err, socket)
    return
  }
  const code = (err as { code?: unknown }).code
  // Per code; an error without one (a chooser's own throw) is its own slot, by message.
  const key = typeof code === 'string' ? code : `${err.name}: ${err.message}`
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(`tcp-keepalive could not configure a socket: ${err.message}`, { type: 'TcpKeepAliveWarning', code: typeof code === 'string' ? code : 'UNKNOWN' })
}
