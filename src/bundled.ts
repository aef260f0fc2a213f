// A bundler that inlines this package leaves its native addon behind: the
// addon is found relative to the package's own files, which a bundle no longer
// has. Rather than run on the fallback with no word (or fail later with a
// confusing error), the process stops here with one line naming the fix.
// The ESM entries carry the same check (scripts/build/ts.mjs), for bundles
// that inline them.
import fs = require('node:fs')
import path = require('node:path')

export const BUNDLED_MESSAGE =
  'tcp-keepalive: this copy was bundled, so its native addon cannot load; mark tcp-keepalive as external (esbuild --external:tcp-keepalive, webpack externals, Next.js serverExternalPackages) and ship node_modules/tcp-keepalive beside the bundle'

function isPackageRoot(root: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: unknown }).name === 'tcp-keepalive'
  } catch {
    return false
  }
}

/** Stops the process (exit 1, one line on stderr) unless `root` is this package's directory. */
export function stopIfBundled(root: string): void {
  if (isPackageRoot(root)) return
  // Synchronous: the process exits right after.
  fs.writeSync(2, `${BUNDLED_MESSAGE} (loaded from ${__filename})\n`)
  process.exit(1)
}
