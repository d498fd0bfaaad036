# Example: a dm-dns-like consumer. A DNS zone signed by the operator is delivered by
# data-mesher to every machine; a .path unit reloads the DNS server (unbound, serving
# the zone authoritatively) whenever a new version arrives.
#
# Publish a new zone from any machine that can reach a node's API:
#   data-mesher file update ./zone.example --name dns/zone.example --key-path ~/.config/dm/dns.key
{ config, ... }:
let
  # the operator's signing key: `data-mesher generate signing-key --private-key-path dns.key`
  # prints it (replace this test key with yours)
  dnsSigner = "0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ=";
  zoneFile = "${config.services.data-mesher.filesDir}/dns/zone.example";
in
{
  services.data-mesher = {
    enable = true;
    openFirewall = true;
    bootstrapNodes = [ "ns1.example:7946" ];
    files."dns/zone.example" = [ dnsSigner ];
  };

  services.unbound = {
    enable = true;
    settings.auth-zone = [
      {
        name = "example.";
        zonefile = zoneFile;
        for-downstream = true;
        for-upstream = true;
      }
    ];
  };
  # read the delivered zone as a member of the data-mesher group, not as root
  users.users.unbound.extraGroups = [ config.services.data-mesher.group ];

  systemd.paths.dm-zone-reload = {
    description = "Watch the data-mesher DNS zone";
    wantedBy = [ "multi-user.target" ];
    pathConfig.PathChanged = zoneFile;
  };
  systemd.services.dm-zone-reload = {
    description = "Reload unbound after data-mesher delivered a new zone";
    serviceConfig.Type = "oneshot";
    script = "${config.systemd.package}/bin/systemctl reload-or-restart unbound.service";
  };
}
