// For poking around by hand: boots a cluster and keeps it until ^C.
//   sudo npx vite-node tests/system/harness/dev-cluster.ts [N] [--no-daemon]
// Then, in another shell: sudo nsenter --target <leader pid> --all /bin/bash
import { Cluster } from './cluster.js'
import { Mesh } from './mesh.js'
import { preflight } from './preflight.js'

preflight()
const size = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3)
const c = process.argv.includes('--no-daemon')
  ? await Cluster.create({ size, daemon: false, watch: ['probe'] })
  : (await Mesh.create({ members: size, files: ['probe'], admission: true })).cluster
for (const n of c.nodes) {
  console.log(`${n.machine}  leader pid ${n.leaderPid}  ${n.ip4} ${n.ip6}  dir ${n.dir}`)
}
console.log(`network namespace ${c.id}; ^C tears it all down`)
await new Promise(() => {})
