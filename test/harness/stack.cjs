// Installs stack across copies of the package: run under the preload of one
// copy (node -r COPY_A/dist/cjs/register.js, TCP_KEEPALIVE=idle=45s) with
// another copy's path as argv[2] (a dependency's nested copy) and argv[3] the
// getsockopt observer. Each step opens a connection and records what the
// kernel holds for it, read by another process (null without python3), and
// what getKeepAlive says. Prints one JSON line.
const { spawnSync } = require('node:child_process')
const net = require('node:net')
const dep = require(process.argv[2])
const peek = process.argv[3]
const once = (e, ev) => new Promise((r) => e.once(ev, r))

function kernel(socket) {
  const r = spawnSync('python3', [peek], { stdio: ['ignore', 'pipe', 'pipe', socket._handle.fd], encoding: 'utf8' })
  if (r.error || r.status !== 0) return null
  const { enabled, idle } = JSON.parse(r.stdout)
  return { enabled, idle }
}

async function main() {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = server.address().port
  const open = async () => {
    const s = new net.Socket().connect(port, '127.0.0.1')
    await once(s, 'connect')
    await new Promise((r) => setImmediate(r))
    const { enabled, idle } = dep.getKeepAlive(s)
    const seen = { api: { enabled, idle }, kernel: kernel(s) }
    s.destroy()
    return seen
  }
  const out = {}
  out.preload = await open()
  // A dependency's copy installs its own, then undoes it.
  // spread: false: each install is told apart by its exact idle.
  const h = dep.install({ idle: 20000 }, { spread: false })
  out.dependency = await open()
  h.uninstall()
  out.afterDependencyUninstall = await open()
  // Undone out of order: the middle one goes, the top stays; then the top goes.
  const x = dep.install({ idle: 30000 }, { spread: false })
  const y = dep.install({ idle: 25000 }, { spread: false })
  x.uninstall()
  out.middleUndone = await open()
  y.uninstall()
  out.allDependencyUndone = await open()
  y.uninstall() // twice: changes nothing
  out.undoneTwice = await open()
  server.close()
  console.log(JSON.stringify(out))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
