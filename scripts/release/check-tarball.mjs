// The release's tarball check: lists every prebuild in the package tarball
// with the format, architecture and libc read from the binary itself, and
// fails if a supported platform lacks its prebuild or a binary is not what its
// directory says (an x64 file under linux-arm64, a glibc build named .musl).
// Usage: node scripts/release/check-tarball.mjs [--missing-ok darwin-x64,darwin-arm64] PACKAGE.tgz
// (--missing-ok: platforms a development run cannot build; the release passes none.)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Every prebuild a release ships: directory/file -> what the binary must be. */
export const EXPECTED = {
  'linux-x64/tcp-keepalive.node': 'ELF x86-64 glibc',
  'linux-x64/tcp-keepalive.musl.node': 'ELF x86-64 musl',
  'linux-arm64/tcp-keepalive.node': 'ELF aarch64 glibc',
  'linux-arm64/tcp-keepalive.musl.node': 'ELF aarch64 musl',
  'linux-arm/tcp-keepalive.armv7.node': 'ELF arm glibc',
  'darwin-x64/tcp-keepalive.node': 'Mach-O x86-64',
  'darwin-arm64/tcp-keepalive.node': 'Mach-O arm64',
  'win32-x64/tcp-keepalive.node': 'PE x86-64',
}

/** What a binary is, from its own headers. */
export function describe(buf) {
  if (buf.readUInt32BE(0) === 0x7f454c46) {
    const machine = { 0x3e: 'x86-64', 0xb7: 'aarch64', 0x28: 'arm' }[buf.readUInt16LE(18)] ?? `machine ${buf.readUInt16LE(18)}`
    // glibc builds require versioned GLIBC_ symbols from libc.so.6; musl has no
    // symbol versions and its libc's soname is plain libc.so.
    const text = buf.toString('latin1')
    const libc = text.includes('GLIBC_') || text.includes('libc.so.6') ? 'glibc' : text.includes('libc.so\0') ? 'musl' : 'libc?'
    return `ELF ${machine} ${libc}`
  }
  if (buf.readUInt32LE(0) === 0xfeedfacf) return `Mach-O ${{ 0x01000007: 'x86-64', 0x0100000c: 'arm64' }[buf.readUInt32LE(4)] ?? 'cpu?'}`
  if (buf.toString('latin1', 0, 2) === 'MZ') {
    const pe = buf.readUInt32LE(0x3c)
    return `PE ${{ 0x8664: 'x86-64', 0xaa64: 'arm64' }[buf.readUInt16LE(pe + 4)] ?? 'machine?'}`
  }
  return 'unknown format'
}

const args = process.argv.slice(2)
const missingOk = new Set(args[0] === '--missing-ok' ? (args[1] ?? '').split(',') : [])
const tarball = args[0] === '--missing-ok' ? args[2] : args[0]
if (!tarball) {
  console.error('usage: check-tarball.mjs [--missing-ok PLATFORM,...] PACKAGE.tgz')
  process.exit(2)
}
const dir = mkdtempSync(join(tmpdir(), 'tka-tarball-'))
let failed = false
try {
  execFileSync('tar', ['-xzf', tarball, '-C', dir])
  const prebuilds = join(dir, 'package', 'prebuilds')
  const found = new Map()
  for (const platform of readdirSync(prebuilds, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const file of readdirSync(join(prebuilds, platform)).sort()) found.set(`${platform}/${file}`, join(prebuilds, platform, file))
  }
  console.log(`prebuilds in ${tarball}:`)
  for (const [name, path] of found) {
    const what = describe(readFileSync(path))
    const want = EXPECTED[name]
    const verdict = want === undefined ? 'not expected' : want === what ? 'ok' : `expected ${want}`
    if (verdict !== 'ok') failed = true
    console.log(`  ${name.padEnd(38)} ${String(statSync(path).size).padStart(8)} bytes  ${what.padEnd(18)} ${verdict}`)
  }
  for (const name of Object.keys(EXPECTED)) {
    if (!found.has(name)) {
      const excused = missingOk.has(name.split('/')[0])
      if (!excused) failed = true
      console.log(`  ${name.padEnd(38)}  MISSING (${EXPECTED[name]})${excused ? ', allowed by --missing-ok' : ''}`)
    }
  }
  const present = Object.keys(EXPECTED).filter((n) => found.has(n)).length
  console.log(failed ? 'tarball check: FAILED' : `tarball check: ${present} of ${Object.keys(EXPECTED).length} prebuilds present, each what its name says`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
