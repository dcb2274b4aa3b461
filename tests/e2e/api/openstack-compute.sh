#!/usr/bin/env bash
# End-to-end: Debian's real `openstack` CLI against a real picostackd's
# compute service (issue 13, first slice): flavors, keypairs, limits, quotas;
# `server image create` (createImage) of a stopped server, and refused for
# a server in ERROR, an unknown one and another project's. Its VMM is a
# missing binary here, so every server ends in ERROR (no guest runs).
#   openstack-compute.sh PICOSTACKD
set -uo pipefail
bin=${1:?usage: openstack-compute.sh PICOSTACKD}
export PICOSTACK_VMM=/nonexistent/picostack-vmm
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

# server image create (createImage): a stopped server's boot volume
# becomes an active image (sharing its clusters)
wait_server() {  # wait_server NAME STATUS
    local s=""
    for _ in $(seq 1 100); do
        s=$(openstack server show "$1" -f value -c status 2>/dev/null)
        [ "$s" = "$2" ] && return 0
        sleep 0.2
    done
    fail "server $1: $s, not $2"
    return 1
}
head -c 1048576 /dev/urandom >"$dir/root.img"
os image create --disk-format raw --container-format bare --file "$dir/root.img" \
    --property os_boot=direct e2e-root >/dev/null || fail "image create e2e-root"
os network create e2e-net >/dev/null || fail "network create"
os subnet create --network e2e-net --subnet-range 10.30.0.0/24 e2e-sub >/dev/null || fail "subnet create"
os server create --flavor tiny --image e2e-root --network e2e-net e2e-vm >/dev/null || fail "server create"
wait_server e2e-vm ERROR
out=$(os server image create e2e-vm --name e2e-snap)
expect "server image create: a server in ERROR" "Cannot 'createImage'.*error.*409|409" "$out"
os server stop e2e-vm >/dev/null || fail "server stop"
wait_server e2e-vm SHUTOFF
out=$(os server image create e2e-vm --name e2e-snap --property purpose=e2e -f value -c name -c status)
expect "server image create" "^e2e-snap$" "$out"
expect "server image create: active" "^active$" "$out"
out=$(os image show e2e-snap -f json)
expect "the image: a snapshot" '"image_type": "snapshot"' "$out"
expect "the image: its property" '"purpose": "e2e"' "$out"
vm_id=$(openstack server show e2e-vm -f value -c id)
expect "the image: its server" "\"instance_uuid\": \"$vm_id\"" "$out"
expect "the image: the boot volume's size" '"size": 1073741824' "$out"
out=$(os server event list e2e-vm -f value -c Action)
expect "event list: createImage" "^createImage$" "$out"
out=$(os server image create no-such-server --name x)
expect "server image create: unknown server" "No Server found for no-such-server|No server with a name or ID of 'no-such-server'" "$out"
os project create --domain default e2e-p2 >/dev/null && os user create --domain default \
    --password pw-2 --project e2e-p2 e2e-u2 >/dev/null &&
    os role add --project e2e-p2 --user e2e-u2 member >/dev/null || fail "second project"
out=$(OS_PROJECT_NAME=e2e-p2 OS_USERNAME=e2e-u2 OS_PASSWORD=pw-2 openstack server image create \
    "$vm_id" --name stolen 2>&1)
expect "server image create: another project's server" "No Server found for $vm_id|No server with a name or ID" "$out"
out=$(os image list -f value -c Name)
if grep -q stolen <<<"$out"; then fail "another project made an image: $out"; fi
os image delete e2e-snap >/dev/null || fail "image delete e2e-snap"
os server delete --wait e2e-vm >/dev/null || fail "server delete"

[ "$fails" -eq 0 ] && echo "e2e openstack compute: ok" || echo "e2e openstack compute: $fails failures"
exit $((fails > 0))
