// Issue 22: the fsyncs of one stored update, counted and put in order on a real daemon
// (strace attached to it). A SIGKILL (tests/crash/sigkill*.test.ts) loses no page cache,
// so it cannot tell a missing fsync; a power loss can, and cannot be made here. So this
// test checks, for every update, the orderings the crash-safety argument rests on
// (docs/DECISIONS.md, "Four fsyncs per stored update"): remove one of the four fsyncs, or
// move it after what it must precede, and it fails; add a fifth and the count fails.
//
//  1. the staged content's data is synced before the record is renamed into place;
//  2. the staging directory is synced after the content was created there and before that
//     rename (the record, once durable, always finds its content);
//  3. the record's temp file is synced before its rename (a durable rename never points
//     at a torn record);
//  4. the record's directory is synced after the rename and before the API answers (the
//     commit point is durable before anything is acknowledged);
//  5. the content is renamed into files/ only after (4): files/<name> is never newer than
//     the durable record. That rename needs no fsync of its own: until it is durable, the
//     staged blob is, and recover() rolls it forward.
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { fdPath, haveStrace, quoted, traceProcess, type Call } from '../helpers/strace.ts'

/** the figure of docs/DECISIONS.md ("Four fsyncs per stored update"), bench/model.ts too */
const FSYNCS_PER_UPDATE = 4
const UPDATES = 20
const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const NAMES = ['small/a', 'b'] // one in a folder of records/ and files/, one at their top
const work = tempDir('dm-fsyncs-')
afterAll(() => work.cleanup())

const isSync = (c: Call): boolean => c.name === 'fsync' || c.name === 'fdatasync'

/** The calls of the daemon while `run` runs; the first version of each name is stored before (it creates their folders, with fsyncs of their own, once). */
async function traced (node: RunningNode, names: string[], label: string, run: () => Promise<unknown>): Promise<Call[]> {
  for (const name of names) await node.client.publish(alice, name, Buffer.from(`first ${name}`))
  const tracer = await traceProcess(node.proc.pid!, ['openat', 'rename', 'renameat', 'renameat2', 'fsync', 'fdatasync', 'write', 'writev', 'sendmsg'], join(work.dir, `trace-${label}`))
  let calls: Call[] = []
  try { await run() } finally { calls = await tracer.stop() }
  return calls
}

interface Update { name: string, open: Call, recordRename: Call, commitDurable: Call }

/**
 * Checks orderings 1, 2, 3 and 5 for every update in the trace (4 needs the API's answer:
 * the caller) and returns them. An update is found by its staged blob: the rename that
 * moves it into files/ names it.
 */
function checkUpdates (calls: Call[], state: string): Update[] {
  const syncs = calls.filter(isSync)
  const synced = (path: string, after: number, before: number): boolean =>
    syncs.some(s => fdPath(s) === path && s.start > after && s.end < before)
  const renames = calls.filter(c => c.name.startsWith('rename'))
  const opens = calls.filter(c => c.name === 'openat' && /O_CREAT/.test(c.args) && quoted(c)[0]?.startsWith(join(state, 'staging') + '/'))
  return opens.map((open, i) => {
    const blob = quoted(open)[0]
    const deliver = renames.find(c => quoted(c)[0] === blob)
    expect(deliver, `update ${i}: the content's rename into files/`).toBeDefined()
    const name = quoted(deliver!)[1].slice(join(state, 'files').length + 1)
    const record = join(state, 'records', name) + '.rec'
    const recordRename = renames.find(c => c.start > open.end && quoted(c)[1] === record)
    expect(recordRename, `update ${i}: the record's rename`).toBeDefined()
    const n = `update ${i} (${name})`
    expect(synced(blob, open.end, recordRename!.start), `${n}: 1. staged content synced before the record's rename`).toBe(true)
    expect(synced(join(state, 'staging'), open.end, recordRename!.start), `${n}: 2. staging/ synced before the record's rename`).toBe(true)
    expect(synced(quoted(recordRename!)[0], open.end, recordRename!.start), `${n}: 3. the record's temp file synced before its rename`).toBe(true)
    const commitDurable = syncs.find(s => fdPath(s) === dirname(record) && s.start > recordRename!.end)
    expect(commitDurable, `${n}: the record's folder synced after its rename`).toBeDefined()
    expect(deliver!.start, `${n}: 5. files/<name> replaced only once the record is durable`).toBeGreaterThan(commitDurable!.end)
    return { name, open, recordRename: recordRename!, commitDurable: commitDurable! }
  })
}

