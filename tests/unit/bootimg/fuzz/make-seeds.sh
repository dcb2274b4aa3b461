#!/usr/bin/env bash
# Makes the bootimg fuzz seeds (small, so the fuzzer mutates metadata):
# ok-* boot (a kernel is found), bad-* are refused. Run once; the seeds
# are committed.
set -euo pipefail
out=${1:-$(dirname "$0")/seeds}
mkdir -p "$out"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
tree() {  # tree DIR: a tiny root with a kernel, an initrd and grub.cfg
  mkdir -p "$1/boot/grub" "$1/etc"
  head -c 3000 /dev/urandom >"$1/boot/vmlinuz-6.1.0-1-amd64"
  head -c 2000 /dev/urandom >"$1/boot/initrd.img-6.1.0-1-amd64"
  echo 'linux /boot/vmlinuz-6.1.0-1-amd64 root=UUID=1 ro quiet' >"$1/boot/grub/grub.cfg"
}
mkfs() {  # mkfs IMG DIR KIB
  rm -f "$1"; truncate -s "$3K" "$1"
  mkfs.ext4 -q -F -b 1024 -N 32 -O ^has_journal,^resize_inode -d "$2" "$1" >/dev/null
}
tree "$T/a"; mkfs "$out/ok-bare.ext4" "$T/a" 128
mkfs "$T/p.ext4" "$T/a" 128
truncate -s 256K "$T/gpt"; sgdisk -n 1:40:+128K "$T/gpt" >/dev/null
dd if="$T/p.ext4" of="$T/gpt" bs=512 seek=40 conv=notrunc status=none; cp "$T/gpt" "$out/ok-gpt.raw"
truncate -s 192K "$T/mbr"; printf 'label: dos\nstart=64, size=256, type=83\n' | sfdisk -q "$T/mbr"
dd if="$T/p.ext4" of="$T/mbr" bs=512 seek=64 conv=notrunc status=none; cp "$T/mbr" "$out/ok-mbr.raw"
mkdir -p "$T/l/boot"; ln -s vmlinuz-9 "$T/l/boot/vmlinuz-9"; mkfs "$out/bad-loop.ext4" "$T/l" 128
cp "$out/ok-bare.ext4" "$out/bad-huge.ext4"
debugfs -w -R 'sif /boot/vmlinuz-6.1.0-1-amd64 size 0x10000000000' "$out/bad-huge.ext4" >/dev/null 2>&1
cp "$T/gpt" "$out/bad-gpt-crc.raw"
printf 'XX' | dd of="$out/bad-gpt-crc.raw" bs=1 seek=1100 conv=notrunc status=none
printf 'XX' | dd of="$out/bad-gpt-crc.raw" bs=1 seek=$((256 * 1024 - 33 * 512 + 10)) conv=notrunc status=none
