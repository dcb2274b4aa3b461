# Shell helpers for the device benchmarks (tools/bench-virtio-blk,
# tools/bench-net): a Debian-kernel guest that runs a host program (fio,
# iperf3) against its virtio devices, the same guest in picostack-vmm and in
# QEMU. Source this file; run on the host (bash, GNU tools, e2fsprogs).
#
# The guest is two parts:
#  - an initramfs (bench_guest_initramfs): busybox, Debian's virtio and ext4
#    modules, an /init that mounts the tools disk and runs /bench.sh (the
#    benchmark's own part), then powers off;
#  - a tools disk (bench_tools_disk): a small ext4 image with the host's
#    programs and every library ldd names, at their host paths, attached
#    read-only with serial "tools". /bench.sh runs them with
#    `$bb chroot /t PROGRAM` (/t has /dev, /proc, /sys and a tmpfs /tmp).
# fio alone needs about 80 MiB of libraries (Debian builds it with rbd,
# gluster, rdma...): on a disk the guest reads only what it loads, while an
# initramfs would hold all of it in guest RAM.
#
# /bench.sh finds in $bb the busybox path and in $tools the tools disk's
# device name (vdX); bench_disk_by_serial SERIAL prints another disk's.

# Debian's modules /init loads, in order (dependencies first).
BENCH_GUEST_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
virtio_blk crc16 mbcache jbd2 crc32c_generic ext4 failover net_failover virtio_net"

# The guest kernel's command line (both VMMs): quiet, so that only what the
# benchmark prints reaches the serial console.
BENCH_GUEST_CMDLINE="console=ttyS0 quiet loglevel=1 panic=-1 reboot=k rdinit=/init"

# bench_guest_initramfs OUT BENCH_SH: the initramfs as OUT (newc cpio), with
# BENCH_SH as /bench.sh. Needs PICOSTACK_BUSYBOX and PICOSTACK_MODULES
# (tools/debian-assets --print-env).
bench_guest_initramfs() {
	local out=$1 script=$2 dir m ko
	dir=$(mktemp -d "${TMPDIR:-/tmp}/picostack-bench-initrd.XXXXXX")
	mkdir -p "$dir"/{bin,proc,sys,dev,t,modules}
	cp "$PICOSTACK_BUSYBOX" "$dir/bin/busybox"
	for m in $BENCH_GUEST_MODULES; do
		ko=$(find "$PICOSTACK_MODULES/kernel" -name "$m.ko" | head -n 1)
		[ -n "$ko" ] || { echo "bench-guest: module $m not in $PICOSTACK_MODULES" >&2; rm -rf "$dir"; return 1; }
		cp "$ko" "$dir/modules/"
	done
	cp "$script" "$dir/bench.sh"
	cat >"$dir/init" <<EOF
#!/bin/busybox sh
bb=/bin/busybox
\$bb mount -t proc proc /proc
\$bb mount -t sysfs sysfs /sys
\$bb mount -t devtmpfs dev /dev
for m in $(echo $BENCH_GUEST_MODULES); do
	\$bb insmod /modules/\$m.ko || echo "bench-guest: insmod \$m failed"
done
# bench_disk_by_serial SERIAL: the vdX whose virtio serial is SERIAL
bench_disk_by_serial() {
	local s
	for s in /sys/block/vd*/serial; do
		[ "\$(\$bb cat "\$s" 2>/dev/null)" = "\$1" ] && { s=\${s%/serial}; echo \${s##*/}; return 0; }
	done
	return 1
}
i=0
until tools=\$(bench_disk_by_serial tools) || [ \$i -ge 300 ]; do \$bb sleep 0.1; i=\$((i+1)); done
if [ -n "\$tools" ] && \$bb mount -o ro -t ext4 /dev/\$tools /t; then
	\$bb mount -t devtmpfs dev /t/dev
	\$bb mount -t proc proc /t/proc
	\$bb mount -t sysfs sysfs /t/sys
	\$bb mount -t tmpfs tmp /t/tmp
	. /bench.sh
else
	echo "bench-guest: no tools disk; the kernel said:"
	\$bb dmesg | \$bb tail -n 30
fi
\$bb poweroff -f
EOF
	chmod 755 "$dir/init" "$dir/bin/busybox"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out"
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# bench_tools_disk OUT PROGRAM...: an ext4 image OUT holding each PROGRAM
# (absolute host paths) and the libraries ldd lists, at the host's paths.
bench_tools_disk() {
	local out=$1 dir p f d kib
	shift
	local mkfs
	mkfs=$(PATH=$PATH:/usr/sbin:/sbin command -v mkfs.ext4) ||
		{ echo "bench-guest: mkfs.ext4 missing (e2fsprogs)" >&2; return 1; }
	dir=$(mktemp -d "${TMPDIR:-/tmp}/picostack-bench-tools.XXXXXX")
	mkdir -p "$dir"/{dev,proc,sys,tmp}
	for d in bin sbin lib lib64; do   # the host's merged-/usr links
		if [ -L "/$d" ]; then
			ln -s "$(readlink "/$d")" "$dir/$d"
			mkdir -p "$dir/$(readlink -f "/$d")"
		fi
	done
	for p in "$@"; do
		for f in "$p" $(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true); do
			[ -e "$f" ] || continue
			f=$(readlink -f "$f")
			mkdir -p "$dir${f%/*}"
			cp -L "$f" "$dir$f"
		done
		# ldd names libraries by the path the loader uses (often a link)
		for f in $(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true); do
			[ -e "$dir$f" ] || [ -L "$dir$f" ] ||
				{ mkdir -p "$dir${f%/*}"; ln -s "$(readlink -f "$f")" "$dir$f"; }
		done
	done
	kib=$(du -sk "$dir" | cut -f1)
	rm -f "$out"
	"$mkfs" -q -F -L tools -m 0 -O ^has_journal -d "$dir" "$out" "$((kib * 11 / 10 + 4096))k" >/dev/null
	local rc=$?
	rm -rf "$dir"
	return $rc
}
