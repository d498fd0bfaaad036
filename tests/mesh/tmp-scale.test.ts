import { it } from 'vitest'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Cluster, waitFor } from './helpers.js'
it('scale', async () => {
  const h = monitorEventLoopDelay({ resolution: 10 }); h.enable()
  const c = new Cluster({ transports: ['tcp'], settings: { trimGrace: 3000 } })
  const hub = await c.add('hub')
  const nodes = [hub]
  const times: number[] = []
  for (let i = 0; i < 24; i++) { const t = Date.now(); nodes.push(await c.add('n' + i, { bootstrap: [hub.hostPort] })); times.push(Date.now() - t) }
  console.log('start times', times.join(','), 'loop max', Math.round(h.max / 1e6), 'p50', Math.round(h.percentile(50) / 1e6))
  const c0 = process.cpuUsage(); const t0 = Date.now()
  await new Promise(r => setTimeout(r, 10000))
  const u = process.cpuUsage(c0)
  console.log('cpu% over 10s', ((u.user + u.system) / 1000 / (Date.now() - t0) * 100).toFixed(0))
  const sum = (f: (s: any) => number) => nodes.reduce((a, n) => a + f(n.mesh.stats()), 0)
  console.log('degrees', nodes.map(n => n.mesh.status().peers.length).join(','), 'dials', sum(s => s.peers.dials), 'fail', sum(s => s.peers.dialFailures), 'trimmed', sum(s => s.peers.trimmed), 'syncs', sum(s => s.sync.rounds), 'pex', sum(s => 0))
  await c.close()
}, 300000)
