// The CI-sized soak: the same run as `npm run soak`, shorter and smaller.
import { expect, it } from 'vitest'
import { runSoak } from '../../scripts/soak.ts'
import { freePort } from '../helpers/daemon.ts'

it('a 5-node cluster under steady load with random SIGTERM/SIGKILL restarts stays converged', async () => {
  const report = await runSoak({
    durationMs: Number(process.env.SOAK_MS ?? 45_000),
    nodes: 5,
    rate: 5,
    names: 10,
    restartEveryMs: 12_000,
    sampleEveryMs: 2_000,
    warmupMs: 10_000,
    basePort: await freePort() + 10,
    log: line => console.log(line)
  })
  console.log(JSON.stringify(report))
  expect(report.updates).toBeGreaterThan(50)
  expect(report.restarts).toBeGreaterThan(0)
  expect(report.divergent).toEqual([])
  expect(report.lag.samples).toBeGreaterThan(report.updates / 2)
  // node 0 is never restarted: its memory after the warm-up is fitted from its samples
  const node0 = report.trend.find(t => t.node === 0)
  expect(node0?.sampleCount).toBeGreaterThan(5)
  expect(node0?.samples.length).toBeGreaterThan(node0!.sampleCount) // the warm-up's samples are in the report too
  expect(Number.isFinite(node0!.rssMiBPerHour)).toBe(true)
}, 180_000)
