{
  description = "data-mesher: replicate small Ed25519-signed files across a fleet of NixOS machines";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      # NixOS (the module, the VM test) is Linux; the CLI also runs on macOS, where a
      # clan admin runs `clan vars generate` and its scripts call `data-mesher`.
      linuxSystems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      systems = linuxSystems ++ [
        "aarch64-darwin"
        "x86_64-darwin"
      ];
      forSystems = list: f: lib.genAttrs list (system: f nixpkgs.legacyPackages.${system});
      forAllSystems = forSystems systems;
    in
    {
      packages = forAllSystems (pkgs: {
        data-mesher = pkgs.callPackage ./nixos/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.data-mesher;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.default;
          meta.description = "data-mesher daemon and CLI";
        };
      });

      overlays.default = final: _prev: {
        data-mesher = final.callPackage ./nixos/package.nix { };
      };

      # services.data-mesher. Its package is pkgs.data-mesher (lib.mkPackageOption)
      # when the overlay is applied, else this flake's own. The key lets the module be
      # imported more than once (e.g. by clan-core when its data-mesher input follows
      # this flake, and by the clan service below).
      nixosModules.default =
        { pkgs, lib, ... }:
        {
          key = "data-mesher/nixosModules.default";
          imports = [ ./nixos/module.nix ];
          services.data-mesher.package = lib.mkIf (!(pkgs ? data-mesher)) (
            lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default
          );
        };
      # the name clan-core imports from its data-mesher input
      nixosModules.data-mesher = self.nixosModules.default;

      # clan inventories find services under `clan.modules` of a flake input:
      #   inventory.instances.data-mesher.module = { name = "data-mesher"; input = "data-mesher"; };
      clan.modules.data-mesher = import ./nixos/clan-service.nix {
        nixosModule = self.nixosModules.default;
      };

      checks = forSystems linuxSystems (
        pkgs:
        import ./nixos/tests {
          inherit pkgs self;
        }
        // {
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.nodejs_22
            pkgs.nix
            pkgs.nixfmt-rfc-style
            pkgs.jq
            pkgs.openssl
            pkgs.grpcurl
          ]
          # tests/system boots Debian containers with systemd-nspawn; tests/crash/fsyncs-per-update
          # counts the store's fsyncs with strace
          ++ lib.optionals pkgs.stdenv.hostPlatform.isLinux [
            pkgs.debootstrap
            pkgs.systemd
            pkgs.strace
          ];
          shellHook = ''
            # tests/nix evaluates the NixOS module against this nixpkgs' lib
            export NIXPKGS_LIB=${nixpkgs}/lib
          '';
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-rfc-style);
    };
}
