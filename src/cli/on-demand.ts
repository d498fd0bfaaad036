// Modules only some commands need, loaded when such a command runs: every CLI call is a new
// process, and the commands that just talk to a daemon (file update/list/get/watch) should
// pay for the gRPC client only — not for libp2p's crypto (peer ids, ~8 MB and ~100 ms) nor
// the config parser. tests/integration/cli-load-cost.test.ts checks what they load.
import type { Config } from '../config/config.js'

/** The libp2p peer id of a raw Ed25519 node key. */
export async function peerIdOf (publicKey: Uint8Array): Promise<string> {
  return (await import('../crypto/node-id.js')).peerIdOfKey(publicKey)
}

export async function loadConfig (path: string): Promise<Config> {
  return await (await import('../config/config.js')).loadConfig(path)
}
