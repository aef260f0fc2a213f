import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { root } from './paths'

export interface PackageWithoutAddon {
  /** A project directory holding the copy in node_modules; the caller removes it. */
  dir: string
  /** The copy itself (dir/node_modules/tcp-keepalive). */
  pkg: string
  /** This process's environment without the override node-gyp-build honours, which would point it at an addon elsewhere. */
  env: NodeJS.ProcessEnv
}

/**
 * A copy of the built package with no build/ and no prebuilds/: what a user
 * gets on a platform with neither a prebuild nor a compiler.
 */
export function packageWithoutAddon(): PackageWithoutAddon {
  const dir = mkdtempSync(join(tmpdir(), 'tka-fallback-'))
  const pkg = join(dir, 'node_modules', 'tcp-keepalive')
  try {
    cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true })
    cpSync(join(root, 'package.json'), join(pkg, 'package.json'))
    cpSync(join(root, 'node_modules', 'node-gyp-build'), join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const { TCP_KEEPALIVE_PREBUILD: _override, ...env } = process.env
  return { dir, pkg, env }
}
