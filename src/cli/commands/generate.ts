import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../../crypto/keys.js'
import { publicKeyToPem } from '../../crypto/public-keys.js'
import { JSON_OPTION, out, requireString, type Command } from '../args.js'
import { writeNewFile } from '../key-files.js'
import { peerIdOf } from '../on-demand.js'

type Kind = 'signing-key' | 'identity-key' | 'network'

const SUMMARY: Record<Kind, string> = {
  'signing-key': 'create an Ed25519 signing key (PKCS#8 PEM, mode 0600) and print its base64 public key for [files]',
  'identity-key': 'create a node identity key (PKCS#8 PEM, mode 0600; public key as PEM SubjectPublicKeyInfo) and print its public key and peer id',
  network: 'create a network key (PKCS#8 PEM, mode 0600; keep it offline) and its public key, the network id (PEM SubjectPublicKeyInfo) that nodes take as network.id'
}

function generate (kind: Kind): Command {
  return {
    name: `generate ${kind}`,
    usage: `data-mesher generate ${kind} --private-key-path PATH [--public-key-path PATH] [--json]`,
    summary: SUMMARY[kind],
    options: { 'private-key-path': { type: 'string' }, 'public-key-path': { type: 'string' }, ...JSON_OPTION },
    async run (values) {
      const privatePath = requireString(values, 'private-key-path')
      const key = generateSigningKey()
      const publicKey = encodeBase64Key(key.publicKey)
      await writeNewFile(privatePath, signingKeyToPem(key), 0o600)
      // signing keys keep the base64 form [files] takes; identity and network keys are
      // PEM SPKI, as clan-core's vars expect (the raw key is the last 32 DER bytes)
      const publicText = kind === 'signing-key' ? publicKey + '\n' : publicKeyToPem(key.publicKey)
      if (typeof values['public-key-path'] === 'string') await writeNewFile(values['public-key-path'], publicText, 0o644)
      const peerId = kind === 'identity-key' ? await peerIdOf(key.publicKey) : undefined
      if (values.json === true) out(JSON.stringify({ publicKey, ...(peerId !== undefined ? { peerId } : {}) }))
      else {
        out(publicKey)
        if (peerId !== undefined) out(peerId)
      }
    }
  }
}

export const generateCommands = [generate('signing-key'), generate('identity-key'), generate('network')]
