// Lab server: GET /slow?ms=N answers 200 after N ms; any other connection is
// simply held open. Prints "listening <port>" when ready.
import http from 'node:http'

const port = Number(process.argv[2] ?? 8080)
const server = http.createServer((req, res) => {
  const ms = Number(new URL(req.url, 'http://lab').searchParams.get('ms') ?? 0)
  setTimeout(() => res.end(`done after ${ms} ms\n`), ms)
})
server.keepAliveTimeout = 60_000
server.on('connection', (s) => s.on('error', () => {}))
server.listen(port, '0.0.0.0', () => console.log(`listening ${port}`))
