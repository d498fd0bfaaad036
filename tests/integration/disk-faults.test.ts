// A full disk and a read-only disk under a running daemon: updates are refused with a clear
// error, what was stored stays intact and readable, and the node resumes by itself.
import { afterAll, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const isRoot = process.getuid?.() === 0
const alice = generateSigningKey()
const work = tempDir('dm-disk-')
const state = join(work.dir, 'state')
let node: RunningNode | undefined
let mounted = false
afterAll(async () => {
  await node?.stop()
  if (mounted) execFileSync('umount', [state])
  work.cleanup()
})

it.skipIf(!isRoot)('full disk and read-only disk: refused with a clear error, nothing lost, resumes by itself (needs root for a tmpfs)', async () => {
  mkdirSync(state)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', state])
  mounted = true
  node = await startNode({ files: { zone: [encodeBase64Key(alice.publicKey)] }, dir: work.dir })
  const c = node.client
  const delivered = join(state, 'files', 'zone')
  await c.publish(alice, 'zone', Buffer.from('zone v1'))

  // full: a filler leaves less room than the next version needs
  const filler = join(state, 'filler')
  try { writeFileSync(filler, Buffer.alloc(1900 * 1024)) } catch { /* filled up to the last byte: just as good */ }
  const full = await c.publish(alice, 'zone', Buffer.alloc(400 * 1024, 1)).catch(e => e)
  expect(full.codeName).toBe('RESOURCE_EXHAUSTED')
  expect(full.message).toMatch(/disk is full; the previous version is unchanged/)
  expect(readFileSync(delivered, 'utf8')).toBe('zone v1')
  expect((await c.getFile('zone')).content.toString()).toBe('zone v1')
  expect(readdirSync(join(state, 'staging'))).toEqual([]) // no half-written leftovers eat the space
  rmSync(filler)
  expect((await c.publish(alice, 'zone', Buffer.from('zone v2'))).outcome).toBe('ACCEPTED')
  expect(readFileSync(delivered, 'utf8')).toBe('zone v2')

  // read-only
  execFileSync('mount', ['-o', 'remount,ro', state])
  const ro = await c.publish(alice, 'zone', Buffer.from('zone v3')).catch(e => e)
  expect(ro.codeName).toBe('UNAVAILABLE')
  expect(ro.message).toMatch(/disk is read-only; the previous version is unchanged/)
  expect((await c.getFile('zone')).content.toString()).toBe('zone v2')
  execFileSync('mount', ['-o', 'remount,rw', state])
  expect((await c.publish(alice, 'zone', Buffer.from('zone v3'))).outcome).toBe('ACCEPTED')
  expect(readFileSync(delivered, 'utf8')).toBe('zone v3')
})
