// The inventories of clan-core's two VM tests (clanServices/data-mesher/tests/vm and
// clanServices/dm-dns/tests/vm), written in our stand-in's inventory form. One place for
// both users: the evaluation tests (tests/nix) and their nspawn twins (tests/system).
import { join } from 'node:path'
import { repoRoot } from './helpers.js'

/** Both tests shorten the anti-entropy interval through the daemon's settings (clan-core HEAD's key). */
const FAST_SYNC = `[
      ({ lib, ... }: {
        services.data-mesher.settings = {
          log_level = lib.mkForce "debug";
          cluster.push_pull_interval = lib.mkForce "5s";
        };
      })
    ]`

/** data-mesher test: three machines, all default, alpha and beta also bootstrap; `admin` signs test_file. */
export function dataMesherTestInventory (admin: string): string {
  return `{
  machines = { alpha = { }; beta = { }; gamma = { }; };
  instances.data-mesher = {
    module = "data-mesher";
    roles.default.tags = [ "all" ];
    roles.default.extraModules = ${FAST_SYNC};
    roles.default.settings = {
      network.files.test_file = [ "${admin}" ];
      network.namespaces = [ "test_ns" ];
    };
    roles.bootstrap.machines = { alpha = { }; beta = { }; };
  };
}`
}

/**
 * dm-dns test: dm-dns (our stand-in of its service) on server and client, server pushes;
 * an endpoint service exporting myapp.<domain>; data-mesher on both, both bootstrap.
 * `domain` undefined leaves meta.domain at clan's default.
 */
export function dmDnsTestInventory (domain?: string): string {
  return `{${domain !== undefined ? `\n  meta.domain = "${domain}";` : ''}
  machines = { server = { }; client = { }; };
  instances = {
    dm-dns = {
      module = ${join(repoRoot, 'tests/nix/clan-services/dm-dns.nix')};
      roles.default.machines = { server = { }; client = { }; };
      roles.default.extraModules = ${FAST_SYNC};
      roles.push.machines.server = { };
    };
    test-endpoint = {
      module = ${join(repoRoot, 'tests/nix/clan-services/test-endpoint.nix')};
      roles.default.machines.server = { };
    };
    data-mesher = {
      module = "data-mesher";
      roles.default.machines = { server = { }; client = { }; };
      roles.bootstrap.machines = { client = { }; server = { }; };
    };
  };
}`
}
