# Calls nixos/package.nix with stub builders that return their arguments, to check
# the lock-file handling (tests/nix/package.test.ts) without nixpkgs' package set.
{
  lib,
  system ? "x86_64-linux",
  npmRegistry ? null,
  lockFile ? ../../package-lock.json,
}:
let
  drv = name: attrs: attrs // { inherit name; outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}"; };
  pkg = import ../../nixos/package.nix {
    inherit lib npmRegistry;
    packageLockFile = lockFile;
    stdenv = {
      hostPlatform.system = system;
      cc.cc.lib = drv "gcc-lib" { };
    };
    stdenvNoCC.mkDerivation = a: drv a.name { kind = "npm-pack"; inherit (a) outputHash buildCommand; };
    buildNpmPackage = a: a;
    importNpmLock.npmConfigHook = "importNpmLock.npmConfigHook";
    nodejs_22 = drv "nodejs-22" { };
    fetchurl = a: drv (baseNameOf a.url) { kind = "fetchurl"; inherit (a) url hash; };
    runCommand = name: env: _script: drv name env;
    cacert = drv "cacert" { };
    autoPatchelfHook = drv "auto-patchelf-hook" { };
  };
  lock = builtins.fromJSON pkg.npmDeps.packageLock;
  pj = builtins.fromJSON pkg.npmDeps.package;
  someFetch = lib.findFirst (p: p ? integrity) null (lib.attrValues lock.packages);
in
{
  inherit (pkg) pname version npmBuildScript npmRebuildFlags;
  inherit (pkg.passthru) hasQuic;
  hasInstallCheck = pkg.doInstallCheck;
  installCheckLoadsQuic = lib.hasInfix "libp2p-quic" pkg.installCheckPhase;
  installCheckRunsBundle = lib.hasInfix "dist/bundle/data-mesher.mjs" pkg.installCheckPhase;
  unresolved = lib.attrNames (
    lib.filterAttrs (
      p: m:
      p != ""
      && m ? integrity
      && !(lib.hasPrefix "file:/nix/store/" (m.resolved or ""))
      && !(lib.elem p pkg.passthru.otherPlatformPackages)
    ) lock.packages
  );
  # lock entries that became store paths
  fetched = lib.attrNames (lib.filterAttrs (p: m: lib.hasPrefix "file:/nix/store/" (m.resolved or "")) lock.packages);
  registryEntries = lib.length (lib.attrNames (lib.filterAttrs (p: m: p != "" && m ? integrity) lock.packages));
  inherit (pkg.passthru) otherPlatformPackages;
  dependencies = pj.dependencies;
  quicModule = lock.packages."node_modules/@chainsafe/libp2p-quic-linux-x64-gnu".resolved or null;
  nested = lock.packages."node_modules/@chainsafe/libp2p-quic/node_modules/uint8arraylist".resolved or null;
}
