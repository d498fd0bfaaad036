// When the sync timer fires: initiate a round, or skip this once. A node that has just
// answered a round (as responder) has been reconciled with one peer during this interval
// already; initiating as well would make every node take part in ~2 rounds per interval.
// Skipping halves the idle rounds without slowing repair much: a round is a round,
// whichever side started it. Never twice in a row, so a peer that keeps syncing with us
// cannot stop us from picking a random peer ourselves: at most every other tick is
// skipped (DECISIONS.md, "Fewer sync rounds at idle").

export interface TickState {
  /** this node completed a round as responder since the timer was armed */
  answeredSinceArmed: boolean
  /** the previous tick was skipped */
  skippedLast: boolean
}

export function shouldSkip (s: TickState): boolean {
  return s.answeredSinceArmed && !s.skippedLast
}
