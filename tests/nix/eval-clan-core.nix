# Evaluates one machine of a clan inventory through clan-core's own inventory code
# (a clan-core source tree at `clanCore`, CLAN_CORE_SRC in the tests):
#
#   - the clan is evaluated with lib.evalModules from clan-core's
#     modules/clan/top-level-interface.nix and modules/clan/distributed-services.nix,
#     so tags, roles, role interfaces, settings, perInstance/perMachine, exports
#     and their interfaces (clan.exportInterfaces) are clan-core's, as is
#     clanLib (lib/default.nix) and the module resolution (module.input);
#   - `module = { name = "data-mesher"; }` (input null) is clan-core's own
#     clanServices/data-mesher; `input = "data-mesher"` is this flake's
#     `clan.modules.data-mesher` (flake.nix's outputs, via ./flake-outputs.nix);
#   - every machine imports this flake's nixosModules.data-mesher, as clan-core does
#     with its data-mesher input once `inputs.clan-core.inputs.data-mesher.follows`
#     points at this flake;
#   - the machine's NixOS modules (clan-core's _allMachines.<machine>.machineImports)
#     are evaluated against the stub NixOS of ./eval-module.nix and the stub of
#     clan.core of ./clan-core-stub.nix (clan-core's nixosModules.clanCore is not
#     in the extract: vars generators, domain, directory).
#
# Public vars are read from `directory` (vars/per-machine/<machine>/<generator>/<file>/value,
# vars/shared/...) by clan-core's own getPublicValue.
{
  lib,
  clanCore,
  machine,
  # clan-core's inventory form: { meta.domain?; machines; instances.<name> = { module = { name; input?; }; roles; }; }
  inventory ? null,
  # or the clan of one of clan-core's VM tests, read from its own file:
  # "data-mesher" or "dm-dns" (clanServices/<name>/tests/vm/default.nix)
  vmTest ? null,
  # set: instances.data-mesher takes its module from this flake input
  # (`{ name = "data-mesher"; input = "data-mesher"; }`) instead of the inventory's
  dataMesherInput ? null,
  directory ? null,
  # the clan's own clan.modules (module.input = "self"), e.g. a test's services
  modules ? null,
  extraMachineModules ? [ ],
  # the system whose pkgs the machine is evaluated with (`clan vars generate` on a
  # macOS admin's machine: aarch64-darwin)
  system ? "x86_64-linux",
}:
let
  vmTestFile = import (clanCore + "/clanServices/${vmTest}/tests/vm/default.nix");
  vmTestValue = if builtins.isFunction vmTestFile then vmTestFile { } else vmTestFile;
  # clan-core's flake-module adds the service under test as self's "@clan/<name>"
  vmTestClan = vmTestValue.clan // {
    modules = (vmTestValue.clan.modules or { }) // {
      "@clan/${vmTest}" = clanCore + "/clanServices/${vmTest}/default.nix";
    };
  };
  # the test's per-machine NixOS settings (`containers.<machine>` or `nodes.<machine>`)
  vmTestMachine =
    if vmTest == null then
      [ ]
    else
      lib.optional (vmTestValue ? containers.${machine}) vmTestValue.containers.${machine}
      ++ lib.optional (vmTestValue ? nodes.${machine}) vmTestValue.nodes.${machine};

  inv = if inventory != null then inventory else vmTestClan.inventory;
  clanModules = if modules != null then modules else vmTestClan.modules or { };

  instances =
    if dataMesherInput == null then
      inv.instances
    else
      inv.instances
      // {
        data-mesher = inv.instances.data-mesher // {
          module = {
            name = "data-mesher";
            input = dataMesherInput;
          };
        };
      };

  clanLib = import (clanCore + "/lib") { inherit lib; };

  flake = import ./flake-outputs.nix { inherit lib; };

  # what clan-core reads of itself (specialArg `clan-core`)
  clan-core = {
    inherit clanLib;
    clan.modules = {
      data-mesher = clanCore + "/clanServices/data-mesher/default.nix";
      dm-dns = clanCore + "/clanServices/dm-dns/default.nix";
    };
  };

  clanEval = lib.evalModules {
    class = "clan";
    specialArgs = {
      inherit clanLib clan-core;
      # the clan's own flake: its inputs are where `module.input` looks
      self = {
        inputs = {
          data-mesher = flake;
        };
      };
    };
    modules = [
      (clanCore + "/modules/clan/top-level-interface.nix")
      (clanCore + "/modules/clan/distributed-services.nix")
      # the computed tags `all`, `nixos`, `darwin` (imported by modules/clan/module.nix)
      (clanCore + "/modules/clan/computed-tags.nix")
      {
        directory = if directory == null then "/nonexistent-clan-directory" else directory;
        modules = clanModules;
        inventory = {
          inherit (inv) machines;
          inherit instances;
        };
      }
    ];
  };

  services = clanEval.config._services.allServices;
  machineImports = clanEval.config._allMachines.${machine}.machineImports;
  # (each service's result.assertions, the JSON schema of its role interfaces, are
  # not read: they need parts of clan-core's lib/jsonschema the extract leaves out)
  cliChecks = lib.concatMap (s: s.result.cliChecks) (lib.attrValues services);

  domain = inv.meta.domain or "clan";
in
import ./eval-module.nix {
  inherit lib;
  # the package comes from the flake's nixosModules.data-mesher (its default), as on a clan machine
  stubPackage = false;
  inherit system;
  config = {
    imports = [
      (import ./clan-core-stub.nix { inherit lib domain directory; })
      flake.nixosModules.data-mesher
    ]
    ++ machineImports
    ++ vmTestMachine
    ++ extraMachineModules;
  };
  extra = c: {
    generators = lib.mapAttrs (_: g: {
      inherit (g) share dependencies script;
      runtimeInputs = map (p: p.name) g.runtimeInputs;
      runtimeInputPaths = map toString g.runtimeInputs;
      # each runtime input evaluates, is not broken, and is available on `system`
      runtimeInputsAvailable = lib.all (
        p: lib.meta.availableOn (lib.systems.elaborate system) p && !(p.meta.broken or false)
      ) g.runtimeInputs;
      files = lib.mapAttrs (_: f: {
        inherit (f)
          secret
          deploy
          owner
          group
          path
          ;
      }) g.files;
    }) c.clan.core.vars.generators;
    warnings = c.warnings;
    package = c.services.data-mesher.package.name;
    packagePath = toString c.services.data-mesher.package;
    cliChecks = map (x: { inherit (x) id message severity; }) cliChecks;
    services = lib.mapAttrs (_: s: {
      inherit (s.manifest) name;
      roleNames = lib.attrNames s.roles;
    }) services;
    exportScopes = lib.attrNames clanEval.config.exports;
  };
}
