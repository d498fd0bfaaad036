# NixOS module: services.data-mesher
#
# The option names and types of the first block (enable, package, network.interface,
# network.port, bootstrapNodes, files, logLevel) are those of clan's data-mesher
# service, so settings move between the two unchanged. Everything else the daemon
# reads can be set through the freeform `settings` (RFC 42), rendered to TOML at
# /etc/data-mesher/config.toml (format: docs/CONFIG-SPEC.md). The key names
# clan-core's current service writes into `settings` are mapped onto ours (or
# refused with our key's name) by ./render-settings.nix, and the rendered file is
# checked at build time by `data-mesher daemon --config F --check`.
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
  renderResult = import ./render-settings.nix { inherit lib; } cfg.settings;
  finalSettings = renderResult.rendered;
  uncheckedConfigFile = settingsFormat.generate "data-mesher.toml" finalSettings;
  # The daemon validates the rendered file at build time: a key or value it would
  # refuse at start fails the build instead (the check reads no referenced file,
  # so secret paths such as cluster.identity_key need not exist yet).
  configFile =
    if cfg.checkConfig then
      pkgs.runCommand "data-mesher-checked.toml" { } ''
        ${cfg.package}/bin/data-mesher daemon --config ${uncheckedConfigFile} --check
        cp ${uncheckedConfigFile} "$out"
      ''
    else
      uncheckedConfigFile;

  # What the daemon re-reads on SIGHUP (docs/CONFIG-SPEC.md); a change to anything
  # else needs a restart.
  reloadableKeys = [
    "files"
    "namespaces"
    "log_level"
    "limits" # max_file_size, max_clock_skew and the namespace quotas: the rule's, applied by a reload
  ];
  # ... and the certificate files of [cluster]: a renewed certificate at a new path is
  # taken by a reload, without closing connections (issue 19)
  reloadableClusterKeys = [
    "identity_cert"
    "certificate_authorities"
  ];
  clusterPart = keep: lib.filterAttrs (n: _: lib.elem n reloadableClusterKeys == keep) (finalSettings.cluster or { });
  reloadablePart = lib.filterAttrs (n: _: lib.elem n reloadableKeys) finalSettings // { cluster = clusterPart true; };
  restartPart = lib.filterAttrs (n: _: !(lib.elem n reloadableKeys)) finalSettings // { cluster = clusterPart false; };

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

  effectiveFiles = finalSettings.files or { };
  effectiveNamespaces = finalSettings.namespaces or [ ];
  effectiveAllowed = finalSettings.cluster.allowed_nodes or [ ];
  effectiveBootstrap = finalSettings.cluster.bootstrap_nodes or [ ];

  # files/home -> "." makes every delivered file reachable as files/home/<name> as
  # well (the path clan-core's service and dm-dns read); names under home/ would
  # then be delivered through the link, so they are refused while it is on.
  underHome = n: n == "home" || lib.hasPrefix "home/" n;
  homeClashes = lib.filter underHome (
    lib.attrNames effectiveFiles ++ effectiveNamespaces ++ cfg.pluginDirectories
  );
  badPluginDirs = lib.filter (n: !isFileName n) cfg.pluginDirectories;
  # every prefix of every plugin directory, parents first, so that tmpfiles creates
  # each level with the daemon's owner and mode
  pluginDirPaths = lib.unique (
    lib.concatMap (
      d:
      let
        parts = lib.splitString "/" d;
      in
      lib.genList (i: lib.concatStringsSep "/" (lib.take (i + 1) parts)) (lib.length parts)
    ) cfg.pluginDirectories
  );

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

    # pkgs.data-mesher, which the flake's overlays.default adds; the flake's
    # nixosModules.default falls back to the flake's own package without the overlay.
    package = lib.mkPackageOption pkgs "data-mesher" { };

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

    profile = mkOption {
      # the daemon's profile names (src/mesh/profiles.ts; tests/unit/mesh-profiles.test.ts keeps the file in step)
      type = types.nullOr (types.enum (builtins.fromJSON (builtins.readFile ./mesh-profiles.json)));
      default = null;
      example = "lan";
      description = ''
        The mesh's timings (`cluster.profile`; docs/PROTOCOLS.md §11): `lan` for a
        fleet on one low-latency network (peers are redialed and the peer set is
        refilled sooner), `test` for many nodes on one host. `null` leaves the key
        out: the daemon's default timings.
      '';
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

    quotas = {
      namespaceMaxNames = mkOption {
        type = types.ints.unsigned;
        default = 1000;
        description = ''
          Names one namespace may hold (`limits.namespace_max_names`): a namespace file is
          `ns/<base64url(pubkey)>`, one per key, so this bounds the keys that publish in a
          namespace. A deletion keeps its name (its tombstone). Over it, a new key's file is
          refused (RESOURCE_EXHAUSTED at the API); nothing stored is removed.
        '';
      };
      namespaceMaxBytes = mkOption {
        type = types.ints.unsigned;
        default = 64 * 1024 * 1024;
        description = ''
          Bytes of content one namespace may hold (`limits.namespace_max_bytes`), counted
          net: replacing a file by a version no larger is always taken.
        '';
      };
      keyMaxBytes = mkOption {
        type = types.ints.unsigned;
        default = 16 * 1024 * 1024;
        description = ''
          Bytes of content the namespace files of one key may hold over all namespaces
          (`limits.key_max_bytes`).
        '';
      };
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
      description = ''
        Open the port the daemon listens on (the rendered `cluster.port`, from
        {option}`network.port` or {option}`settings`) for UDP (QUIC) and TCP: on every
        interface, or only on the rendered `cluster.interfaces` when any are set.
      '';
    };

    metrics = {
      enable = mkEnableOption "the Prometheus metrics endpoint (`metrics.listen` in the config; README \"Metrics\")";
      address = mkOption {
        type = types.str;
        default = "127.0.0.1";
        example = "10.0.0.7";
        description = ''
          Address the metrics endpoint listens on: loopback by default (a Prometheus on
          this machine), or an IP address of this machine for a remote Prometheus. An
          IPv6 address is written without brackets. The endpoint serves counters and
          file names, never file content or keys.
        '';
      };
      port = mkOption {
        type = types.port;
        default = 9464;
        description = "TCP port of the metrics endpoint (GET /metrics).";
      };
      openFirewall = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Open the metrics port (TCP, the port of the rendered `metrics.listen`) in the
          firewall, on the rendered `cluster.interfaces` when any are set, else on every
          interface. Closed by default: a Prometheus on another machine is usually
          better reached over a VPN interface opened explicitly.
        '';
      };
    };

    stateDir = mkOption {
      type = types.str;
      default = defaultStateDir;
      description = "Where the daemon keeps its state; delivered files go to `<stateDir>/files/`.";
    };

    pluginDirectories = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "dns" ];
      description = ''
        Directories created under the delivery root ({option}`filesDir`) before the
        daemon starts, owned by the daemon's user and readable by its group, so that
        a consumer can watch or bind-mount `files/<dir>` before the first file
        arrives (dm-dns sets `[ "dns" ]`).
      '';
    };

    filesHomeLink = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Also make delivered files reachable as `<stateDir>/files/home/<name>` (a
        symlink `files/home -> .`), the path clan-core's data-mesher service and
        dm-dns read. While it is on, no file name, namespace or plugin directory
        may be `home` or start with `home/`.
      '';
    };

    checkConfig = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Validate the rendered config at build time with
        `data-mesher daemon --config F --check`, so a key the daemon would refuse
        fails the build instead of the boot. Turn off only when the package cannot
        run on the build machine (cross compilation).
      '';
    };

    renderedSettings = mkOption {
      type = types.raw;
      internal = true;
      readOnly = true;
      default = finalSettings;
      description = "The attribute set rendered to the config file: {option}`settings` after ./render-settings.nix.";
    };

    configFile = mkOption {
      type = types.package;
      internal = true;
      readOnly = true;
      default = configFile;
      description = "The rendered (and, with {option}`checkConfig`, checked) config file.";
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
          # files and namespaces merge with the options of the same name (per file
          # name, keys concatenated) instead of replacing them
          files = mkOption {
            type = types.attrsOf (types.listOf types.str);
            default = { };
            description = "The `[files]` table: name -> base64 signer keys; merged with {option}`services.data-mesher.files`.";
          };
          namespaces = mkOption {
            type = types.listOf types.str;
            default = [ ];
            description = "Namespaces; merged with {option}`services.data-mesher.namespaces`.";
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
      namespaces = cfg.namespaces;
      files = cfg.files;
      cluster = {
        port = mkDefault cfg.network.port;
        interfaces = mkDefault (lib.optional (cfg.network.interface != null) cfg.network.interface);
        bootstrap_nodes = mkDefault (lib.unique cfg.bootstrapNodes);
        allowed_nodes = mkDefault (lib.unique cfg.allowedNodes);
        profile = mkIf (cfg.profile != null) (mkDefault cfg.profile);
      }
      # A package built without the QUIC native module for this platform (see
      # nix/package.nix) runs on TCP alone instead of failing at start.
      // lib.optionalAttrs (!(cfg.package.hasQuic or true)) {
        transports = mkDefault [ "tcp" ];
      };
      limits = {
        namespace_max_names = mkDefault cfg.quotas.namespaceMaxNames;
        namespace_max_bytes = mkDefault cfg.quotas.namespaceMaxBytes;
        key_max_bytes = mkDefault cfg.quotas.keyMaxBytes;
      };
      metrics = mkIf cfg.metrics.enable {
        listen = mkDefault (
          if lib.hasInfix ":" cfg.metrics.address then
            "[${cfg.metrics.address}]:${toString cfg.metrics.port}"
          else
            "${cfg.metrics.address}:${toString cfg.metrics.port}"
        );
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
        assertion = badPluginDirs == [ ];
        message = "services.data-mesher.pluginDirectories: invalid directory name(s) ${showList badPluginDirs}: use [A-Za-z0-9._:-] segments joined by \"/\".";
      }
      {
        assertion = !cfg.filesHomeLink || homeClashes == [ ];
        message = "services.data-mesher: ${showList homeClashes} would be delivered through the files/home link (files/home/<name> is an alias of files/<name>); rename it, or set services.data-mesher.filesHomeLink = false.";
      }
    ]
    ++ map (message: {
      assertion = false;
      inherit message;
    }) renderResult.problems
    ++ [
      {
        assertion = !cfg.metrics.openFirewall || (finalSettings.metrics.listen or "") != "";
        message = "services.data-mesher.metrics.openFirewall is set but the metrics endpoint is off: set services.data-mesher.metrics.enable = true.";
      }
      {
        assertion = lib.hasPrefix "/" cfg.stateDir;
        message = "services.data-mesher.stateDir must be an absolute path, got \"${cfg.stateDir}\".";
      }
    ];

    environment.etc."data-mesher/config.toml".source = configFile;
    environment.systemPackages = [ cfg.package ];
    environment.variables.DATA_MESHER_URL = "unix://${cfg.settings.api.socket}";
    # the network `file update` signs for comes from the signer's side, never from the
    # daemon it talks to (issue 19): on a node, that is this node's network.id
    environment.variables.DATA_MESHER_NETWORK_ID = mkIf ((cfg.settings.network.id or null) != null) cfg.settings.network.id;

    users.users = lib.optionalAttrs (cfg.user == "data-mesher") {
      data-mesher = {
        isSystemUser = true;
        group = cfg.group;
        home = cfg.stateDir;
        description = "data-mesher daemon";
      };
    };
    users.groups = lib.optionalAttrs (cfg.group == "data-mesher") { data-mesher = { }; };

    # What the daemon really listens on: the rendered cluster.port and
    # cluster.interfaces, whether they came from network.port/network.interface,
    # from settings, or from clan-core's service (its `port` and `interfaces`).
    networking.firewall = lib.mkMerge [
      (mkIf cfg.openFirewall (
        let
          port = finalSettings.cluster.port or cfg.network.port;
          interfaces = finalSettings.cluster.interfaces or [ ];
          ports = {
            allowedTCPPorts = [ port ];
            allowedUDPPorts = [ port ];
          };
        in
        if interfaces == [ ] then ports else { interfaces = lib.genAttrs interfaces (_: ports); }
      ))
      # the metrics port: the one of the rendered metrics.listen ("host:port", "[v6]:port"),
      # however it was set (metrics.port or settings.metrics.listen)
      (mkIf (cfg.metrics.openFirewall && (finalSettings.metrics.listen or "") != "") (
        let
          port = lib.toInt (lib.last (lib.splitString ":" finalSettings.metrics.listen));
          interfaces = finalSettings.cluster.interfaces or [ ];
          ports.allowedTCPPorts = [ port ];
        in
        if interfaces == [ ] then ports else { interfaces = lib.genAttrs interfaces (_: ports); }
      ))
    ];

    # Created before the daemon starts (and again on every activation); under
    # /var/lib the unit's StateDirectory= would create the state directory itself,
    # but not what lies below it.
    systemd.tmpfiles.rules =
      let
        underFiles = cfg.pluginDirectories != [ ] || cfg.filesHomeLink;
      in
      lib.optional (!stateUnderVarLib || underFiles) "d ${cfg.stateDir} 0750 ${cfg.user} ${cfg.group} - -"
      ++ lib.optional underFiles "d ${cfg.filesDir} 0750 ${cfg.user} ${cfg.group} - -"
      ++ map (d: "d ${cfg.filesDir}/${d} 0750 ${cfg.user} ${cfg.group} - -") pluginDirPaths
      # relative target: the link stays right if the state directory moves; the
      # daemon's start-up sweep of files/ leaves symbolic links alone
      ++ lib.optional cfg.filesHomeLink "L+ ${cfg.filesDir}/home - - - - .";

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
