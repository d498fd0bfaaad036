// Idle memory of a lone daemon (issue 14): starting it must not leave V8's young
// generation grown to its maximum (32 MiB, ~18 MB of idle RSS) for V8's memory reducer to
// return some time later, or not (src/daemon/young-generation.ts); and once the daemon
// serves, the young generation must be free to grow again under load.
import { afterAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const MiB = 1024 * 1024
const work = tempDir('dm-idle-mem-')
let node: RunningNode | undefined
afterAll(async () => { await node?.stop(); work.cleanup() })

describe('idle memory of a lone daemon', () => {
  it('a started daemon has not kept the young generation its start-up grew', async () => {
    const report = join(work.dir, 'heap.json')
    node = await startNode({ env: { NODE_OPTIONS: `--import ${resolve('tests/helpers/report-heap-spaces.mjs')}`, DM_HEAP_REPORT: report } })
    await new Promise(r => setTimeout(r, 1000)) // idle a moment after ready
    node.proc.kill('SIGUSR2')
    const deadline = Date.now() + 10_000
    while (!existsSync(report) && Date.now() < deadline) await new Promise(r => setTimeout(r, 50))
    const { rss, spaces } = JSON.parse(readFileSync(report, 'utf8')) as { rss: number, spaces: Record<string, number> }
    console.log(`lone daemon 1 s after ready: young generation ${(spaces.new_space / MiB).toFixed(1)} MiB, RSS ${(rss / MiB).toFixed(0)} MiB`)
    // held at its initial size (1–2 MiB); left to grow, start-up takes it to 16–32 MiB
    expect(spaces.new_space).toBeLessThanOrEqual(4 * MiB)
  })

  it('held, the young generation stays small under churn; released, it grows again', () => {
    // a fresh node process, so that nothing before the hold has grown it
    const script = `
      import { getHeapSpaceStatistics } from 'node:v8'
      const yg = await import(${JSON.stringify(resolve('dist/src/daemon/young-generation.js'))})
      const young = () => getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_size
      const churn = () => { const keep = []; for (let i = 0; i < 3e6; i++) keep[i % 200000] = { i, s: 'x' + i } }
      const hold = process.argv[1] === 'hold'
      if (hold) yg.holdYoungGeneration()
      churn()
      const during = young()
      yg.releaseYoungGeneration()
      churn()
      console.log(JSON.stringify({ during, after: young() }))`
    const run = (mode: string): { during: number, after: number } =>
      JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, mode], { encoding: 'utf8' }))
    const free = run('free')
    expect(free.during).toBeGreaterThanOrEqual(8 * MiB) // the churn does grow an unheld young generation
    const held = run('hold')
    expect(held.during).toBeLessThanOrEqual(2 * MiB)
    expect(held.after).toBeGreaterThanOrEqual(8 * MiB)
  })
})
