// The twin of clan-core's data-mesher VM test (clanServices/data-mesher/tests/vm at
// github:clan-lol/clan-core), under systemd in nspawn containers: its inventory (three
// machines alpha, beta, gamma, all `default`, alpha and beta `bootstrap`, extraModules
// setting log_level and cluster.push_pull_interval, network.files.test_file and
// network.namespaces = ["test_ns"]), the vars our clan service generates, the config it
// renders (bootstrap peers /dns/<machine>.clan/tcp/7946/p2p/<peer id>, resolved through
// /etc/hosts), the unit and tmpfiles rules our module renders, and the test script's
// own commands, run inside the machines.
import { chmodSync, copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ClanVars, clanSettings, evaluateClan, hostCli, IDENTITY_CERT, IDENTITY_KEY, IDENTITY_PUB, NETWORK_PUB, writeClanConfig, type Evaluated } from './harness/clan.js'
import { Cluster } from './harness/cluster.js'
import type { Container } from './harness/container.js'
import { shq } from './harness/exec.js'
import { moduleTmpfilesRules } from './harness/units.js'
import { waitFor } from './harness/wait.js'
import { canEval, evalSkipReason } from '../nix/helpers.js'
import { dataMesherTestInventory } from '../nix/clan-test-inventories.js'

const MACHINES = ['alpha', 'beta', 'gamma']
const BOOTSTRAP = ['alpha', 'beta']
const DOMAIN = 'clan' // clan's default meta.domain; the VM test sets none
const ADMIN_KEY = '/etc/dmt/admin.key' // the test's ./admin.key, copied into every machine
const FILES_HOME = '/var/lib/data-mesher/files/home'

const inventory = dataMesherTestInventory

