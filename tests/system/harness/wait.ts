// Waiting on events with a deadline instead of fixed sleeps.

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Thrown by a probe to stop waiting at once (the thing waited for can no longer happen). */
export class GiveUp extends Error {}

export interface WaitOptions {
  /** give up after this many milliseconds */
  timeoutMs: number
  /** poll period (default 250 ms) */
  intervalMs?: number
}

/**
 * Polls `probe` until it returns a value that is not undefined/false, and returns it.
 * On timeout, throws with `what` and the last value or error seen, so a failure says
 * what was being waited for and what was there instead.
 */
export async function waitFor<T> (what: string, probe: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined && v !== false) return v
      last = v
    } catch (err) {
      if (err instanceof GiveUp) throw err
      last = err instanceof Error ? err.message : err
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`)
    }
    await sleep(opts.intervalMs ?? 250)
  }
}
