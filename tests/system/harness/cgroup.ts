// Each container gets a cgroup of its own on the host, named after the machine.
// Without it, nspawn (--keep-unit, no registration) would put every container into
// the same "payload" cgroup next to the test runner, and their systemds would share
// (and kill each other's) unit cgroups. It also gives teardown a sure way to kill
// whatever a container left behind.
import { existsSync, readdirSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from './wait.js'

const CGROUP2_MAGIC = 0x63677270
const CGROUP1_MAGIC = 0x27e0eb

/** the host hierarchies systemd uses: the cgroup2 root, or (hybrid) unified + name=systemd */
export function cgroupRoots (): string[] {
  const isFs = (p: string, magic: number): boolean => { try { return statfsSync(p).type === magic } catch { return false } }
  if (isFs('/sys/fs/cgroup', CGROUP2_MAGIC)) return ['/sys/fs/cgroup']
  const roots: string[] = []
  if (isFs('/sys/fs/cgroup/unified', CGROUP2_MAGIC)) roots.push('/sys/fs/cgroup/unified')
  if (isFs('/sys/fs/cgroup/systemd', CGROUP1_MAGIC)) roots.push('/sys/fs/cgroup/systemd')
  if (roots.length === 0) throw new Error('no systemd cgroup hierarchy under /sys/fs/cgroup')
  return roots
}

/** shell commands that move the running shell into the machine's cgroup(s) */
export function enterCgroupScript (machine: string): string {
  return cgroupRoots().map((r) => `mkdir -p ${r}/${machine} && echo $$ > ${r}/${machine}/cgroup.procs`).join(' && ')
}

function dirsDepthFirst (dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...dirsDepthFirst(join(dir, e.name)))
  }
  out.push(dir)
  return out
}

function pidsIn (dir: string): number[] {
  const pids: number[] = []
  for (const d of dirsDepthFirst(dir)) {
    try {
      pids.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number))
    } catch {}
  }
  return pids
}

/** Kills every process left in the machine's cgroups and removes them. */
export async function destroyCgroup (machine: string): Promise<void> {
  for (const root of cgroupRoots()) {
    const dir = join(root, machine)
    if (!existsSync(dir)) continue
    for (let i = 0; i < 50; i++) {
      const pids = pidsIn(dir)
      if (pids.length === 0) break
      if (existsSync(join(dir, 'cgroup.kill'))) {
        try { writeFileSync(join(dir, 'cgroup.kill'), '1') } catch {}
      } else {
        for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
      }
      await sleep(100)
    }
    for (const d of dirsDepthFirst(dir)) { try { rmdirSync(d) } catch {} }
  }
}
