// node --import ./no-quic.mjs: makes @chainsafe/libp2p-quic (and its per-platform
// native packages) fail to load, as on a platform whose QUIC module the package does
// not ship (darwin, and aarch64-linux until the lock pins it). Used by
// tests/nix/clan-vars-scripts.test.ts to run the vars generators' scripts with such a CLI.
import { register } from 'node:module'

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve (specifier, context, next) {
  if (specifier.startsWith('@chainsafe/libp2p-quic')) {
    throw Object.assign(new Error('Cannot find package ' + specifier + ' (hidden by tests/nix/no-quic.mjs)'), { code: 'ERR_MODULE_NOT_FOUND' })
  }
  return next(specifier, context)
}
`))
