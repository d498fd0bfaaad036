# NixOS module: services.data-mesher
#
# The option names and types of the first block (enable, package, network.interface,
# network.port, bootstrapNodes, files, logLevel) are those of clan's data-mesher
# service, so settings move between the two unchanged. Everything else the daemon
# reads can be set through the freeform `settings` (RFC 42), rendered to TOML at
# /etc/data-mesher/config.toml (format: docs/CONFIG-SPEC.md).
#
# The unit's [Service] sandboxing and service settings come from
# ./service-settings.json, the same file nixos/render-unit.mjs renders for hosts
# without Nix (and the nspawn system tests); tests/nix checks both agree. Change
# them there, not here. Only what differs per platform (ExecStart, ExecReload, user,
# group, paths) is set below.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkOption
    mkEnableOption
    mkIf
    mkDefault
    types
    literalExpression
    ;

  cfg = config.services.data-mesher;
  settingsFormat = pkgs.formats.toml { };

  sharedServiceSettings = builtins.fromJSON (builtins.readFile ./service-settings.json);

  configPath = "/etc/data-mesher/config.toml";
  configFile = settingsFormat.generate "data-mesher.toml" cfg.settings;

  # What the daemon re-reads on SIGHUP (docs/CONFIG-SPEC.md); a change to anything
  # else needs a restart.
  reloadableKeys = [
    "files"
    "namespaces"
    "log_level"
  ];
  reloadablePart = lib.filterAttrs (n: _: lib.elem n reloadableKeys) cfg.settings;
  restartPart = lib.filterAttrs (n: _: !(lib.elem n reloadableKeys)) cfg.settings;

  defaultStateDir = "/var/lib/data-mesher";
  stateUnderVarLib = lib.hasPrefix "/var/lib/" cfg.stateDir;

  # ---- validation helpers (the same rules the daemon applies at start) ----
  # A base64 (standard, padded) raw 32-byte key: 43 characters then "=", and the
  # last character before "=" carries only 4 significant bits.
  isBase64Key = k: builtins.match "[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=" k != null;
  isPeerId = k: builtins.match "(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,50}" k != null;
  isSegment = s: s != "." && s != ".." && builtins.match "[A-Za-z0-9._:-]+" s != null;
  isFileName =
    n:
    let
      len = lib.stringLength n;
    in
    len >= 1 && len <= 255 && lib.all isSegment (lib.splitString "/" n);
  isBootstrap =
    b:
    builtins.match "/(ip4|ip6|dns|dns4|dns6)/.+" b != null
    || builtins.match "([[][0-9a-fA-F:.]+[]]|[-A-Za-z0-9.]+):[0-9]{1,5}" b != null;

  effectiveFiles = cfg.settings.files or { };
  effectiveNamespaces = cfg.settings.namespaces or [ ];
  effectiveAllowed = cfg.settings.cluster.allowed_nodes or [ ];
  effectiveBootstrap = cfg.settings.cluster.bootstrap_nodes or [ ];

  badKeys = lib.concatLists (
    lib.mapAttrsToList (
      name: keys:
      map (k: {
        inherit name k;
      }) (lib.filter (k: !(builtins.isString k && isBase64Key k)) keys)
    ) effectiveFiles
  );
  badNames = lib.filter (n: !isFileName n) (lib.attrNames effectiveFiles);
  badNamespaces = lib.filter (n: !isFileName n) effectiveNamespaces;
  badAllowed = lib.filter (k: !(isBase64Key k || isPeerId k)) effectiveAllowed;
  badBootstrap = lib.filter (b: !isBootstrap b) effectiveBootstrap;

  showList = l: lib.concatMapStringsSep ", " (x: ''"${x}"'') l;
