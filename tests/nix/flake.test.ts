// flake.nix's outputs, computed with a stand-in nixpkgs (tests/nix/flake-outputs.nix):
// which package the NixOS module takes (lib.mkPackageOption: pkgs.data-mesher, the
// overlay's, when there is one; else this flake's), and the package on darwin, where
// a clan admin runs `clan vars generate`: it evaluates, is available there, and is
// what the vars generators run. Needs NIXPKGS_LIB.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canEval, evalSkipReason, nixInstantiate, nixpkgsLib, repoRoot } from './helpers.js'

if (!canEval) console.warn(`tests/nix/flake: ${evalSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

function nix (expr: string): any {
  const r = nixInstantiate(['--eval', '--strict', '--json', '-E',
    `let lib = import ${nixpkgsLib as string}; dir = ${join(repoRoot, 'tests/nix')}; in ${expr}`])
  if (r.status !== 0) throw new Error(r.stderr)
  expect(r.stderr).toBe('')
  return JSON.parse(r.stdout)
}

const overlayPkg = '{ type = "derivation"; name = "data-mesher-from-overlay"; outPath = "/nix/store/00000000000000000000000000000000-data-mesher-from-overlay"; }'
/** The package services.data-mesher takes, with `modules` (a Nix list) and pkgs plus `extraPkgs`. */
const packageOf = (modules: string, extraPkgs = '{ }'): string => nix(`(import (dir + "/eval-module.nix") {
  inherit lib; stubPackage = false; extraPkgs = ${extraPkgs};
  config = { imports = ${modules}; services.data-mesher.enable = true; };
  extra = c: { pkg = c.services.data-mesher.package.name; };
}).pkg`)

describe('services.data-mesher.package (lib.mkPackageOption)', () => {
  it('the module alone takes pkgs.data-mesher (the overlay\'s package)', (ctx) => {
    need(ctx)
    expect(packageOf('[ ]', `{ data-mesher = ${overlayPkg}; }`)).toBe('data-mesher-from-overlay')
    const opt = nix(`let o = (lib.evalModules { modules = [ ${join(repoRoot, 'nixos/module.nix')} { _module.args.pkgs = { }; _module.check = false; } ]; }).options.services.data-mesher.package; in { text = o.defaultText.text or o.defaultText; }`)
    expect(opt.text).toBe('pkgs.data-mesher')
  })

  it('the flake\'s nixosModules.default takes the overlay\'s package when pkgs has one, else the flake\'s own', (ctx) => {
    need(ctx)
    const flakeModule = '[ (import (dir + "/flake-outputs.nix") { inherit lib; }).nixosModules.default ]'
    expect(packageOf(flakeModule, `{ data-mesher = ${overlayPkg}; }`)).toBe('data-mesher-from-overlay')
    expect(packageOf(flakeModule)).toBe('data-mesher-0.1.0')
    // overlays.default adds pkgs.data-mesher, built by nixos/package.nix
    expect(nix(`let f = import (dir + "/flake-outputs.nix") { inherit lib; };
      pkgs = import (dir + "/stub-pkgs.nix") { inherit lib; system = "x86_64-linux"; };
      final = pkgs // f.overlays.default final pkgs; in final.data-mesher.pname`)).toBe('data-mesher')
  })
})

describe('the package on darwin (where `clan vars generate` runs for a macOS admin)', () => {
  const DARWIN = ['aarch64-darwin', 'x86_64-darwin']

  it('the flake has packages and apps for both darwin systems, no NixOS checks there', (ctx) => {
    need(ctx)
    const v = nix(`let f = import (dir + "/flake-outputs.nix") { inherit lib; }; in {
      packages = builtins.attrNames f.packages; apps = builtins.attrNames f.apps; checks = builtins.attrNames f.checks;
      devShells = builtins.attrNames f.devShells;
      app = f.apps.aarch64-darwin.default.program; }`)
    for (const s of DARWIN) {
      expect(v.packages).toContain(s)
      expect(v.apps).toContain(s)
      expect(v.devShells).toContain(s)
      expect(v.checks).not.toContain(s)
    }
    expect(v.checks).toEqual(['aarch64-linux', 'x86_64-linux'])
    expect(v.app).toMatch(/\/bin\/data-mesher$/)
  })

  it('evaluates and is available on darwin: no Linux-only hook or library, no native module of another platform, TCP only', (ctx) => {
    need(ctx)
    for (const system of DARWIN) {
      const v = nix(`let
        f = import (dir + "/flake-outputs.nix") { inherit lib; };
        p = f.packages.${system}.default;
        lock = builtins.fromJSON p.npmDeps.packageLock;
        platform = lib.systems.elaborate "${system}";
      in {
        available = lib.meta.availableOn platform p;
        hooks = map (h: h.name) p.nativeBuildInputs;
        libs = map (l: l.name) p.buildInputs;
        inherit (p.passthru) hasQuic;
        installCheck = p.installCheckPhase;
        fetchedQuic = builtins.filter (n: lib.hasPrefix "node_modules/@chainsafe/libp2p-quic-" n && lib.hasPrefix "file:" (lock.packages.\${n}.resolved or "")) (builtins.attrNames lock.packages);
        main = p.meta.mainProgram;
      }`)
      expect(v.available, system).toBe(true)
      expect(v.hooks, system).toEqual([])
      expect(v.libs, system).toEqual([])
      // the lock pins no darwin build of the QUIC module by integrity: the CLI and
      // the daemon run on TCP (the module sets cluster.transports = [ "tcp" ])
      expect(v.hasQuic, system).toBe(false)
      expect(v.fetchedQuic, system).toEqual([])
      expect(v.installCheck, system).not.toMatch(/libp2p-quic/)
      expect(v.main).toBe('data-mesher')
    }
    // and Linux keeps what it had
    const linux = nix(`let p = (import (dir + "/flake-outputs.nix") { inherit lib; }).packages.x86_64-linux.default; in { hooks = map (h: h.name) p.nativeBuildInputs; inherit (p.passthru) hasQuic; available = lib.meta.availableOn (lib.systems.elaborate "x86_64-linux") p; }`)
    expect(linux).toEqual({ hooks: ['auto-patchelf-hook'], hasQuic: true, available: true })
  })
})
