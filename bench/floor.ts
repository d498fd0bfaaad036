// The floor of idle memory (issue 22): a process that loads every package the daemon
// depends on (package.json "dependencies": libp2p with TCP, Noise, yamux, QUIC, identify,
// ping; @grpc/grpc-js, prom-client, pino, …) and then does nothing. The bench starts it
// next to the daemons, with the same node flags, and reports its RSS and RssAnon beside
// theirs: what the daemon adds over this is what the daemon's own code and state cost.
// Like the daemon's bin (src/cli/hold-young-generation.ts), it keeps V8's young generation
// from growing while the modules load, so the floor is not inflated by what the daemon avoids.
import { holdYoungGeneration } from '../src/daemon/young-generation.js'
import { readFileSync } from 'node:fs'

holdYoungGeneration()
await import('../src/polyfill.js')
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
for (const name of Object.keys(pkg.dependencies)) await import(name)
process.stdout.write('ready\n')
setInterval(() => {}, 1 << 30) // alive, idle, until the bench ends it
