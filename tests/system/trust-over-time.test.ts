// Issue 19 on real machines under systemd: a node certificate renewed while the daemon
// runs, and a revocation reaching a node whose daemon was stopped while it was issued.
// Three machines alpha, beta, gamma of one network, set up as our clan service sets
// them up (vars at /run/secrets/vars, the config it renders, bootstrap by /dns names),
// with the namespace test_ns. The renewed certificates are made on the host with
// `certificate sign` and deployed by write-and-rename into the machine's vars directory,
// as vars and NixOS activation replace secrets. The revocation is the README's
// lost-laptop drill, run on alpha against gamma.
import { chmodSync, chownSync, copyFileSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ClanVars, clanSettings, hostCli, IDENTITY_CERT, IDENTITY_KEY, NETWORK_PUB, writeClanConfig } from './harness/clan.js'
import { Cluster } from './harness/cluster.js'
import type { Container } from './harness/container.js'
import { shq } from './harness/exec.js'
import { DAEMON_UID } from './harness/paths.js'
import { sleep, waitFor } from './harness/wait.js'

const MACHINES = ['alpha', 'beta', 'gamma']
const BOOTSTRAP = ['alpha', 'beta']
const SYNC = '2s'
const API = 'http://[::1]:7331'
/** the second certificate file alpha's config is switched to (only a reload can make the daemon read it) */
const RENEWED_CERT = IDENTITY_CERT.replace(/identity\.cert$/, 'identity-renewed.cert')
/** how long the short certificate alpha is moved to lasts: long enough for a loaded host to renew it in time */
const SHORT_VALIDITY_S = 45

interface Status {
  nodeId: string
  certificateNotAfter: number
  peers: Array<{ peerId: string, since: number }>
  counters: Record<string, number>
}
interface LogLine { msg: string, why?: string, err?: string, [k: string]: unknown }

