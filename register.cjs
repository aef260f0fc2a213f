// The preload at a fixed path in the package, for NODE_OPTIONS: an absolute
// path resolves from any working directory, a package name only from the
// project's. `npx tcp-keepalive node-options` prints the value to use.
require('./dist/cjs/register.js')
