// The node's libp2p identity: an Ed25519 key in the same file format as signing keys
// (PKCS#8 PEM, or the base64 of the 32-byte seed). Kept at cluster.identity_key, or at
// <state_dir>/identity.key, created (mode 0600) on first start.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Config } from '../config/config.js'
import { encodeBase64Key, generateSigningKey, parseSigningKey, signingKeyToPem, type SigningKey } from '../crypto/keys.js'
import { ensureDir, writeFileAtomic } from '../store/atomic-file.js'

export interface NodeIdentity {
  /** the libp2p private key (Ed25519) */
  privateKey: PrivateKey
  peerId: PeerId
  /** raw 32-byte public key, standard padded base64 (the form allowed_nodes takes) */
  publicKey: string
  /** the file it was read from */
  path: string
}

export function identityPath (config: Config): string {
  return config.cluster.identityKey ?? join(config.stateDir, 'identity.key')
}

/** Turns a key in our format into a libp2p identity. */
export function identityFromKey (key: SigningKey, path = ''): NodeIdentity {
  const raw = new Uint8Array(64)
  raw.set(key.seed, 0)
  raw.set(key.publicKey, 32)
  const privateKey = privateKeyFromRaw(raw)
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), publicKey: encodeBase64Key(key.publicKey), path }
}

/** Reads the identity key; creates it (0600) when `create` and the file does not exist. */
export async function loadOrCreateIdentity (path: string, create = true): Promise<NodeIdentity> {
  let text: string | undefined
  try { text = await readFile(path, 'utf8') } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' || !create) throw new Error(`cannot read identity key ${path}: ${code ?? (err as Error).message}`)
  }
  if (text === undefined) {
    const key = generateSigningKey()
    await ensureDir(dirname(path))
    await writeFileAtomic(path, Buffer.from(signingKeyToPem(key)), 0o600)
    return identityFromKey(key, path)
  }
  try { return identityFromKey(parseSigningKey(text), path) } catch (err) {
    throw new Error(`identity key ${path}: ${(err as Error).message}`)
  }
}

/**
 * The identity the daemon uses with this config (for `data-mesher peer id`). Never
 * creates a key: only the daemon does, as its own user. An explicitly configured
 * cluster.identity_key must exist; the default one is created on the daemon's first start.
 */
export async function readIdentity (config: Config): Promise<NodeIdentity> {
  return await loadOrCreateIdentity(identityPath(config), false)
}

/** The daemon's start: an explicit identity_key must exist, the default one is created. */
export async function loadIdentity (config: Config): Promise<NodeIdentity> {
  return await loadOrCreateIdentity(identityPath(config), config.cluster.identityKey === undefined)
}
