#!/usr/bin/env bash
# picostack-vmm's command line: bad arguments and unusable kernels exit 2
# with a message and the usage; --help exits 0. Nothing here reaches /dev/kvm.
set -u
vmm=${1:?usage: test_args.sh PICOSTACK_VMM KVM_MKGUEST}
mkguest=${2:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect STATUS TEXT ARGS...: runs the VMM, checks status and that TEXT is in stderr.
expect() {
  local want=$1 text=$2; shift 2
  local err
  err=$("$vmm" "$@" 2>&1 >/dev/null </dev/null)
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: picostack-vmm $* exited $got, expected $want"; echo "$err" | head -5; fail=1
  elif ! grep -qF -- "$text" <<<"$err"; then
    echo "FAIL: picostack-vmm $*: stderr lacks '$text':"; echo "$err" | head -5; fail=1
  else
    echo "ok: $* -> $got ($text)"
  fi
}

"$mkguest" pvh reset "$tmp/k" || exit 1
printf 'not a kernel\n' >"$tmp/text"

expect 2 "--kernel PATH is required"
expect 2 "usage:" --cpus 2
expect 2 "unknown option --frobnicate" --kernel "$tmp/k" --frobnicate
expect 2 "--kernel needs a value" --kernel
expect 2 "unexpected argument" --kernel "$tmp/k" extra
expect 2 "--mem 'lots'" --kernel "$tmp/k" --mem lots
expect 2 "--mem '-5'" --kernel "$tmp/k" --mem -5
expect 2 "--mem '1'" --kernel "$tmp/k" --mem 1
expect 2 "--mem '99999999999999999999'" --kernel "$tmp/k" --mem 99999999999999999999
expect 2 "--cpus '0'" --kernel "$tmp/k" --cpus 0
expect 2 "--cpus '65'" --kernel "$tmp/k" --cpus 65
expect 2 "--cpus '2x'" --kernel "$tmp/k" --cpus 2x
expect 2 "--serial 'tcp:1'" --kernel "$tmp/k" --serial tcp:1
expect 2 "--serial 'file:'" --kernel "$tmp/k" --serial file:
expect 2 "path=FILE or handover=FD" --kernel "$tmp/k" --disk /dev/null
expect 2 "at 'bogus'" --kernel "$tmp/k" --disk path=/dev/null,bogus
expect 2 "at most 20 bytes" --kernel "$tmp/k" --disk path=/dev/null,serial=123456789012345678901
expect 2 "a descriptor number" --kernel "$tmp/k" --disk handover=x
expect 2 "path=FILE or handover=FD" --kernel "$tmp/k" --disk ro
expect 2 "at 'path=/b'" --kernel "$tmp/k" --disk path=/a,path=/b
expect 2 "disk $tmp/missing: No such file" --kernel "$tmp/k" --disk "path=$tmp/missing"
expect 2 "--net 'tap0': tap=NAME" --kernel "$tmp/k" --net tap0
expect 2 "--net 'tap=': tap=NAME" --kernel "$tmp/k" --net tap=
expect 2 "--net 'tap=abcdefghijklmnop'" --kernel "$tmp/k" --net tap=abcdefghijklmnop
expect 2 "--net 'fd=x': fd=N needs" --kernel "$tmp/k" --net fd=x
expect 2 "--net 'fd=-1': fd=N needs" --kernel "$tmp/k" --net fd=-1
expect 2 "--net 'tap=a,fd=3'" --kernel "$tmp/k" --net tap=a,fd=3
expect 2 "--net 'mac=02:00:00:00:00:01': tap=NAME or fd=N" --kernel "$tmp/k" --net mac=02:00:00:00:00:01
expect 2 "mac=aa:bb:cc:dd:ee:ff (unicast)" --kernel "$tmp/k" --net tap=a,mac=01:00:00:00:00:01
expect 2 "mac=aa:bb:cc:dd:ee:ff (unicast)" --kernel "$tmp/k" --net tap=a,mac=02:00:00:00:00
expect 2 "--uuid '1234': 8-4-4-4-12 hex digits" --kernel "$tmp/k" --uuid 1234
expect 2 "8-4-4-4-12 hex digits" --kernel "$tmp/k" --uuid 12345678-9abc-def0-0123-456789abcdeg
expect 2 "8-4-4-4-12 hex digits" --kernel "$tmp/k" --uuid 123456789-abc-def0-0123-456789abcdef
expect 2 "8-4-4-4-12 hex digits" --kernel "$tmp/k" --uuid "12345678-9abc-def0-0123-456789abcdef "
expect 2 "--uuid needs a value" --kernel "$tmp/k" --uuid
expect 2 "mac=aa:bb:cc:dd:ee:ff (unicast)" --kernel "$tmp/k" --net tap=a,mac=02-00-00-00-00-01
expect 2 "mac=aa:bb:cc:dd:ee:ff (unicast)" --kernel "$tmp/k" --net tap=a,mac=02:00:00:00:00:0g
expect 2 "a trailing ','" --kernel "$tmp/k" --net tap=a,
expect 2 "queues=N needs a number from 1 to 16" --kernel "$tmp/k" --net tap=a,queues=17
expect 2 "queues=N needs a number from 1 to 16" --kernel "$tmp/k" --net tap=a,queues=0
expect 2 "queues=N needs tap=NAME" --kernel "$tmp/k" --net fd=3,queues=2
expect 2 "descriptor 0 is not an attached tap" --kernel "$tmp/k" --net fd=0
expect 2 "--net: at most 8" --kernel "$tmp/k" --net tap=a --net tap=b --net tap=c --net tap=d \
  --net tap=e --net tap=f --net tap=g --net tap=h --net tap=i
expect 2 "--control needs a socket path" --kernel "$tmp/k" --control ""
expect 2 "--exit-file needs a path" --kernel "$tmp/k" --exit-file ""
expect 2 "--exit-file $tmp/no/such/dir/exit" --kernel "$tmp/k" --exit-file "$tmp/no/such/dir/exit"
# a kernel the VMM refuses: status 2, and the exit file says why
expect 2 "neither a bzImage" --kernel "$tmp/text" --exit-file "$tmp/exit"
if ! grep -q "^error: .*neither a bzImage" "$tmp/exit"; then
  echo "FAIL: --exit-file after a bad kernel: $(cat "$tmp/exit")"; fail=1
fi
expect 2 "cannot open kernel $tmp/missing" --kernel "$tmp/missing"
# --firmware: the disk's own bootloader, so no kernel options beside it;
# a file that cannot be a ROM is refused before /dev/kvm is opened
expect 2 "no --kernel, --initrd or --cmdline" --firmware "$tmp/k" --kernel "$tmp/k"
expect 2 "no --kernel, --initrd or --cmdline" --firmware "$tmp/k" --cmdline x
expect 2 "--firmware-type 'efi': bios or uefi expected" --firmware "$tmp/k" --firmware-type efi
expect 2 "--firmware needs a path" --firmware ""
expect 2 "cannot open firmware $tmp/missing" --firmware "$tmp/missing"
expect 2 "firmware $tmp is not a regular file" --firmware "$tmp"
expect 2 "a ROM image is a multiple of 4 KiB" --firmware "$tmp/text"
head -c 69632 /dev/zero >"$tmp/rom-odd" # 68 KiB: fine; 68 KiB + 1 is not
printf x >>"$tmp/rom-odd"
expect 2 "a ROM image is a multiple of 4 KiB" --firmware "$tmp/rom-odd"
head -c 17825792 /dev/zero >"$tmp/rom-big" # 17 MiB
expect 2 "a ROM image is a multiple of 4 KiB" --firmware "$tmp/rom-big"
# UEFI: a file that is no firmware volume, one cut short, one too big for
# the 4 MiB flash (Debian's OVMF_CODE.fd is 1920 KiB)
head -c 65536 /dev/zero >"$tmp/rom-64k"
expect 2 "is not a UEFI image" --firmware "$tmp/rom-64k" --firmware-type uefi
if [ -r /usr/share/OVMF/OVMF_CODE.fd ]; then
  head -c 1048576 /usr/share/OVMF/OVMF_CODE.fd >"$tmp/ovmf-cut"
  expect 2 "longer than the file (truncated?)" --firmware "$tmp/ovmf-cut"
  cat /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_CODE.fd >"$tmp/ovmf-big"
  expect 2 "fits the 4 MiB flash below 4 GiB" --firmware "$tmp/ovmf-big"
fi
expect 2 "is not a regular file" --kernel "$tmp"
expect 2 "neither a bzImage" --kernel "$tmp/text"
expect 2 "usage:" --kernel "$tmp/text"
expect 2 "cannot open initrd" --kernel "$tmp/k" --initrd "$tmp/missing"
# fd:N: a descriptor the caller left open (picostack-jailer's VMMs)
expect 2 "cannot open kernel fd:99: Bad file descriptor" --kernel fd:99
expect 2 "cannot open kernel fd:x: Bad file descriptor" --kernel fd:x
expect 2 "cannot open kernel fd:: Bad file descriptor" --kernel fd:
expect 2 "neither a bzImage" --kernel fd:5 5<"$tmp/text"
expect 2 "kernel fd:5 is not a regular file" --kernel fd:5 5<"$tmp"
expect 2 "cannot open initrd fd:98" --kernel fd:5 --initrd fd:98 5<"$tmp/k"
expect 2 "disk fd:97: Bad file descriptor" --kernel "$tmp/k" --disk path=fd:97
expect 2 "disk fd:6: Bad file descriptor" --kernel "$tmp/k" --disk path=fd:6 6<"$tmp/text"
expect 2 "--serial file:$tmp/no/such/dir/log" --kernel "$tmp/k" --serial "file:$tmp/no/such/dir/log"
expect 2 "--console-cap needs --console-log" --kernel "$tmp/k" --console-cap 65536
expect 2 "--console-cap '100'" --kernel "$tmp/k" --console-log "$tmp/log" --console-cap 100
expect 2 "--console-cap '1073741825'" --kernel "$tmp/k" --console-log "$tmp/log" --console-cap 1073741825
expect 2 "--console-cap '1M'" --kernel "$tmp/k" --console-log "$tmp/log" --console-cap 1M
expect 2 "--console-log needs a path" --kernel "$tmp/k" --console-log ""
expect 2 "--console-socket needs a path" --kernel "$tmp/k" --console-socket ""
expect 2 "--console-log $tmp/no/such/dir/log" --kernel "$tmp/k" --console-log "$tmp/no/such/dir/log"
if ! "$vmm" --help | grep -q -- "--kernel PATH"; then echo "FAIL: --help"; fail=1; fi
if ! "$vmm" --help | grep -q -- "--console-socket PATH"; then echo "FAIL: --help lacks the console"; fail=1; fi
exit $fail
