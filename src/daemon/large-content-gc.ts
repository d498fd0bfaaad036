// Memory after a large file (issue 22): a 10 MiB version arrives (uploaded, or fetched from
// a peer) as one large buffer, and once stored that buffer is garbage. V8 frees it only at
// its next garbage collection that reaches the buffer's owner, and a daemon that goes idle
// right after allocates too little to start one: a lone daemon that took two 10 MiB uploads
// held them (20 MiB of ArrayBuffers, RSS 72 -> 92 MB) for over a minute, and a forced GC
// gave all of it back at once (docs/DECISIONS.md, "A GC after a large file").
//
// So once a node has stored content of at least `minBytes` and then nothing that large for
// `quietMs`, the daemon asks V8 for one full collection: a few milliseconds, once per burst
// of large files, never while small updates flow. The collector comes from V8 itself
// (`--expose-gc` set at run time, `gc` read from a fresh context), so the unit needs no flag.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export interface LargeContentGcOptions {
  /** content at least this large schedules a collection (default 1 MiB) */
  minBytes: number
  /** the collection runs this long after the last such content (default 10 s) */
  quietMs: number
}

export const LARGE_CONTENT_GC_DEFAULTS: LargeContentGcOptions = { minBytes: 1024 * 1024, quietMs: 10_000 }

/** V8's full collection, obtained without `--expose-gc` on the command line (the main context's globals are unchanged). */
export function v8Collector (): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

export class LargeContentGc {
  private timer?: NodeJS.Timeout
  /** collections run (for tests and the log) */
  collections = 0

  constructor (private readonly collect: () => void, private readonly o: LargeContentGcOptions = LARGE_CONTENT_GC_DEFAULTS) {}

  /** Content of `bytes` was stored: a large one (re)starts the quiet period. */
  note (bytes: number): void {
    if (bytes < this.o.minBytes) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.collections++
      this.collect()
    }, this.o.quietMs)
    this.timer.unref()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}
