// The watch behind live renewal (src/daemon/certificate-files.ts, issue 19): a write and
// a rename over a watched file is seen (settled into one call), again after the inode
// changed, and a symbolic-link switch no watch sees is covered by the periodic re-read.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { watchCertificateFiles } from '../../src/daemon/certificate-files.ts'
import { tempDir } from '../helpers/fs.ts'
import { waitFor } from '../mesh/helpers.ts'

const log = pino({ level: 'silent' })
const cleanups: Array<() => void> = []
afterEach(() => { for (const c of cleanups.splice(0)) c() })

describe('watchCertificateFiles', () => {
  it('calls for a write-and-rename over the file, settled into one call, and again for the next (the watch survives the inode change)', async () => {
    const t = tempDir('dm-certfiles-')
    cleanups.push(t.cleanup)
    const cert = join(t.dir, 'identity.cert')
    writeFileSync(cert, 'old')
    const calls: string[] = []
    cleanups.push(watchCertificateFiles([cert], why => calls.push(why), log, 3_600_000))
    writeFileSync(join(t.dir, 'other.new'), 'x')
    renameSync(join(t.dir, 'other.new'), join(t.dir, 'other'))
    writeFileSync(cert + '.new', 'renewed')
    renameSync(cert + '.new', cert)
    await waitFor(() => calls.length > 0, 'the change seen', [], 5_000)
    // a second rename after the first was reported is a second call: the watch survives the inode change
    writeFileSync(cert + '.new', 'renewed again')
    renameSync(cert + '.new', cert)
    await waitFor(() => calls.length > 1, 'the second change seen', [], 5_000)
    expect(calls).toEqual(['file changed', 'file changed'])
  })

  it('re-reads on its interval: a symbolic-link generation switch is found', async () => {
    const t = tempDir('dm-certfiles-')
    cleanups.push(t.cleanup)
    for (const g of ['1', '2']) mkdirSync(join(t.dir, 'gen', g), { recursive: true })
    symlinkSync(join(t.dir, 'gen', '1'), join(t.dir, 'secrets'))
    const calls: string[] = []
    cleanups.push(watchCertificateFiles([join(t.dir, 'secrets', 'identity.cert')], why => calls.push(why), log, 300))
    symlinkSync(join(t.dir, 'gen', '2'), join(t.dir, 'secrets.new'))
    renameSync(join(t.dir, 'secrets.new'), join(t.dir, 'secrets'))
    await waitFor(() => calls.includes('periodic check'), 'the periodic re-read', [], 5_000)
  })
})
