#!/usr/bin/env bash
# Produces a valid data-mesher record with openssl and perl alone (no data-mesher code).
# usage: sign-with-openssl.sh SIGNER.pem NAME CONTENT-FILE OUT-RECORD [EXPIRES-UNIX-MS] [NETWORK.pub]
# With NETWORK.pub (a network id file, PEM), the record is bound to that network.
set -euo pipefail
key=$1 name=$2 content=$3 out=$4 expires=${5:-0} network=${6:-}
ts=$(( $(date +%s%N) / 1000000 ))             # unix milliseconds
size=$(stat -c %s "$content")
flags=0; [ -n "$network" ] && flags=2         # bit 1: bound to a network
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# signed bytes = "data-mesher/v1" 0x00 u16be(len(name)) name u64be(timestamp)
#                u64be(expires) u8(flags) u64be(size) sha256(content) [network id]
{ printf 'data-mesher/v1\0'
  perl -e 'print pack("n/a* Q> Q> C Q>", @ARGV)' "$name" "$ts" "$expires" "$flags" "$size"
  openssl dgst -sha256 -binary "$content"
  [ -n "$network" ] && openssl pkey -pubin -in "$network" -outform DER | tail -c 32   # raw 32-byte network id
} > "$tmp/signed"

openssl pkeyutl -sign -inkey "$key" -rawin -in "$tmp/signed" -out "$tmp/sig"     # 64 bytes
openssl pkey -in "$key" -pubout -outform DER | tail -c 32 > "$tmp/pub"            # raw 32-byte key

# record = signed bytes + signer public key + signature
cat "$tmp/signed" "$tmp/pub" "$tmp/sig" > "$out"
