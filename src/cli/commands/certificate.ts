// `certificate sign`, `show` and `revoke`: node certificates (src/crypto/certificate.ts)
// and the network's revocation list (src/crypto/revocation-list.ts).
import { readFile, writeFile } from 'node:fs/promises'
import { parseDuration } from '../../config/durations.js'
import { certificateToPem, issueCertificate, MAX_CERT_TIME, parseCertificate, type Certificate } from '../../crypto/certificate.js'
import { encodeBase64Key, readSigningKey } from '../../crypto/keys.js'
import { readPublicKeyFile } from '../../crypto/public-keys.js'
import { JSON_OPTION, out, Refused, requireString, UsageError, URL_OPTION, type Command } from '../args.js'
import { connect } from '../../client/client.js'
import { encodeRevocationList, parseRevocationList, REVOCATIONS_NAME, type Revocation } from '../../crypto/revocation-list.js'
import { signRecord } from '../../crypto/record.js'
import { peerIdOf } from '../on-demand.js'

const sign: Command = {
  name: 'certificate sign',
  usage: 'data-mesher certificate sign --name NAME --network-key KEY --identity-key PUB --output CERT [--validity 2160h]',
  summary: 'certify a node identity key (its public key file, or its private key file) for the network of KEY, for --validity (default 90 days)',
  options: { name: { type: 'string' }, 'network-key': { type: 'string' }, 'identity-key': { type: 'string' }, output: { type: 'string', short: 'o' }, validity: { type: 'string' } },
  async run (values, positionals) {
    if (positionals.length > 0) throw new UsageError('takes no positional arguments')
    const name = requireString(values, 'name')
    const output = requireString(values, 'output')
    const validity = parseDuration(values.validity ?? '2160h')
    if (validity === undefined || validity === 0) throw new UsageError(`--validity "${String(values.validity)}" is not a duration like 2160h, 90d`)
    // refused before any key is read or file written: the end must be a time every tool can show
    const ends = Date.now() + validity
    if (ends > MAX_CERT_TIME) throw new UsageError(`--validity ${String(values.validity)} ends ${ends} ms after 1970, later than ${new Date(MAX_CERT_TIME).toISOString()}, the last time a certificate may name`)
    let networkKey, subject
    try {
      networkKey = await readSigningKey(requireString(values, 'network-key'))
      subject = await readPublicKeyFile(requireString(values, 'identity-key'), true)
    } catch (err) {
      if (err instanceof UsageError) throw err
      throw new Refused((err as Error).message)
    }
    let cert: Certificate
    try { cert = issueCertificate(networkKey, { subject, name, validity }) } catch (err) { throw new UsageError((err as Error).message) }
    // a certificate is not a key: renewing one in place is the normal case
    try { await writeFile(output, certificateToPem(cert), { mode: 0o644 }) } catch (err) {
      throw new Refused(`cannot write ${output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    out(`certified ${await peerIdOf(subject)} as "${name}" until ${new Date(cert.notAfter).toISOString()} → ${output}`)
  }
}

export async function certificateJson (c: Certificate): Promise<Record<string, unknown>> {
  return {
    name: c.name,
    subjectKey: encodeBase64Key(c.subject),
    peerId: await peerIdOf(c.subject),
    networkId: encodeBase64Key(c.network),
    notBefore: new Date(c.notBefore).toISOString(),
    notAfter: new Date(c.notAfter).toISOString()
  }
}

const show: Command = {
  name: 'certificate show',
  usage: 'data-mesher certificate show CERT [--json]',
  summary: 'print what a certificate says: subject key, peer id, network id, name, not-before, not-after (the signature is not checked here)',
  options: { ...JSON_OPTION },
  async run (values, [path, ...rest]) {
    if (path === undefined || rest.length > 0) throw new UsageError('expects exactly one CERT')
    let cert: Certificate
    try { cert = parseCertificate(new Uint8Array(await readFile(path))) } catch (err) {
      throw new Refused(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    const j = await certificateJson(cert)
    if (values.json === true) { out(JSON.stringify(j)); return }
    const labels: Record<string, string> = { name: 'name', subjectKey: 'subject key', peerId: 'peer id', networkId: 'network id', notBefore: 'not before', notAfter: 'not after' }
    for (const [k, v] of Object.entries(j)) out(`${labels[k].padEnd(12)}${String(v)}`)
  }
}

const revoke: Command = {
  name: 'certificate revoke',
  usage: 'data-mesher certificate revoke --network-key KEY --list FILE [--identity-key PUB]... [--certificate CERT]... [--url URL]',
  summary: 'add node identity keys (public key files, or certificates) to the network\'s revocation list kept in FILE (created if missing), sign it with the network key and publish it as network.revocations; every node then refuses and disconnects them. Without a key it publishes FILE again',
  options: { 'network-key': { type: 'string' }, list: { type: 'string' }, 'identity-key': { type: 'string', multiple: true }, certificate: { type: 'string', multiple: true }, ...URL_OPTION },
  async run (values, positionals) {
    if (positionals.length > 0) throw new UsageError('takes no positional arguments')
    const listPath = requireString(values, 'list')
    let networkKey
    try { networkKey = await readSigningKey(requireString(values, 'network-key')) } catch (err) {
      if (err instanceof UsageError) throw err
      throw new Refused((err as Error).message)
    }
    // the signer's own copy of the list, never the one a daemon serves: a daemon (or a
    // process on its port) could drop entries, and signing its list would un-revoke them
    let list: Revocation[] = []
    try { list = parseRevocationList(new Uint8Array(await readFile(listPath))) } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Refused(`${listPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    const at = new Date().toISOString()
    const adding: Revocation[] = []
    for (const path of (values['identity-key'] as string[] | undefined) ?? []) {
      try { adding.push({ key: encodeBase64Key(await readPublicKeyFile(path, true)), at }) } catch (err) { throw new Refused(`--identity-key ${path}: ${(err as Error).message}`) }
    }
    for (const path of (values.certificate as string[] | undefined) ?? []) {
      try {
        const c = parseCertificate(new Uint8Array(await readFile(path)))
        adding.push({ key: encodeBase64Key(c.subject), name: c.name, at })
      } catch (err) { throw new Refused(`--certificate ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`) }
    }
    const known = new Set(list.map(r => r.key))
    for (const r of adding) if (!known.has(r.key)) { list.push(r); known.add(r.key) }
    const content = encodeRevocationList(list)
    // kept before it is published: a failed upload is retried by running this again without a key
    try { await writeFile(listPath, content, { mode: 0o644 }) } catch (err) {
      throw new Refused(`cannot write ${listPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    const record = signRecord(networkKey, { name: REVOCATIONS_NAME, content, network: networkKey.publicKey })
    const client = connect(values.url as string | undefined)
    try {
      const res = await client.updateFile(record, content)
      out(`${REVOCATIONS_NAME}: ${list.length} revoked key(s), ${adding.filter(r => list.includes(r)).length} new; ${res.outcome.toLowerCase()} by ${client.url}`)
    } catch (err) {
      throw new Refused(`${(err as Error).message} (${listPath} holds the list: publish it again with \`certificate revoke --list ${listPath} --network-key KEY\`)`)
    } finally { client.close() }
  }
}

export const certificateCommands = [sign, show, revoke]
