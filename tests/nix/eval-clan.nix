# Evaluates one machine of a data-mesher clan instance without clan-core: each
# machine's role settings go through the role's interface (as clan does), the
# role's perInstance yields a nixosModule, and that module is evaluated with the
# stub NixOS of ./eval-module.nix. Used by tests/nix/clan-service.test.ts.
{
  lib,
  # { <role>.machines.<name>.settings = { ... }; }
  roles,
  machine,
  role,
  domain ? "clan",
}:
let
  service = import ../../nixos/clan-service.nix { nixosModule = { }; } { inherit lib; };
  settingsOf =
    r: raw:
    (lib.evalModules {
      modules = [
        service.roles.${r}.interface
        raw
      ];
    }).config;
  evaluatedRoles = lib.mapAttrs (r: v: {
    machines = lib.mapAttrs (_: m: { settings = settingsOf r (m.settings or { }); }) v.machines;
  }) roles;
  instance = service.roles.${role}.perInstance {
    instanceName = "data-mesher";
    settings = evaluatedRoles.${role}.machines.${machine}.settings;
    roles = evaluatedRoles;
    machine = {
      name = machine;
      roles = lib.attrNames (lib.filterAttrs (_: v: v.machines ? ${machine}) roles);
    };
  };
  clanStub = {
    options.clan.core.settings.domain = lib.mkOption {
      type = lib.types.str;
      default = domain;
    };
  };
in
{
  inherit (service) _class manifest;
  roleNames = lib.attrNames service.roles;
  node = import ./eval-module.nix {
    inherit lib;
    config = {
      imports = [
        instance.nixosModule
        clanStub
      ];
    };
  };
}
