// The certificate gauges of a node with a network: when this node's certificate ends, and
// seconds until then; they follow a renewal on disk (issue 19's live renewal) without a
// restart, so the "ending within 7 days" alert clears once the renewed file is in place.
import { renameSync, writeFileSync } from 'node:fs'
import { afterAll, expect, it } from 'vitest'
import { certificateToPem, issueCertificate } from '../../src/crypto/certificate.ts'
import { freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { DAY, makeIdentity, makeNetwork } from '../netid/helpers.ts'

const work = tempDir('dm-cert-metrics-')
const running: RunningNode[] = []
afterAll(async () => { await Promise.allSettled(running.map(async n => await n.stop())); work.cleanup() })

async function gauge (listen: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${listen}/metrics`)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m === null ? undefined : Number(m[1])
}

it('shows when the certificate ends, and follows a renewal on disk', async () => {
  const net = makeNetwork(work.dir, 'net')
  const id = makeIdentity(work.dir, 'alpha', net.key, { validity: 5 * DAY })
  const listen = `127.0.0.1:${await freePort()}`
  const node = await startNode({
    cluster: { identity_key: id.keyPath, identity_cert: id.certPath },
    extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n[metrics]\nlisten = "${listen}"\n`
  })
  running.push(node)
  expect(await gauge(listen, 'data_mesher_certificate_expiry_timestamp_seconds')).toBe(id.cert!.notAfter / 1000)
  const left = await gauge(listen, 'data_mesher_certificate_remaining_seconds')
  expect(left).toBeGreaterThan(5 * 86400 - 120)
  expect(left).toBeLessThanOrEqual(5 * 86400)

  // renewed for 90 days: written next to the file and renamed over it, as vars do
  const renewed = issueCertificate(net.key, { subject: id.key.publicKey, name: 'alpha', validity: 90 * DAY })
  writeFileSync(id.certPath + '.new', certificateToPem(renewed))
  renameSync(id.certPath + '.new', id.certPath)
  const deadline = Date.now() + 90_000 // the watch sees it at once; the periodic re-read within 60 s
  while (await gauge(listen, 'data_mesher_certificate_expiry_timestamp_seconds') !== renewed.notAfter / 1000) {
    if (Date.now() > deadline) throw new Error('the metric did not follow the renewed certificate')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  expect(await gauge(listen, 'data_mesher_certificate_remaining_seconds')).toBeGreaterThan(89 * 86400)
})
