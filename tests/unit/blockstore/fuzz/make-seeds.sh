#!/usr/bin/env bash
# Regenerates the qcow2 seed corpus in seeds/ (kept in the repo; run by hand).
# ok-*: valid images made by qemu-img; bad-*: hostile variants of them.
set -euo pipefail
cd "$(dirname "$0")"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
python3 -c "import sys; sys.stdout.buffer.write(bytes((i*7)%251 for i in range(6000)))" > "$T/data"
qemu-img create -q -f raw "$T/src.raw" 64K
dd if="$T/data" of="$T/src.raw" conv=notrunc status=none
dd if="$T/data" of="$T/src.raw" bs=512 seek=100 conv=notrunc status=none
qemu-img convert -O qcow2 -o cluster_size=512,compat=0.10 "$T/src.raw" seeds/ok-v2-512.qcow2
qemu-img convert -O qcow2 -o cluster_size=512 "$T/src.raw" seeds/ok-v3-512.qcow2
qemu-img convert -c -O qcow2 -o cluster_size=1024 "$T/src.raw" seeds/ok-v3-compressed.qcow2
cp seeds/ok-v3-512.qcow2 seeds/ok-v3-zero.qcow2
qemu-io -f qcow2 -c "write -z 0 4k" seeds/ok-v3-zero.qcow2 >/dev/null
python3 - seeds <<'PY'
import struct, sys, os
d = sys.argv[1]
base = bytearray(open(os.path.join(d, "ok-v3-512.qcow2"), "rb").read())
comp = bytearray(open(os.path.join(d, "ok-v3-compressed.qcow2"), "rb").read())
def put(name, img, off, fmt, val):
    b = bytearray(img); struct.pack_into(fmt, b, off, val)
    open(os.path.join(d, name), "wb").write(b)
l1_off = struct.unpack_from(">Q", base, 40)[0]
l2_off = struct.unpack_from(">Q", base, l1_off)[0] & 0x00fffffffffffe00
put("bad-l1-past-end.qcow2", base, 40, ">Q", 1 << 40)
put("bad-huge-size.qcow2", base, 24, ">Q", 1 << 62)
put("bad-huge-l1.qcow2", base, 36, ">I", 0x7fffffff)
put("bad-cluster-bits.qcow2", base, 20, ">I", 40)
put("bad-version.qcow2", base, 4, ">I", 4)
put("bad-encrypted.qcow2", base, 32, ">I", 1)
put("bad-backing.qcow2", base, 8, ">Q", 512)
put("bad-data-file.qcow2", base, 72, ">Q", 4)
put("bad-corrupt-bit.qcow2", base, 72, ">Q", 2)
put("bad-unknown-incompat.qcow2", base, 72, ">Q", 1 << 40)
put("bad-l2-on-l1.qcow2", base, l1_off, ">Q", (1 << 63) | l1_off)
put("ok-l1-copied-unallocated.qcow2", base, l1_off, ">Q", (1 << 63) | 0)
put("bad-l1-reserved-bits.qcow2", base, l1_off, ">Q", (1 << 63) | l2_off | 1)
put("bad-l2-past-end.qcow2", base, l1_off, ">Q", (1 << 63) | (1 << 45))
put("bad-data-past-end.qcow2", base, l2_off, ">Q", (1 << 63) | (1 << 44))
put("bad-data-unaligned.qcow2", base, l2_off, ">Q", (1 << 63) | (l2_off + 3))
e0 = struct.unpack_from(">Q", base, l2_off)[0]
put("bad-data-twice.qcow2", base, l2_off + 8, ">Q", e0)
put("bad-data-on-l2.qcow2", base, l2_off, ">Q", (1 << 63) | l2_off)
l1b = bytearray(base); struct.pack_into(">Q", l1b, l1_off + 8, struct.unpack_from(">Q", base, l1_off)[0])
open(os.path.join(d, "bad-l2-twice.qcow2"), "wb").write(l1b)
open(os.path.join(d, "bad-truncated-header.qcow2"), "wb").write(base[:50])
open(os.path.join(d, "bad-truncated-l1.qcow2"), "wb").write(base[:l1_off + 4])
# compressed: an entry claiming a huge compressed length, and garbage deflate data
cl1 = struct.unpack_from(">Q", comp, 40)[0]
cl2 = struct.unpack_from(">Q", comp, cl1)[0] & 0x00fffffffffffe00
e = struct.unpack_from(">Q", comp, cl2)[0]
put("bad-compressed-size.qcow2", comp, cl2, ">Q", e | ((1 << 62) - (1 << 56)))
cbits = struct.unpack_from(">I", comp, 20)[0]; x = 62 - (cbits - 8)
host = e & ((1 << x) - 1)
b = bytearray(comp); b[host:host + 16] = b"\xff" * 16
open(os.path.join(d, "bad-compressed-garbage.qcow2"), "wb").write(b)
PY
ls -la seeds
