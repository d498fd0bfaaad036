// Rate limits as token buckets: `burst` tokens at most, refilled at `perSecond`. One
// bucket (TokenBucket) or one per key (TokenBuckets, e.g. per peer, in a bounded map).
// The clock is injected so that tests move time instead of sleeping.

export interface BucketShape {
  /** tokens a full bucket holds (and a new one starts with) */
  burst: number
  /** tokens that come back per second (fractions accumulate) */
  perSecond: number
}

export class TokenBucket {
  private tokens: number
  private refilled: number

  constructor (private readonly shape: BucketShape, private readonly clock: () => number) {
    this.tokens = shape.burst
    this.refilled = clock()
  }

  private refill (): void {
    const now = this.clock()
    const { burst, perSecond } = this.shape
    this.tokens = Math.min(burst, this.tokens + Math.max(0, now - this.refilled) * perSecond / 1000)
    this.refilled = now
  }

  /** Takes up to `want` whole tokens; returns how many were taken (0 when the bucket is empty). */
  take (want = 1): number {
    this.refill()
    const n = Math.max(0, Math.min(want, Math.floor(this.tokens)))
    this.tokens -= n
    return n
  }

  /** Takes one token and returns 0, or, when there is none, the ms until one is due (nothing taken). */
  takeOrWait (): number {
    if (this.take(1) === 1) return 0
    return Math.max(1, Math.ceil((1 - this.tokens) * 1000 / this.shape.perSecond))
  }
}

/**
 * A bucket per key (a peer id), created full on first use. At most `maxKeys` buckets are
 * kept; beyond that the least recently used goes (it starts full if its key comes back),
 * so a stream of throw-away keys costs bounded memory. Forget a key when its peer leaves.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>()

  constructor (private readonly shape: BucketShape & { maxKeys: number }, private readonly clock: () => number) {}

  get size (): number { return this.buckets.size }

  /** Takes up to `want` tokens from `key`'s bucket; returns how many were taken. */
  take (key: string, want = 1): number { return this.bucket(key).take(want) }

  /** Takes one token of `key`'s and returns 0, or the ms until one is due (TokenBucket.takeOrWait). */
  takeOrWait (key: string): number { return this.bucket(key).takeOrWait() }

  private bucket (key: string): TokenBucket {
    let b = this.buckets.get(key)
    if (b === undefined) {
      while (this.buckets.size >= Math.max(1, this.shape.maxKeys)) {
        const lru = this.buckets.keys().next().value
        if (lru === undefined) break
        this.buckets.delete(lru)
      }
      b = new TokenBucket(this.shape, this.clock)
    } else {
      this.buckets.delete(key) // re-inserted as the most recently used
    }
    this.buckets.set(key, b)
    return b
  }

  /** Whether one token could be taken from `key`'s bucket (and takes it). */
  tryTake (key: string): boolean { return this.take(key, 1) === 1 }

  delete (key: string): void { this.buckets.delete(key) }

  clear (): void { this.buckets.clear() }
}