// CI installs strace (.ci/run): there a missing strace fails instead of skipping
if (process.env.CI === 'true' && !haveStrace()) throw new Error('strace is not installed: .ci/run installs it (apt-get install strace)')

describe.skipIf(!haveStrace())('the durable write of one stored update (strace)', () => {
  it(`does ${FSYNCS_PER_UPDATE} fsyncs, each before what it must precede`, async () => {
    const node = await startNode({ files: Object.fromEntries(NAMES.map(n => [n, [A]])) })
    try {
      const calls = await traced(node, NAMES, 'one-at-a-time', async () => {
        for (let i = 0; i < UPDATES; i++) await node.client.publish(alice, NAMES[i % NAMES.length], Buffer.alloc(100 + i, i))
      })
      const updates = checkUpdates(calls, node.stateDir)
      expect(updates.map(u => u.name), 'one staged blob per update').toEqual(Array.from({ length: UPDATES }, (_, i) => NAMES[i % NAMES.length]))
      expect(calls.filter(isSync).length / UPDATES, 'fsyncs per stored update').toBe(FSYNCS_PER_UPDATE)
      for (const [i, u] of updates.entries()) {
        // one update at a time: the first answer on the API's socket after the record is this update's
        const reply = calls.find(c => c.start > u.recordRename.end && /^(write|writev|sendmsg)$/.test(c.name) && /api\.sock/.test(c.args))
        expect(reply, `update ${i}: the API's answer`).toBeDefined()
        expect(u.commitDurable.end, `update ${i} (${u.name}): 4. the record's folder synced before the API answers`).toBeLessThan(reply!.start)
      }
    } finally {
      await node.stop()
    }
  })

  it('shares the directory fsyncs of versions stored at once, in the same order', async () => {
    const names = Array.from({ length: 12 }, (_, i) => i % 3 === 0 ? `burst/n${i}` : `n${i}`)
    const node = await startNode({ files: Object.fromEntries(names.map(n => [n, [A]])) })
    try {
      const rounds = 3
      const calls = await traced(node, names, 'burst', async () => {
        for (let r = 0; r < rounds; r++) await Promise.all(names.map(async n => await node.client.publish(alice, n, Buffer.alloc(200, r))))
      })
      const updates = checkUpdates(calls, node.stateDir)
      expect(updates).toHaveLength(rounds * names.length)
      const perUpdate = calls.filter(isSync).length / updates.length
      console.log(`a burst of ${names.length} names × ${rounds}: ${perUpdate.toFixed(2)} fsyncs per stored update`)
      expect(perUpdate).toBeLessThanOrEqual(FSYNCS_PER_UPDATE)
    } finally {
      await node.stop()
    }
  })

  it('syncs of one directory asked for while one runs share the next fsync (group commit)', () => {
    // ten at once: the first runs, the nine others share the one after it; then one more
    const script = `import { DirSyncer } from ${JSON.stringify(resolve('dist/src/store/atomic-file.js'))}
      const d = new DirSyncer()
      await Promise.all(Array.from({ length: 10 }, () => d.sync(${JSON.stringify(work.dir)})))
      await d.sync(${JSON.stringify(work.dir)})
      await d.close()`
    const out = join(work.dir, 'group-trace')
    const r = spawnSync('strace', ['-f', '-qq', '-yy', '-o', out, '-e', 'trace=fsync', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const dirSyncs = readFileSync(out, 'utf8').split('\n').filter(l => l.includes(`fsync(`) && l.includes(`<${work.dir}>`))
    expect(dirSyncs).toHaveLength(3)
  })
})
