#!/usr/bin/env bash
# Verifies a data-mesher node certificate with openssl and perl alone (no data-mesher code).
# usage: verify-certificate-with-openssl.sh CERT NETWORK.pub [SUBJECT.pub]
# Exit 0 and "certificate OK" when: the network key inside is NETWORK.pub, its signature
# verifies, now is inside [not_before, not_after), and (if given) the subject is SUBJECT.pub.
set -euo pipefail
cert=$1 net=$2 subject=${3:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# PEM armour → bytes; the last 64 bytes are the signature over everything before them
sed '/^-----/d' "$cert" | base64 -d > "$tmp/cert.bin"
head -c -64 "$tmp/cert.bin" > "$tmp/signed"
tail -c 64 "$tmp/cert.bin" > "$tmp/sig"

# "data-mesher/cert/v1" 0x00 (20 bytes) subject[32] network[32] u64be(not_before) u64be(not_after) u8(len) name
[ "$(head -c 20 "$tmp/signed" | od -An -c | tr -d ' \n')" = 'data-mesher/cert/v1\0' ] || { echo 'bad prefix'; exit 1; }
dd if="$tmp/signed" bs=1 skip=52 count=32 status=none > "$tmp/network"
openssl pkey -pubin -in "$net" -outform DER | tail -c 32 > "$tmp/trusted"
cmp -s "$tmp/network" "$tmp/trusted" || { echo 'certificate is of another network'; exit 1; }
if [ -n "$subject" ]; then
  dd if="$tmp/signed" bs=1 skip=20 count=32 status=none > "$tmp/subject"
  openssl pkey -pubin -in "$subject" -outform DER | tail -c 32 | cmp -s - "$tmp/subject" || { echo 'certificate is for another key'; exit 1; }
fi

openssl pkeyutl -verify -pubin -inkey "$net" -rawin -in "$tmp/signed" -sigfile "$tmp/sig" >/dev/null \
  || { echo 'signature does not verify'; exit 1; }

perl -MTime::HiRes=time -e 'open my $f, "<:raw", $ARGV[0] or die; read $f, my $b, 100;
  my ($nb, $na) = unpack("x84 Q> Q>", $b); my $now = int(time * 1000);
  if ($now < $nb) { print "not yet valid\n"; exit 1 } if ($now >= $na) { print "expired\n"; exit 1 }' "$tmp/signed"
echo 'certificate OK'
