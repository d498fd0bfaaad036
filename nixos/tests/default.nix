# Flake checks: a NixOS VM test of a 3-node cluster (+ a stranger) and a fast
# evaluation check of the module. Run with `nix flake check` or
# `nix build .#checks.x86_64-linux.vm-cluster -L`.
{ pkgs, self }:
let
  inherit (pkgs) lib;

  pub = name: lib.removeSuffix "\n" (builtins.readFile (./keys + "/${name}.pub"));
  signerPub = pub "signer";
  members = [
    "alpha"
    "beta"
    "gamma"
  ];
  filesDir = "/var/lib/data-mesher/files";

  node =
    name:
    { pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];

      services.data-mesher = {
        enable = true;
        openFirewall = true;
        network.interface = "eth1";
        # one reachable bootstrap node is enough; alpha itself starts from beta
        bootstrapNodes = if name == "alpha" then [ "beta:7946" ] else [ "alpha:7946" ];
        files = {
          motd = [ signerPub ];
          "ssh/authorized_keys" = [ signerPub ];
        };
        namespaces = [ "machines" ];
        allowedNodes = map pub members;
        logLevel = "debug";
        settings.cluster = {
          sync_interval = "1s";
          identity_key = "/etc/data-mesher/identity.key";
        };
      };

      # a fixed identity, so that allowedNodes can name it ahead of time
      environment.etc."data-mesher/identity.key" = {
        source = ./keys + "/${name}.pem";
        mode = "0400";
        user = "data-mesher";
        group = "data-mesher";
      };
      # test signing key (a real deployment keeps it off the nodes)
      environment.etc."dm-test/signer.pem".source = ./keys/signer.pem;
      environment.systemPackages = [ pkgs.jq ];

      # A downstream consumer that is not root: in the data-mesher group, it reads
      # the delivered file whenever it changes (what dm-dns does with a zone file).
      users.users.motd-reader = {
        isSystemUser = true;
        group = "motd-reader";
        extraGroups = [ "data-mesher" ];
      };
      users.groups.motd-reader = { };
      systemd.paths.motd-watch = {
        wantedBy = [ "multi-user.target" ];
        pathConfig.PathChanged = "${filesDir}/motd";
      };
      systemd.services.motd-watch = {
        serviceConfig = {
          Type = "oneshot";
          User = "motd-reader";
          RuntimeDirectory = "motd-watch";
          RuntimeDirectoryPreserve = true;
        };
        script = ''
          if [ -e ${filesDir}/motd ]; then
            cat ${filesDir}/motd > /run/motd-watch/seen
          else
            echo deleted > /run/motd-watch/seen
          fi
        '';
      };

      virtualisation.memorySize = 1024;
    };

  vm-cluster = pkgs.testers.runNixOSTest {
    name = "data-mesher-cluster";
    nodes = lib.genAttrs (members ++ [ "stranger" ]) node;

    testScript = ''
      import json

      FILES = "${filesDir}"
      SIGN = "--key-path /etc/dm-test/signer.pem"
      members = [alpha, beta, gamma]

      def peer_id(m):
          return json.loads(m.succeed("data-mesher peer id --json"))["peerId"]

      def upload(m, name, content, extra=""):
          m.succeed(f"printf '%s\\n' '{content}' > /tmp/upload")
          m.wait_until_succeeds(f"data-mesher file update /tmp/upload --name {name} {SIGN} {extra}", timeout=60)

      def wait_content(m, name, content, timeout=120):
          m.wait_until_succeeds(f"grep -qx '{content}' {FILES}/{name}", timeout=timeout)

      def wait_gone(m, name, timeout=120):
          m.wait_until_succeeds(f"test ! -e {FILES}/{name}", timeout=timeout)

      start_all()

      with subtest("all services up and connected"):
          for m in members + [stranger]:
              m.wait_for_unit("data-mesher.service")
          ids = {m.name: peer_id(m) for m in members}
          for m in members:
              for other in members:
                  if other is not m:
                      m.wait_until_succeeds(f"data-mesher status --json | grep -q {ids[other.name]}", timeout=120)

      with subtest("the unit is sandboxed and runs unprivileged"):
          alpha.succeed("systemctl show data-mesher -p User --value | grep -qx data-mesher")
          alpha.succeed("systemctl show data-mesher -p ProtectSystem --value | grep -qx strict")
          alpha.succeed("systemctl show data-mesher -p Type --value | grep -qx notify")
          alpha.succeed("test $(stat -c %a /run/data-mesher/api.sock) = 660")

      with subtest("upload on one node, file on all, .path unit fires"):
          upload(alpha, "motd", "hello v1")
          for m in members:
              wait_content(m, "motd", "hello v1")
              m.succeed(f"test $(stat -c %G {FILES}/motd) = data-mesher")
              m.wait_until_succeeds("grep -qx 'hello v1' /run/motd-watch/seen", timeout=60)

      with subtest("reload keeps the daemon running"):
          alpha.succeed("systemctl reload data-mesher")
          alpha.wait_for_unit("data-mesher.service")

      with subtest("a node that was down during an update catches up after boot"):
          gamma.shutdown()
          upload(beta, "motd", "hello v2")
          wait_content(alpha, "motd", "hello v2")
          gamma.start()
          gamma.wait_for_unit("data-mesher.service")
          wait_content(gamma, "motd", "hello v2")

      with subtest("deletion spreads"):
          beta.succeed(f"data-mesher file delete motd {SIGN}")
          for m in members:
              wait_gone(m, "motd")
              m.wait_until_succeeds("grep -qx deleted /run/motd-watch/seen", timeout=60)

      with subtest("a temporary grant expires everywhere"):
          upload(alpha, "ssh/authorized_keys", "ssh-ed25519 AAAAtemporary test", "--expires 30s")
          for m in members:
              wait_content(m, "ssh/authorized_keys", "ssh-ed25519 AAAAtemporary test")
          for m in members:
              wait_gone(m, "ssh/authorized_keys", timeout=180)

      with subtest("a node outside allowedNodes is refused and receives nothing"):
          upload(alpha, "motd", "members only")
          for m in members:
              wait_content(m, "motd", "members only")
          stranger_id = peer_id(stranger)
          stranger.sleep(10)
          stranger.fail(f"test -e {FILES}/motd")
          for m in members:
              m.fail(f"data-mesher status --json | grep -q {stranger_id}")
    '';
  };

  # Fast check: evaluate a NixOS system with the module and check the rendered unit
  # (no VM, no package build).
  module-eval =
    let
      sys = self.inputs.nixpkgs.lib.nixosSystem {
        modules = [
          self.nixosModules.default
          {
            nixpkgs.hostPlatform = pkgs.stdenv.hostPlatform.system;
            boot.isContainer = true;
            system.stateVersion = "25.11";
            services.data-mesher = {
              enable = true;
              openFirewall = true;
              bootstrapNodes = [ "alpha:7946" ];
              files.motd = [ signerPub ];
            };
          }
        ];
      };
      cfg = sys.config;
      unitText = builtins.unsafeDiscardStringContext cfg.systemd.units."data-mesher.service".text;
      shared = builtins.fromJSON (builtins.readFile ../service-settings.json);
      expectedLines = lib.concatLists (
        lib.mapAttrsToList (k: v: map (x: "${k}=${x}") (lib.toList v)) shared
      );
      unitLines = lib.splitString "\n" unitText;
      missing = lib.filter (l: !(lib.elem l unitLines)) expectedLines;
      failed = map (a: a.message) (lib.filter (a: !a.assertion) cfg.assertions);
    in
    assert lib.assertMsg (failed == [ ]) "module assertions failed: ${toString failed}";
    assert lib.assertMsg (missing == [ ])
      "unit lacks shared settings from service-settings.json: ${toString missing}";
    assert lib.elem 7946 cfg.networking.firewall.allowedUDPPorts;
    pkgs.writeText "data-mesher-module-eval.service" unitText;
in
{
  inherit vm-cluster module-eval;
}
