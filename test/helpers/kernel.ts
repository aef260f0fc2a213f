// Independent views of a socket's keepalive state: they never call
// tcp-keepalive, so a bug in our getsockopt path cannot hide a bug in set.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PeekedState {
  enabled: boolean
  idle: number
  interval: number
  count: number
  userTimeout: number
  local: [string, number]
}

/** getsockopt on a duplicate of our fd taken by another process (pidfd_getfd). */
export function peekSockopt(fd: number, pid = process.pid): PeekedState {
  const out = execFileSync('python3', [join(__dirname, 'peek_sockopt.py'), String(pid), String(fd)], { encoding: 'utf8' })
  return JSON.parse(out) as PeekedState
}

/**
 * ss prints timers as `59sec`, `119min`, `476ms` (0.476 s) and, on this
 * iproute2, `6.720ms` meaning 6.72 s. Returns milliseconds.
 */
export function parseSsTimer(text: string): number {
  const m = /^(\d+)(?:\.(\d+))?(ms|sec|min)$/.exec(text)
  if (!m) throw new Error(`unrecognised ss timer: ${text}`)
  const whole = Number(m[1])
  const frac = m[2] ?? ''
  if (m[3] === 'min') return whole * 60_000
  if (m[3] === 'sec') return whole * 1000
  return frac ? whole * 1000 + Number(frac.padEnd(3, '0').slice(0, 3)) : whole
}

export interface SsTimer {
  name: string
  remainingMs: number
  retries: number
}

/** The kernel's timer on the TCP socket bound to local port `port`, per `ss -tno`. */
export function ssTimer(localPort: number, remotePort?: number): SsTimer | null {
  const filter = remotePort === undefined ? `( sport = :${localPort} )` : `( sport = :${localPort} and dport = :${remotePort} )`
  const out = execFileSync('ss', ['-tnoH', 'state', 'established', filter], { encoding: 'utf8' })
  const m = /timer:\((\w+),([^,]+),(\d+)\)/.exec(out)
  if (!m) return null
  return { name: m[1] as string, remainingMs: parseSsTimer(m[2] as string), retries: Number(m[3]) }
}

/** A throwaway self-signed certificate for 127.0.0.1/localhost, made with openssl now. */
export function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tka-cert-'))
  try {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    writeFileSync(join(dir, 'key.pem'), key)
    execFileSync('openssl', [
      'req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' })
    return { key, cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The kernel's keepalive settings of this process's TCP socket with the given
 * local and remote ports, found through `ss -p` (no socket object needed, so
 * it works for connections a library opened for us).
 */
export function kernelViewByPorts(localPort: number, remotePort: number): PeekedState | null {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${localPort} and dport = :${remotePort} )`], { encoding: 'utf8' })
  const m = new RegExp(`pid=${process.pid},fd=(\\d+)`).exec(out)
  return m ? peekSockopt(Number(m[1])) : null
}
