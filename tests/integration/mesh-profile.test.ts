// `[cluster] profile`: a real daemon started with a profile runs its mesh with that
// profile's timings (src/mesh/profiles.ts). The daemon's "mesh started" log line names the
// profile and every setting its mesh runs with that differs from the default, read from
// the settings object the mesh components were built with.
import { afterEach, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MESH_PROFILE_OVERRIDES } from '../../src/mesh/profiles.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

let node: RunningNode | undefined
afterEach(async () => { await node?.stop(); node = undefined })

/** The daemon's "mesh started" log entry (JSON lines). */
function meshStarted (output: string): { profile?: string, changed?: Record<string, unknown> } {
  const line = output.split('\n').find(l => l.includes('"msg":"mesh started"'))
  expect(line, `"mesh started" in the daemon's output:\n${output}`).toBeDefined()
  return JSON.parse(line!)
}

describe('cluster.profile', () => {
  it('a daemon with profile = "test" runs its mesh with the test timings', async () => {
    node = await startNode({ cluster: { profile: 'test' } })
    const started = meshStarted(node.output())
    expect(started.profile).toBe('test')
    expect(started.changed).toEqual(MESH_PROFILE_OVERRIDES.test)
    expect(started.changed).toMatchObject({ maintainInterval: 300, backoffBase: 200 })
  })

  it('without the key the daemon runs the default timings', async () => {
    node = await startNode()
    const started = meshStarted(node.output())
    expect(started.profile).toBe('default')
    expect(started.changed).toEqual({})
  })

  it('an unknown profile is refused naming the key and the allowed values', async () => {
    const work = tempDir('dm-profile-')
    try {
      const p = join(work.dir, 'bad.toml')
      writeFileSync(p, '[cluster]\nprofile = "fast"\n')
      const r = await cli(['daemon', '--config', p, '--check'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('cluster.profile: must be one of "default", "lan", "test", got "fast"')
    } finally { work.cleanup() }
  })
})
