// Whether importing the package opens a TCP connection, seen by the OS rather
// than by the package: Windows' TCP counters (`netstat -s`: Active Opens and
// Passive Opens, IPv4 and IPv6) around the import, then a loopback connection
// of this process as the positive control that those counters see this
// process's connections at all (under Wine they are the Linux network
// namespace's). Where netstat lists owners (`-o`, Windows), also the TCP rows
// this process owns right after the import.
//
// Usage: node import-opens.cjs PACKAGE_DIR [OUT_FILE]   (prints one JSON line)
'use strict'
const { execFileSync } = require('node:child_process')
const { writeFileSync } = require('node:fs')
const net = require('node:net')
const path = require('node:path')

const [pkgDir, outFile] = process.argv.slice(2)
const netstat = (args) => execFileSync('netstat', args, { encoding: 'utf8', windowsHide: true })

// The first two counters of `netstat -s -p PROTO` are Active Opens and Passive
// Opens, in that order, whatever the display language.
function opens() {
  let active = 0
  let passive = 0
  for (const proto of ['tcp', 'tcpv6']) {
    let out
    try {
      out = netstat(['-s', '-p', proto])
    } catch {
      if (proto === 'tcp') throw new Error('netstat -s -p tcp failed')
      continue
    }
    const n = [...out.matchAll(/=\s*(\d+)\s*$/gm)].map((m) => Number(m[1]))
    // Wine's netstat knows no tcpv6 (its counters are the Linux namespace's, both families in one).
    if (n.length < 2 && proto === 'tcpv6') continue
    if (n.length < 2) throw new Error(`netstat -s -p ${proto}: no counters in ${JSON.stringify(out.slice(0, 200))}`)
    active += n[0]
    passive += n[1]
  }
  return { active, passive }
}

// Rows of `netstat -ano -p TCP` whose owner is this process; null where netstat
// has no owner column (Wine).
function owned() {
  let out
  try {
    out = netstat(['-ano', '-p', 'TCP'])
  } catch {
    return null
  }
  if (!/\bPID\b/.test(out)) return null
  return out.split(/\r?\n/).filter((line) => {
    const cols = line.trim().split(/\s+/)
    return cols[0] === 'TCP' && cols[cols.length - 1] === String(process.pid)
  }).length
}

const diff = (a, b) => ({ active: b.active - a.active, passive: b.passive - a.passive })

const before = opens()
const pkg = require(path.join(pkgDir, 'dist', 'cjs', 'index.js'))
const imported = opens()
const ownedAfterImport = owned()
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const { port } = server.address()
  server.once('connection', (peer) => {
    const connected = opens()
    const result = {
      native: pkg.capabilities.native,
      importing: diff(before, imported),
      owned: ownedAfterImport,
      control: diff(imported, connected),
    }
    const line = `${JSON.stringify(result)}\n`
    if (outFile) writeFileSync(outFile, line)
    else process.stdout.write(line)
    peer.destroy()
    client.destroy()
    server.close()
  })
  const client = net.connect(port, '127.0.0.1')
})
