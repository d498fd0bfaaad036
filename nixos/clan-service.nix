# Clan service module for data-mesher (a `clan.service` module, exported by the
# flake as `clan.modules.data-mesher`). It maps role settings onto the NixOS module
# in ./module.nix, which it imports.
#
# Roles, as in the clan docs for data-mesher:
#   default   a node (the current clan role)
#   admin     a node that also serves as a bootstrap node for the others
#   signer    likewise (a machine that holds a signing key; keys stay off the daemon)
#   peer      a node
#   bootstrap a bootstrap node
# Every role takes the same settings: logLevel, bootstrapNodes, network.interface,
# network.port, files, namespaces, allowedNodes, openFirewall, plus the spellings of
# the newer clan interface (port, interfaces, extraBootstrapPeers, network.files,
# network.namespaces), so both README snippets of clan work unchanged.
#
# Bootstrap nodes: the explicit ones, plus "<machine>.<clan domain>:<port>" for every
# machine in the admin, signer and bootstrap roles; when no machine has one of
# those roles, every other machine of the instance is a bootstrap node.
#
# This file is a function of the NixOS module to import (the flake passes its own
# nixosModules.default, which sets the package).
{ nixosModule }:
{ lib, ... }:
let
  inherit (lib) mkOption types;

  sharedInterface =
    { lib, ... }:
    {
      options = {
        logLevel = mkOption {
          type = types.enum [
            "fatal"
            "error"
            "warn"
            "info"
            "debug"
          ];
          default = "info";
          description = "Log level.";
        };
        bootstrapNodes = mkOption {
          type = types.nullOr (types.listOf types.str);
          default = null;
          example = [
            "192.168.1.1:7946"
            "192.168.1.2:7946"
          ];
          description = ''
            Bootstrap nodes ("host:port" or multiaddrs) in addition to the machines
            of the admin, signer and bootstrap roles.
          '';
        };
        extraBootstrapPeers = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Same as bootstrapNodes (the newer clan spelling).";
        };
        network = {
          interface = mkOption {
            type = types.nullOr types.str;
            default = null;
            example = "tailscale0";
            description = "Interface whose addresses the node listens on; null = all.";
          };
          port = mkOption {
            type = types.port;
            default = 7946;
            description = "Port for cluster traffic (QUIC and TCP).";
          };
          files = mkOption {
            type = types.attrsOf (types.listOf types.str);
            default = { };
            description = "Merged with `files` (the newer clan spelling).";
          };
          namespaces = mkOption {
            type = types.listOf types.str;
            default = [ ];
            description = "Merged with `namespaces` (the newer clan spelling).";
          };
        };
        port = mkOption {
          type = types.nullOr types.port;
          default = null;
          description = "Overrides network.port (the newer clan spelling).";
        };
        interfaces = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Interfaces to listen on (the newer clan spelling); [] = network.interface or all.";
        };
        files = mkOption {
          type = types.attrsOf (types.listOf types.str);
          default = { };
          example = {
            "authorized_keys" = [ "0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ=" ];
          };
          description = "File names mapped to the base64 Ed25519 keys allowed to sign them.";
        };
        namespaces = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Namespaces: files `ns/<base64url(key)>` signed by that key.";
        };
        allowedNodes = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Node identity keys (base64) or peer ids allowed to connect; [] = anyone.";
        };
        openFirewall = mkOption {
          type = types.bool;
          default = true;
          description = "Open the cluster port (UDP and TCP).";
        };
      };
    };

  bootstrapRoles = [
    "admin"
    "signer"
    "bootstrap"
  ];

  mkRole = description: {
    inherit description;
    interface = sharedInterface;
    perInstance =
      {
        settings,
        roles,
        machine,
        ...
      }:
      {
        nixosModule =
          { config, lib, ... }:
          let
            domain = config.clan.core.settings.domain or null;
            hostOf = name: if domain == null then name else "${name}.${domain}";
            portOf = s: if (s.port or null) != null then s.port else s.network.port or 7946;
            machinesOf = rs: lib.foldl' (acc: r: acc // (roles.${r}.machines or { })) { } rs;
            designated = machinesOf bootstrapRoles;
            candidates = if designated != { } then designated else machinesOf (lib.attrNames roles);
            derived = lib.mapAttrsToList (name: m: "${hostOf name}:${toString (portOf (m.settings or { }))}") (
              removeAttrs candidates [ machine.name ]
            );
            mergeFiles = a: b: lib.zipAttrsWith (_: lib.concatLists) [ a b ];
          in
          {
            imports = [ nixosModule ];
            services.data-mesher = {
              enable = true;
              logLevel = settings.logLevel;
              network.interface = settings.network.interface;
              network.port = portOf settings;
              bootstrapNodes =
                (if settings.bootstrapNodes == null then [ ] else settings.bootstrapNodes)
                ++ settings.extraBootstrapPeers
                ++ derived;
              files = mergeFiles settings.files settings.network.files;
              namespaces = lib.unique (settings.namespaces ++ settings.network.namespaces);
              allowedNodes = settings.allowedNodes;
              openFirewall = settings.openFirewall;
              settings.cluster = lib.mkIf (settings.interfaces != [ ]) {
                interfaces = settings.interfaces;
              };
            };
          };
      };
  };
in
{
  _class = "clan.service";
  manifest.name = "data-mesher";
  manifest.description = "Replicate small signed files (keys, zones, facts) to every machine";
  manifest.categories = [ "Network" ];
  manifest.readme = builtins.readFile ../docs/NIX.md;

  roles.default = mkRole "A data-mesher node: receives, stores and spreads signed files.";
  roles.admin = mkRole "A data-mesher node that also serves as a bootstrap node for the others.";
  roles.signer = mkRole "A data-mesher node on a machine that signs files; also a bootstrap node.";
  roles.peer = mkRole "A data-mesher node that joins through the bootstrap nodes.";
  roles.bootstrap = mkRole "A data-mesher node that other nodes contact first when joining.";
}
