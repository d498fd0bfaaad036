import type { Random } from './random.js'

/** Shuffles `a` in place (Fisher–Yates) with `random` and returns it. */
export function shuffle<T> (a: T[], random: Random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]]
  }
  return a
}
