#!/usr/bin/env node
// Renders the tmpfiles.d rules the NixOS module (nixos/module.nix,
// systemd.tmpfiles.rules) creates before the daemon starts, for hosts without Nix
// (the systemd-nspawn system tests, a hand install): the plugin directories under
// files/ and the files/home -> . link that makes files/home/<name> an alias of
// files/<name>. tests/nix/render-tmpfiles.test.ts checks both render the same rules.
//
// Usage:
//   node nixos/render-tmpfiles.mjs [options] > /etc/tmpfiles.d/data-mesher.conf
//
//   --state-dir DIR       default /var/lib/data-mesher
//   --user NAME, --group NAME   default data-mesher
//   --plugin-dir NAME     repeatable, e.g. dns
//   --no-home-link        leave files/home out
//
// It can also be imported: import { tmpfilesRules } from "./render-tmpfiles.mjs".
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The rules, in the module's order. */
export function tmpfilesRules(o = {}) {
  const stateDir = o.stateDir ?? "/var/lib/data-mesher";
  const user = o.user ?? "data-mesher";
  const group = o.group ?? "data-mesher";
  const plugins = o.pluginDirectories ?? [];
  const homeLink = o.filesHomeLink ?? true;
  const filesDir = `${stateDir}/files`;
  const underVarLib = stateDir.startsWith("/var/lib/");
  const underFiles = plugins.length > 0 || homeLink;
  // every prefix of every plugin directory, parents first
  const dirs = [];
  for (const d of plugins) {
    const parts = d.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (!dirs.includes(p)) dirs.push(p);
    }
  }
  return [
    ...(!underVarLib || underFiles ? [`d ${stateDir} 0750 ${user} ${group} - -`] : []),
    ...(underFiles ? [`d ${filesDir} 0750 ${user} ${group} - -`] : []),
    ...dirs.map((d) => `d ${filesDir}/${d} 0750 ${user} ${group} - -`),
    ...(homeLink ? [`L+ ${filesDir}/home - - - - .`] : []),
  ];
}

function main(argv) {
  const o = { pluginDirectories: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--state-dir") o.stateDir = value();
    else if (a === "--user") o.user = value();
    else if (a === "--group") o.group = value();
    else if (a === "--plugin-dir") o.pluginDirectories.push(value());
    else if (a === "--no-home-link") o.filesHomeLink = false;
    else fail(`unknown argument ${a}`);
  }
  process.stdout.write(tmpfilesRules(o).join("\n") + "\n");
}

function fail(msg) {
  process.stderr.write(`render-tmpfiles: ${msg}\n(see the comment at the top of nixos/render-tmpfiles.mjs)\n`);
  process.exit(2);
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main(process.argv.slice(2));
}
