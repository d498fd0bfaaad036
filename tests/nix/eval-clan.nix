# A small stand-in for clan's service machinery, for tests that need no clan-core
# source tree (the seed's inventory, every role and assertion of our service, and
# tests/system's configs). clan-core's own inventory code is evaluated by
# ./eval-clan-core.nix (tests/nix/clan-core-services.test.ts). This one evaluates one
# machine of a clan inventory whose instances use nixos/clan-service.nix (and the
# stand-in services of ./clan-services/), the way clan does it:
#
#   - a role's machines are the ones it lists plus those carrying one of its tags
#     ("all" = every machine);
#   - each machine's settings go through the role's interface (role settings, then
#     the machine's);
#   - each role's perInstance gets settings, roles, machine, instanceName, exports
#     (every export of every service of the clan), mkExports;
#   - the machine's NixOS configuration imports the nixosModule of every
#     (instance, role) it is in, plus the role's extraModules, evaluated against the
#     stub NixOS of ./eval-module.nix and a stub of clan.core (settings, vars).
#
# Public vars are read from `directory` like clan's in-repo backend
# (vars/per-machine/<machine>/<generator>/<file>/value, vars/shared/...).
# Used by tests/nix/clan-service.test.ts and tests/nix/clan-inventories.test.ts.
{
  lib,
  # { meta.domain?; machines.<name> = { tags? }; instances.<name> = { module; roles.<role> = { machines?; tags?; settings?; extraModules?; }; }; }
  # where `module` is a path to a clan.service module, or "data-mesher" for ours
  inventory,
  machine,
  # where public vars are read from; null = none generated yet
  directory ? null,
  # more NixOS modules for this machine (a test's per-machine settings)
  extraMachineModules ? [ ],
}:
let
  domain = inventory.meta.domain or "clan";
  allMachines = lib.attrNames inventory.machines;

  # clanLib, as far as the services here use it
  clanLib = rec {
    getPublicValue =
      {
        generator,
        file,
        flake,
        machine ? null,
        default ? throw "getPublicValue: ${toString machine}/${generator}/${file} not found",
      }:
      let
        rel =
          if machine == null then
            "vars/shared/${generator}/${file}/value"
          else
            "vars/per-machine/${machine}/${generator}/${file}/value";
        path = "${toString flake}/${rel}";
      in
      if flake != null && builtins.pathExists path then builtins.readFile path else default;
    parseScope =
      s:
      let
        p = lib.splitString ":" s;
      in
      {
        serviceName = lib.elemAt p 0;
        instanceName = lib.elemAt p 1;
        roleName = lib.elemAt p 2;
        machineName = lib.elemAt p 3;
      };
    selectExports = pred: lib.filterAttrs (k: _: pred (parseScope k));
    # an option that only exists to refuse a definition
    mkRemovedOption =
      name: why:
      lib.mkOption {
        type = lib.types.raw;
        default = null;
        apply = v: if v == null then v else throw "The option ${name} was removed: ${why}";
      };
  };

  loadService =
    m:
    let
      f = if m == "data-mesher" then import ../../nixos/clan-service.nix { nixosModule = { }; } else import m;
    in
    f {
      inherit lib clanLib exports;
      directory = directory;
    };

  instances = lib.mapAttrs (
    instanceName: inst:
    let
      service = loadService inst.module;
      membersOf =
        role:
        lib.unique (
          lib.attrNames (role.machines or { })
          ++ lib.filter (
            m:
            lib.any (t: t == "all" || lib.elem t (inventory.machines.${m}.tags or [ ])) (role.tags or [ ])
          ) allMachines
        );
      settingsOf =
        roleName: role: m:
        (lib.evalModules {
          modules = [
            (service.roles.${roleName}.interface or { })
            (role.settings or { })
            ((role.machines or { }).${m}.settings or { })
          ];
        }).config;
      roles = lib.mapAttrs (roleName: role: {
        machines = lib.genAttrs (membersOf role) (m: {
          settings = settingsOf roleName role m;
        });
      }) inst.roles;
      perInstance = lib.mapAttrs (
        roleName: role:
        lib.mapAttrs (
          m: v:
          (service.roles.${roleName}.perInstance or (_: { })) {
            inherit instanceName roles clanLib;
            inherit (v) settings;
            exports = exports;
            meta = {
              inherit domain;
            };
            machine = {
              name = m;
              roles = lib.attrNames (lib.filterAttrs (_: r: r.machines ? ${m}) roles);
            };
            mkExports = value: {
              "${service.manifest.name}:${instanceName}:${roleName}:${m}" = value;
            };
          }
        ) role.machines
      ) roles;
    in
    {
      inherit service roles perInstance;
      rolesOf = m: lib.attrNames (lib.filterAttrs (_: r: r.machines ? ${m}) roles);
      extraModulesOf =
        m:
        lib.concatLists (
          lib.mapAttrsToList (
            roleName: role: lib.optionals (roles.${roleName}.machines ? ${m}) (role.extraModules or [ ])
          ) inst.roles
        );
    }
  ) inventory.instances;

  # every export of every service, keyed by scope "service:instance:role:machine"
  exports = lib.foldl' (a: b: a // b) { } (
    lib.concatLists (
      lib.mapAttrsToList (
        _: i:
        lib.concatLists (
          lib.mapAttrsToList (_: byMachine: lib.mapAttrsToList (_: r: r.exports or { }) byMachine) i.perInstance
        )
      ) instances
    )
  );

  machineModules = lib.concatLists (
    lib.mapAttrsToList (
      _: i:
      lib.concatLists (
        lib.mapAttrsToList (
          _: byMachine: lib.optional (byMachine ? ${machine}) (byMachine.${machine}.nixosModule or { })
        ) i.perInstance
      )
      ++ i.extraModulesOf machine
    ) instances
  );

  # clan.core as far as the services use it
  clanCoreStub = import ./clan-core-stub.nix { inherit lib domain directory; };
in
import ./eval-module.nix {
  inherit lib;
  config = {
    imports = [ clanCoreStub ] ++ machineModules ++ extraMachineModules;
  };
  extra = c: {
    generators = lib.mapAttrs (_: g: {
      inherit (g) share dependencies script;
      runtimeInputs = map (p: p.name) g.runtimeInputs;
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
    pluginDirectories = c.services.data-mesher.pluginDirectories;
    services = lib.mapAttrs (_: i: {
      inherit (i.service) _class;
      inherit (i.service.manifest) name;
      roleNames = lib.attrNames i.service.roles;
    }) instances;
    exportScopes = lib.attrNames exports;
    # clan checks every machine's settings against its role's interface, used or not
    settingsChecked = builtins.deepSeq (lib.mapAttrs (_: i: lib.mapAttrs (_: r: r.machines) i.roles) instances) true;
  };
}
