import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { connect, type DataMesherClient, type FileEvent, type UpdateResult } from '../../client/client.js'
import { resolveUrl } from '../../client/url.js'
import { parseDuration } from '../../config/durations.js'
import { readSigningKey, type SigningKey } from '../../crypto/keys.js'
import { decodeRecord, encodeRecord, signRecord, RecordFormatError } from '../../crypto/record.js'
import { nameProblem } from '../../crypto/names.js'
import { encodeCertificate, parseCertificate } from '../../crypto/certificate.js'
import { readKeyPathOrBase64 } from '../../crypto/public-keys.js'
import { JSON_OPTION, out, Refused, requireString, UsageError, URL_OPTION, type Command } from '../args.js'
import { table, versionJson, versionLine } from '../format.js'

// --key is clan-core's spelling of --key-path
const KEY_OPTIONS = { 'key-path': { type: 'string' }, key: { type: 'string' }, expires: { type: 'string' } } as const
const CERT_OPTION = { cert: { type: 'string' } } as const
const NETWORK_OPTION = { 'network-id': { type: 'string' } } as const

/**
 * The network a record is bound to, always from the signer's side (issue 19): --network-id
 * (a public key file or the base64 key), else $DATA_MESHER_NETWORK_ID (the NixOS module
 * sets it), else unbound. `server` (update and delete) is the network id the daemon at
 * --url reports: only consulted to refuse, never to sign for. Nothing authenticates that
 * daemon (a process squatting its port answers alike), so signing for the id it reports
 * would let it choose where the record is valid.
 */
async function networkOf (values: Record<string, unknown>, server?: () => Promise<string>): Promise<Uint8Array | undefined> {
  const given = values['network-id']
  if (typeof given === 'string') {
    try { return await readKeyPathOrBase64(given) } catch (err) { throw new Refused(`--network-id: ${(err as Error).message}`) }
  }
  const fromEnv = process.env.DATA_MESHER_NETWORK_ID
  if (fromEnv !== undefined && fromEnv !== '') {
    try { return await readKeyPathOrBase64(fromEnv) } catch (err) { throw new Refused(`DATA_MESHER_NETWORK_ID: ${(err as Error).message}`) }
  }
  if (server === undefined) return undefined
  const reported = await server()
  if (reported === '') return undefined // the daemon has no network: the record is unbound, as offline signing makes it
  throw new Refused(`the daemon at ${resolveUrl(values.url as string | undefined)} reports network id ${reported}, but a network id learnt from the API is not signed for ` +
    '(nothing proves who answers there): pass --network-id with the network\'s public key file or its base64 id, or set DATA_MESHER_NETWORK_ID')
}

/** --cert CERT: the signer's certificate, sent with a namespace file to a node with a network. */
async function readCert (values: Record<string, unknown>): Promise<Uint8Array | undefined> {
  if (typeof values.cert !== 'string') return undefined
  const bytes = await readInput(values.cert)
  try { return encodeCertificate(parseCertificate(bytes)) } catch (err) { throw new Refused(`${values.cert} is not a certificate: ${(err as Error).message}`) }
}

