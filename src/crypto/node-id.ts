// A node's libp2p peer id is derived from its Ed25519 identity public key.
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'

export function peerIdOfKey (rawPublicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(rawPublicKey)).toString()
}
