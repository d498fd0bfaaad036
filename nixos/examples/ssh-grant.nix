# Example: a temporary SSH grant. An operator signs an authorized_keys file with an
# expiry; data-mesher delivers it to every machine and removes it everywhere when it
# expires, including on machines that are offline at that moment.
#
# Grant a colleague root access on the whole fleet for two hours:
#   data-mesher file update ./colleague.pub --name ssh/authorized_keys.root \
#     --key-path ~/.config/dm/ops.key --expires 2h
# Take it back early:
#   data-mesher file delete ssh/authorized_keys.root --key-path ~/.config/dm/ops.key
#
# Whoever holds the ops key can grant root logins: keep it offline. sshd reads the
# keys at each login, so an expired grant admits no new session (open sessions stay).
{ config, pkgs, ... }:
let
  opsSigner = "0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ="; # replace with your ops key
  dir = "${config.services.data-mesher.filesDir}/ssh";
  # sshd's StrictModes refuses key files under a directory it does not trust
  # (the state dir belongs to the data-mesher user), so hand the keys over with an
  # AuthorizedKeysCommand running as an unprivileged member of the data-mesher group.
  authorizedKeys = pkgs.writeShellScript "dm-authorized-keys" ''
    user="$1"
    case "$user" in */*|.*|"") exit 0 ;; esac
    f="${dir}/authorized_keys.$user"
    if [ -r "$f" ]; then exec ${pkgs.coreutils}/bin/cat "$f"; fi
    exit 0
  '';
in
{
  services.data-mesher = {
    enable = true;
    openFirewall = true;
    bootstrapNodes = [ "bastion.example:7946" ];
    files."ssh/authorized_keys.root" = [ opsSigner ];
  };

  users.users.dm-ssh-keys = {
    isSystemUser = true;
    group = "dm-ssh-keys";
    extraGroups = [ config.services.data-mesher.group ];
  };
  users.groups.dm-ssh-keys = { };

  services.openssh = {
    enable = true;
    authorizedKeysCommand = "${authorizedKeys} %u";
    authorizedKeysCommandUser = "dm-ssh-keys";
  };
}
