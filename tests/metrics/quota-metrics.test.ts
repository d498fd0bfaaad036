// Issue 20's "quotas in use": the namespace quotas (issue 19) and what each configured
// namespace holds here, read from a real replica when the registry is scraped.
import { Registry } from 'prom-client'
import { afterEach, expect, it } from 'vitest'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { registerNode } from '../../src/metrics/node-metrics.ts'
import { Replica } from '../../src/store/replica.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'
import { keys, policy } from '../helpers/keys.ts'

const cleanups: Array<() => unknown> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

it('data_mesher_namespace_usage and data_mesher_namespace_quota follow what the namespace holds and the quotas in force', async () => {
  const [a, b] = keys(2)
  const { dir, cleanup } = tempDir(); cleanups.push(cleanup)
  const quotas = { namespaceMaxNames: 10, namespaceMaxBytes: 4096, keyMaxBytes: 2048 }
  const replica = await Replica.open(dir, policy({}, { namespaces: new Set(['machines']), quotas }), quietLog)
  cleanups.push(async () => await replica.close())
  const register = new Registry()
  registerNode(register, { replica, configuredNames: () => [], certificate: () => undefined, peerId: 'p' })
  for (const [k, size] of [[a, 100], [b, 300]] as const) {
    const content = new Uint8Array(size).fill(1)
    expect(await replica.submit(signRecord(k, { name: `machines/${base64url(k.publicKey)}`, content }), content, 'test')).toMatchObject({ outcome: 'accepted' })
  }
  const text = await register.metrics()
  expect(text).toContain('data_mesher_namespace_usage{namespace="machines",measure="names"} 2')
  expect(text).toContain('data_mesher_namespace_usage{namespace="machines",measure="bytes"} 400')
  expect(text).toContain('data_mesher_namespace_quota{measure="names"} 10')
  expect(text).toContain('data_mesher_namespace_quota{measure="key_bytes"} 2048')
})
