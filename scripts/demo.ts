// `npm run demo`: a 3-node cluster on loopback. Generates a signer key, starts three
// daemons (nodes 2 and 3 know only node 1), uploads a file to node 1 and shows it
// arriving at the others. Keeps running until Ctrl-C; `--exit` stops after the show.
import '../src/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type DataMesherClient } from '../src/client/client.js'
import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../src/crypto/keys.js'

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))
const root = resolve(process.env.DEMO_DIR ?? '.data-mesher-demo')
const basePort = Number(process.env.DEMO_PORT ?? 17946)
const exitAfter = process.argv.includes('--exit')

function config (i: number): string {
  return [
    'log_level = "warn"',
    `state_dir = "${join(root, `node${i}`)}"`,
    '[cluster]',
    `port = ${basePort + i}`,
    'sync_interval = "2s"',
    `bootstrap_nodes = [${i === 1 ? '' : `"127.0.0.1:${basePort + 1}"`}]`,
    '[api]',
    `socket = "${join(root, `node${i}.sock`)}"`,
    'listen = ""',
    '[files]',
    `"demo/hello.txt" = ["${pub}"]`
  ].join('\n') + '\n'
}

rmSync(root, { recursive: true, force: true })
mkdirSync(root, { recursive: true })
const key = generateSigningKey()
const pub = encodeBase64Key(key.publicKey)
const keyPath = join(root, 'signer.pem')
writeFileSync(keyPath, signingKeyToPem(key), { mode: 0o600 })

const procs: ChildProcess[] = []
const clients: DataMesherClient[] = []
async function shutdown (code: number): Promise<never> {
  for (const c of clients) c.close()
  for (const p of procs) p.kill('SIGTERM')
  await Promise.all(procs.map(async p => await new Promise(r => p.exitCode !== null ? r(null) : p.once('exit', r))))
  process.exit(code)
}
process.once('SIGINT', () => { void shutdown(0) })

for (let i = 1; i <= 3; i++) {
  const cfg = join(root, `node${i}.toml`)
  writeFileSync(cfg, config(i))
  const p = spawn(process.execPath, [BIN, 'daemon', '--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] })
  procs.push(p)
  const c = connect(`unix://${join(root, `node${i}.sock`)}`)
  clients.push(c)
  await c.waitForReady(20_000)
  console.log(`node ${i} up: ${(await c.getStatus()).nodeId}  (${cfg})`)
}

const watches = await Promise.all(clients.slice(1).map(async c => await c.watchFiles({ names: ['demo/hello.txt'] })))
const content = `hello from node 1 at ${new Date().toISOString()}\n`
const started = Date.now()
console.log('\nuploading demo/hello.txt to node 1 ...')
await clients[0].publish(key, 'demo/hello.txt', Buffer.from(content))
try {
  await Promise.all(watches.map(async (w, i) => {
    await w.next(e => e.kind === 'UPDATED', 30_000)
    const path = join(root, `node${i + 2}`, 'files', 'demo', 'hello.txt')
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
  node dist/src/cli/bin.js file update README.md --name demo/hello.txt --key-path ${keyPath} --url unix://${root}/node3.sock
  node dist/src/cli/bin.js file watch --url unix://${root}/node1.sock
  node dist/src/cli/bin.js status --url unix://${root}/node2.sock
Ctrl-C stops all three nodes.`)
