#!/usr/bin/env node
// Renders data-mesher.service for hosts without Nix (Debian, the systemd-nspawn
// system tests in tests/system/, a hand install).
//
// ONE SOURCE: the [Service] settings that do not depend on the platform (type,
// watchdog, restart policy, directories, umask and all of the systemd sandboxing)
// live in nixos/service-settings.json. The NixOS module (nixos/module.nix) reads
// the same file with builtins.fromJSON, and this script renders it here, so both
// units carry the same settings; tests/nix/ checks that they do. Change the
// sandboxing in that JSON file, never in one of its consumers.
//
// What differs per platform is given as arguments: the ExecStart command (binary
// path), the config path, the user and group, ExecReload (path of kill), extra
// environment and writable paths.
//
// Usage:
//   node nixos/render-unit.mjs [options] > /etc/systemd/system/data-mesher.service
//
//   --bin PATH            daemon executable (default /usr/bin/data-mesher)
//   --config PATH         config file (default /etc/data-mesher/config.toml)
//   --exec-start CMD      whole ExecStart command; overrides --bin and --config
//   --exec-reload CMD     default "/bin/kill -HUP $MAINPID"
//   --user NAME           default data-mesher ("" leaves User= out)
//   --group NAME          default data-mesher ("" leaves Group= out)
//   --dynamic-user        DynamicUser=yes (a fixed --group is still set)
//   --description TEXT
//   --environment K=V     repeatable
//   --read-write-path P   repeatable; needed when state_dir is not under
//                         /var/lib/data-mesher
//   --set Key=Value       repeatable; add or override a [Service] setting
//                         (a key given several times becomes a list)
//   --unset Key           repeatable; drop a [Service] setting
//   --settings FILE       default: service-settings.json beside this script
//   --wanted-by TARGET    default multi-user.target ("" leaves [Install] out)
//   --output FILE         default stdout
//   --json                print the merged [Service] settings as JSON instead
//
// Lists render as one "Key=value" line per element, sorted by key, the same way
// NixOS renders systemd.services.<name>.serviceConfig.
//
// It can also be imported: import { renderUnit, loadSettings } from "./render-unit.mjs".

import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const defaultSettingsPath = join(here, "service-settings.json");

/** Reads and checks service-settings.json: a flat object of string | string[]. */
export function loadSettings(path = defaultSettingsPath) {
  const data = JSON.parse(readFileSync(path, "utf8"));
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  for (const [k, v] of Object.entries(data)) {
    const ok =
      typeof v === "string" ||
      (Array.isArray(v) && v.every((x) => typeof x === "string"));
    if (!ok) throw new Error(`${path}: ${k} must be a string or a list of strings`);
    if (!/^[A-Z][A-Za-z]+$/.test(k)) throw new Error(`${path}: bad key ${k}`);
  }
  for (const k of ["ExecStart", "ExecReload", "User", "Group", "DynamicUser"]) {
    if (k in data) throw new Error(`${path}: ${k} is per platform and must not be in the shared settings`);
  }
  return data;
}

function quoteEnv(kv) {
  return `"${kv.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Returns the merged [Service] settings (shared JSON + per-platform values).
 * @param {object} o see the usage text above; keys are camelCase option names
 */
export function serviceSettings(o = {}) {
  const s = { ...loadSettings(o.settings ?? defaultSettingsPath) };
  const bin = o.bin ?? "/usr/bin/data-mesher";
  const config = o.config ?? "/etc/data-mesher/config.toml";
  s.ExecStart = o.execStart ?? `${bin} daemon --config ${config}`;
  s.ExecReload = o.execReload ?? "/bin/kill -HUP $MAINPID";
  const user = o.user ?? "data-mesher";
  const group = o.group ?? "data-mesher";
  if (o.dynamicUser) s.DynamicUser = "yes";
  if (user !== "" && !o.dynamicUser) s.User = user;
  if (group !== "") s.Group = group;
  // the shared environment (glibc's malloc settings) stays; --environment adds to it
  if (o.environment?.length) s.Environment = [...[s.Environment ?? []].flat(), ...o.environment.map(quoteEnv)];
  if (o.readWritePaths?.length) s.ReadWritePaths = [...o.readWritePaths];
  for (const [k, v] of Object.entries(o.set ?? {})) s[k] = v;
  for (const k of o.unset ?? []) delete s[k];
  return s;
}

/** Renders a complete unit file as text. */
export function renderUnit(o = {}) {
  const s = serviceSettings(o);
  const lines = [
    "# Rendered by nixos/render-unit.mjs from nixos/service-settings.json; do not edit.",
    "[Unit]",
    `Description=${o.description ?? "data-mesher: replicate signed files across the cluster"}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
  ];
  for (const k of Object.keys(s).sort()) {
    const v = s[k];
    for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}=${x}`);
  }
  const wantedBy = o.wantedBy ?? "multi-user.target";
  if (wantedBy !== "") lines.push("", "[Install]", `WantedBy=${wantedBy}`);
  return lines.join("\n") + "\n";
}

function usage(msg) {
  process.stderr.write(`render-unit: ${msg}\n(see the comment at the top of nixos/render-unit.mjs)\n`);
  process.exit(2);
}

export function parseArgs(argv) {
  const o = { environment: [], readWritePaths: [], set: {}, unset: [] };
  const need = (i) => {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    // accept both "--opt value" and "--opt=value"
    if (a.startsWith("--") && eq > 0) {
      argv = [...argv.slice(0, i), a.slice(0, eq), a.slice(eq + 1), ...argv.slice(i + 1)];
      i--;
      continue;
    }
    switch (a) {
      case "--bin": o.bin = need(i); i++; break;
      case "--config": o.config = need(i); i++; break;
      case "--exec-start": o.execStart = need(i); i++; break;
      case "--exec-reload": o.execReload = need(i); i++; break;
      case "--user": o.user = need(i); i++; break;
      case "--group": o.group = need(i); i++; break;
      case "--dynamic-user": o.dynamicUser = true; break;
      case "--description": o.description = need(i); i++; break;
      case "--environment": o.environment.push(need(i)); i++; break;
      case "--read-write-path": o.readWritePaths.push(need(i)); i++; break;
      case "--settings": o.settings = need(i); i++; break;
      case "--wanted-by": o.wantedBy = need(i); i++; break;
      case "--output": o.output = need(i); i++; break;
      case "--json": o.json = true; break;
      case "--unset": o.unset.push(need(i)); i++; break;
      case "--set": {
        const kv = need(i); i++;
        const p = kv.indexOf("=");
        if (p <= 0) usage(`--set wants Key=Value, got ${kv}`);
        const k = kv.slice(0, p), v = kv.slice(p + 1);
        if (k in o.set) o.set[k] = [].concat(o.set[k], v);
        else o.set[k] = v;
        break;
      }
      case "-h": case "--help":
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8")
          .split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n") + "\n");
        process.exit(0);
      default: usage(`unknown argument ${a}`);
    }
  }
  return o;
}

function isMain() {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const o = parseArgs(process.argv.slice(2));
  const text = o.json ? JSON.stringify(serviceSettings(o), null, 2) + "\n" : renderUnit(o);
  if (o.output) writeFileSync(o.output, text);
  else process.stdout.write(text);
}
