// Idle cost of the CLI (issue 14): the commands that only talk to a daemon load the gRPC
// client and nothing of libp2p, the server or the config parser. Each CLI call is a fresh
// process, so every module it loads is paid in start time and memory on every call
// (libp2p and its crypto were ~8 MB RSS and ~100 ms on `file list`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../../src/crypto/keys.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const HOOK = resolve('tests/helpers/record-loaded-modules.mjs')
const work = tempDir('dm-cli-load-')
const key = generateSigningKey()
const keyPath = join(work.dir, 'signer.pem')
writeFileSync(keyPath, signingKeyToPem(key), { mode: 0o600 })
let node: RunningNode

beforeAll(async () => { node = await startNode({ files: { motd: [encodeBase64Key(key.publicKey)] } }) })
afterAll(async () => { await node?.stop(); work.cleanup() })

/** Runs the CLI and returns the packages (node_modules/<name>) it loaded. */
async function packagesLoadedBy (args: string[]): Promise<string[]> {
  const list = join(work.dir, `loaded-${args.join('-').replace(/[^\w-]/g, '_')}.txt`)
  const r = await cli(args, { env: { NODE_OPTIONS: `--import ${HOOK}`, DM_LOADED_MODULES: list } })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  const urls = readFileSync(list, 'utf8').split('\n').filter(u => u !== '')
  expect(urls.some(u => u.endsWith('/cli/bin.js'))).toBe(true) // the hook saw the CLI load
  return [...new Set(urls.map(u => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined))].sort()
}

// never needed to talk to a daemon
const HEAVY = /^(libp2p|@libp2p\/|@chainsafe\/|multiformats|@noble\/curves|@grpc\/reflection|grpc-health-check|pino|smol-toml)/

describe('what a CLI command loads', () => {
  it('file update, file list and file get load the gRPC client, not libp2p, the server or the config parser', async () => {
    const content = join(work.dir, 'motd.txt')
    writeFileSync(content, 'hello\n')
    for (const args of [
      ['file', 'update', content, '--name', 'motd', '--key-path', keyPath, '--url', node.url],
      ['file', 'list', '--url', node.url],
      ['file', 'get', 'motd', '--url', node.url]
    ]) {
      const loaded = await packagesLoadedBy(args)
      expect(loaded).toContain('@grpc/grpc-js')
      expect(loaded.filter(p => HEAVY.test(p)), `data-mesher ${args.slice(0, 2).join(' ')}`).toEqual([])
    }
  })
})