describe("clan-core's data-mesher VM test, under systemd (nspawn)", () => {
  let cluster: Cluster
  let vars: ClanVars
  let alpha: Container, beta: Container, gamma: Container
  const written = new Map<string, Record<string, unknown>>()
  const evaluated = new Map<string, Evaluated>()

  beforeAll(async () => {
    cluster = await Cluster.create({
      size: 3,
      daemon: true,
      hosts: { 1: ['alpha.clan'], 2: ['beta.clan'], 3: ['gamma.clan'] },
      moduleTmpfiles: { pluginDirectories: [] },
      prepare: async (c) => {
        vars = await ClanVars.generate(join(c.dir, 'vars'), MACHINES)
        const admin = JSON.parse(await hostCli('generate', 'signing-key', '--private-key-path', join(c.dir, 'admin.key'), '--json')).publicKey as string
        for (const [i, m] of MACHINES.entries()) {
          const n = c.node(i + 1)
          vars.install(n, m)
          written.set(m, clanSettings({
            machine: m, domain: DOMAIN, bootstrap: BOOTSTRAP, vars,
            files: { test_file: [admin] }, namespaces: ['test_ns'], logLevel: 'debug', syncInterval: '5s'
          }))
          const e = evaluateClan(inventory(admin), m, vars)
          if (e !== undefined) evaluated.set(m, e)
          writeClanConfig(n, e?.settings ?? written.get(m)!)
          copyFileSync(join(c.dir, 'admin.key'), join(n.testDir, 'admin.key'))
          chmodSync(join(n.testDir, 'admin.key'), 0o600)
        }
      }
    })
    ;[alpha, beta, gamma] = [cluster.node(1), cluster.node(2), cluster.node(3)]
  })
  afterAll(async () => { await cluster?.destroy() })
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail' || cluster === undefined) return
    for (const n of cluster.nodes.filter((x) => x.running)) {
      const j = await n.exec('journalctl -b --no-pager -o cat -u data-mesher.service -n 40', { allowFail: true })
      console.error(`--- ${n.machine}: journal of data-mesher.service\n${j.stdout}`)
    }
  })

  /** the test script's wait_for_file, inside the machine */
  const hasFile = async (n: Container, name: string, content: string): Promise<boolean> =>
    (await n.exec(`test -f ${shq(`${FILES_HOME}/${name}`)} && grep -q ${shq(content)} ${shq(`${FILES_HOME}/${name}`)}`, { allowFail: true })).code === 0
  const waitForFile = async (nodes: Container[], name: string, content: string): Promise<void> => {
    await Promise.all(nodes.map(async (n) => await waitFor(`${n.machine}: ${FILES_HOME}/${name} with ${JSON.stringify(content)}`,
      async () => await hasFile(n, name, content), { timeoutMs: 60_000, intervalMs: 500 })))
  }
  const waitForFileDeleted = async (nodes: Container[], name: string): Promise<void> => {
    await Promise.all(nodes.map(async (n) => await waitFor(`${n.machine}: ${FILES_HOME}/${name} gone`,
      async () => (await n.exec(`test ! -f ${shq(`${FILES_HOME}/${name}`)}`, { allowFail: true })).code === 0, { timeoutMs: 60_000, intervalMs: 500 })))
  }

  it('runs the config, vars layout and tmpfiles rules our clan service renders for this inventory', (ctx) => {
    if (!canEval) ctx.skip(`${evalSkipReason} (the machines run the config written as the service renders it)`)
    for (const m of MACHINES) {
      const e = evaluated.get(m)!
      expect(e.settings, m).toEqual(written.get(m))
      expect(e.settings.cluster.identity_key).toBe(IDENTITY_KEY)
      expect(e.settings.cluster.identity_cert).toBe(IDENTITY_CERT)
    }
    expect(evaluated.get('gamma')!.settings.cluster.bootstrap_nodes).toEqual(BOOTSTRAP.map((m) => `/dns/${m}.clan/tcp/7946/p2p/${vars.machine(m).peerId}`))
  })

  it('renders the tmpfiles rules of the module (files/home -> .)', async () => {
    const rules = await moduleTmpfilesRules([])
    expect(rules).toContain('L+ /var/lib/data-mesher/files/home - - - - .')
    if (canEval) for (const m of MACHINES) expect(evaluated.get(m)!.tmpfiles, m).toEqual(rules)
  })

  it('boots all three; data-mesher.service is active, files/home is the link, and each finds the other two by /dns names', async () => {
    for (const n of cluster.nodes) {
      expect((await n.systemctl('is-system-running', { allowFail: true })).stdout.trim()).toBe('running')
      expect((await n.systemctl('is-active data-mesher.service', { allowFail: true })).stdout.trim()).toBe('active')
      expect((await n.exec(`readlink ${FILES_HOME}`)).stdout.trim()).toBe('.')
    }
    const ids = MACHINES.map((m) => vars.machine(m).peerId)
    for (const [i, n] of cluster.nodes.entries()) {
      expect(JSON.parse((await n.cli('status --json')).stdout).nodeId).toBe(ids[i]) // the peer.id var is the daemon's id
      await waitFor(`${n.machine}: connected to the other two`, async () => {
        const s = JSON.parse((await n.cli('status --json')).stdout) as { peers: Array<{ peerId: string }> }
        const p = s.peers.map((x) => x.peerId)
        return ids.filter((_, j) => j !== i).every((id) => p.includes(id))
      }, { timeoutMs: 90_000, intervalMs: 1000 })
    }
  })

  it('test 1: test_file uploaded on alpha (--network-id --url http://[::1]:7331 --key) reaches files/home/test_file on all three', async () => {
    await alpha.exec("echo -n 'hello world' > /tmp/test_file")
    const up = await alpha.exec(`data-mesher file update /tmp/test_file --network-id ${NETWORK_PUB} --url http://[::1]:7331 --key ${ADMIN_KEY}`, { allowFail: true })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    await waitForFile([alpha, beta, gamma], 'test_file', 'hello world')
    expect(readFileSync(join(gamma.stateDir, 'files/test_file'), 'utf8')).toBe('hello world')
  })

  it('test 2: test_file deleted from beta is gone on all three', async () => {
    const del = await beta.exec(`data-mesher file delete test_file --network-id ${NETWORK_PUB} --url http://[::1]:7331 --key ${ADMIN_KEY}`, { allowFail: true })
    expect(del.stderr).toBe('')
    expect(del.code).toBe(0)
    await waitForFileDeleted([alpha, beta, gamma], 'test_file')
  })

  let nsName = ''
  it('test 3: a namespace file test_ns/<base64url identity key> uploaded with --cert reaches all three', async () => {
    // as the test script computes it: the last 32 bytes of the identity.pub PEM's DER
    const pem = (await alpha.exec(`cat ${IDENTITY_PUB}`)).stdout.trim()
    const der = Buffer.from(pem.split('\n').filter((l) => !l.startsWith('-----')).join(''), 'base64')
    nsName = `test_ns/${der.subarray(der.length - 32).toString('base64url')}`
    await alpha.exec("echo -n 'namespace_data' > /tmp/ns_file")
    const up = await alpha.exec(`data-mesher file update /tmp/ns_file --name '${nsName}' --url http://[::1]:7331 ` +
      `--key ${IDENTITY_KEY} --network-id ${NETWORK_PUB} --cert ${IDENTITY_CERT}`, { allowFail: true })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    await waitForFile([alpha, beta, gamma], nsName, 'namespace_data')
  })

  it('test 4: the same without --cert is refused (exit 1), and nothing changes', async () => {
    expect(nsName).not.toBe('')
    await alpha.exec("echo -n 'no_cert' > /tmp/ns_nocert")
    const bare = await alpha.exec(`data-mesher file update /tmp/ns_nocert --name '${nsName}' --url http://[::1]:7331 ` +
      `--key ${IDENTITY_KEY} --network-id ${NETWORK_PUB}`, { allowFail: true })
    expect(bare.code).toBe(1)
    expect(bare.stderr).toMatch(/needs a certificate of this network/)
    for (const n of [alpha, beta, gamma]) expect(await hasFile(n, nsName, 'namespace_data'), n.machine).toBe(true)
  })

  it('kept every daemon up all along (no restart), every machine still running', async () => {
    for (const n of cluster.nodes) {
      expect((await n.systemctl('is-system-running', { allowFail: true })).stdout.trim()).toBe('running')
      expect((await n.systemctl('show -p NRestarts --value data-mesher.service')).stdout.trim()).toBe('0')
    }
  })
})
