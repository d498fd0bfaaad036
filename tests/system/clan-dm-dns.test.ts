// The twin of clan-core's dm-dns VM test (clanServices/dm-dns/tests/vm at
// github:clan-lol/clan-core), under systemd in nspawn containers: two machines, server
// and client (domain "test"), both in data-mesher's `default` and `bootstrap` roles and in
// dm-dns's `default`, server in dm-dns's `push`; a test-endpoint exporting myapp.test.
// What dm-dns puts on each machine is set up as it does it on NixOS:
//   - data-mesher accepts "dns/cnames" signed by the shared dm-dns-signing-key (dm-dns's
//     dataMesher.files export, merged by our clan service), pluginDirectories = [ "dns" ];
//   - Debian's unbound with the configuration dm-dns renders (port 5353 on 127.0.0.1,
//     local-data from the hosts, include of files/home/dns/*, a control socket), the
//     unbound user in the daemon's group, started after data-mesher;
//   - unbound-reload-zones.path watching /var/lib/data-mesher/files/home/dns and the
//     oneshot unbound-reload-zones.service running `unbound-control reload`;
//   - the zone dm-dns's generator writes (zone.conf) and the push of its test script.
// The unbound configuration and the reload units are written here as dm-dns renders them
// (the NixOS unbound module is not evaluated); the data-mesher side is our clan service's.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ClanVars, clanSettings, deployVar, evaluateClan, hostCli, NETWORK_PUB, varPath, writeClanConfig, type Evaluated } from './harness/clan.js'
import { Cluster } from './harness/cluster.js'
import type { Container } from './harness/container.js'
import { moduleTmpfilesRules } from './harness/units.js'
import { waitFor } from './harness/wait.js'
import { canEval, evalSkipReason } from '../nix/helpers.js'
import { dmDnsTestInventory } from '../nix/clan-test-inventories.js'

const MACHINES = ['server', 'client']
const DOMAIN = 'test'
const DNS_DIR = '/var/lib/data-mesher/files/home/dns' // dm-dns's dmFilesDir
const ZONE_CONF = varPath('dm-dns', 'zone.conf')
const SIGNING_KEY = varPath('dm-dns-signing-key', 'signing.key')
const CTL = '/run/unbound/unbound.ctl'

// what dm-dns's `dm-dns` generator writes for this inventory: the endpoint myapp.test,
// exported by test-endpoint on server
const ZONE = `local-zone: "${DOMAIN}." transparent\nlocal-data: "myapp.${DOMAIN}. CNAME server.${DOMAIN}."\n`

/** unbound.conf as dm-dns's services.unbound settings render it (hosts: name -> IPv4) */
const unboundConf = (hosts: Array<[string, string]>): string => `# dm-dns's unbound settings (tests/system/clan-dm-dns.test.ts)
server:
  chroot: ""
  username: "unbound"
  pidfile: ""
  port: 5353
  interface: 127.0.0.1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  domain-insecure: "${DOMAIN}."
${hosts.map(([name, ip]) => `  local-data: "${name}. A ${ip}"`).join('\n')}
  include: "${DNS_DIR}/*"
remote-control:
  control-enable: yes
  control-interface: ${CTL}
forward-zone:
  name: "."
  forward-addr: 127.0.0.53@53
`

const UNITS: Record<string, string> = {
  // dm-dns: systemd.services.unbound.after = [ "data-mesher.service" ]; the NixOS unbound
  // module's RuntimeDirectory holds the control socket
  'unbound.service.d/dm-dns.conf': `[Unit]
After=data-mesher.service

[Service]
RuntimeDirectory=unbound
`,
  'unbound-reload-zones.path': `[Unit]
Description=Watch for zone file changes

[Path]
PathChanged=${DNS_DIR}
Unit=unbound-reload-zones.service

[Install]
WantedBy=multi-user.target
`,
  'unbound-reload-zones.service': `[Unit]
Description=Reload unbound zone configuration
After=unbound.service
Requires=unbound.service

[Service]
Type=oneshot
ExecStart=/usr/sbin/unbound-control -s ${CTL} reload
`
}

