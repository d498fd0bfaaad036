// The network identity of a node (DESIGN.md §7), read from the files the config names:
// network.id (the network public key), cluster.certificate_authorities (more accepted
// network keys, e.g. the old one during a rotation) and cluster.identity_cert (this
// node's certificate). The daemon refuses to start when the certificate is not for its
// identity key or not signed by an accepted network key; every error names the key.
import { readFile } from 'node:fs/promises'
import { certificateProblem, encodeCertificate, parseCertificate, type Certificate } from '../crypto/certificate.js'
import { decodeBase64Key, encodeBase64Key } from '../crypto/keys.js'
import { parsePublicKey } from '../crypto/public-keys.js'
import type { Policy } from '../rule/which-version-wins.js'
import type { SignedRecord } from '../crypto/record.js'
import { ConfigError, type Config } from './config.js'

export interface NetworkIdentity {
  /** network.id: the raw network public key; records are bound to it */
  id: Uint8Array
  /** network.id and every certificate authority: certificates signed by these are accepted */
  trusted: Uint8Array[]
  /** this node's certificate */
  certificate: Certificate
  /** its encoded bytes (what the admission handshake sends) */
  certificateBytes: Uint8Array
}

/** A public key given as base64 or as the path of a key file, read for config key `key`. */
async function keyOf (value: string, key: string): Promise<Uint8Array> {
  const raw = decodeBase64Key(value.trim())
  if (raw !== undefined) return raw
  let text: string
  try { text = await readFile(value, 'utf8') } catch (err) {
    throw new ConfigError(key, `"${value}" is not a base64 key and cannot be read as a key file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try { return parsePublicKey(text) } catch (err) { throw new ConfigError(key, `${value}: ${(err as Error).message}`) }
}

/** Reads and checks the network identity; undefined when no network is configured. */
export async function loadNetworkIdentity (config: Config, identityPublicKey: Uint8Array, now = Date.now()): Promise<NetworkIdentity | undefined> {
  if (config.network === undefined) return undefined
  const id = await keyOf(config.network.id, 'network.id')
  // the window is not checked here: an expired certificate is logged and shown in status,
  // and peers refuse the node, but the node still serves its local API
  return await readCertified(config, identityPublicKey, id, now, false)
}

/**
 * The network identity as the files now say (issue 19, live renewal): the certificate
 * at cluster.identity_cert and the certificate authorities read again, network.id kept
 * (records are bound to it: it changes on restart only). Throws a ConfigError naming
 * why when the replacement is not acceptable — besides what start refuses, a certificate
 * that is not valid now (a renewal must not replace a working certificate by one peers
 * refuse); the caller keeps the running identity then. Undefined when nothing changed.
 */
export async function renewedNetworkIdentity (config: Config, identityPublicKey: Uint8Array, current: NetworkIdentity, now = Date.now()): Promise<NetworkIdentity | undefined> {
  const next = await readCertified(config, identityPublicKey, current.id, now, true)
  const same = (a: Uint8Array[], b: Uint8Array[]): boolean => a.length === b.length && a.every((k, i) => Buffer.from(k).equals(b[i]))
  if (Buffer.from(next.certificateBytes).equals(current.certificateBytes) && same(next.trusted, current.trusted)) return undefined
  return next
}

/** The files a renewal is read from: cluster.identity_cert and the certificate authorities given as paths (not as base64). */
export function networkIdentityFiles (config: Config): string[] {
  if (config.network === undefined) return []
  const cas = (config.cluster.certificateAuthorities ?? []).filter(ca => decodeBase64Key(ca.trim()) === undefined)
  return [...(config.cluster.identityCert !== undefined ? [config.cluster.identityCert] : []), ...cas]
}

async function readCertified (config: Config, identityPublicKey: Uint8Array, id: Uint8Array, now: number, mustBeValidNow: boolean): Promise<NetworkIdentity> {
  const cas = config.cluster.certificateAuthorities ?? []
  const trusted = [id]
  for (const [i, ca] of cas.entries()) trusted.push(await keyOf(ca, `cluster.certificate_authorities[${i}]`))
  const path = config.cluster.identityCert
  if (path === undefined) throw new ConfigError('cluster.identity_cert', 'is required when network.id is set')
  let certificate: Certificate
  try { certificate = parseCertificate(new Uint8Array(await readFile(path))) } catch (err) {
    throw new ConfigError('cluster.identity_cert', `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!Buffer.from(certificate.subject).equals(identityPublicKey)) {
    throw new ConfigError('cluster.identity_cert', `${path} certifies key ${encodeBase64Key(certificate.subject)}, but this node's identity key is ${encodeBase64Key(identityPublicKey)}`)
  }
  if (!trusted.some(t => Buffer.from(t).equals(certificate.network))) {
    throw new ConfigError('cluster.identity_cert', `${path} is signed by network ${encodeBase64Key(certificate.network)}, which is neither network.id (${encodeBase64Key(id)}) nor one of cluster.certificate_authorities`)
  }
  const problem = certificateProblem(certificate, identityPublicKey, { networks: trusted, now: mustBeValidNow ? now : Math.max(now, certificate.notBefore) })
  if (problem !== undefined && (mustBeValidNow || !/expired/.test(problem))) throw new ConfigError('cluster.identity_cert', `${path}: ${problem}`)
  return { id, trusted, certificate, certificateBytes: encodeCertificate(certificate) }
}

/** The rule's policy with the network identity: accepted networks, and the certificates that came with records. */
export function networkPolicy (policy: Policy, network: NetworkIdentity | undefined, certificateOf: (record: SignedRecord) => Certificate | undefined, revoked?: ReadonlySet<string>): Policy {
  if (network === undefined) return policy
  return { ...policy, network: { id: network.id, trusted: network.trusted, ...(revoked !== undefined ? { revoked } : {}) }, certificateOf }
}
