// The crossing into the addon: values go through the shared slots, failures
// come back as raw facts and leave as the public errors.
import type { NativeBinding } from './binding'
import { makeError, systemError } from './errors'
import { dropTimeError, type Normalized } from './options'
import type { Target } from './socket'

function translate(err: unknown): Error {
  const e = err as { uvCode?: unknown; syscall?: unknown; option?: unknown }
  if (typeof e?.uvCode !== 'number') return err as Error
  if (e.uvCode === 1) return makeError(Error, 'ERR_TCP_KEEPALIVE_NOT_TCP', 'The socket is not an IPv4/IPv6 TCP socket')
  if (e.uvCode === 2) return makeError(Error, 'ERR_TCP_KEEPALIVE_SOCKET_NOT_FOUND', 'No TCP handle of this event loop matches the socket\'s endpoints')
  if (e.uvCode === 3) return dropTimeError('with the socket\'s current values for the options not given')
  if (e.uvCode === 5) return makeError(Error, 'ERR_TCP_KEEPALIVE_UNSUPPORTED', 'This Windows (before 10 1709) cannot read a socket\'s idle time, so "interval" must be given together with "idle"')
  return systemError(e.uvCode, String(e.syscall), String(e.option))
}

export function applyNative(binding: NativeBinding, target: Target, verify: boolean, n: Normalized): void {
  const slots = binding.slots
  slots[0] = verify ? 1 : 0
  slots[1] = n.enable
  slots[2] = n.idle
  slots[3] = n.interval
  slots[4] = n.count
  slots[5] = n.userTimeout
  try {
    binding.set(target)
  } catch (err) {
    throw translate(err)
  }
}

/** Fills slots[1..5] with what the kernel holds for `target`. */
export function readNative(binding: NativeBinding, target: Target, verify: boolean): Float64Array {
  const slots = binding.slots
  slots[0] = verify ? 1 : 0
  try {
    binding.get(target)
  } catch (err) {
    throw translate(err)
  }
  return slots
}

/** TCP_INFO of `target` in the order of tcpinfo.ts's FIELDS; -1 = unknown. */
export function readTcpInfoNative(binding: NativeBinding, target: Target, verify: boolean): Float64Array {
  try {
    return binding.tcpInfo(target, verify)
  } catch (err) {
    throw translate(err)
  }
}
