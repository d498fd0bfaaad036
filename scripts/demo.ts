// `npm run demo`: a 3-node cluster on loopback. Generates a signer key, starts three
// daemons (nodes 2 and 3 know only node 1), uploads a file to node 1 and shows it
// arriving at the others. Keeps running until Ctrl-C; `--exit` stops after the show.
import '../src/polyfill.js'
import { readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../src/crypto/keys.js'
import { LocalCluster } from './lib/local-cluster.js'

const root = resolve(process.env.DEMO_DIR ?? '.data-mesher-demo')
const exitAfter = process.argv.includes('--exit')

rmSync(root, { recursive: true, force: true })
mkdirSync(root, { recursive: true })
const key = generateSigningKey()
const keyPath = join(root, 'signer.pem')
writeFileSync(keyPath, signingKeyToPem(key), { mode: 0o600 })

const cluster = new LocalCluster({
  dir: root,
  size: 3,
  basePort: Number(process.env.DEMO_PORT ?? 17946),
  files: { 'demo/hello.txt': [encodeBase64Key(key.publicKey)] },
  // nodes on one host over loopback: the mesh's test timings (src/mesh/profiles.ts)
  profile: 'test'
})
async function shutdown (code: number): Promise<never> {
  await cluster.stopAll()
  process.exit(code)
}
process.once('SIGINT', () => { void shutdown(0) })

for (const n of cluster.nodes) {
  const c = await cluster.start(n.index)
  console.log(`node ${n.index + 1} up: ${(await c.getStatus()).nodeId}  (${cluster.configPath(n.index)})`)
}

const others = cluster.nodes.slice(1)
const watches = await Promise.all(others.map(async n => await n.client!.watchFiles({ names: ['demo/hello.txt'] })))
const started = Date.now()
console.log('\nuploading demo/hello.txt to node 1 ...')
await cluster.nodes[0].client!.publish(key, 'demo/hello.txt', Buffer.from(`hello from node 1 at ${new Date().toISOString()}\n`))
try {
  await Promise.all(watches.map(async (w, i) => {
    await w.next(e => e.kind === 'UPDATED', 30_000)
    const path = join(others[i].stateDir, 'files', 'demo', 'hello.txt')
    console.log(`  node ${i + 2} has it after ${Date.now() - started} ms: ${path}: ${JSON.stringify(readFileSync(path, 'utf8'))}`)
  }))
} catch (err) {
  console.error(`the file did not arrive: ${(err as Error).message}`)
  await shutdown(1)
}
for (const w of watches) w.cancel()

if (exitAfter) await shutdown(0)
console.log(`
The cluster keeps running. In another shell, try:
  node dist/src/cli/bin.js file update README.md --name demo/hello.txt --key-path ${keyPath} --url ${cluster.nodes[2].url}
  node dist/src/cli/bin.js file watch --url ${cluster.nodes[0].url}
  node dist/src/cli/bin.js status --url ${cluster.nodes[1].url}
Ctrl-C stops all three nodes.`)
