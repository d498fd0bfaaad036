// `node --import ./tests/helpers/report-heap-spaces.mjs ...`: on SIGUSR2 the process writes
// V8's heap space sizes and its RSS (bytes, JSON) to the file named by $DM_HEAP_REPORT.
import { writeFileSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'

if (process.env.DM_HEAP_REPORT !== undefined) {
  const out = process.env.DM_HEAP_REPORT
  process.on('SIGUSR2', () => {
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map(s => [s.space_name, s.space_size]))
    writeFileSync(out, JSON.stringify({ rss: process.memoryUsage().rss, spaces }))
  })
}
