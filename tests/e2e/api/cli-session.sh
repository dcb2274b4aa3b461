# Sourced by the openstack-*.sh tests: starts "$bin" (a picostackd) on a
# free port with a data directory of its own, stops it and removes the
# directory on exit (printing its log when something failed), loads
# admin-openrc, and defines fail/expect/os. The caller sets bin and ends
# with `exit $((fails > 0))`.
command -v openstack >/dev/null || { echo "openstack CLI not installed"; exit 1; }
# shellcheck source=../../../tools/common/picostackd.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../tools/common/picostackd.sh"

dir=$(mktemp -d /tmp/picostack-e2e-XXXXXX)
port=$(free_port)
"$bin" --data "$dir" --listen "127.0.0.1:$port" 2>"$dir.log" &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ "$fails" -eq 0 ] || tail -30 "$dir.log"
    rm -rf "$dir" "$dir.log"
}
fails=0
trap cleanup EXIT
wait_healthy "$port" || true

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {  # expect DESCRIPTION PATTERN OUTPUT
    grep -qE -- "$2" <<<"$3" || fail "$1: /$2/ not in: $3"
}
os() { openstack "$@" 2>&1; }

# shellcheck disable=SC1091
. "$dir/admin-openrc"
