// The NixOS module makes delivered files reachable as files/home/<name> (the path
// clan-core's data-mesher service and dm-dns read) with a symlink files/home -> "."
// created by tmpfiles before the daemon starts, and creates plugin directories such as
// files/dns. The daemon's start-up sweep of files/ must neither remove the link nor
// follow it, and must keep the empty plugin directory.
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const t = tempDir('dm-home-link-')
afterAll(() => t.cleanup())

describe('files/home link and plugin directories (as the NixOS module creates them)', () => {
  it('survive start-up and restarts; delivered files are reachable through the link', async () => {
    const filesDir = join(t.dir, 'state', 'files')
    mkdirSync(join(filesDir, 'dns'), { recursive: true, mode: 0o750 })
    symlinkSync('.', join(filesDir, 'home'))
    const files = { test_file: [A], 'dns/cnames': [A] }

    let n = await startNode({ files, dir: t.dir })
    expect(lstatSync(join(filesDir, 'home')).isSymbolicLink()).toBe(true)
    expect(existsSync(join(filesDir, 'dns'))).toBe(true)
    await n.client.publish(alice, 'test_file', Buffer.from('hello world'))
    await n.client.publish(alice, 'dns/cnames', Buffer.from('local-zone: "clan." transparent'))
    expect(readFileSync(join(filesDir, 'home', 'test_file'), 'utf8')).toBe('hello world')
    expect(readFileSync(join(filesDir, 'home', 'dns', 'cnames'), 'utf8')).toBe('local-zone: "clan." transparent')
    await n.stop('SIGTERM')

    // the start-up sweep runs again over what is on disk
    n = await startNode({ files, dir: t.dir })
    expect(readlinkSync(join(filesDir, 'home'))).toBe('.')
    expect(readFileSync(join(filesDir, 'home', 'test_file'), 'utf8')).toBe('hello world')
    expect(readFileSync(join(filesDir, 'home', 'dns', 'cnames'), 'utf8')).toBe('local-zone: "clan." transparent')
    // nothing was reported as a stray delivered file
    expect(n.output()).not.toMatch(/removing delivered file without a valid record[^\n]*home/)
    // a deletion removes the file, not the link
    await n.client.remove(alice, 'test_file')
    expect(existsSync(join(filesDir, 'home', 'test_file'))).toBe(false)
    expect(lstatSync(join(filesDir, 'home')).isSymbolicLink()).toBe(true)
    await n.stop('SIGTERM')
  })
})
