// Idle memory (issue 14): loading the daemon's modules (libp2p, gRPC, the .proto) allocates
// fast, and V8 answers by growing the young generation to its maximum (2 × 16 MiB
// semi-spaces). At idle V8's memory reducer shrinks it back, but only some time later: half
// of the lone `daemon --dev` runs measured still held 32 MiB of young generation 30 s after
// start (idle RSS ~100 MB instead of ~81 MB). So while the process loads and the daemon
// starts, the young generation keeps its initial size; once the daemon serves, V8 may grow
// it again under load as usual. (--max-semi-space-size would cap it for good, but only as
// a node flag at launch, and a cap costs CPU under load; V8 reads the growth factor each
// time it would grow, so setting it at run time works.) docs/DECISIONS.md has the numbers.
import { setFlagsFromString } from 'node:v8'

/** V8's default semi-space growth factor (node 20 and 22) */
const V8_DEFAULT_GROWTH = 2

let held = false

/** Call before loading the daemon's modules (src/cli/hold-young-generation.ts does, first thing). */
export function holdYoungGeneration (): void {
  setFlagsFromString('--semi-space-growth-factor=1')
  held = true
}

/** Call once the daemon serves; a no-op when nothing was held (tests start daemons in-process). */
export function releaseYoungGeneration (): void {
  if (!held) return
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH}`)
  held = false
}