describe('certificates renewed and revoked on running machines (issue 19, nspawn)', () => {
  let cluster: Cluster
  let vars: ClanVars
  let alpha: Container, beta: Container, gamma: Container
  const settings = new Map<string, ReturnType<typeof clanSettings>>()

  beforeAll(async () => {
    cluster = await Cluster.create({
      size: 3,
      daemon: true,
      hosts: { 1: ['alpha.clan'], 2: ['beta.clan'], 3: ['gamma.clan'] },
      moduleTmpfiles: { pluginDirectories: [] },
      prepare: async (c) => {
        vars = await ClanVars.generate(join(c.dir, 'vars'), MACHINES)
        for (const [i, m] of MACHINES.entries()) {
          const n = c.node(i + 1)
          vars.install(n, m)
          const s = clanSettings({
            machine: m, domain: 'clan', bootstrap: BOOTSTRAP, vars,
            files: {}, namespaces: ['test_ns'], logLevel: 'info', syncInterval: SYNC
          })
          settings.set(m, s)
          writeClanConfig(n, s)
        }
        // the admin's side of the drill, on alpha: the network key and the laptop's (gamma's) certificate
        const a = c.node(1)
        copyFileSync(vars.networkKey, join(a.testDir, 'network.key'))
        chmodSync(join(a.testDir, 'network.key'), 0o600)
        copyFileSync(vars.machine('gamma').identityCert, join(a.testDir, 'gamma.cert'))
        // the thief's side, on beta: gamma's key and certificate, to try a new version through beta
        const b = c.node(2)
        copyFileSync(vars.machine('gamma').identityKey, join(b.testDir, 'gamma.key'))
        chmodSync(join(b.testDir, 'gamma.key'), 0o600)
        copyFileSync(vars.machine('gamma').identityCert, join(b.testDir, 'gamma.cert'))
      }
    })
    ;[alpha, beta, gamma] = [cluster.node(1), cluster.node(2), cluster.node(3)]
  })
  afterAll(async () => { await cluster?.destroy() })
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail' || cluster === undefined) return
    for (const n of cluster.nodes.filter((x) => x.running)) {
      console.error(`--- ${n.machine}: journal of data-mesher.service\n${(await n.exec('journalctl -b --no-pager -o cat -u data-mesher.service -n 40', { allowFail: true })).stdout}`)
    }
  })

  const status = async (n: Container): Promise<Status> => JSON.parse((await n.cli('status --json')).stdout) as Status
  const peerIds = async (n: Container): Promise<string[]> => (await status(n)).peers.map((p) => p.peerId)
  const since = async (n: Container, peer: string): Promise<number | undefined> => (await status(n)).peers.find((p) => p.peerId === peer)?.since
  const idOf = (m: string): string => vars.machine(m).peerId
  const mainPid = async (n: Container): Promise<number> => Number((await n.systemctl('show -p MainPID --value data-mesher.service')).stdout.trim())
  const unitState = async (n: Container): Promise<string> => (await n.systemctl('is-active data-mesher.service', { allowFail: true })).stdout.trim()

  /** the daemon's JSON log lines (pino, on stdout), of its current run unless `wholeBoot` */
  async function logLines (n: Container, wholeBoot = false): Promise<LogLine[]> {
    const filter = wholeBoot ? '-u data-mesher.service' : '_SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value data-mesher.service)'
    const out = (await n.exec(`journalctl -b --no-pager -o cat ${filter}`, { allowFail: true })).stdout
    return out.split('\n').flatMap((l) => { try { return [JSON.parse(l) as LogLine] } catch { return [] } })
  }

  /** `certificate sign` on the host for machine `m`; returns the file and its end (ms) */
  async function sign (m: string, validity: string, file: string): Promise<number> {
    await hostCli('certificate', 'sign', '--name', m, '--network-key', vars.networkKey,
      '--identity-key', vars.machine(m).identityPub, '--output', file, '--validity', validity)
    return Date.parse(JSON.parse(await hostCli('certificate', 'show', file, '--json')).notAfter)
  }

  /** deploys `from` at the node's vars path `to` (under /run/secrets/vars) by write-and-rename, as vars do */
  function deploy (n: Container, from: string, to: string): void {
    const host = join(n.dir, 'vars', to.slice('/run/secrets/vars/'.length))
    copyFileSync(from, host + '.new')
    chownSync(host + '.new', DAEMON_UID, DAEMON_UID)
    chmodSync(host + '.new', 0o400)
    renameSync(host + '.new', host)
  }

  it('boots all three; each admits the other two by their certificates', async () => {
    for (const n of cluster.nodes) {
      expect((await n.systemctl('is-system-running', { allowFail: true })).stdout.trim()).toBe('running')
      expect(await unitState(n)).toBe('active')
    }
    for (const [i, n] of cluster.nodes.entries()) {
      const others = MACHINES.filter((_, j) => j !== i).map(idOf)
      await waitFor(`${n.machine}: connected to the other two`, async () => {
        const p = await peerIds(n)
        return others.every((o) => p.includes(o))
      }, { timeoutMs: 90_000, intervalMs: 1000 })
    }
  })

  it('renews a certificate without a restart: file watch and `systemctl reload`, the same connections past the old end', async () => {
    const pid = await mainPid(alpha)
    expect(pid).toBeGreaterThan(0)

    // 1. alpha's certificate is replaced on disk (write-and-rename) by one ending in 45 s:
    //    the file watch makes the running daemon use it, and alpha shows it to its peers,
    //    which from then on would close the connections at its end
    const short = join(cluster.dir, 'alpha-short.cert')
    const shortEnd = await sign('alpha', `${SHORT_VALIDITY_S}s`, short)
    deploy(alpha, short, IDENTITY_CERT)
    await waitFor('alpha uses the short certificate', async () => (await status(alpha)).certificateNotAfter === shortEnd, { timeoutMs: 10_000, intervalMs: 200 })
    expect((await logLines(alpha)).filter((l) => l.msg.startsWith('certificate renewed')).map((l) => l.why)).toEqual(['file changed'])
    for (const n of [beta, gamma]) {
      await waitFor(`${n.machine} knows alpha's short end`, async () =>
        (await logLines(n)).some((l) => l.msg === 'peer showed a renewed certificate' && l.peer === idOf('alpha') && Date.parse(String(l.notAfter)) === shortEnd),
      { timeoutMs: 10_000, intervalMs: 250 })
    }
    const before = {
      alpha: { beta: await since(alpha, idOf('beta')), gamma: await since(alpha, idOf('gamma')) },
      beta: await since(beta, idOf('alpha')),
      gamma: await since(gamma, idOf('alpha'))
    }
    expect(Object.values(before.alpha).concat(before.beta, before.gamma).every((s) => typeof s === 'number')).toBe(true)

    // 2. the renewal: a new certificate file (write-and-rename), alpha's config pointed at it,
    //    `systemctl reload` (the unit's ExecReload sends SIGHUP). The watch does not follow a
    //    changed path: only the reload can make the daemon read this file.
    const renewedFile = join(cluster.dir, 'alpha-renewed.cert')
    const renewedEnd = await sign('alpha', '2160h', renewedFile)
    deploy(alpha, renewedFile, RENEWED_CERT)
    const s = settings.get('alpha')!
    writeClanConfig(alpha, { ...s, cluster: { ...(s.cluster as object), identity_cert: RENEWED_CERT } })
    await alpha.systemctl('reload data-mesher.service')
    await waitFor('alpha uses the renewed certificate', async () => (await status(alpha)).certificateNotAfter === renewedEnd, { timeoutMs: 10_000, intervalMs: 200 })
    expect(Date.now(), 'the renewal reached alpha only after the short certificate ended: the scenario proves nothing').toBeLessThan(shortEnd - 5_000)
    expect((await logLines(alpha)).filter((l) => l.msg.startsWith('certificate renewed')).map((l) => l.why)).toEqual(['file changed', 'reload'])
    for (const n of [beta, gamma]) {
      await waitFor(`${n.machine} knows alpha's renewed end`, async () =>
        (await logLines(n)).some((l) => l.msg === 'peer showed a renewed certificate' && l.peer === idOf('alpha') && Date.parse(String(l.notAfter)) === renewedEnd),
      { timeoutMs: 10_000, intervalMs: 250 })
    }

    // 3. past the short certificate's end: the same daemon, the same connections, and alpha
    //    still admitted (a namespace file it publishes now reaches the others)
    await waitFor('the short certificate\'s end, with a margin', async () => Date.now() > shortEnd + 3_000, { timeoutMs: 120_000, intervalMs: 500 })
    expect(await mainPid(alpha)).toBe(pid)
    expect(await unitState(alpha)).toBe('active')
    expect((await alpha.systemctl('show -p NRestarts --value data-mesher.service')).stdout.trim()).toBe('0')
    expect({
      alpha: { beta: await since(alpha, idOf('beta')), gamma: await since(alpha, idOf('gamma')) },
      beta: await since(beta, idOf('alpha')),
      gamma: await since(gamma, idOf('alpha'))
    }).toEqual(before)
    for (const n of [beta, gamma]) {
      expect((await status(n)).counters['certificates.expired'] ?? 0, `${n.machine} closed an expired certificate`).toBe(0)
      expect((await logLines(n)).filter((l) => l.msg === 'peer certificate expired: disconnected')).toEqual([])
    }
    const name = `test_ns/${Buffer.from(readPubRaw(vars.machine('alpha').identityPub)).toString('base64url')}`
    const content = `alpha after its old end ${Date.now()}`
    await alpha.exec(`printf %s ${shq(content)} > /root/facts`)
    const up = await alpha.exec(`data-mesher file update /root/facts --name ${shq(name)} --url ${API} --key ${IDENTITY_KEY} ` +
      `--network-id ${NETWORK_PUB} --cert ${RENEWED_CERT}`, { allowFail: true })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    for (const n of [beta, gamma]) {
      await waitFor(`${n.machine}: ${name} from alpha`, async () => n.delivered(name)?.toString() === content, { timeoutMs: 30_000, intervalMs: 200 })
    }
  })

  it('revokes gamma while beta\'s daemon is stopped: started again, beta learns it, refuses gamma and drops its file', async () => {
    // gamma (the laptop) has published a namespace file, on every machine
    const name = `test_ns/${Buffer.from(readPubRaw(vars.machine('gamma').identityPub)).toString('base64url')}`
    const content = `gamma's facts ${Date.now()}`
    await gamma.exec(`printf %s ${shq(content)} > /root/facts`)
    const up = await gamma.exec(`data-mesher file update /root/facts --name ${shq(name)} --url ${API} --key ${IDENTITY_KEY} ` +
      `--network-id ${NETWORK_PUB} --cert ${IDENTITY_CERT}`, { allowFail: true })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    for (const n of cluster.nodes) {
      await waitFor(`${n.machine}: ${name}`, async () => n.delivered(name)?.toString() === content, { timeoutMs: 30_000, intervalMs: 200 })
    }

    // beta's daemon is stopped (the machine stays up)
    await beta.systemctl('stop data-mesher.service')
    expect(await unitState(beta)).toBe('inactive')

    // the lost-laptop drill on alpha
    const r = await alpha.exec(`data-mesher certificate revoke --network-key /etc/dmt/network.key --list /root/revoked.json ` +
      `--certificate /etc/dmt/gamma.cert --url ${API}`, { allowFail: true })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/network\.revocations: 1 revoked key\(s\), 1 new; accepted/)
    await waitFor('alpha disconnects gamma and drops its file', async () =>
      alpha.delivered(name) === undefined && !(await peerIds(alpha)).includes(idOf('gamma')), { timeoutMs: 15_000, intervalMs: 200 })
    expect(beta.delivered(name)?.toString(), 'beta\'s disk while its daemon is stopped').toBe(content)

    // beta started again: it learns the list from alpha
    await beta.systemctl('start data-mesher.service')
    expect(await unitState(beta)).toBe('active')
    await waitFor('beta has the revocation list', async () =>
      (JSON.parse((await beta.cli('file list --json')).stdout) as Array<{ name: string }>).some((v) => v.name === 'network.revocations'),
    { timeoutMs: 60_000, intervalMs: 500 })
    await waitFor('beta dropped gamma\'s file and is not connected to gamma', async () =>
      beta.delivered(name) === undefined && !(await peerIds(beta)).includes(idOf('gamma')), { timeoutMs: 30_000, intervalMs: 200 })
    expect(await peerIds(beta)).toContain(idOf('alpha'))
    // gamma keeps dialling beta (one of its bootstrap nodes): refused or disconnected
    await waitFor('beta refuses gamma', async () =>
      (await logLines(beta)).some((l) => JSON.stringify(l).includes('revoked by the network')), { timeoutMs: 60_000, intervalMs: 500 })
    // a new version of gamma's file, signed with its key and certificate, is refused by beta
    const again = await beta.exec(`printf x > /root/again && data-mesher file update /root/again --name ${shq(name)} --url ${API} ` +
      `--key /etc/dmt/gamma.key --network-id ${NETWORK_PUB} --cert /etc/dmt/gamma.cert`, { allowFail: true })
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/revoked by the network/)

    // several sync rounds later nothing brought it back, and gamma is still out
    await sleep(3 * 2000)
    for (const n of [alpha, beta]) {
      expect(n.delivered(name), n.machine).toBeUndefined()
      expect(await peerIds(n), n.machine).not.toContain(idOf('gamma'))
    }
  })

  it('restarted no daemon but beta\'s (stopped on purpose); every machine still running', async () => {
    for (const n of cluster.nodes) {
      expect((await n.systemctl('is-system-running', { allowFail: true })).stdout.trim()).toBe('running')
      expect((await n.systemctl('show -p NRestarts --value data-mesher.service')).stdout.trim(), n.machine).toBe('0')
    }
  })
})

/** the raw 32-byte Ed25519 key of a public key PEM file (the last 32 bytes of its DER) */
function readPubRaw (pemPath: string): Uint8Array {
  const pem = readFileSync(pemPath, 'utf8').trim()
  const der = Buffer.from(pem.split('\n').filter((l) => !l.startsWith('-----')).join(''), 'base64')
  return der.subarray(der.length - 32)
}
