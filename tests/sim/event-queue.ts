// The simulator's event queue: a binary min-heap ordered by (time, insertion number), so
// that events at the same simulated time come out in the order they were scheduled and a
// run replays exactly from its seed. Events are slots in typed arrays (time, kind, node,
// one number) plus an optional payload object: no closure and no object per event unless
// the event carries one, because a 10,000-node run schedules tens of millions of them.

export class EventQueue {
  private cap: number
  private size = 0
  private nextSeq = 0
  /** heap of slot numbers */
  private heap: Int32Array
  private free: Int32Array
  private freeCount: number
  /** per slot */
  time: Float64Array
  private seq: Float64Array
  kind: Uint8Array
  node: Int32Array
  arg: Float64Array
  data: unknown[]

  constructor (initial = 1 << 16) {
    this.cap = initial
    this.heap = new Int32Array(initial)
    this.free = new Int32Array(initial)
    for (let i = 0; i < initial; i++) this.free[i] = initial - 1 - i
    this.freeCount = initial
    this.time = new Float64Array(initial)
    this.seq = new Float64Array(initial)
    this.kind = new Uint8Array(initial)
    this.node = new Int32Array(initial)
    this.arg = new Float64Array(initial)
    this.data = new Array<unknown>(initial).fill(undefined)
  }

  get length (): number { return this.size }

  /** Schedules an event; `arg` and `data` are the handler's to interpret. */
  push (time: number, kind: number, node: number, arg = 0, data?: unknown): void {
    if (!(time >= 0) || !Number.isFinite(time)) throw new Error(`event at an invalid time ${time}`)
    if (this.freeCount === 0) this.grow()
    const slot = this.free[--this.freeCount]
    this.time[slot] = time
    this.seq[slot] = this.nextSeq++
    this.kind[slot] = kind
    this.node[slot] = node
    this.arg[slot] = arg
    this.data[slot] = data
    let i = this.size++
    const heap = this.heap
    // sift up
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent]
      if (!this.less(slot, p)) break
      heap[i] = p
      i = parent
    }
    heap[i] = slot
  }

  /** The earliest event's time (Infinity when empty). */
  peekTime (): number { return this.size === 0 ? Infinity : this.time[this.heap[0]] }

  /**
   * Takes the earliest event out and returns its slot (read time/kind/node/arg/data at
   * that index, then call release(slot)); -1 when empty.
   */
  pop (): number {
    if (this.size === 0) return -1
    const heap = this.heap
    const top = heap[0]
    const last = heap[--this.size]
    const n = this.size
    let i = 0
    // sift down
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && this.less(heap[right], heap[child])) child = right
      if (!this.less(heap[child], last)) break
      heap[i] = heap[child]
      i = child
    }
    if (n > 0) heap[i] = last
    return top
  }

  release (slot: number): void {
    this.data[slot] = undefined
    this.free[this.freeCount++] = slot
  }

  private less (a: number, b: number): boolean {
    const ta = this.time[a]; const tb = this.time[b]
    return ta < tb || (ta === tb && this.seq[a] < this.seq[b])
  }

  private grow (): void {
    const old = this.cap
    const cap = old * 2
    const f64 = (a: Float64Array): Float64Array => { const b = new Float64Array(cap); b.set(a); return b }
    this.time = f64(this.time)
    this.seq = f64(this.seq)
    this.arg = f64(this.arg)
    const k = new Uint8Array(cap); k.set(this.kind); this.kind = k
    const nd = new Int32Array(cap); nd.set(this.node); this.node = nd
    const h = new Int32Array(cap); h.set(this.heap); this.heap = h
    const fr = new Int32Array(cap)
    for (let i = 0; i < old; i++) fr[i] = cap - 1 - i
    this.free = fr
    this.freeCount = old
    this.data.length = cap
    this.data.fill(undefined, old)
    this.cap = cap
  }
}
