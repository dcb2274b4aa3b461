#!/usr/bin/env bash
# picostack-img end to end: every command, the usage errors (exit 2) and the
# one-owner lock, on a store in a temporary data dir.
set -euo pipefail
IMG=${1:?usage: img_cli.sh PATH-TO-picostack-img}
T=$(mktemp -d)
holder=
cleanup() { [ -n "$holder" ] && kill "$holder" 2>/dev/null; exec 3>&- 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
img() { "$IMG" --store "$T/d" "$@"; }
expect_rc() { local want=$1; shift; set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "$* exited $rc, expected $want"; }; }

# usage errors: exit 2
expect_rc 2 "$IMG" --store "$T/d"
expect_rc 2 img frobnicate
expect_rc 2 img create onlyname
expect_rc 2 img create d 12Q
expect_rc 2 img read d 0
expect_rc 2 img import a b --format vmdk
expect_rc 2 img list --json
grep -q "usage: picostack-img" "$T/err" || fail "no usage text"
expect_rc 0 "$IMG" --help
# no store yet
expect_rc 1 img list
grep -q "init" "$T/err" || fail "no hint to init"

img init >/dev/null
img create disk1 64M
img create big 2T
expect_rc 1 img create disk1 1M
grep -q "already exists" "$T/err" || fail "duplicate name message"
printf 'hello, world' | img write disk1 1K
[ "$(img read disk1 1K 12)" = "hello, world" ] || fail "read back"
[ "$(img read disk1 0 4 | od -An -tx1 | tr -d ' ')" = 00000000 ] || fail "hole reads zeros"
head -c 3000000 /dev/urandom > "$T/blob"
img write big 1T < "$T/blob"
img read big 1T 3000000 | cmp - "$T/blob" || fail "big write read back"
img snapshot disk1 snap1
img clone snap1 vm1
printf 'XX' | img write vm1 1K
[ "$(img read vm1 1K 12)" = "XXllo, world" ] || fail "clone write"
[ "$(img read snap1 1K 12)" = "hello, world" ] || fail "snapshot changed"
expect_rc 1 img write snap1 0 < /dev/null
grep -q "read-only" "$T/err" || fail "snapshot write message"
expect_rc 1 img clone disk1 x
expect_rc 1 img extend disk1 32M
grep -q "shrink" "$T/err" || fail "shrink message"
img extend disk1 1G
[ "$(img read disk1 1020M 2 | od -An -tx1 | tr -d ' ')" = 0000 ] || fail "extended range"
expect_rc 1 img read disk1 1G 1

img list > "$T/list"
grep -Eq '^vm1 +disk +64.0 MiB +64.0 KiB +snap1$' "$T/list" || { cat "$T/list"; fail "list row"; }
grep -Eq '^snap1 +snapshot' "$T/list" || fail "list snapshot"
img info vm1 --json > "$T/json"
python3 - "$T/json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == "vm1" and d["kind"] == "disk" and d["parent"] == "snap1", d
assert d["virtual_size"] == 64 << 20 and d["allocated"] == 65536, d
PY
img info snap1 | grep -q "kind: *snapshot" || fail "info text"
img stat | grep -q "^used:" || fail "stat"

# export and re-import
img export vm1 "$T/vm1.raw"
[ "$(stat -c %s "$T/vm1.raw")" = $((64 << 20)) ] || fail "export size"
[ "$(du -k "$T/vm1.raw" | cut -f1)" -lt 1024 ] || fail "export not sparse"
img import "$T/vm1.raw" vm1-copy --format raw
img export vm1-copy "$T/copy.raw"
cmp "$T/vm1.raw" "$T/copy.raw" || fail "raw round trip"
img export vm1 "$T/vm1.qcow2" --format qcow2
qemu-img check -q "$T/vm1.qcow2" || fail "qemu-img check"
qemu-img compare -q "$T/vm1.raw" "$T/vm1.qcow2" || fail "qemu-img compare"

img check | grep -q "check: clean" || fail "check"

# the lock: a running picostack-img holds the data dir
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
"$IMG" --store "$T/d" write disk1 0 < "$T/fifo" 3>&- &
holder=$!
for _ in $(seq 100); do [ "$(cat "$T/d/lock" 2>/dev/null)" = "$holder" ] && break; sleep 0.05; done
expect_rc 1 img list
grep -q "in use by pid $holder" "$T/err" || { cat "$T/err"; fail "lock message"; }
exec 3>&-
wait "$holder"
holder=
img list >/dev/null

# delete everything: nothing used, check clean
for n in vm1 vm1-copy snap1 disk1 big; do img delete $n; done
expect_rc 1 img delete disk1
img stat | grep -q "^used: *0 B" || { img stat; fail "space left after deleting all"; }
img check | grep -q "check: clean" || fail "final check"
echo "img_cli: ok"
