// `npm run sim -- --nodes N --scenario S --seed K`: runs scenarios of the simulator and
// prints a table of their figures; --json prints the figures as JSON instead, --out FILE
// writes them (--out DIR/: one file per run, sim-<scenario>-<nodes>-<seed>.json).
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runScenario, SCENARIOS } from './scenarios.js'
import { table, type Figures } from './figures.js'
import { PROFILES } from './network.js'
import { costsFrom, fitFromBench, DEFAULT_FIT } from './cpu.js'
import { crossCheck, crossCheckTable } from './crosscheck.js'
import type { MeshSettings } from '../../src/mesh/settings.js'
import type { ReshapeOptions } from '../../src/mesh/proto/tree.js'

/** The options that set a protocol setting to try (a whole number each), and the setting. */
const SETTING_OPTIONS: Record<string, keyof MeshSettings> = {
  'target-peers': 'targetPeers',
  'max-peers': 'maxPeers',
  'ihave-delay': 'announceIhaveDelay',
  'explore-interval': 'exploreInterval',
  'peer-exchange-interval': 'peerExchangeInterval',
  'peer-exchange-backoff-max': 'peerExchangeBackoffMax',
  'new-version-burst': 'newVersionBurst',
  'new-versions-per-second': 'newVersionsPerSecond',
  'flood-quick-gap': 'floodQuickGap'
}

const HELP = `npm run sim -- [options]
  --nodes N         nodes (default 1000)
  --scenario S      ${Object.keys(SCENARIOS).join(', ')}, or all (default stable)
  --seed K          seed (default 1); several: --seed 1,2,3
  --updates U       measured updates (default 20), one every --gap ms (default 1000)
  --profile P       network: ${Object.keys(PROFILES).join(', ')} (default lan)
  --shared-cores C  every node on one host with C cores (the bench's case), instead of a CPU per node
  --costs FILE      CPU costs fitted from a bench results file (default: SCALING-MODEL.md's fit, 4.1 ms + 0.73 ms × p)
  --target-peers T, --max-peers M, --ihave-delay MS   protocol settings to try
  --explore-interval MS, --peer-exchange-interval MS, --peer-exchange-backoff-max K
                    peer selection's exploration, the peer exchange's interval and its backoff
  --new-version-burst B, --new-versions-per-second R  the turns of new versions per signer (signer-turns.ts)
  --flood-quick-gap MS  the judgement of flooders by their own rate (flood-judge.ts; the
                    daemon's default 1500; 0 turns it off)
  --join-spread MS, --settle MS   how the nodes start (default N×2 ms up to 20 s; 40 s)
  --reshape I[,K,D,C,W,H,F,S,L]  the tree's reshape flood (proto/tree.ts ReshapeOptions;
                    docs/DECISIONS.md), on by default with the settings' announceReshape*
                    (the daemon's); --reshape 0: off. Else: at most one flood per node per I ms,
                    started within K hops of a version's origin (1) by a node that stored a
                    version past D hops (10) or lost C links within W ms, the last eager (2,
                    5000); each flooding node holds its copies H ms (0); F = 1: a marked
                    version is flooded on even within I (0); S = 1: a want from cuts is
                    passed on with notices (0); L = 1: only links lost, not hung up, count
                    as cuts (0). The default: --reshape 3000,1,255,2,5000,30,0,1,1
  --crosscheck FILE the sim against a bench results file (docs/SCALING-MODEL.md §2): with
                    that run's measured costs, host load, start and round schedule, at each
                    of its sizes above the smallest (which calibrates what the sim leaves
                    out); --seed (default 1,2,3), --json, --out DIR/ (sim-crosscheck-<N>.json)
  --json            print the figures as JSON
  --out FILE|DIR/   write the figures as JSON: all runs to FILE, or one file per run to
                    DIR/sim-<scenario>-<nodes>-<seed>.json (e.g. --out bench/results/)`

