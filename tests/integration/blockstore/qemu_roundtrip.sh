#!/usr/bin/env bash
# Round trips against the real peer, Debian's qemu-img: images it makes
# (raw, qcow2 v2 and v3, compressed, 4 KiB and 2 MiB clusters, with holes and
# zero clusters) import bit-identical and stay sparse; exports pass
# `qemu-img check` and `qemu-img compare`; images we must refuse are refused
# with a message and leave nothing behind.
set -euo pipefail
IMG=${1:?usage: qemu_roundtrip.sh PATH-TO-picostack-img}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
img() { "$IMG" --store "$T/d" "$@"; }
img init >/dev/null

# a source with data, holes, a zero-filled stretch and an unaligned tail
qemu-img create -q -f raw "$T/src.raw" 40M
head -c 3M /dev/urandom > "$T/rnd"
dd if="$T/rnd" of="$T/src.raw" bs=1M seek=1 conv=notrunc status=none
dd if="$T/rnd" of="$T/src.raw" bs=1k count=7 seek=20001 conv=notrunc status=none
dd if="$T/rnd" of="$T/src.raw" bs=1k count=3 seek=40957 conv=notrunc status=none
head -c 5M < <(yes abcdefgh) > "$T/text"
dd if="$T/text" of="$T/src.raw" bs=1M seek=30 conv=notrunc status=none

qemu-img convert -O qcow2 -o compat=0.10 "$T/src.raw" "$T/v2.qcow2"
qemu-img convert -O qcow2 -o compat=1.1 "$T/src.raw" "$T/v3.qcow2"
qemu-img convert -c -O qcow2 "$T/src.raw" "$T/comp.qcow2"
qemu-img convert -c -O qcow2 -o compat=0.10 "$T/src.raw" "$T/comp2.qcow2"
qemu-img convert -O qcow2 -o cluster_size=4096 "$T/src.raw" "$T/c4k.qcow2"
qemu-img convert -O qcow2 -o cluster_size=2M "$T/src.raw" "$T/c2m.qcow2"
# zero clusters (v3 flag): write data, then zero it with qemu-io
cp "$T/v3.qcow2" "$T/zero.qcow2"
qemu-io -f qcow2 -c "write -z 1M 1M" "$T/zero.qcow2" >/dev/null
dd if=/dev/zero of="$T/zero.raw" bs=1M count=0 status=none
cp "$T/src.raw" "$T/zero.raw"
dd if=/dev/zero of="$T/zero.raw" bs=1M count=1 seek=1 conv=notrunc status=none

check_import() {   # FILE RAW-EQUIVALENT NAME
  img import "$1" "$3"
  img export "$3" "$T/$3.raw"
  cmp "$2" "$T/$3.raw" || fail "$1 does not import bit-identical"
  img export "$3" "$T/$3.qcow2" --format qcow2
  qemu-img check -q "$T/$3.qcow2" || fail "qemu-img check on the export of $1"
  qemu-img compare -q "$2" "$T/$3.qcow2" || fail "qemu-img compare on the export of $1"
  qemu-img compare -q -f raw -F raw "$2" "$T/$3.raw" || fail "qemu-img compare raw $1"
  img export "$3" "$T/$3.xl2" --format qcow2-extl2
  qemu-img check -q "$T/$3.xl2" || fail "qemu-img check on the extended-L2 export of $1"
  qemu-img compare -q "$2" "$T/$3.xl2" || fail "qemu-img compare on the extended-L2 export of $1"
}
check_import "$T/src.raw" "$T/src.raw" raw
for f in v2 v3 comp comp2 c4k c2m; do check_import "$T/$f.qcow2" "$T/src.raw" $f; done
check_import "$T/zero.qcow2" "$T/zero.raw" zero
# extended L2 entries (32 sub-clusters per cluster): partly allocated and
# zeroed sub-clusters, at two cluster sizes; the raw equivalent from qemu-img
for cs in 64k 128k; do
  qemu-img convert -O qcow2 -o extended_l2=on,cluster_size=$cs "$T/src.raw" "$T/xl2-$cs.qcow2"
  qemu-io -f qcow2 -c "write -z 1M 4096" -c "write -P 0x77 3M 6144" \
    -c "write -P 0x42 39M 2048" "$T/xl2-$cs.qcow2" >/dev/null
  qemu-img convert -O raw "$T/xl2-$cs.qcow2" "$T/xl2-$cs.raw"
  check_import "$T/xl2-$cs.qcow2" "$T/xl2-$cs.raw" xl2-$cs
done
qemu-img create -q -f qcow2 -o extended_l2=on "$T/xl2-new.qcow2" 4M
qemu-io -f qcow2 -c "write -P 0x55 4096 4096" -c "write -P 0x66 1M 2048" "$T/xl2-new.qcow2" >/dev/null
qemu-img convert -O raw "$T/xl2-new.qcow2" "$T/xl2-new.raw"
check_import "$T/xl2-new.qcow2" "$T/xl2-new.raw" xl2-new

