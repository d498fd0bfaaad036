# Evaluates nixos/module.nix with nixpkgs' lib.evalModules against a small stub of
# the NixOS options it touches, without nixpkgs' package set (this machine has no
# binary cache). Used by tests/nix/module.test.ts:
#
#   nix-instantiate --eval --strict --json tests/nix/eval-module.nix \
#     --arg lib 'import /path/to/nixpkgs-lib/lib' --arg config '{ ... }'
#
# The stubs only declare options; NixOS semantics the tests rely on (priorities,
# list merging, type checks of the module's own options) come from the real lib.
{
  lib,
  # the machine's services.data-mesher (and anything else) as a module
  config ? { },
  hasQuic ? true,
  # false: the package is left to the modules (the flake's nixosModules.data-mesher, or
  # pkgs.data-mesher of `extraPkgs`)
  stubPackage ? true,
  # more attributes of pkgs (e.g. data-mesher, as the flake's overlay adds it)
  extraPkgs ? { },
  # pkgs.stdenv.hostPlatform (clan evaluates a machine for the admin's system to run
  # its vars generators there)
  system ? "x86_64-linux",
  # more output, as a function of the evaluated config (tests/nix/eval-clan.nix)
  extra ? (_: { }),
}:
let
  inherit (lib) mkOption types;

  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";
  };

  # pkgs.formats.toml without the package set: the same value type, and a
  # generate that returns a deterministic fake store path per content (the tests
  # read the settings from the evaluated config instead).
  tomlValue =
    let
      valueType =
        types.nullOr (
          types.oneOf [
            types.bool
            types.int
            types.float
            types.str
            types.path
            (types.attrsOf valueType)
            (types.listOf valueType)
          ]
        )
        // {
          description = "TOML value";
        };
    in
    valueType;

  pkgs = {
    formats.toml = _: {
      type = types.attrsOf tomlValue;
      generate = name: value: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" (builtins.toJSON value))}-${name}";
    };
    coreutils = fakeDrv "coreutils-9.5";
    # the script is kept so that the tests can read the build-time check
    runCommand =
      name: _env: script:
      fakeDrv "${builtins.substring 0 8 (builtins.hashString "sha256" script)}-${name}" // { inherit script; };
    writeShellScript = name: text: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" text)}-${name}";
    # what clan-core's dm-dns and its test use
    writeShellApplication = a: fakeDrv a.name;
    dnsutils = fakeDrv "dnsutils";
    stdenv.hostPlatform = lib.systems.elaborate system;
  }
  // extraPkgs;

  # options of other services that nixos/examples/ touch, taken as they come
  loose = mkOption {
    type = types.attrsOf types.anything;
    default = { };
  };

  stub =
    { ... }:
    {
      options = {
        assertions = mkOption {
          type = types.listOf (
            types.submodule {
              options.assertion = mkOption { type = types.bool; };
              options.message = mkOption { type = types.str; };
            }
          );
          default = [ ];
        };
        warnings = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
        environment = {
          etc = mkOption {
            type = types.attrsOf (
              types.submodule { options.source = mkOption { type = types.either types.str types.package; }; }
            );
            default = { };
          };
          systemPackages = mkOption {
            type = types.listOf types.package;
            default = [ ];
          };
          variables = mkOption {
            type = types.attrsOf types.str;
            default = { };
          };
        };
        users.users = mkOption {
          type = types.attrsOf (types.attrsOf types.anything);
          default = { };
        };
        users.groups = mkOption {
          type = types.attrsOf (types.attrsOf types.anything);
          default = { };
        };
        networking.firewall =
          let
            ports = {
              allowedTCPPorts = mkOption {
                type = types.listOf types.port;
                default = [ ];
              };
              allowedUDPPorts = mkOption {
                type = types.listOf types.port;
                default = [ ];
              };
            };
          in
          ports
          // {
            interfaces = mkOption {
              type = types.attrsOf (types.submodule { options = ports; });
              default = { };
            };
          };
        systemd.package = mkOption {
          type = types.package;
          default = fakeDrv "systemd-257";
        };
        services.unbound = loose;
        services.resolved = loose;
        services.nginx = loose;
        services.caddy = loose;
        networking.hosts = mkOption {
          type = types.attrsOf (types.listOf types.str);
          default = { };
        };
        services.openssh = loose;
        systemd.paths = loose;
        systemd.tmpfiles.rules = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
        systemd.services = mkOption {
          default = { };
          type = types.attrsOf (
            types.submodule {
              freeformType = types.attrsOf types.anything;
              options = {
                description = mkOption {
                  type = types.str;
                  default = "";
                };
                wantedBy = mkOption {
                  type = types.listOf types.str;
                  default = [ ];
                };
                wants = mkOption {
                  type = types.listOf types.str;
                  default = [ ];
                };
                after = mkOption {
                  type = types.listOf types.str;
                  default = [ ];
                };
                path = mkOption {
                  type = types.listOf types.package;
                  default = [ ];
                };
                reloadTriggers = mkOption {
                  type = types.listOf types.str;
                  default = [ ];
                };
                restartTriggers = mkOption {
                  type = types.listOf types.str;
                  default = [ ];
                };
                serviceConfig = mkOption {
                  type = types.attrsOf (
                    types.oneOf [
                      types.bool
                      types.int
                      types.str
                      (types.listOf types.str)
                    ]
                  );
                  default = { };
                };
              };
            }
          );
        };
      };
    };

  eval = lib.evalModules {
    modules = [
      stub
      ../../nixos/module.nix
      {
        _module.args.pkgs = pkgs;
      }
      (lib.optionalAttrs stubPackage {
        services.data-mesher.package = lib.mkDefault (fakeDrv "data-mesher-0.1.0" // { inherit hasQuic; });
      })
      config
    ];
  };
  c = eval.config;
  svc = c.systemd.services.data-mesher or null;
in
extra c
// {
  settings = if c.services.data-mesher.enable then c.services.data-mesher.renderedSettings else null;
  rawSettings = if c.services.data-mesher.enable then c.services.data-mesher.settings else null;
  filesDir = c.services.data-mesher.filesDir;
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
  etc = lib.mapAttrs (_: v: "${v.source}") c.environment.etc;
  configCheck = if c.services.data-mesher.enable then c.services.data-mesher.configFile.script or null else null;
  variables = c.environment.variables;
  systemPackages = map (p: p.name) c.environment.systemPackages;
  users = c.users.users;
  groups = c.users.groups;
  firewall = {
    inherit (c.networking.firewall) allowedTCPPorts allowedUDPPorts;
    interfaces = lib.mapAttrs (_: v: { inherit (v) allowedTCPPorts allowedUDPPorts; }) c.networking.firewall.interfaces;
  };
  tmpfiles = c.systemd.tmpfiles.rules;
  paths = c.systemd.paths;
  other = {
    unbound = c.services.unbound;
    openssh = c.services.openssh;
    services = lib.mapAttrs (_: v: removeAttrs v [ "serviceConfig" ]) (
      removeAttrs c.systemd.services [ "data-mesher" ]
    );
  };
  service =
    if svc == null then
      null
    else
      {
        inherit (svc)
          description
          wantedBy
          wants
          after
          reloadTriggers
          restartTriggers
          serviceConfig
          ;
        path = map (p: "${p}") svc.path;
      };
}
