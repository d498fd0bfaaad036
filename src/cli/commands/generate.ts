import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../../crypto/keys.js'
import { peerIdOfKey } from '../../crypto/node-id.js'
import { JSON_OPTION, out, requireString, type Command } from '../args.js'
import { writeNewFile } from '../key-files.js'

function generate (kind: 'signing-key' | 'identity-key'): Command {
  return {
    name: `generate ${kind}`,
    usage: `data-mesher generate ${kind} --private-key-path PATH [--public-key-path PATH] [--json]`,
    summary: kind === 'signing-key'
      ? 'create an Ed25519 signing key (PKCS#8 PEM, mode 0600) and print its base64 public key for [files]'
      : 'create a node identity key (PKCS#8 PEM, mode 0600) and print its public key and peer id',
    options: { 'private-key-path': { type: 'string' }, 'public-key-path': { type: 'string' }, ...JSON_OPTION },
    async run (values) {
      const privatePath = requireString(values, 'private-key-path')
      const key = generateSigningKey()
      const publicKey = encodeBase64Key(key.publicKey)
      await writeNewFile(privatePath, signingKeyToPem(key), 0o600)
      if (typeof values['public-key-path'] === 'string') await writeNewFile(values['public-key-path'], publicKey + '\n', 0o644)
      const peerId = kind === 'identity-key' ? peerIdOfKey(key.publicKey) : undefined
      if (values.json === true) out(JSON.stringify({ publicKey, ...(peerId !== undefined ? { peerId } : {}) }))
      else {
        out(publicKey)
        if (peerId !== undefined) out(peerId)
      }
    }
  }
}

export const generateCommands = [generate('signing-key'), generate('identity-key')]