# sparse: 3 MiB + a few KiB + 5 MiB of data in 40 MiB
alloc=$(img info v3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocated"])')
[ "$alloc" -le $((9 << 20)) ] || fail "v3 import allocated $alloc bytes"
zalloc=$(img info zero --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocated"])')
[ "$zalloc" -lt "$alloc" ] || fail "zero clusters were allocated"

# a clone of an imported image, written, exports right
img clone v3 vm
printf 'over' | img write vm 100
cp "$T/src.raw" "$T/vm.want"; printf 'over' | dd of="$T/vm.want" bs=1 seek=100 conv=notrunc status=none
img export vm "$T/vm.qcow2" --format qcow2
qemu-img compare -q "$T/vm.want" "$T/vm.qcow2" || fail "clone export"

# extended-L2 export of a clone written in 4 KiB pieces: qemu-img reads it as
# the clone (check, compare), sees extended L2 entries, and maps only the
# written sub-clusters as data in the clusters the clone owns; our import of
# it round-trips
qemu-img create -q -f raw "$T/sub.raw" 8M
img import "$T/sub.raw" subbase
img clone subbase sub
cp "$T/sub.raw" "$T/sub.want"
for off in 8192 $((65536 + 61440)) $((3 << 20)) $(((5 << 20) + 4096)); do
  head -c 4096 "$T/rnd" | img write sub $off
  head -c 4096 "$T/rnd" | dd of="$T/sub.want" bs=1 seek=$off conv=notrunc status=none
done
img export sub "$T/sub.xl2" --format qcow2-extl2
qemu-img check -q "$T/sub.xl2" || fail "check of the sub-cluster export"
qemu-img compare -q "$T/sub.want" "$T/sub.xl2" || fail "compare of the sub-cluster export"
qemu-img info --output=json "$T/sub.xl2" | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["format-specific"]["data"]["extended-l2"] is True, i' || fail "no extended L2 in the export"
data=$(qemu-img map --output=json "$T/sub.xl2" | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]))')
[ "$data" = $((4 * 4096)) ] || fail "extended-L2 export maps $data bytes as data, want 16384"
img import "$T/sub.xl2" sub-back
img export sub-back "$T/sub-back.raw"
cmp "$T/sub.want" "$T/sub-back.raw" || fail "our extended-L2 export does not import back"
# exporting a name that is not there, or into a directory that is not there
set +e
img export nosuch "$T/x.xl2" --format qcow2-extl2 2>/dev/null; rc1=$?
img export sub "$T/nodir/x.xl2" --format qcow2-extl2 2>/dev/null; rc2=$?
img export sub "$T/x.xl2" --format qcow2-ext 2>/dev/null; rc3=$?
set -e
[ $rc1 = 1 ] && [ $rc2 = 1 ] && [ $rc3 = 2 ] || fail "bad exports exited $rc1 $rc2 $rc3"
[ ! -e "$T/x.xl2" ] || fail "a failed export left a file"

# refused: encrypted, backing file, external data file, truncated, garbage header
# LUKS (its key derivation benchmark can fail on a loaded machine; then the
# legacy AES format, which qemu-img still writes)
qemu-img create -q --object secret,id=s0,data=secret -f qcow2 \
  -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 "$T/enc.qcow2" 4M 2>/dev/null ||
qemu-img create -q --object secret,id=s0,data=secret -f qcow2 \
  -o encrypt.format=aes,encrypt.key-secret=s0 "$T/enc.qcow2" 4M
qemu-img create -q -f qcow2 -b "$T/v3.qcow2" -F qcow2 "$T/back.qcow2"
qemu-img create -q -f qcow2 -o data_file="$T/ext.data" "$T/ext.qcow2" 4M
head -c 300000 "$T/v3.qcow2" > "$T/trunc.qcow2"
cp "$T/v3.qcow2" "$T/badl1.qcow2"; printf '\x7f\xff\xff\xff\xff\xff\x00\x00' | dd of="$T/badl1.qcow2" bs=1 seek=40 conv=notrunc status=none
before=$(img list | wc -l)
for f in enc back ext trunc badl1; do
  set +e; img import "$T/$f.qcow2" bad-$f 2>"$T/err"; rc=$?; set -e
  [ $rc = 1 ] || fail "$f.qcow2 import exited $rc"
  grep -Eq 'refused|malformed|not supported|qcow2' "$T/err" || { cat "$T/err"; fail "$f message"; }
done
grep -q encrypt "$T/err" || true
[ "$(img list | wc -l)" = "$before" ] || fail "a refused import left an object"
img check | grep -q "check: clean" || fail "check after refusals"
echo "qemu_roundtrip: ok"