in
{
  options.services.data-mesher = {
    enable = mkEnableOption "data-mesher, which replicates small signed files to every node of a cluster";

    package = mkOption {
      type = types.package;
      defaultText = literalExpression "data-mesher.packages.\${pkgs.stdenv.hostPlatform.system}.default";
      description = "The data-mesher package (daemon and CLI).";
    };

    network = {
      interface = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "tailscale0";
        description = ''
          The interface whose addresses the node listens on (cluster.interfaces in the
          config). `null` listens on all addresses. With {option}`openFirewall`, the
          port is opened on this interface only.
        '';
      };
      port = mkOption {
        type = types.port;
        default = 7946;
        description = "Port for cluster traffic: QUIC (UDP) and TCP use the same number.";
      };
    };

    bootstrapNodes = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [
        "192.168.1.1:7946"
        "/dns/alpha.example/tcp/7946"
      ];
      description = ''
        Nodes to contact when joining: `host:port`, `[v6]:port` or a multiaddr. One
        reachable node is enough; nodes learn the others from each other.
      '';
    };

    files = mkOption {
      type = types.attrsOf (types.listOf types.str);
      default = { };
      example = {
        "authorized_keys" = [ "0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ=" ];
      };
      description = ''
        File names this node accepts, each mapped to the base64 Ed25519 public keys
        allowed to sign it. Delivered files appear at
        `''${stateDir}/files/<name>` (see {option}`services.data-mesher.filesDir`).
      '';
    };

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

    namespaces = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "machines" ];
      description = ''
        Namespaces: a namespace `ns` admits files named `ns/<base64url(pubkey)>`
        signed by that very key, without listing them in {option}`files`.
      '';
    };

    allowedNodes = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = ''
        Node admission: identity public keys (base64, as printed by
        `data-mesher peer id --json`) or peer ids of the nodes allowed to connect.
        Empty means anyone may connect (integrity still comes from the signatures).
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open {option}`network.port` for UDP (QUIC) and TCP.";
    };

    stateDir = mkOption {
      type = types.str;
      default = defaultStateDir;
      description = "Where the daemon keeps its state; delivered files go to `<stateDir>/files/`.";
    };

    filesDir = mkOption {
      type = types.str;
      readOnly = true;
      default = "${cfg.stateDir}/files";
      defaultText = literalExpression ''"''${config.services.data-mesher.stateDir}/files"'';
      description = "Directory of delivered files, for consumers' `.path` units.";
    };

    user = mkOption {
      type = types.str;
      default = "data-mesher";
      description = "User the daemon runs as (created when left at the default).";
    };

    group = mkOption {
      type = types.str;
      default = "data-mesher";
      description = ''
        Group of the daemon. Delivered files and the API socket are readable by it:
        add a consumer to this group instead of running it as root.
      '';
    };

    settings = mkOption {
      default = { };
      description = ''
        The daemon's configuration (docs/CONFIG-SPEC.md), rendered to
        ${configPath}. The options above set the matching keys with
        `mkDefault`; anything set here wins. Unknown keys are refused by the daemon.
      '';
      example = literalExpression ''
        {
          cluster.sync_interval = "2s";
          limits.max_file_size = 1048576;
          api.listen = "";
        }
      '';
      type = types.submodule {
        freeformType = settingsFormat.type;
        options = {
          log_level = mkOption {
            type = types.str;
            description = "Log level.";
          };
          state_dir = mkOption {
            type = types.str;
            description = "State directory.";
          };
          api = mkOption {
            default = { };
            description = "The `[api]` table.";
            type = types.submodule {
              freeformType = settingsFormat.type;
              options.socket = mkOption {
                type = types.str;
                default = "/run/data-mesher/api.sock";
                description = "Unix socket of the API (mode 0660, the daemon's group).";
              };
            };
          };
        };
      };
    };
  };

  config = mkIf cfg.enable {
    services.data-mesher.settings = {
      log_level = mkDefault cfg.logLevel;
      state_dir = mkDefault cfg.stateDir;
      namespaces = mkDefault (lib.unique cfg.namespaces);
      files = mkDefault (lib.mapAttrs (_: lib.unique) cfg.files);
      cluster = {
        port = mkDefault cfg.network.port;
        interfaces = mkDefault (lib.optional (cfg.network.interface != null) cfg.network.interface);
        bootstrap_nodes = mkDefault (lib.unique cfg.bootstrapNodes);
        allowed_nodes = mkDefault (lib.unique cfg.allowedNodes);
      }
      # A package built without the QUIC native module for this platform (see
      # nix/package.nix) runs on TCP alone instead of failing at start.
      // lib.optionalAttrs (!(cfg.package.hasQuic or true)) {
        transports = mkDefault [ "tcp" ];
      };
    };

    assertions = [
      {
        assertion = badKeys == [ ];
        message = lib.concatMapStringsSep "\n" (
          b:
          ''services.data-mesher.files."${b.name}": ${builtins.toJSON b.k} is not a base64 Ed25519 public key (32 bytes, standard padded base64: 44 characters ending in "=", as printed by `data-mesher generate signing-key`).''
        ) badKeys;
      }
      {
        assertion = badNames == [ ];
        message = "services.data-mesher.files: invalid file name(s) ${showList badNames}: a name is 1-255 bytes of [A-Za-z0-9._:-] segments joined by \"/\", with no empty, \".\" or \"..\" segment.";
      }
      {
        assertion = badNamespaces == [ ];
        message = "services.data-mesher.namespaces: invalid namespace(s) ${showList badNamespaces}: use [A-Za-z0-9._:-] segments joined by \"/\".";
      }
      {
        assertion = badAllowed == [ ];
        message = "services.data-mesher.allowedNodes: ${showList badAllowed} is neither a base64 32-byte identity public key (44 characters ending in \"=\", from `data-mesher peer id --json`) nor a peer id (12D3KooW...).";
      }
      {
        assertion = badBootstrap == [ ];
        message = "services.data-mesher.bootstrapNodes: ${showList badBootstrap} is not \"host:port\", \"[v6]:port\" or a multiaddr starting with /ip4, /ip6, /dns, /dns4 or /dns6.";
      }
      {
        assertion = lib.hasPrefix "/" cfg.stateDir;
        message = "services.data-mesher.stateDir must be an absolute path, got \"${cfg.stateDir}\".";
      }
    ];

    environment.etc."data-mesher/config.toml".source = configFile;
    environment.systemPackages = [ cfg.package ];
    environment.variables.DATA_MESHER_URL = "unix://${cfg.settings.api.socket}";

    users.users = lib.optionalAttrs (cfg.user == "data-mesher") {
      data-mesher = {
        isSystemUser = true;
        group = cfg.group;
        home = cfg.stateDir;
        description = "data-mesher daemon";
      };
    };
    users.groups = lib.optionalAttrs (cfg.group == "data-mesher") { data-mesher = { }; };

    networking.firewall = mkIf cfg.openFirewall (
      let
        ports = {
          allowedTCPPorts = [ cfg.network.port ];
          allowedUDPPorts = [ cfg.network.port ];
        };
      in
      if cfg.network.interface == null then ports else { interfaces.${cfg.network.interface} = ports; }
    );

    systemd.tmpfiles.rules = lib.optional (
      !stateUnderVarLib
    ) "d ${cfg.stateDir} 0750 ${cfg.user} ${cfg.group} - -";

    systemd.services.data-mesher = {
      description = "data-mesher: replicate signed files across the cluster";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # The daemon signals readiness and the watchdog by running systemd-notify.
      path = [ config.systemd.package ];
      # SIGHUP re-reads files, namespaces and log_level; anything else restarts.
      reloadTriggers = [ (settingsFormat.generate "data-mesher-reloadable.toml" reloadablePart) ];
      restartTriggers = [ (settingsFormat.generate "data-mesher-restart.toml" restartPart) ];
      serviceConfig = lib.mapAttrs (_: mkDefault) sharedServiceSettings // {
        ExecStart = "${cfg.package}/bin/data-mesher daemon --config ${configPath}";
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        User = cfg.user;
        Group = cfg.group;
      }
      // (
        if stateUnderVarLib then
          { StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir; }
        else
          {
            # outside /var/lib: created by tmpfiles, made writable explicitly
            StateDirectory = "";
            ReadWritePaths = [ cfg.stateDir ];
          }
      );
    };
  };
}
