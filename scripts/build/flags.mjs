// Prints the compiler flags binding.gyp gives node-gyp (defines and
// cflags_cc of the one target), one per line, so the cross builds and the
// sanitizer build compile with exactly what users' installs compile with.
// binding.gyp stays the one place where a flag is added.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
// gyp files are Python literals; this one keeps to the JSON subset (no
// comments, no trailing commas), which the parse below enforces.
const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'))
const [target] = gyp.targets
const flags = [...target.cflags_cc, ...target.defines.map((d) => `-D${d}`)]
process.stdout.write(flags.join('\n') + '\n')
