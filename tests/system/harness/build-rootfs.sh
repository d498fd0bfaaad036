#!/bin/bash
# Build (once) a Debian bookworm rootfs for the system tests and cache it outside
# the repo. A marker file is written last: a half-built rootfs is rebuilt.
#
#   DM_ROOTFS   target directory (default /var/cache/data-mesher-test/rootfs)
#   DM_MIRROR   Debian mirror URL (default: the one this machine's apt uses)
set -euo pipefail

ROOTFS="${DM_ROOTFS:-/var/cache/data-mesher-test/rootfs}"
SUITE=bookworm
# Bump when the package list or the customisation below changes.
VERSION=3
MARKER="$ROOTFS/.dm-rootfs-ready"
# unbound and dnsutils (dig): the dm-dns twin (clan-dm-dns.test.ts); unbound is disabled
# below and enabled only by the clusters that want it.
PACKAGES=systemd,systemd-sysv,dbus,iproute2,procps,iputils-ping,libstdc++6,ca-certificates,unbound,dnsutils

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$VERSION:$PACKAGES" ]; then
  echo "rootfs ready: $ROOTFS"
  exit 0
fi

# The mirror this machine's apt already uses for $SUITE (deb822 or one-line format).
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      /^[[:space:]]*$/ { if (uri != "" && ok) print uri; uri=""; ok=0; next }
      /^URIs:/ { uri=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
      END { if (uri != "" && ok) print uri }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == suite) print $i; break } }'
}
MIRROR="${DM_MIRROR:-$(find_mirror 2>/dev/null | head -n1 || true)}"
if [ -z "$MIRROR" ]; then
  echo "no apt source for $SUITE found in /etc/apt; set DM_MIRROR" >&2
  exit 1
fi

echo "building rootfs $ROOTFS from $MIRROR (once; a few minutes)"
rm -rf "$ROOTFS"
mkdir -p "$(dirname "$ROOTFS")"
TMP="$ROOTFS.tmp.$$"
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$TMP" "$MIRROR"

# Customise: no getty on the console, no network management fighting our addresses,
# no swaps of the machine id, quiet and quick boot.
chroot "$TMP" systemctl mask console-getty.service getty@.service serial-getty@.service \
  systemd-networkd.service systemd-networkd.socket systemd-resolved.service \
  systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
  systemd-networkd-wait-online.service e2scrub_reap.service >/dev/null 2>&1 || true
: > "$TMP/etc/machine-id"
echo "dmt" > "$TMP/etc/hostname"
rm -rf "$TMP"/var/cache/apt/archives/*.deb "$TMP"/var/lib/apt/lists/*
# The daemon's user (the unit runs as User=data-mesher) and a consumer that reads the
# delivered files through the daemon's group. Fixed ids: the harness chowns host-side
# state directories to them (tests/system/harness/paths.ts).
chroot "$TMP" groupadd --system --gid 900 data-mesher
chroot "$TMP" useradd --system --uid 900 --gid 900 --home-dir /var/lib/data-mesher \
  --no-create-home --shell /usr/sbin/nologin data-mesher
chroot "$TMP" groupadd --system --gid 901 dm-consumer
chroot "$TMP" useradd --system --uid 901 --gid 901 --groups data-mesher --home-dir / \
  --no-create-home --shell /usr/sbin/nologin dm-consumer
# Debian's unbound: off unless a cluster enables it (the dm-dns twin does, through a
# wants link in its unit directory); in the daemon's group, as dm-dns puts it
# (users.users.unbound.extraGroups), to read the zones delivered under files/dns.
chroot "$TMP" systemctl disable unbound.service unbound-resolvconf.service >/dev/null 2>&1 || true
chroot "$TMP" usermod --append --groups data-mesher unbound
# Mount points for the harness's bind mounts.
mkdir -p "$TMP/opt/data-mesher" "$TMP/etc/data-mesher" "$TMP/etc/dmt" \
  "$TMP/usr/local/lib/systemd/system" "$TMP/usr/local/lib/dmt" "$TMP/var/log/dm-consumer" \
  "$TMP/usr/local/lib/tmpfiles.d"
touch "$TMP/usr/local/bin/node" "$TMP/usr/local/bin/data-mesher"

mv "$TMP" "$ROOTFS"
trap - EXIT
echo "$VERSION:$PACKAGES" > "$MARKER"
echo "rootfs ready: $ROOTFS"
