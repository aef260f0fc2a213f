// The documented contract of setKeepAlive/getKeepAlive on Linux, written
// from the README and the kernel's limits, not from src/: the fuzzer and the
// type-matrix test compare the library against this, so it must not share
// code with what it checks.

// include/net/tcp.h: MAX_TCP_KEEPIDLE = MAX_TCP_KEEPINTVL = 32767 s,
// MAX_TCP_KEEPCNT = 127; TCP_USER_TIMEOUT takes a non-negative int of ms.
export const LINUX_LIMITS = Object.freeze({
  idle: { min: 1, max: 32767 * 1000 },
  interval: { min: 1, max: 32767 * 1000 },
  count: { min: 1, max: 127 },
  userTimeout: { min: 0, max: 2 ** 31 - 1 },
})

export const NUMERIC = ['idle', 'interval', 'count', 'userTimeout']
const KNOWN = new Set(['enable', ...NUMERIC])

/** A sentinel a hostile getter or Proxy trap throws; it must reach the caller unchanged. */
export class Planted extends Error {}

/**
 * What setKeepAlive(socket, options) must do, given how the socket argument
 * is classified. Returns { error: code } | { error: Planted } | { set: {...} }
 * where set holds the kernel values to expect (ms, rounded as documented).
 * Reading order matters for hostile getters: keys, then enable, idle,
 * interval, count, userTimeout, each read once.
 */
export function expectSet(socketKind, options, limits = LINUX_LIMITS) {
  if (socketKind === 'not-a-socket') return { error: 'ERR_INVALID_ARG_TYPE' }
  if (socketKind === 'destroyed') return { error: 'ERR_SOCKET_CLOSED' }
  const v = validate(options, limits)
  if (v.error) return v
  if (socketKind === 'unix') return { error: 'ERR_TCP_KEEPALIVE_NOT_TCP' }
  // An object built on net.Socket.prototype whose handle names a file's fd:
  // the addon's own type check must refuse it before any setsockopt.
  if (socketKind === 'forged-file') return { error: 'ENOTSOCK' }
  return v
}

export function validate(options, limits = LINUX_LIMITS) {
  if (options === undefined) return { set: { enabled: true } }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return { error: 'ERR_INVALID_ARG_TYPE' }
  let keys
  try {
    keys = Object.keys(options)
  } catch (err) {
    return { error: err }
  }
  const unknown = keys.find((k) => !KNOWN.has(k))
  if (unknown !== undefined) return { error: 'ERR_INVALID_ARG_VALUE', says: [`"options.${unknown}"`] }
  const set = {}
  try {
    const enable = options.enable
    if (enable !== undefined && typeof enable !== 'boolean') return { error: 'ERR_INVALID_ARG_TYPE', says: ['"options.enable"'] }
    set.enabled = enable !== false
    for (const key of NUMERIC) {
      const value = options[key]
      if (value === undefined) continue
      if (typeof value !== 'number') return { error: 'ERR_INVALID_ARG_TYPE', says: [`"options.${key}"`] }
      const { min, max } = limits[key]
      if (!Number.isInteger(value) || value < min || value > max) {
        return { error: 'ERR_OUT_OF_RANGE', says: [`"options.${key}"`, `>= ${min} && <= ${max}`] }
      }
      set[key] = key === 'idle' || key === 'interval' ? Math.ceil(value / 1000) * 1000 : value === 0 ? 0 : value
    }
  } catch (err) {
    return { error: err }
  }
  return { set }
}

/** What getKeepAlive(socket) must do for a socket state. */
export function expectGet(socketKind) {
  if (socketKind === 'not-a-socket') return { error: 'ERR_INVALID_ARG_TYPE' }
  if (socketKind === 'destroyed') return { error: 'ERR_SOCKET_CLOSED' }
  if (socketKind === 'unix') return { error: 'ERR_TCP_KEEPALIVE_NOT_TCP' }
  if (socketKind === 'forged-file') return { error: 'ENOTSOCK' }
  if (socketKind === 'pending') return { error: 'ERR_TCP_KEEPALIVE_NOT_CONNECTED' }
  return { read: true }
}

/** Checks an outcome against the model; returns a description of the mismatch or null. */
export function mismatch(expected, thrown) {
  if (expected.error instanceof Planted) return thrown instanceof Planted ? null : `expected the planted error to propagate, got ${describe(thrown)}`
  if (typeof expected.error === 'string') {
    if (thrown === undefined) return `expected ${expected.error}, nothing was thrown`
    if (!(thrown instanceof Error) || thrown.code !== expected.error) return `expected ${expected.error}, got ${describe(thrown)}`
    const missing = (expected.says ?? []).find((text) => !thrown.message.includes(text))
    return missing === undefined ? null : `the message of ${expected.error} does not say ${missing}: ${thrown.message}`
  }
  return thrown === undefined ? null : `expected success, got ${describe(thrown)}`
}

function describe(err) {
  return err instanceof Error ? `${err.constructor.name} ${err.code ?? ''}: ${err.message}` : String(err)
}
