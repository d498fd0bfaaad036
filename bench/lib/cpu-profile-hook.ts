// Loaded into each daemon with `node --import` by bench/profile.ts: the first SIGUSR2 starts
// V8's CPU profiler, the second writes the profile to $DM_PROFILE_DIR/<pid>.cpuprofile
// (the format Chrome DevTools and speedscope open).
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.env.DM_PROFILE_DIR ?? '.'
const session = new Session()
session.connect()
let running = false

process.on('SIGUSR2', () => {
  if (!running) {
    running = true
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')))
    return
  }
  running = false
  session.post('Profiler.stop', (err, r) => {
    if (err === null) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(r.profile))
  })
})
