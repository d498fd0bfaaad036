// `data-mesher daemon --dev`: a ready-to-try node with an embedded config — state under
// ./.data-mesher, a development signer key generated on first run, demo names configured.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fromTable, type Config } from '../config/config.js'
import { encodeBase64Key, generateSigningKey, parseSigningKey, signingKeyToPem } from '../crypto/keys.js'
import { ensureDir, writeFileAtomic } from '../store/atomic-file.js'

export interface DevSetup { config: Config, keyPath: string, publicKey: string, url: string }

export async function devSetup (dir = '.data-mesher', port = 7946, listen = '127.0.0.1:7331'): Promise<DevSetup> {
  const stateDir = resolve(dir)
  await ensureDir(stateDir, 0o700)
  const keyPath = join(stateDir, 'dev-signer.pem')
  let key
  try { key = parseSigningKey(await readFile(keyPath, 'utf8')) } catch {
    key = generateSigningKey()
    await writeFileAtomic(keyPath, new TextEncoder().encode(signingKeyToPem(key)), 0o600)
  }
  const publicKey = encodeBase64Key(key.publicKey)
  const socket = join(stateDir, 'api.sock')
  const config = fromTable({
    log_level: 'info',
    state_dir: stateDir,
    namespaces: ['machines'],
    cluster: { port },
    api: { socket, listen },
    files: { 'demo/hello.txt': [publicKey], 'demo/motd': [publicKey] }
  })
  return { config, keyPath, publicKey, url: `unix://${socket}` }
}

export function devInstructions (s: DevSetup): string {
  return [
    'data-mesher dev node: state in ' + s.config.stateDir,
    `  signer key ${s.keyPath} (public ${s.publicKey}) may sign demo/hello.txt and demo/motd`,
    '  try, in another shell:',
    `    echo hello > hello.txt`,
    `    node dist/src/cli/bin.js file update hello.txt --name demo/hello.txt --key-path ${s.keyPath} --url ${s.url}`,
    `    cat ${join(s.config.stateDir, 'files', 'demo', 'hello.txt')}`,
    `    node dist/src/cli/bin.js file watch --url ${s.url}`,
    ''
  ].join('\n')
}
