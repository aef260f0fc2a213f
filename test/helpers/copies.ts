// Physical copies of the built package, as npm lays out an application's copy
// and a dependency's nested one: each loads its own addon file.
import { cpSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')

/**
 * The addon file the package root loads now: build/Release after
 * `npm run build`, prebuilds/<platform>-<arch>/ after `npm run build:prebuilds`
 * (which leaves no .node in build/Release). Throws, naming both, when neither holds one.
 */
export function builtAddon(): string {
  const nodeGypBuild = createRequire(__filename)(join(root, 'node_modules', 'node-gyp-build')) as { path(dir: string): string }
  const { TCP_KEEPALIVE_PREBUILD: override } = process.env
  try {
    delete process.env.TCP_KEEPALIVE_PREBUILD
    return nodeGypBuild.path(root)
  } catch (err) {
    throw new Error(`no built addon in build/Release nor prebuilds/ (run npm run build): ${(err as Error).message}`)
  } finally {
    if (override !== undefined) process.env.TCP_KEEPALIVE_PREBUILD = override
  }
}

/** Copies the package to DIR/NAME/node_modules/tcp-keepalive, with its own addon in build/Release; returns that path. */
export function packageCopy(dir: string, name: string): string {
  const pkg = join(dir, name, 'node_modules', 'tcp-keepalive')
  cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true })
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'))
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true })
  cpSync(builtAddon(), join(pkg, 'build', 'Release', 'tcp_keepalive.node'))
  cpSync(join(root, 'node_modules', 'node-gyp-build'), join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true })
  return pkg
}