export function main (argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '1000' },
      scenario: { type: 'string', default: 'stable' },
      seed: { type: 'string', default: '1' },
      updates: { type: 'string' },
      gap: { type: 'string' },
      profile: { type: 'string' },
      'shared-cores': { type: 'string' },
      costs: { type: 'string' },
      crosscheck: { type: 'string' },
      'target-peers': { type: 'string' },
      'max-peers': { type: 'string' },
      'ihave-delay': { type: 'string' },
      'explore-interval': { type: 'string' },
      'peer-exchange-interval': { type: 'string' },
      'peer-exchange-backoff-max': { type: 'string' },
      'new-version-burst': { type: 'string' },
      'new-versions-per-second': { type: 'string' },
      'flood-quick-gap': { type: 'string' },
      'join-spread': { type: 'string' },
      settle: { type: 'string' },
      reshape: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false }
    },
    allowPositionals: false
  })
  if (values.help) { console.log(HELP); return }
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number ≥ 0, not "${v}"`)
    return n
  }
  if (values.crosscheck !== undefined) { crossCheckMain(values.crosscheck, argv, values.seed === '1' && !argv.some(a => a.startsWith('--seed')) ? [1, 2, 3] : values.seed!.split(',').map(s => int('seed', s)!), values.json!, values.out); return }
  const scenarios = values.scenario === 'all' ? Object.keys(SCENARIOS) : values.scenario!.split(',')
  const seeds = values.seed!.split(',').map(s => int('seed', s)!)
  const fit = values.costs !== undefined ? fitFromBench(values.costs) : DEFAULT_FIT
  const settings: Record<string, number> = {}
  for (const [option, key] of Object.entries(SETTING_OPTIONS)) {
    const v = int(option, values[option as keyof typeof values] as string | undefined)
    if (v !== undefined) settings[key] = v
  }
  if (values.reshape === '0') settings.announceReshapeInterval = 0 // off, as the daemon with that setting
  const runs: Figures[] = []
  const records: unknown[] = []
  const out = values.out
  const outDir = out !== undefined && (out.endsWith('/') || (existsSync(out) && statSync(out).isDirectory())) ? out : undefined
  for (const scenario of scenarios) {
    for (const seed of seeds) {
      const options = {
        scenario,
        nodes: int('nodes', values.nodes)!,
        seed,
        updates: int('updates', values.updates),
        gap: int('gap', values.gap),
        profile: values.profile,
        sharedCores: int('shared-cores', values['shared-cores']),
        costs: costsFrom(fit),
        settings,
        joinSpread: int('join-spread', values['join-spread']),
        settle: int('settle', values.settle),
        reshape: reshapeOf(values.reshape, int)
      }
      const { figures } = runScenario(options)
      runs.push(figures)
      if (!values.json) process.stderr.write(`${scenario} seed ${seed}: ${(figures.wallMs / 1000).toFixed(1)} s\n`)
      const record = { command: `npm run sim -- ${argv.join(' ')}`, figures, options: { ...options, costs: undefined }, fit, costs: options.costs }
      records.push(record)
      if (outDir !== undefined) writeFileSync(join(outDir, `sim-${scenario}-${figures.nodes}-${seed}.json`), JSON.stringify(record, null, 2) + '\n')
    }
  }
  // a file takes every run (an array when there are several)
  if (values.out !== undefined && outDir === undefined) writeFileSync(values.out, JSON.stringify(records.length === 1 ? records[0] : records, null, 2) + '\n')
  if (values.json) console.log(JSON.stringify(runs, null, 2))
  else console.log(table(runs))
}

/** `--reshape I[,K,D,C,W,H,F,S,L]` (help above) as ReshapeOptions. */
function reshapeOf (v: string | undefined, int: (name: string, v: string | undefined) => number | undefined): ReshapeOptions | undefined {
  if (v === undefined || v === '0') return undefined
  const [interval, nearOrigin, deepAt, cuts, cutWindow, hold, followAlways, spread, lostOnly] = v.split(',').map(x => int('reshape', x))
  if (interval === undefined || interval === 0) throw new Error(`--reshape needs an interval > 0 ms, not "${v}"`)
  return { interval, nearOrigin: nearOrigin ?? 1, deepAt: deepAt ?? 10, cuts: cuts ?? 2, cutWindow: cutWindow ?? 5000, hold: hold ?? 0, followAlways: followAlways === 1, spread: spread === 1, lostOnly: lostOnly === 1 }
}

function crossCheckMain (file: string, argv: string[], seeds: number[], json: boolean, out: string | undefined): void {
  const c = crossCheck(file, seeds)
  const command = `npm run sim -- ${argv.join(' ')}`
  if (out !== undefined) {
    if (!(out.endsWith('/') || (existsSync(out) && statSync(out).isDirectory()))) throw new Error(`--out with --crosscheck takes a directory (DIR/), not "${out}"`)
    for (const s of c.sizes) writeFileSync(join(out, `sim-crosscheck-${s.n}.json`), JSON.stringify({ command, file: c.file, fit: c.fit, calibration: c.calibration, seeds: c.seeds, ...s }, null, 2) + '\n')
  }
  if (json) console.log(JSON.stringify(c, null, 2))
  else console.log(crossCheckTable(c))
}
