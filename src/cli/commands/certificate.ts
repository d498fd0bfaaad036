// `certificate sign` and `certificate show`: node certificates (src/crypto/certificate.ts).
import { readFile, writeFile } from 'node:fs/promises'
import { parseDuration } from '../../config/durations.js'
import { certificateToPem, issueCertificate, MAX_CERT_TIME, parseCertificate, type Certificate } from '../../crypto/certificate.js'
import { encodeBase64Key, readSigningKey } from '../../crypto/keys.js'
import { readPublicKeyFile } from '../../crypto/public-keys.js'
import { JSON_OPTION, out, Refused, requireString, UsageError, type Command } from '../args.js'
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

export const certificateCommands = [sign, show]
