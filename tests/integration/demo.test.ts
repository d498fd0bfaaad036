// The README quick start: `npm run demo` must work (here with --exit, in a temp dir).
import { expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { freePort } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

it('npm run demo: a 3-node loopback cluster delivers the uploaded file to the other nodes', async () => {
  const t = tempDir('dm-demo-')
  try {
    const port = await freePort()
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['dist/scripts/demo.js', '--exit'], { env: { ...process.env, DEMO_DIR: t.dir, DEMO_PORT: String(port) }, timeout: 90_000 },
        (err, stdout, stderr) => err !== null ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
    })
    expect(out).toMatch(/node 2 has it after \d+ ms/)
    expect(out).toMatch(/node 3 has it after \d+ ms/)
    expect(existsSync(`${t.dir}/node2/files/demo/hello.txt`)).toBe(true)
  } finally { t.cleanup() }
})
