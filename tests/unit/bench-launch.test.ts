// The bench starts daemons as the systemd unit runs them (the unit's environment, from
// nixos/service-settings.json), and its start floor loads the real one-file build.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DAEMON_ENV, unitEnvironment } from '../../bench/lib/node-flags.js'
import { startFloorMs } from '../../bench/lib/start-floor.js'

const settings = JSON.parse(readFileSync(new URL('../../nixos/service-settings.json', import.meta.url), 'utf8')) as { Environment: string[] }

describe('bench: how daemons are launched', () => {
  it('gives them the environment of the systemd unit', () => {
    expect(settings.Environment.length).toBeGreaterThan(0)
    expect(Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v}`)).toEqual(settings.Environment)
    expect(DAEMON_ENV.MALLOC_TRIM_THRESHOLD_).toMatch(/^\d+$/)
    expect(DAEMON_ENV.MALLOC_MMAP_THRESHOLD_).toMatch(/^\d+$/)
  })

  it('names a malformed Environment entry', () => {
    expect(() => unitEnvironment({ Environment: ['MALLOC_ARENA_MAX'] })).toThrow(/"MALLOC_ARENA_MAX" is not KEY=value/)
  })

  it('measures the start floor by loading the one-file build (data-mesher --version)', async () => {
    const ms = await startFloorMs(2, [], [], DAEMON_ENV, 2)
    expect(ms).toBeGreaterThan(0)
  })
})
