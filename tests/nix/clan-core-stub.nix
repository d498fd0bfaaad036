# clan.core on a NixOS machine, as far as the clan services here use it: the
# domain and directory clan sets from its inventory, internalListenAddresses, and the
# vars generators (share, dependencies, runtimeInputs, script, validation, files with
# secret, deploy, owner, group and the path clan gives them). clan-core's own
# nixosModules.clanCore is not part of the extract the tests read; the inventory code
# that produces the machines' modules is (tests/nix/eval-clan-core.nix).
{
  lib,
  domain,
  directory,
}:
{ ... }:
let
  inherit (lib) mkOption types;
  fileModule =
    generator:
    { name, config, ... }:
    {
      options = {
        secret = mkOption {
          type = types.bool;
          default = true;
        };
        deploy = mkOption {
          type = types.bool;
          default = true;
        };
        owner = mkOption {
          type = types.str;
          default = "root";
        };
        group = mkOption {
          type = types.str;
          default = "root";
        };
        path = mkOption {
          type = types.str;
          readOnly = true;
          default =
            if config.secret then
              "/run/secrets/vars/${generator}/${name}"
            else
              "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" "${generator}/${name}")}-${name}";
        };
      };
    };
  generatorModule =
    { name, ... }:
    {
      options = {
        share = mkOption {
          type = types.bool;
          default = false;
        };
        dependencies = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
        runtimeInputs = mkOption {
          type = types.listOf types.package;
          default = [ ];
        };
        script = mkOption {
          type = types.str;
          default = "";
        };
        validation = mkOption {
          type = types.anything;
          default = null;
        };
        files = mkOption {
          type = types.attrsOf (types.submodule (fileModule name));
          default = { };
        };
      };
    };
in
{
  options.clan.core = {
    settings.domain = mkOption {
      type = types.str;
      default = domain;
    };
    settings.directory = mkOption {
      type = types.raw;
      default = directory;
    };
    networking.internalListenAddresses = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    vars.generators = mkOption {
      type = types.attrsOf (types.submodule generatorModule);
      default = { };
    };
  };
}
