// Compiles src/ to CommonJS in dist/cjs and writes a thin ESM entry that
// re-exports it. One implementation means one module state: install() from
// `import` and from `require` are the same hook, not two.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
rmSync(join(root, 'dist'), { recursive: true, force: true })
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' })

// The export list comes from the built module itself, so it cannot drift.
const names = Object.keys(createRequire(import.meta.url)(join(root, 'dist/cjs/index.js'))).filter((n) => n !== '__esModule' && n !== 'default')
mkdirSync(join(root, 'dist/esm'), { recursive: true })
// The CommonJS side, loaded relative to this file. A bundler that inlines an
// ESM entry cannot follow that: bundled as ESM the relative require fails
// (MODULE_NOT_FOUND), bundled as CommonJS import.meta is empty. Either way the
// process stops with the one line src/bundled.ts prints, never a TypeError.
const { BUNDLED_MESSAGE } = createRequire(import.meta.url)(join(root, 'dist/cjs/bundled.js'))
const loadCjs = (file) =>
  `import { createRequire } from 'node:module'\nimport { writeSync } from 'node:fs'\n` +
  `function bundled() {\n  writeSync(2, ${JSON.stringify(`${BUNDLED_MESSAGE} `)} + '(loaded from ' + (typeof __filename === 'string' ? __filename : String(import.meta.url)) + ')\\n')\n  process.exit(1)\n}\n` +
  `function load() {\n  if (typeof import.meta.url !== 'string') return bundled()\n  try {\n    return createRequire(import.meta.url)('${file}')\n  } catch (err) {\n    if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes("'${file}'")) return bundled()\n    throw err\n  }\n}\n`
writeFileSync(
  join(root, 'dist/esm/index.mjs'),
  // require() rather than `import cjs from`: tools that honour the __esModule
  // marker tsc emits would hand back exports.default (undefined) instead.
  `${loadCjs('../cjs/index.js')}const cjs = load()\n${names.map((n) => `export const ${n} = cjs.${n}\n`).join('')}export default cjs.default\n`,
)
writeFileSync(join(root, 'dist/esm/index.d.mts'), `export * from '../cjs/index.js'\nexport { default } from '../cjs/index.js'\n`)
// The preload exports nothing; its ESM entry runs the CommonJS one so that it
// configures the same hooks `import 'tcp-keepalive'` returns.
writeFileSync(join(root, 'dist/esm/register.mjs'), `${loadCjs('../cjs/register.js')}load()\n`)
writeFileSync(join(root, 'dist/esm/register.d.mts'), `export {}\n`)
console.log(`dist/: cjs + esm (${names.join(', ')})`)
