import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from '../../client/client.js'
import { parseSigningKey, encodeBase64Key } from '../../crypto/keys.js'
import { readPublicKeyFile } from '../../crypto/public-keys.js'
import { JSON_OPTION, out, Refused, UsageError, URL_OPTION, type Command } from '../args.js'
import { statusJson, statusText } from '../status-text.js'
import { loadConfig, peerIdOf } from '../on-demand.js'

const status: Command = {
  name: 'status',
  usage: 'data-mesher status [--url URL] [--json]',
  summary: "this node: its certificate, its peers (verified or not, their certificates' ends), every file's version (signed when, by whom, delivered or not), what is held back, what was refused lately and why",
  options: { ...URL_OPTION, ...JSON_OPTION },
  async run (values, positionals) {
    if (positionals.length > 0) throw new UsageError('takes no arguments')
    const client = connect(values.url as string | undefined)
    try {
      const s = await client.getStatus()
      if (values.json === true) out(JSON.stringify(statusJson(s)))
      else out(statusText(s))
    } finally { client.close() }
  }
}

const peerId: Command = {
  name: 'peer id',
  usage: 'data-mesher peer id [PUBFILE | --key-path KEY | --config PATH | --url URL] [--json]',
  summary: "print a node's peer id and identity public key: from a public key file (PEM or base64), an identity key file, the identity a config points at, or the running daemon",
  options: { 'key-path': { type: 'string' }, config: { type: 'string' }, ...URL_OPTION, ...JSON_OPTION },
  async run (values, positionals) {
    let publicKey: string
    let id: string
    if (positionals.length > 1) throw new UsageError('expects at most one PUBFILE')
    if (positionals.length === 1) {
      let raw: Uint8Array
      try { raw = await readPublicKeyFile(positionals[0], true) } catch (err) { throw new Refused((err as Error).message) }
      const id = await peerIdOf(raw)
      if (values.json === true) out(JSON.stringify({ peerId: id, publicKey: encodeBase64Key(raw) }))
      else out(id)
      return
    }
    const keyPath = typeof values['key-path'] === 'string' ? values['key-path']
      : typeof values.config === 'string' ? await identityPathOf(values.config) : undefined
    if (keyPath !== undefined) {
      let text: string
      try { text = await readFile(keyPath, 'utf8') } catch (err) { throw new Refused(`cannot read ${keyPath}: ${(err as NodeJS.ErrnoException).code ?? ''}`) }
      let key
      try { key = parseSigningKey(text) } catch (err) { throw new Refused(`${keyPath}: ${(err as Error).message}`) }
      publicKey = encodeBase64Key(key.publicKey)
      id = await peerIdOf(key.publicKey)
    } else {
      const client = connect(values.url as string | undefined)
      try { const s = await client.getStatus(); publicKey = s.publicKey; id = s.nodeId } finally { client.close() }
    }
    if (values.json === true) out(JSON.stringify({ peerId: id, publicKey }))
    else out(id)
  }
}

async function identityPathOf (configPath: string): Promise<string> {
  let config
  try { config = await loadConfig(configPath) } catch (err) { throw new Refused((err as Error).message) }
  return config.cluster.identityKey ?? join(config.stateDir, 'identity.key')
}

export const statusCommands = [status, peerId]
