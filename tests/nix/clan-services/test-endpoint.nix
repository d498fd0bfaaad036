# A stand-in for the endpoint service of clan-core's dm-dns test: exports a host name
# and nothing for data-mesher (its export has no dataMesher part).
{ ... }:
{
  _class = "clan.service";
  manifest.name = "test-endpoint";
  manifest.exports.out = [ "endpoints" ];
  roles.default = {
    interface = { };
    perInstance =
      { mkExports, ... }:
      {
        exports = mkExports {
          endpoints.hosts = [ "myapp.test" ];
          dataMesher = null;
        };
        nixosModule = { };
      };
  };
}
