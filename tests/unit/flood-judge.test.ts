// The judgement of flooding signers by their own rate (src/mesh/proto/flood-judge.ts),
// with the daemon's defaults: honest patterns (facts once a minute, a pointer every
// 10–20 s, a deploy of many files at once, the bench's one file every ~1.9 s) are never
// judged nor suspected; a member signing 2 versions a second is judged within seconds,
// its versions then taken one per interval, and the judgement ends once its flood does.
import { describe, expect, it } from 'vitest'
import { FloodJudge, FLOOD_MEMORY, SUSPECT_MEMORY, type FloodJudgeSettings } from '../../src/mesh/proto/flood-judge.js'
import { DEFAULT_MESH_SETTINGS, FLOOD_JUDGE_OFF } from '../../src/mesh/settings.js'

// the defaults: the judgement on
const D: FloodJudgeSettings = DEFAULT_MESH_SETTINGS

/** A signer's versions of one name, `every` ms apart (signed and arriving alike): what the judge is told. */
function versions (j: FloodJudge, signer: string, count: number, every: number, from = 0): number {
  let t = from
  for (let k = 1; k < count; k++) {
    t += every
    j.superseded(signer, every, t)
  }
  return t
}

describe('FloodJudge (the defaults)', () => {
  it('a busy honest fleet: facts once a minute, a pointer every 10 s, a deploy of 128 files: never judged nor suspected', () => {
    const j = new FloodJudge(D)
    let end = 0
    for (let m = 0; m < 1000; m++) end = Math.max(end, versions(j, `machine-${m}`, 5, 60_000, m * 60))
    end = Math.max(end, versions(j, 'deployer', 30, 10_000))
    // a deploy: 128 names at once, each superseding its version of the last deploy (an hour ago)
    for (let f = 0; f < 128; f++) j.superseded('admin', 3_600_000, end)
    for (const s of ['machine-0', 'machine-999', 'deployer', 'admin']) {
      expect(j.floods(s, end)).toBe(false)
      expect(j.suspects(s, end)).toBe(false)
      expect(j.admit(s, end, false)).toBe('take')
    }
    expect(j.counters.judged).toBe(0)
  })

  it("the bench's one file every ~1.9 s (small_update_round_gap_ms_p50 1,857–2,516): never judged nor suspected", () => {
    const j = new FloodJudge(D)
    const t = versions(j, 'bench', 200, 1_857)
    expect(j.floods('bench', t)).toBe(false)
    expect(j.suspects('bench', t)).toBe(false)
  })

  it('a file updated every 0.9 s, sustained: suspected (quiet) after floodSustain, judged after floodJudgeAfter', () => {
    const j = new FloodJudge(D)
    j.superseded('heartbeat', 900, 900)
    expect(j.suspects('heartbeat', 900)).toBe(false) // one is no run yet
    let t = versions(j, 'heartbeat', 8, 900, 900)
    expect(j.suspects('heartbeat', t)).toBe(true)
    expect(j.floods('heartbeat', t)).toBe(false)
    t = versions(j, 'heartbeat', 12, 900, t)
    expect(j.floods('heartbeat', t)).toBe(true)
  })

  it('a member signing 2 versions a second is judged once it has for floodJudgeAfter, and one of its versions is taken per floodKeptEvery', () => {
    const j = new FloodJudge(D)
    let t = 0
    let judgedAt: number | undefined
    while (judgedAt === undefined && t < 60_000) {
      t += 500
      if (j.superseded('flooder', 500, t)) judgedAt = t
    }
    expect(judgedAt).toBe(D.floodJudgeAfter + 500) // its run began with its first quick supersede, at 500
    expect(j.floods('flooder', t)).toBe(true)
    // its versions from the tree: the first taken, the rest dropped until the interval came
    let taken = 0
    for (let k = 0; k < 2 * 60; k++) { t += 500; if (j.admit('flooder', t, true) === 'take') taken++ }
    expect(taken).toBe(Math.ceil(60_000 / D.floodKeptEvery))
    expect(j.floods('flooder', t)).toBe(true)
    expect(j.counters.dropped).toBe(2 * 60 - taken)
    // anyone else goes as usual
    expect(j.admit('honest', t, true)).toBe('take')
    expect(j.admit('honest', t, false)).toBe('take')
  })

  it('a script publishing 50 versions as fast as they converge (2.5 s) is neither suspected nor judged; one going on for 10 s is suspected, for a while', () => {
    const j = new FloodJudge(D)
    let t = versions(j, 'script', 50, 50)
    expect(j.suspects('script', t)).toBe(false)
    expect(j.floods('script', t)).toBe(false)
    t = versions(j, 'long', 200, 50)
    expect(j.suspects('long', t)).toBe(true)
    expect(j.floods('long', t)).toBe(false)
    expect(j.admit('long', t, true)).toBe('take')
    expect(j.suspects('long', t + SUSPECT_MEMORY)).toBe(false)
  })

  it('the judgement lasts while its versions come by the tree, and ends FLOOD_MEMORY after; versions by anti-entropy do not renew it', () => {
    const j = new FloodJudge(D)
    const t = versions(j, 'burst', 40, 500)
    expect(j.floods('burst', t)).toBe(true)
    // its burst over: nodes that lack its versions pull them by anti-entropy, one per interval
    let at = t
    for (; at < t + FLOOD_MEMORY; at += 5_000) j.admit('burst', at, false)
    expect(j.floods('burst', at)).toBe(false)
    expect(j.suspects('burst', at)).toBe(false)
    expect(j.admit('burst', at, false)).toBe('take')
    // while the tree still brings its versions, it stays judged
    const u = versions(j, 'tree', 40, 500)
    for (at = u; at < u + 2 * FLOOD_MEMORY; at += 5_000) j.admit('tree', at, true)
    expect(j.floods('tree', at)).toBe(true)
  })

  it('one quick supersede (two saves within a second) suspects nobody; a run of 5 s does, for SUSPECT_MEMORY: by the tree as usual, by anti-entropy one per interval', () => {
    const j = new FloodJudge(D)
    j.superseded('editor', 300, 10_000)
    expect(j.suspects('editor', 10_000)).toBe(false)
    const t = versions(j, 'run', 12, 500)
    expect(j.suspects('run', t)).toBe(true)
    expect(j.floods('run', t)).toBe(false)
    expect(j.admit('run', t + 1, true)).toBe('take')
    expect(j.admit('run', t + 2, true)).toBe('take')
    expect(j.admit('run', t + 3, false)).toBe('take')
    expect(j.admit('run', t + 4, false)).toBe('drop')
    expect(j.suspects('run', t + SUSPECT_MEMORY)).toBe(false)
    expect(j.admit('run', t + SUSPECT_MEMORY, false)).toBe('take')
  })

  it("near a judged signer (its versions came by the tree), a version anti-entropy brings once none came by the tree for floodQuickGap is taken: its burst's last, not one per floodKeptEvery", () => {
    const j = new FloodJudge(D)
    let t = versions(j, 'bursty', 40, 500)
    expect(j.floods('bursty', t)).toBe(true)
    expect(j.admit('bursty', t, true)).toBe('take') // the interval's one
    const kept = t
    // the burst goes on by the tree (every 500 ms); a sync round (every 1 s) brings a version too: all dropped
    for (let k = 1; k <= 10; k++) {
      t += 500
      expect(j.admit('bursty', t, true)).toBe('drop')
      if (k % 2 === 0) expect(j.admit('bursty', t + 1, false, { name: 'ns/bursty', id: `v${k}` })).toBe('drop')
    }
    // the burst is over: a round less than floodQuickGap after its last version by the tree: dropped; one after: taken
    expect(j.admit('bursty', t + D.floodQuickGap - 1, false, { name: 'ns/bursty', id: 'v10' })).toBe('drop')
    expect(t + D.floodQuickGap - kept).toBeLessThan(D.floodKeptEvery) // (not the interval's)
    expect(j.admit('bursty', t + D.floodQuickGap, false, { name: 'ns/bursty', id: 'v10' })).toBe('stable')
    expect(j.counters.stable).toBe(1)
    // by the tree, a version is no sign of calm: dropped (and the flood shows again at once)
    expect(j.admit('bursty', t + D.floodQuickGap + 1, true)).toBe('drop')
    expect(j.admit('bursty', t + D.floodQuickGap + 2, false, { name: 'ns/bursty', id: 'v11' })).toBe('drop')
  })

  it('far from a judged signer (its versions come only by anti-entropy), a version offered again, unchanged, floodQuickGap after it was first dropped is taken; while each round brings a newer one, none is', () => {
    const j = new FloodJudge(D)
    const t = versions(j, 'flooder', 40, 500)
    expect(j.admit('flooder', t, false, { name: 'ns/f', id: 'a0' })).toBe('take') // the interval's one
    // a new version per 500 ms, a sync round per 1 s: never the same version twice
    for (let k = 1; k <= 10; k++) expect(j.admit('flooder', t + k * 1_000, false, { name: 'ns/f', id: `a${k}` })).toBe('drop')
    // a new version per 2 s, a sync round per 1 s: each version offered twice, 1 s apart (< floodQuickGap): none stable
    for (let k = 1; k <= 6; k++) for (const r of [0, 1_000]) j.admit('flooder', t + 10_000 + k * 2_000 + r, false, { name: 'ns/f', id: `b${k}` })
    expect(j.counters.stable).toBe(0)
    // offered twice, floodQuickGap apart: each version taken once (the second offer, or the first when the interval came round)
    let taken = 0
    for (let k = 1; k <= 6; k++) {
      for (const r of [0, D.floodQuickGap]) if (j.admit('flooder', t + 30_000 + k * 3_000 + r, false, { name: 'ns/f', id: `c${k}` }) !== 'drop') taken++
    }
    expect(taken).toBe(6)
    expect(j.counters.stable).toBeGreaterThanOrEqual(4)
    expect(j.floods('flooder', t + 50_000)).toBe(true)
  })

  it('nothing but verified supersedes starts a judgement: versions offered (admit) of an unjudged signer never do', () => {
    const j = new FloodJudge(D)
    for (let t = 0; t < 10_000; t += 10) expect(j.admit('victim', t, true)).toBe('take')
    expect(j.suspects('victim', 10_000)).toBe(false)
  })
})

describe('FloodJudge (turned off: FLOOD_JUDGE_OFF)', () => {
  it('with floodQuickGap 0 no version is a quick supersede: a member signing 10 versions a second for a minute is neither suspected nor judged, and every version is taken', () => {
    const j = new FloodJudge({ ...DEFAULT_MESH_SETTINGS, ...FLOOD_JUDGE_OFF })
    for (let t = 100; t <= 60_000; t += 100) {
      expect(j.superseded('flooder', 100, t)).toBe(false)
      expect(j.admit('flooder', t, true)).toBe('take')
    }
    expect(j.suspects('flooder', 60_000)).toBe(false)
    expect(j.floods('flooder', 60_000)).toBe(false)
    expect(j.counters.judged).toBe(0)
  })
})
