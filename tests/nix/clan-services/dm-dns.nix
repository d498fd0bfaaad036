# A stand-in for clan-core's dm-dns service (clanServices/dm-dns), written for these
# tests: it touches data-mesher exactly where the real one does — it exports
# dataMesher.files."dns/cnames" with a shared signing key read from the public vars
# (with its trailing newline), sets services.data-mesher.pluginDirectories = [ "dns" ],
# puts unbound in the daemon's group, reads files/home/dns/ and refers to the
# data-mesher-network var and the daemon's package.
{ clanLib, directory, ... }:
{
  _class = "clan.service";
  manifest.name = "dm-dns";
  manifest.exports.out = [ "dataMesher" ];

  roles.push = {
    interface = { };
    perInstance =
      { mkExports, ... }:
      {
        exports = mkExports {
          dataMesher.files."dns/cnames" = [
            (clanLib.getPublicValue {
              flake = directory;
              generator = "dm-dns-signing-key";
              file = "signing.pub";
              default = throw "dm-dns stand-in: signing.pub not generated";
            })
          ];
        };
        nixosModule =
          { config, ... }:
          {
            clan.core.vars.generators.dm-dns-signing-key = {
              share = true;
              files."signing.key" = { };
              files."signing.pub".secret = false;
              runtimeInputs = [ config.services.data-mesher.package ];
              script = ''data-mesher generate signing-key --private-key-path "$out/signing.key" --public-key-path "$out/signing.pub"'';
            };
            environment.variables.DM_DNS_NETWORK_ID =
              config.clan.core.vars.generators.data-mesher-network.files."network.pub".path;
          };
      };
  };

  roles.default = {
    interface = { };
    perInstance =
      { mkExports, ... }:
      {
        exports = mkExports { };
        nixosModule =
          { config, ... }:
          {
            services.data-mesher.pluginDirectories = [ "dns" ];
            users.users.unbound.extraGroups = [ config.services.data-mesher.group ];
            services.unbound.settings.server.include = ''"/var/lib/data-mesher/files/home/dns/*"'';
            systemd.paths.unbound-reload-zones.pathConfig.PathChanged = "/var/lib/data-mesher/files/home/dns";
          };
      };
  };
}
