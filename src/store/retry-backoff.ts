// Per-name backoff for a timer action that keeps failing (removing an expired file or
// releasing a held record on a read-only or unwritable disk). Without it the timer finds
// the same overdue work at once and fires again: hundreds of attempts and error lines a
// second (issue 11, L2). The delay starts at `first`, doubles up to `max`, and a name is
// forgotten on its first success.
export class RetryBackoff {
  private readonly failing = new Map<string, { delay: number, at: number }>()

  constructor (private readonly first: number, private readonly max: number) {}

  /** Records a failure for `key` at `now`; returns when it may be tried again. */
  failed (key: string, now: number): number {
    const prev = this.failing.get(key)
    const delay = prev === undefined ? this.first : Math.min(prev.delay * 2, this.max)
    this.failing.set(key, { delay, at: now + delay })
    return now + delay
  }

  /** The work for `key` succeeded, or is no longer there: the next failure starts over. */
  reset (key: string): void { this.failing.delete(key) }

  /** When the action for `key`, due at `due`, may run: `due`, or later while it keeps failing. */
  notBefore (key: string, due: number): number {
    const f = this.failing.get(key)
    return f === undefined ? due : Math.max(due, f.at)
  }
}
