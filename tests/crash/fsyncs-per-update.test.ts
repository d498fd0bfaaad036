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
import { dirname, join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode } from '../helpers/daemon.ts'
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

describe.skipIf(!haveStrace())('the durable write of one stored update (strace)', () => {
  it(`does ${FSYNCS_PER_UPDATE} fsyncs, each before what it must precede`, async () => {
    const node = await startNode({ files: Object.fromEntries(NAMES.map(n => [n, [A]])) })
    try {
      const state = node.stateDir
      // the first version of each name creates its folders (their own fsyncs, once)
      for (const name of NAMES) await node.client.publish(alice, name, Buffer.from(`first ${name}`))
      const tracer = await traceProcess(node.proc.pid!, ['openat', 'rename', 'renameat', 'renameat2', 'fsync', 'fdatasync', 'write', 'writev', 'sendmsg'], join(work.dir, 'trace'))
      let calls: Call[]
      try {
        for (let i = 0; i < UPDATES; i++) await node.client.publish(alice, NAMES[i % NAMES.length], Buffer.alloc(100 + i, i))
      } finally { calls = await tracer.stop() }

      const syncs = calls.filter(c => c.name === 'fsync' || c.name === 'fdatasync')
      const stagedOpens = calls.filter(c => c.name === 'openat' && /O_CREAT/.test(c.args) && quoted(c)[0]?.startsWith(join(state, 'staging') + '/'))
      expect(stagedOpens, 'one staged blob per update').toHaveLength(UPDATES)
      expect(syncs.length / UPDATES, 'fsyncs per stored update').toBe(FSYNCS_PER_UPDATE)

      stagedOpens.forEach((open, i) => {
        const from = open.start
        const to = stagedOpens[i + 1]?.start ?? Infinity
        const within = (c: Call): boolean => c.start >= from && c.start < to
        const blob = quoted(open)[0]
        const name = NAMES[i % NAMES.length]
        const record = join(state, 'records', ...name.split('/')) + '.rec'
        const delivered = join(state, 'files', ...name.split('/'))
        const renames = calls.filter(c => within(c) && c.name.startsWith('rename'))
        const recordRename = renames.find(c => quoted(c)[1] === record)
        const deliverRename = renames.find(c => quoted(c)[0] === blob && quoted(c)[1] === delivered)
        expect(recordRename, `update ${i}: the record's rename`).toBeDefined()
        expect(deliverRename, `update ${i}: the content's rename into files/`).toBeDefined()
        const recordTmp = quoted(recordRename!)[0]
        const reply = calls.find(c => c.start > recordRename!.end && /^(write|writev|sendmsg)$/.test(c.name) && /api\.sock/.test(c.args))
        expect(reply, `update ${i}: the API's answer`).toBeDefined()
        const synced = (path: string, after: number, before: number): boolean =>
          syncs.some(s => fdPath(s) === path && s.start > after && s.end < before)
        const n = `update ${i} (${name})`
        expect(synced(blob, open.end, recordRename!.start), `${n}: 1. staged content synced before the record's rename`).toBe(true)
        expect(synced(join(state, 'staging'), open.end, recordRename!.start), `${n}: 2. staging/ synced before the record's rename`).toBe(true)
        expect(synced(recordTmp, from, recordRename!.start), `${n}: 3. the record's temp file synced before its rename`).toBe(true)
        expect(synced(dirname(record), recordRename!.end, reply!.start), `${n}: 4. the record's folder synced before the API answers`).toBe(true)
        const commitDurable = syncs.find(s => fdPath(s) === dirname(record) && s.start > recordRename!.end)!
        expect(deliverRename!.start, `${n}: 5. files/<name> replaced only once the record is durable`).toBeGreaterThan(commitDurable.end)
      })
    } finally {
      await node.stop()
    }
  })
})