async function readInput (path: string): Promise<Uint8Array> {
  try {
    if (path === '-') {
      const chunks: Buffer[] = []
      for await (const c of process.stdin) chunks.push(c as Buffer)
      return new Uint8Array(Buffer.concat(chunks))
    }
    return new Uint8Array(await readFile(path))
  } catch (err) {
    throw new Refused(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function checkedName (name: string): string {
  const problem = nameProblem(name)
  if (problem !== undefined) throw new UsageError(`invalid name "${name}": ${problem}`)
  return name
}

function expiresAt (values: Record<string, unknown>): number {
  if (values.expires === undefined) return 0
  const ms = parseDuration(values.expires)
  if (ms === undefined || ms === 0) throw new UsageError(`--expires "${String(values.expires)}" is not a duration like 30s, 15m, 2h, 7d`)
  return Date.now() + ms
}

function report (values: Record<string, unknown>, res: UpdateResult): void {
  if (values.json === true) { out(JSON.stringify({ outcome: res.outcome, heldUntil: res.heldUntil || null, version: versionJson(res.version) })); return }
  if (res.outcome === 'HELD') out(`held: ${res.version.name} is dated ${new Date(res.version.timestamp).toISOString()}, beyond max_clock_skew; it takes effect at ${new Date(res.heldUntil).toISOString()}`)
  else if (res.outcome === 'IDENTICAL') out(`unchanged: ${res.version.name} already holds this exact version`)
  else out(`${res.version.tombstone ? 'deleted' : 'accepted'}: ${versionLine(res.version)}`)
}

async function withClient<T> (values: Record<string, unknown>, fn: (c: DataMesherClient) => Promise<T>): Promise<T> {
  const client = connect(values.url as string | undefined)
  try { return await fn(client) } finally { client.close() }
}

const update: Command = {
  name: 'file update',
  usage: 'data-mesher file update PATH [--name NAME] --key-path KEY [--network-id NETPUB] [--cert CERT] [--expires DURATION] [--url URL] [--json]',
  summary: 'sign PATH locally (the key never leaves this machine) and upload it as the newest version of NAME (default: the file\'s base name; PATH "-" reads stdin)',
  options: { name: { type: 'string' }, ...KEY_OPTIONS, ...CERT_OPTION, ...NETWORK_OPTION, ...URL_OPTION, ...JSON_OPTION },
  async run (values, [path, ...rest]) {
    if (path === undefined || rest.length > 0) throw new UsageError('expects exactly one PATH')
    const name = checkedName(typeof values.name === 'string' ? values.name : basename(path))
    const expires = expiresAt(values)
    const key = await readKey(values)
    const content = await readInput(path)
    const cert = await readCert(values)
    report(values, await withClient(values, async c => {
      const network = await networkOf(values, async () => (await c.getStatus()).networkId ?? '')
      return await c.updateFile(signRecord(key, { name, content, expires, network }), content, cert)
    }))
  }
}

const remove: Command = {
  name: 'file delete',
  usage: 'data-mesher file delete NAME... --key-path KEY [--network-id NETPUB] [--cert CERT] [--url URL] [--json]',
  summary: 'sign and upload a tombstone for each NAME: the file is removed on every node',
  options: { 'key-path': { type: 'string' }, key: { type: 'string' }, ...CERT_OPTION, ...NETWORK_OPTION, ...URL_OPTION, ...JSON_OPTION },
  async run (values, names) {
    if (names.length === 0) throw new UsageError('expects at least one NAME')
    names.forEach(checkedName)
    const key = await readKey(values)
    const cert = await readCert(values)
    await withClient(values, async c => {
      const network = await networkOf(values, async () => (await c.getStatus()).networkId ?? '')
      for (const name of names) report(values, await c.deleteFile(signRecord(key, { name, tombstone: true, network }), cert))
    })
  }
}

const sign: Command = {
  name: 'file sign',
  usage: 'data-mesher file sign [PATH] --name NAME --key-path KEY --output RECORD [--network-id NETPUB] [--expires DURATION] [--delete]',
  summary: 'sign offline: write the signed record for PATH (or, with --delete, a tombstone) to RECORD, to submit later with `file submit`; a node with a network needs --network-id (or DATA_MESHER_NETWORK_ID)',
  options: { name: { type: 'string' }, ...KEY_OPTIONS, ...NETWORK_OPTION, output: { type: 'string', short: 'o' }, delete: { type: 'boolean' } },
  async run (values, positionals) {
    const name = checkedName(requireString(values, 'name'))
    const output = requireString(values, 'output')
    const tombstone = values.delete === true
    if (tombstone ? positionals.length !== 0 : positionals.length !== 1) throw new UsageError(tombstone ? '--delete takes no PATH' : 'expects exactly one PATH')
    const expires = expiresAt(values)
    const key = await readKey(values)
    const content = tombstone ? new Uint8Array(0) : await readInput(positionals[0])
    const network = await networkOf(values)
    const record = signRecord(key, { name, content, tombstone, expires, network })
    await writeFile(output, encodeRecord(record))
    out(`signed ${name} (${tombstone ? 'deletion' : `${content.length} bytes`}) → ${output}`)
  }
}

const submit: Command = {
  name: 'file submit',
  usage: 'data-mesher file submit RECORD [PATH] [--url URL] [--json]',
  summary: 'upload a record made by `file sign` (or by any Ed25519 tool, see README), with its content PATH unless it is a deletion',
  options: { ...URL_OPTION, ...JSON_OPTION },
  async run (values, [recordPath, contentPath, ...rest]) {
    if (recordPath === undefined || rest.length > 0) throw new UsageError('expects RECORD and, unless it is a deletion, PATH')
    const bytes = await readInput(recordPath)
    let tombstone: boolean
    try { tombstone = decodeRecord(bytes).tombstone } catch (err) {
      if (err instanceof RecordFormatError) throw new Refused(`${recordPath} is not a valid record: ${err.message}`)
      throw err
    }
    if (!tombstone && contentPath === undefined) throw new UsageError('the record is a file version: give its content PATH')
    const content = contentPath === undefined ? new Uint8Array(0) : await readInput(contentPath)
    report(values, await withClient(values, async c => tombstone ? await c.deleteFile(bytes) : await c.updateFile(bytes, content)))
  }
}

const get: Command = {
  name: 'file get',
  usage: 'data-mesher file get NAME [--output PATH] [--url URL] [--json]',
  summary: 'print the delivered content of NAME (or write it to PATH); --json prints the version and the content in base64',
  options: { output: { type: 'string', short: 'o' }, ...URL_OPTION, ...JSON_OPTION },
  async run (values, [name, ...rest]) {
    if (name === undefined || rest.length > 0) throw new UsageError('expects exactly one NAME')
    const { version, content } = await withClient(values, async c => await c.getFile(checkedName(name)))
    if (values.json === true) { out(JSON.stringify({ ...versionJson(version), content: content.toString('base64') })); return }
    if (!version.delivered) throw new Refused(`${name} is not delivered on this node (${version.tombstone ? 'deleted' : 'expired'})`)
    if (typeof values.output === 'string') await writeFile(values.output, content)
    else process.stdout.write(content)
  }
}

const list: Command = {
  name: 'file list',
  usage: 'data-mesher file list [--url URL] [--json]',
  summary: 'list the version this node holds of every file',
  options: { ...URL_OPTION, ...JSON_OPTION },
  async run (values) {
    const files = await withClient(values, async c => await c.listFiles())
    if (values.json === true) { out(JSON.stringify(files.map(versionJson))); return }
    if (files.length === 0) { out('no files'); return }
    out(table(files.map(v => versionLine(v).split('  '))))
  }
}

const watch: Command = {
  name: 'file watch',
  usage: 'data-mesher file watch [NAME...] [--current] [--url URL] [--json]',
  summary: 'stream every accepted change (updates, deletions, expiries, revocations) until interrupted',
  options: { current: { type: 'boolean' }, ...URL_OPTION, ...JSON_OPTION },
  async run (values, names) {
    names.forEach(checkedName)
    const client = connect(values.url as string | undefined)
    const w = await client.watchFiles({ names, includeCurrent: values.current === true })
    const stop = (): void => { w.cancel(); client.close() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    process.stderr.write(`watching ${names.length === 0 ? 'all files' : names.join(', ')} on ${client.url}\n`)
    for await (const e of w) out(eventLine(values, e))
  }
}

function eventLine (values: Record<string, unknown>, e: FileEvent): string {
  if (values.json === true) return JSON.stringify({ kind: e.kind, origin: e.origin, ...versionJson(e.version) })
  return `${new Date().toISOString()}  ${e.kind.toLowerCase().padEnd(8)}${versionLine(e.version)}  (${e.origin})`
}

async function readKey (values: Record<string, unknown>): Promise<SigningKey> {
  if (typeof values.key === 'string' && typeof values['key-path'] === 'string') throw new UsageError('--key and --key-path are the same option; give one')
  const path = typeof values.key === 'string' ? values.key : requireString(values, 'key-path')
  try { return await readSigningKey(path) } catch (err) { throw new Refused((err as Error).message) }
}

export const fileCommands = [update, remove, sign, submit, get, list, watch]
