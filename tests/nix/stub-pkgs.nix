# A stand-in for nixpkgs' package set on one system, as far as flake.nix and
# nixos/package.nix use it, without nixpkgs itself (no binary cache here): the
# builders return their arguments as fake derivations, so the tests can read what
# package.nix asks for (fetches, hooks, meta) for any system, darwin included.
# Used by ./eval-package.nix and ./flake-outputs.nix.
{
  lib,
  system ? "x86_64-linux",
  # extra attributes (e.g. an overlay's data-mesher)
  extra ? { },
}:
let
  drv =
    name: attrs:
    attrs
    // {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" "${system}/${name}")}-${name}";
    };
  self = {
    inherit lib;
    stdenv = {
      hostPlatform = lib.systems.elaborate system;
      buildPlatform = lib.systems.elaborate system;
      cc.cc.lib = drv "gcc-lib" { };
    };
    stdenvNoCC.mkDerivation =
      a:
      drv a.name {
        kind = "npm-pack";
        inherit (a) outputHash buildCommand;
      };
    buildNpmPackage = a: drv "${a.pname}-${a.version}" (a // { kind = "buildNpmPackage"; });
    importNpmLock.npmConfigHook = "importNpmLock.npmConfigHook";
    nodejs_22 = drv "nodejs-22" { };
    fetchurl =
      a:
      drv (baseNameOf a.url) {
        kind = "fetchurl";
        inherit (a) url hash;
      };
    runCommand = name: env: _script: drv name env;
    cacert = drv "cacert" { };
    autoPatchelfHook = drv "auto-patchelf-hook" { };
    coreutils = drv "coreutils" { };
    mkShell = a: drv "shell" a;
    nixfmt-rfc-style = drv "nixfmt" { };
    callPackage =
      f: args:
      let
        fn = if builtins.isFunction f then f else import f;
      in
      fn (builtins.intersectAttrs (lib.functionArgs fn) self // args);
  }
  // extra;
in
self