const inventory = dmDnsTestInventory(DOMAIN)

describe("clan-core's dm-dns VM test, under systemd (nspawn)", () => {
  let cluster: Cluster
  let vars: ClanVars
  let server: Container, client: Container
  const written = new Map<string, Record<string, unknown>>()
  const evaluated = new Map<string, Evaluated>()

  beforeAll(async () => {
    cluster = await Cluster.create({
      size: 2,
      daemon: true,
      hosts: { 1: [`server.${DOMAIN}`], 2: [`client.${DOMAIN}`] },
      moduleTmpfiles: { pluginDirectories: ['dns'] },
      units: UNITS,
      enable: ['unbound.service', 'unbound-reload-zones.path'],
      prepare: async (c) => {
        vars = await ClanVars.generate(join(c.dir, 'vars'), MACHINES)
        // dm-dns's generators: the shared signing key, and the zone
        const signingKey = join(c.dir, 'vars/dm-dns-signing-key/signing.key')
        const signingPub = join(c.dir, 'vars/dm-dns-signing-key/signing.pub')
        mkdirSync(join(c.dir, 'vars/dm-dns-signing-key'), { recursive: true })
        await hostCli('generate', 'signing-key', '--private-key-path', signingKey, '--public-key-path', signingPub)
        vars.putPublic('shared/dm-dns-signing-key/signing.pub', readFileSync(signingPub, 'utf8'))
        const signer = readFileSync(signingPub, 'utf8').trim()
        const zone = join(c.dir, 'zone.conf')
        writeFileSync(zone, ZONE)
        const hosts: Array<[string, string]> = [[`server.${DOMAIN}`, c.node(1).ip4], [`client.${DOMAIN}`, c.node(2).ip4]]
        writeFileSync(join(c.sharedDir, 'unbound.conf'), unboundConf(hosts))
        for (const [i, m] of MACHINES.entries()) {
          const n = c.node(i + 1)
          vars.install(n, m)
          n.binds.push(`--bind-ro=${join(c.sharedDir, 'unbound.conf')}:/etc/unbound/unbound.conf`)
          written.set(m, clanSettings({
            machine: m, domain: DOMAIN, bootstrap: ['client', 'server'], vars,
            files: { 'dns/cnames': [signer] }, namespaces: [], logLevel: 'debug', syncInterval: '5s'
          }))
          const e = evaluateClan(inventory, m, vars)
          if (e !== undefined) evaluated.set(m, e)
          writeClanConfig(n, e?.settings ?? written.get(m)!)
        }
        // the push role's machine: the signing key deployed (the test's extraModules), the zone
        deployVar(c.node(1), 'dm-dns-signing-key', 'signing.key', signingKey, 'root')
        deployVar(c.node(1), 'dm-dns', 'zone.conf', zone, 'public')
      }
    })
    ;[server, client] = [cluster.node(1), cluster.node(2)]
  })
  afterAll(async () => { await cluster?.destroy() })
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail' || cluster === undefined) return
    for (const n of cluster.nodes.filter((x) => x.running)) {
      const j = await n.exec('journalctl -b --no-pager -o cat -u data-mesher.service -u unbound.service -u unbound-reload-zones.service -n 60', { allowFail: true })
      console.error(`--- ${n.machine}: journal\n${j.stdout}`)
    }
  })

  const dig = async (n: Container, q: string): Promise<string> =>
    (await n.exec(`dig +short @127.0.0.1 -p 5353 ${q}`, { allowFail: true, timeoutMs: 30_000 })).stdout.trim()

  it('runs the data-mesher config and tmpfiles rules our clan service renders for this inventory (dns/cnames from the export)', async (ctx) => {
    const rules = await moduleTmpfilesRules(['dns'])
    expect(rules).toContain('d /var/lib/data-mesher/files/dns 0750 data-mesher data-mesher - -')
    if (!canEval) ctx.skip(`${evalSkipReason} (the machines run the config written as the service renders it)`)
    for (const m of MACHINES) {
      const e = evaluated.get(m)!
      expect(e.settings, m).toEqual(written.get(m))
      expect(e.pluginDirectories).toEqual(['dns'])
      expect(e.tmpfiles, m).toEqual(rules)
    }
  })

  it('boots both: data-mesher, unbound and the reload .path unit active; the hosts resolve through unbound', async () => {
    for (const n of cluster.nodes) {
      expect((await n.systemctl('is-system-running', { allowFail: true })).stdout.trim()).toBe('running')
      const units = ['data-mesher.service', 'unbound.service', 'unbound-reload-zones.path']
      expect((await n.systemctl(`is-active ${units.join(' ')}`, { allowFail: true })).stdout.trim().split('\n')).toEqual(units.map(() => 'active'))
      expect((await n.exec('stat -c %U:%G:%a /var/lib/data-mesher/files/dns')).stdout.trim()).toBe('data-mesher:data-mesher:750')
      await waitFor(`${n.machine}: server.${DOMAIN} A through unbound`, async () =>
        (await dig(n, `server.${DOMAIN} A`)) === server.ip4, { timeoutMs: 30_000, intervalMs: 500 })
    }
    const other = (n: Container): string => vars.machine(n === server ? 'client' : 'server').peerId
    for (const n of cluster.nodes) {
      await waitFor(`${n.machine}: connected to the other machine`, async () =>
        (await n.cli('status --json')).stdout.includes(other(n)), { timeoutMs: 90_000, intervalMs: 1000 })
    }
    expect(await dig(client, `myapp.${DOMAIN} CNAME`)).toBe('') // no zone yet
  })

  it('a zone pushed on server as dns/cnames makes myapp.test a CNAME on both machines within 30 s, by a reload of unbound', async () => {
    const unboundPid = async (n: Container): Promise<string> => (await n.systemctl('show -p MainPID --value unbound.service')).stdout.trim()
    const pids = await Promise.all(cluster.nodes.map(unboundPid))
    const push = await server.exec(`data-mesher file update --network-id ${NETWORK_PUB} ${ZONE_CONF} --url http://localhost:7331 --key ${SIGNING_KEY} --name dns/cnames`, { allowFail: true })
    expect(push.stderr).toBe('')
    expect(push.code).toBe(0)
    const t0 = Date.now()
    await Promise.all([client, server].map(async (n) => await waitFor(`${n.machine}: myapp.${DOMAIN} CNAME server.${DOMAIN}.`, async () =>
      (await dig(n, `myapp.${DOMAIN} CNAME`)) === `server.${DOMAIN}.`, { timeoutMs: 30_000, intervalMs: 500 })))
    const took = Date.now() - t0
    expect(took).toBeLessThan(30_000)
    for (const [i, n] of cluster.nodes.entries()) {
      expect(n.delivered('dns/cnames')?.toString()).toBe(ZONE)
      // the .path unit ran the reload; unbound itself was not restarted
      expect((await n.systemctl('show -p Result --value unbound-reload-zones.service')).stdout.trim()).toBe('success')
      expect((await n.exec('journalctl -b --no-pager -o cat -u unbound-reload-zones.service')).stdout).toMatch(/ok/)
      expect(await unboundPid(n)).toBe(pids[i])
    }
  })

  it('a zone signed by another key is refused, and the name keeps resolving', async () => {
    const other = '/tmp/other.key'
    await server.exec(`data-mesher generate signing-key --private-key-path ${other}`)
    await server.exec(`printf 'local-zone: "${DOMAIN}." transparent\\n' > /tmp/evil.conf`)
    const push = await server.exec(`data-mesher file update --network-id ${NETWORK_PUB} /tmp/evil.conf --url http://localhost:7331 --key ${other} --name dns/cnames`, { allowFail: true })
    expect(push.code).toBe(1)
    expect(push.stderr).not.toBe('')
    for (const n of cluster.nodes) {
      expect(n.delivered('dns/cnames')?.toString()).toBe(ZONE)
      expect(await dig(n, `myapp.${DOMAIN} CNAME`)).toBe(`server.${DOMAIN}.`)
    }
  })
})
