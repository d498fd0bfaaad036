// A connection between two simulated nodes (one or more transport connections between the
// same pair, as libp2p may hold: two nodes dialing each other at once make two). Messages
// travel on it in order, each direction on its own; once its last connection closes it is
// `open = false` and whatever was still in flight on it is dropped on arrival (a reset
// stream loses what was not yet read).
export class Link {
  open = true
  /** each transport connection: when it opened, and which end dialed it */
  readonly opened: number[] = []
  readonly dialer: number[] = []
  /** the latest arrival time so far, a → b and b → a (in-order delivery) */
  lastAB = 0
  lastBA = 0
  /** whether each end's overlay was told of the link ('connected') */
  toldA = false
  toldB = false

  constructor (readonly a: number, readonly b: number, readonly latency: number) {}

  other (n: number): number { return n === this.a ? this.b : this.a }

  get connections (): number { return this.opened.length }

  newestOpenedAt (): number { let t = 0; for (const o of this.opened) if (o > t) t = o; return t }

  /** whether `n` holds a connection to the other end that it dialed itself */
  dialedBy (n: number): boolean { return this.dialer.includes(n) }

  told (n: number): boolean { return n === this.a ? this.toldA : this.toldB }
  tell (n: number): void { if (n === this.a) this.toldA = true; else this.toldB = true }
}
