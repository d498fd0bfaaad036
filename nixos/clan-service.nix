# Clan service module for data-mesher (a `clan.service` module, exported by the
# flake as `clan.modules.data-mesher`). It maps role settings onto the NixOS module
# in ./module.nix, which it imports. Both generations of the clan interface work
# (docs/NIX.md shows both inventories):
#
#   clan-core's current one   roles `default` (a node; all settings) and `bootstrap`
#                             (a marker: its machines are the others' bootstrap peers)
#   the seed's                roles `admin` and `signer` (nodes that are also bootstrap
#                             nodes), `peer` and `default` (nodes)
#
# A machine runs one node per instance whatever its roles: its settings come from
# its first node role in the order default, admin, signer, peer; the other roles
# only mark it (bootstrap) or add nothing, so roles never conflict.
#
# Bootstrap peers of a machine: `bootstrapNodes` and `extraBootstrapPeers`, plus every
# other machine of the bootstrap, admin and signer roles (when none has one of those
# roles: every other machine of the instance), addressed as
# /dns/<machine>.<domain>/tcp/<port>/p2p/<peer id> with the peer id from the
# machine's `data-mesher-node-identity` vars, or <machine>.<domain>:<port> while
# those are not generated yet; <port> is that machine's own node setting.
#
# Vars (clan-core's names and shapes), used when `networkIdentity` is on (default):
#   data-mesher-network        shared: network.key (not deployed), network.pub (public)
#   data-mesher-node-identity  identity.key, identity.cert (secret, owned by the
#                              daemon's user and group), identity.pub, peer.id (public)
#
# Exports: `dataMesher.files` and `dataMesher.namespaces` exported by any service of
# the clan (dm-dns exports "dns/cnames") are merged into the files and namespaces.
#
# This file is a function of the NixOS module to import (the flake passes its own
# nixosModules.default, which sets the package).
{ nixosModule }:
# clanLib and directory are clan's special arguments of service modules; read with
# `or` so that the service also evaluates where they are not given.
{ lib, ... }@serviceArgs:
let
  inherit (lib) mkOption types;

  clanLib = serviceArgs.clanLib or null;

  # node roles in the order that picks a machine's settings
  nodeRoles = [
    "default"
    "admin"
    "signer"
    "peer"
  ];
  # roles whose machines are bootstrap peers of the others
  bootstrapRoles = [
    "bootstrap"
    "admin"
    "signer"
  ];

  stripNewlines = s: if lib.hasSuffix "\n" s then stripNewlines (lib.removeSuffix "\n" s) else s;
  machinesOf = roles: r: lib.attrNames (roles.${r}.machines or { });
  primaryRoleOf = roles: m: lib.findFirst (r: lib.elem m (machinesOf roles r)) null nodeRoles;
  portOf = s: if s.port != null then s.port else s.network.port;

  nodeInterface = {
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
      profile = mkOption {
        # the daemon's profile names (src/mesh/profiles.ts; tests/unit/mesh-profiles.test.ts keeps the file in step)
        type = types.nullOr (types.enum (builtins.fromJSON (builtins.readFile ./mesh-profiles.json)));
        default = null;
        description = "The mesh's timings (`cluster.profile`): `lan` for machines on one low-latency network; `null` = the daemon's default.";
      };
      port = mkOption {
        type = types.nullOr types.port;
        default = null;
        description = "Port for cluster traffic, QUIC and TCP (clan-core's name; overrides network.port).";
      };
      interfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [
          "eth1"
          "tailscale0"
        ];
        description = "Interfaces to listen on (clan-core's name); [] = network.interface, or all.";
      };
      extraBootstrapPeers = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "/ip4/192.168.1.1/tcp/7946/p2p/12D3KooWHs5NXo2CPFvFT6cdsu8eSkfggNtfqTtKBVojHY7En86i" ];
        description = "Bootstrap peers (multiaddrs or host:port) in addition to the machines of the bootstrap roles.";
      };
      bootstrapNodes = mkOption {
        type = types.nullOr (types.listOf types.str);
        default = null;
        example = [
          "192.168.1.1:7946"
          "192.168.1.2:7946"
        ];
        description = "The seed's name for extraBootstrapPeers (host:port or multiaddrs).";
      };
      network = {
        interface = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "tailscale0";
          description = "The seed's single interface to listen on; null = all.";
        };
        port = mkOption {
          type = types.port;
          default = 7946;
          description = "The seed's name for the cluster port.";
        };
        files = mkOption {
          type = types.attrsOf (types.listOf types.str);
          default = { };
          description = "File names mapped to the base64 Ed25519 keys allowed to sign them (clan-core's name; merged with files).";
        };
        namespaces = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "machines" ];
          description = "Namespaces (clan-core's name; merged with namespaces).";
        };
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
        description = "Node identity keys (base64) or peer ids allowed to connect; [] = anyone (or, with networkIdentity, any node certified by the network).";
      };
      openFirewall = mkOption {
        type = types.bool;
        default = true;
        description = "Open the cluster port (UDP and TCP).";
      };
      metrics = {
        enable = mkOption {
          type = types.bool;
          default = false;
          description = "Serve Prometheus metrics (GET /metrics; services.data-mesher.metrics).";
        };
        address = mkOption {
          type = types.str;
          default = "127.0.0.1";
          description = "Address of the metrics endpoint: loopback, or an IP address of the machine for a remote Prometheus.";
        };
        port = mkOption {
          type = types.port;
          default = 9464;
          description = "TCP port of the metrics endpoint.";
        };
        openFirewall = mkOption {
          type = types.bool;
          default = false;
          description = "Open the metrics port (TCP) in the firewall; closed by default.";
        };
      };
      networkIdentity = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Generate the network key and this node's identity key and certificate as
          clan vars (data-mesher-network, data-mesher-node-identity) and configure the
          daemon with them: only nodes certified by the network are admitted.
        '';
      };
    };
  };

  # The NixOS side of one node (its machine's first node role).
  nodeModule =
    {
      settings,
      roles,
      machine,
      instanceName,
      exports,
      directory,
    }:
    { config, lib, ... }:
    let
      dm = config.services.data-mesher;
      domain = config.clan.core.settings.domain or null;
      hostOf = m: if domain == null then m else "${m}.${domain}";
      peerIdOf =
        m:
        let
          v =
            if clanLib != null && directory != null then
              clanLib.getPublicValue {
                flake = directory;
                machine = m;
                generator = "data-mesher-node-identity";
                file = "peer.id";
                default = null;
              }
            else
              null;
        in
        if v == null then null else stripNewlines v;
      nodePortOf =
        m:
        let
          r = primaryRoleOf roles m;
        in
        if r == null then 7946 else portOf roles.${r}.machines.${m}.settings;
      addressOf =
        m:
        let
          id = peerIdOf m;
        in
        if id == null then
          "${hostOf m}:${toString (nodePortOf m)}"
        else
          "/dns/${hostOf m}/tcp/${toString (nodePortOf m)}/p2p/${id}";

      designated = lib.unique (lib.concatMap (machinesOf roles) bootstrapRoles);
      candidates =
        if designated != [ ] then designated else lib.unique (lib.concatMap (machinesOf roles) nodeRoles);
      derived = map addressOf (lib.filter (m: m != machine.name) candidates);
      explicit =
        (if settings.bootstrapNodes == null then [ ] else settings.bootstrapNodes)
        ++ settings.extraBootstrapPeers;
      bootstrapPeers = lib.unique (explicit ++ derived);

      dataMesherExports = lib.concatMap (
        v: lib.optional (v ? dataMesher && v.dataMesher != null) v.dataMesher
      ) (lib.attrValues exports);
      files = lib.mapAttrs (_: keys: lib.unique (map stripNewlines keys)) (
        lib.zipAttrsWith (_: lib.concatLists) (
          [
            settings.files
            settings.network.files
          ]
          ++ map (e: e.files or { }) dataMesherExports
        )
      );
      namespaces = lib.unique (
        settings.namespaces
        ++ settings.network.namespaces
        ++ lib.concatMap (e: e.namespaces or [ ]) dataMesherExports
      );

      gen = config.clan.core.vars.generators;
      secretFile = {
        owner = dm.user;
        group = dm.group;
      };
    in
    {
      imports = [ nixosModule ];
      assertions = [
        {
          # a lone bootstrap machine is the seed of the cluster; anyone else needs a peer
          assertion = bootstrapPeers != [ ] || lib.elem machine.name designated;
          message = "data-mesher (instance ${instanceName}, machine ${machine.name}): no bootstrap peer can be derived or is given: put a machine in the 'bootstrap' role or set extraBootstrapPeers.";
        }
      ];

      services.data-mesher = {
        enable = true;
        logLevel = settings.logLevel;
        inherit (settings) profile;
        network.interface = if settings.interfaces == [ ] then settings.network.interface else null;
        network.port = portOf settings;
        bootstrapNodes = bootstrapPeers;
        inherit files namespaces;
        allowedNodes = settings.allowedNodes;
        openFirewall = settings.openFirewall;
        metrics = { inherit (settings.metrics) enable address port openFirewall; };
        settings = lib.mkMerge [
          (lib.mkIf (settings.interfaces != [ ]) { cluster.interfaces = settings.interfaces; })
          (lib.mkIf settings.networkIdentity {
            cluster.identity_key = gen.data-mesher-node-identity.files."identity.key".path;
            # a regenerated certificate lands at the same path: the running daemon re-reads
            # it (directory watch, every 60 s, SIGHUP), no restart (issue 19)
            cluster.identity_cert = gen.data-mesher-node-identity.files."identity.cert".path;
            network.id = gen.data-mesher-network.files."network.pub".path;
          })
        ];
      };

      clan.core.vars.generators = lib.mkIf settings.networkIdentity {
        data-mesher-network = {
          share = true;
          files."network.key".deploy = false;
          files."network.pub".secret = false;
          runtimeInputs = [ dm.package ];
          script = ''
            data-mesher generate network --private-key-path "$out/network.key" --public-key-path "$out/network.pub"
          '';
        };
        data-mesher-node-identity = {
          dependencies = [ "data-mesher-network" ];
          files."identity.key" = secretFile;
          files."identity.cert" = secretFile;
          files."identity.pub".secret = false;
          files."peer.id".secret = false;
          runtimeInputs = [ dm.package ];
          # the certificate is valid for 90 days, as clan-core's
          script = ''
            data-mesher generate identity-key --private-key-path "$out/identity.key" --public-key-path "$out/identity.pub"
            data-mesher peer id "$out/identity.pub" > "$out/peer.id"
            data-mesher certificate sign --name ${lib.escapeShellArg instanceName} \
              --network-key "$in/data-mesher-network/network.key" \
              --identity-key "$out/identity.pub" \
              --output "$out/identity.cert" --validity 2160h
          '';
        };
      };
    };

  nodeRole = roleName: description: {
    inherit description;
    interface = nodeInterface;
    perInstance =
      {
        settings,
        roles,
        machine,
        instanceName,
        ...
      }@instanceArgs:
      {
        nixosModule =
          if primaryRoleOf roles machine.name == roleName then
            nodeModule {
              inherit
                settings
                roles
                machine
                instanceName
                ;
              exports = instanceArgs.exports or { };
              directory = serviceArgs.directory or null;
            }
          else
            { };
      };
  };
in
{
  _class = "clan.service";
  manifest.name = "data-mesher";
  manifest.description = "Replicate small signed files (keys, zones, facts) to every machine";
  manifest.categories = [ "Network" ];
  manifest.readme = builtins.readFile ../docs/NIX.md;

  roles.default = nodeRole "default" "A data-mesher node: receives, stores and spreads signed files.";
  roles.admin = nodeRole "admin" "A data-mesher node that also serves as a bootstrap node for the others (the seed's role).";
  roles.signer = nodeRole "signer" "A data-mesher node on a machine that signs files; also a bootstrap node (the seed's role).";
  roles.peer = nodeRole "peer" "A data-mesher node that joins through the bootstrap nodes (the seed's role).";
  roles.bootstrap = {
    description = "A marker: the machines of this role are the bootstrap peers of the others. Put them in a node role (default) as well.";
    interface = { };
    perInstance =
      { roles, machine, ... }:
      {
        nixosModule = {
          assertions = [
            {
              assertion = primaryRoleOf roles machine.name != null;
              message = "data-mesher: machine ${machine.name} is in the 'bootstrap' role but in no node role; add it to the 'default' role too (bootstrap only marks nodes).";
            }
          ];
        };
      };
  };
}
