// The floor of start-up (issue 22): N processes that only load the daemon's one file
// (`data-mesher --version`: Node starts, compiles and evaluates the bundle with every
// package in it, prints, exits), `parallel` at a time as the daemons are started. What
// starting the daemons takes beyond this is the daemons' own start (store, keys, libp2p
// listening, the API) and the mesh forming beside it; this much no daemon of this stack
// can start in less.
import { performance } from 'node:perf_hooks'
import { start } from './procs.js'
import { BUNDLE_BIN } from './dm-cluster.js'

export async function startFloorMs (n: number, nsPrefix: string[], nodeFlags: string[], env: Record<string, string>, parallel = 4): Promise<number> {
  const [cmd, ...pre] = [...nsPrefix, process.execPath]
  let next = 0
  const t = performance.now()
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      next++
      const c = start('start-floor', cmd, [...pre, ...nodeFlags, BUNDLE_BIN, '--version'], { env: { ...process.env, ...env } })
      const code = await c.exited
      if (code !== 0) throw new Error(`${BUNDLE_BIN} --version exited with ${String(code)}`)
    }
  }))
  return performance.now() - t
}
