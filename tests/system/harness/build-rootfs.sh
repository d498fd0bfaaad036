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
VERSION=1
MARKER="$ROOTFS/.dm-rootfs-ready"
PACKAGES=systemd,systemd-sysv,dbus,iproute2,procps,iputils-ping,libstdc++6,ca-certificates

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
mkdir -p "$TMP/opt/data-mesher" "$TMP/opt/node/bin"

mv "$TMP" "$ROOTFS"
trap - EXIT
echo "$VERSION:$PACKAGES" > "$MARKER"
echo "rootfs ready: $ROOTFS"
