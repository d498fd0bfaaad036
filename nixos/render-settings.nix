# From services.data-mesher.settings to the attribute set rendered as the daemon's
# config.toml (docs/CONFIG-SPEC.md). Pure: no options, no packages.
#
# clan-core's data-mesher service (github:clan-lol/clan-core, clanServices/data-mesher)
# writes settings with the key names of its own daemon. Each of them either means
# the same here and is moved onto our key, or is refused at evaluation with a
# message naming our key; none may pass evaluation and be refused at boot:
#
#   network.files              -> files (merged per name)
#   network.namespaces         -> namespaces (merged)
#   network.id                 -> network.id (the same key)
#   cluster.bootstrap_peers    -> cluster.bootstrap_nodes (merged; trailing newlines
#                                 of addresses built from vars stripped)
#   cluster.push_pull_interval -> cluster.sync_interval
#   cluster.identity_key, cluster.identity_cert,
#   cluster.certificate_authorities  the same keys
#   http.port, http.interfaces -> api.listen = "127.0.0.1:<port>" (loopback only:
#                                 any interface other than "lo" is refused)
{ lib }:
settings:
let
  inherit (lib) optionalAttrs;

  strip = s: if lib.hasSuffix "\n" s then strip (lib.removeSuffix "\n" s) else s;
  mergeFiles = sets: lib.mapAttrs (_: keys: lib.unique (map strip keys)) (lib.zipAttrsWith (_: lib.concatLists) sets);

  network = settings.network or { };
  cluster = settings.cluster or { };
  http = settings.http or { };
  api = settings.api or { };

  pushPull = cluster.push_pull_interval or null;
  syncInterval = cluster.sync_interval or null;
  httpPort = http.port or null;
  httpInterfaces = http.interfaces or [ ];
  nonLoopback = lib.filter (i: i != "lo") httpInterfaces;

  restNetwork = removeAttrs network [
    "files"
    "namespaces"
  ];
  # clan-core builds its bootstrap peers from a peer.id var read with its trailing
  # newline; a multiaddr ending in "\n" would pass evaluation and fail at boot
  bootstrap = lib.unique (
    map strip ((cluster.bootstrap_nodes or [ ]) ++ (cluster.bootstrap_peers or [ ]))
  );

  rendered =
    removeAttrs settings [
      "http"
      "network"
    ]
    // {
      files = mergeFiles [
        (settings.files or { })
        (network.files or { })
      ];
      namespaces = lib.unique ((settings.namespaces or [ ]) ++ (network.namespaces or [ ]));
      cluster =
        removeAttrs cluster [
          "bootstrap_peers"
          "push_pull_interval"
        ]
        // optionalAttrs (bootstrap != [ ]) { bootstrap_nodes = bootstrap; }
        // optionalAttrs (pushPull != null) { sync_interval = pushPull; };
    }
    // optionalAttrs (restNetwork != { }) { network = restNetwork; }
    // optionalAttrs (httpPort != null) { api = api // { listen = "127.0.0.1:${toString httpPort}"; }; };

  at = "services.data-mesher.settings";
in
{
  inherit rendered;
  # messages for the assertions of the module; empty when all is well
  problems =
    lib.optional (pushPull != null && syncInterval != null && pushPull != syncInterval)
      "${at}.cluster.push_pull_interval (clan-core's name) and ${at}.cluster.sync_interval (ours) are both set, to ${builtins.toJSON pushPull} and ${builtins.toJSON syncInterval}: set only cluster.sync_interval."
    ++ lib.optional (nonLoopback != [ ])
      "${at}.http.interfaces = ${builtins.toJSON httpInterfaces}: data-mesher's API listens on loopback only (DESIGN §7); set ${at}.api.listen = \"127.0.0.1:<port>\" (it also listens on [::1]) or reach it through the unix socket."
    ++ lib.optional (httpInterfaces != [ ] && httpPort == null)
      "${at}.http.interfaces is set without http.port: set ${at}.api.listen = \"127.0.0.1:<port>\" instead."
    ++ lib.optional (httpPort != null && api ? listen && api.listen != "127.0.0.1:${toString httpPort}")
      "${at}.http.port (clan-core's name) and ${at}.api.listen (ours) are both set and disagree (${toString httpPort} vs ${builtins.toJSON api.listen}): set only api.listen.";
}
