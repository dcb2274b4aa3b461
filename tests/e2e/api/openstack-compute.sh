#!/usr/bin/env bash
# End-to-end: Debian's real `openstack` CLI against a real picostackd's
# compute service (issue 13, first slice): flavors, keypairs, limits, quotas.
#   openstack-compute.sh PICOSTACKD
set -uo pipefail
bin=${1:?usage: openstack-compute.sh PICOSTACKD}
# shellcheck source=cli-session.sh
. "$(dirname "$0")/cli-session.sh"

# flavors: the seeded defaults, then create/show/delete
out=$(os flavor list -f value -c Name -c RAM -c VCPUs -c Disk)
expect "flavor list: m1.tiny" "^m1.tiny 512 1 1$" "$out"
expect "flavor list: m1.small" "^m1.small 2048 20 1$" "$out"
expect "flavor list: tiny" "^tiny 128 1 1$" "$out"
out=$(os flavor create --ram 256 --disk 1 --vcpus 2 e2e-flavor -f value -c name -c vcpus)
expect "flavor create" "e2e-flavor" "$out"
out=$(os flavor show e2e-flavor -f value -c ram -c vcpus)
expect "flavor show by name" "^256$" "$out"
out=$(os flavor create --ram 256 --disk 1 --vcpus 2 e2e-flavor)
expect "flavor create: duplicate name" "409|[Cc]onflict|already exists" "$out"
os flavor delete e2e-flavor >/dev/null || fail "flavor delete"
out=$(os flavor show e2e-flavor)
expect "flavor show after delete" "No Flavor found|[Nn]ot found|could not be found" "$out"

# keypairs: generated (the private key must match the public one) and imported
os keypair create e2e-gen >"$dir/gen.pem" 2>"$dir/gen.err" || fail "keypair create: $(cat "$dir/gen.err")"
chmod 600 "$dir/gen.pem"
derived=$(ssh-keygen -y -f "$dir/gen.pem" 2>&1 | cut -d' ' -f2)
stored=$(os keypair show --public-key e2e-gen | cut -d' ' -f2)
[ -n "$derived" ] && [ "$derived" = "$stored" ] || fail "generated key pair: '$derived' != '$stored'"
ssh-keygen -q -t ed25519 -N '' -C e2e -f "$dir/imp" || fail "ssh-keygen"
os keypair create --public-key "$dir/imp.pub" e2e-imp >/dev/null || fail "keypair create --public-key"
want=$(ssh-keygen -l -E md5 -f "$dir/imp.pub" | cut -d' ' -f2 | sed 's/^MD5://')
out=$(os keypair show e2e-imp -f value -c fingerprint)
[ "$out" = "$want" ] || fail "imported fingerprint: $out != $want"
out=$(os keypair list -f value -c Name)
expect "keypair list: generated" "^e2e-gen$" "$out"
expect "keypair list: imported" "^e2e-imp$" "$out"
os keypair delete e2e-gen e2e-imp >/dev/null || fail "keypair delete"
out=$(os keypair list -f value -c Name)
[ -z "$out" ] || fail "keypairs left after delete: $out"

# limits and quotas
out=$(os limits show --absolute -f value -c Name -c Value)
expect "limits: keypairs" "^maxTotalKeypairs 100$" "$out"
expect "limits: instances" "^maxTotalInstances 10$" "$out"
out=$(os quota show -f json -c key-pairs -c cores -c instances)
expect "quota show: key-pairs" '"key-pairs": 100' "$out"
expect "quota show: cores" '"cores": 20' "$out"
expect "quota show: instances" '"instances": 10' "$out"

[ "$fails" -eq 0 ] && echo "e2e openstack compute: ok" || echo "e2e openstack compute: $fails failures"
exit $((fails > 0))
