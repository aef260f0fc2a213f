// The inspector's failures, in words fit for a terminal.
import { readFileSync } from 'node:fs'

/** Why inspecting failed; `code` is an errno name or ours. */
export interface InspectError extends Error {
  code: string
}

export function fail(code: string, message: string): InspectError {
  const err = new Error(message) as InspectError
  err.code = code
  return err
}

function yamaScope(): number | null {
  try {
    return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim())
  } catch {
    return null
  }
}

function status(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
}

export function permissionError(pid: number, what: string): InspectError {
  const m = /^Uid:\s+(\d+)/m.exec(status(pid) ?? '')
  const owner = m ? Number(m[1]) : null
  const me = process.getuid?.() ?? null
  const whose = owner !== null && me !== null && owner !== me ? `it belongs to uid ${owner}, this is uid ${me}; ` : ''
  const scope = yamaScope()
  const yama =
    scope === null || scope === 0
      ? ''
      : scope === 1
        ? ', and Yama (kernel.yama.ptrace_scope = 1) lets only a parent process trace without it'
        : scope === 2
          ? ', and Yama (kernel.yama.ptrace_scope = 2) requires it'
          : ', but Yama (kernel.yama.ptrace_scope = 3) forbids tracing to everyone until reboot'
  return fail('EPERM', `not permitted to read the sockets of process ${pid} (${what}): ${whose}this needs the right to ptrace it, CAP_SYS_PTRACE (e.g. run with sudo) or the same user${yama}`)
}

export function procError(pid: number, err: unknown): InspectError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ESRCH') return fail('ESRCH', `no such process: ${pid}`)
  if (code === 'EACCES' || code === 'EPERM') return permissionError(pid, `reading /proc/${pid}/fd: ${code}`)
  return fail(code ?? 'UNKNOWN', `cannot read /proc/${pid}: ${(err as Error).message}`)
}

/**
 * /proc/TID exists (unlisted) for every thread, so a thread id reads like a
 * process; pidfd_open then refuses it. Say what was given instead.
 */
export function threadCheck(pid: number): void {
  const text = status(pid)
  if (text === null) throw fail('ESRCH', `no such process: ${pid}`)
  const tgid = /^Tgid:\s+(\d+)/m.exec(text)?.[1]
  if (tgid !== undefined && Number(tgid) !== pid) {
    throw fail('ERR_TCP_KEEPALIVE_THREAD', `${pid} is a thread of process ${tgid}, not a process; its sockets are the process's: tcp-keepalive inspect ${tgid}`)
  }
}
