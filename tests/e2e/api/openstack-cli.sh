#!/usr/bin/env bash
# End-to-end: Debian's real `openstack` CLI against a real picostackd, used
# as a person would after sourcing admin-openrc.
#   openstack-cli.sh PICOSTACKD
set -uo pipefail
bin=${1:?usage: openstack-cli.sh PICOSTACKD}
# shellcheck source=cli-session.sh
. "$(dirname "$0")/cli-session.sh"
[ "$(stat -c %a "$dir/admin-openrc")" = 600 ] || fail "admin-openrc mode"
expect "OS_AUTH_URL" "^http://127.0.0.1:$port/identity$" "$OS_AUTH_URL"

out=$(os token issue -f json)
expect "token issue" '"project_id": "[0-9a-f-]{36}"' "$out"
expect "token issue" '"expires": ' "$out"
token=$(jq -r .id <<<"$out" 2>/dev/null || python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")

# The recorded CLI traces used OS_AUTH_URL=.../identity/v3: that works too.
out=$(OS_AUTH_URL=$OS_AUTH_URL/v3 os token issue -f value -c user_id)
expect "token issue via /identity/v3" "^[0-9a-f-]{36}$" "$out"

# The catalog lists exactly the registered services (api/services.c).
out=$(os catalog list -f value)
for t in identity image block-storage volumev3 network compute; do
    expect "catalog list: $t" "^[a-z0-9]+ $t " "$out"
done
[ "$(grep -c . <<<"$out")" -eq 6 ] || fail "catalog list: only the served services: $out"
expect "catalog url" "http://127.0.0.1:$port/image" "$out"

out=$(os endpoint list -f value -c "Service Type" -c Interface -c URL)
expect "endpoint list" "^image admin http://127.0.0.1:$port/image$" "$out"

out=$(os project create --domain default e2e-demo -f value -c name)
expect "project create" "^e2e-demo$" "$out"
out=$(os project create e2e-other -f value -c domain_id)
expect "project create (no --domain)" "^default$" "$out"
out=$(os project create e2e-demo 2>&1)
expect "duplicate project" "Conflict|409" "$out"
out=$(os project list -f value -c Name)
expect "project list" "e2e-demo" "$out"
expect "project list" "e2e-other" "$out"

out=$(os user create --domain default --password pw1 --project e2e-demo e2e-alice -f value -c name)
expect "user create" "^e2e-alice$" "$out"
out=$(os user list -f value -c Name)
expect "user list" "e2e-alice" "$out"
out=$(os role create e2e-role -f value -c name)
expect "role create" "^e2e-role$" "$out"
out=$(os role list -f value -c Name)
expect "role list" "member" "$out"
expect "role list" "e2e-role" "$out"

os role add --project e2e-demo --user e2e-alice member >/dev/null || fail "role add"
os role add --project e2e-demo --user e2e-alice e2e-role >/dev/null || fail "role add custom"
out=$(os role assignment list --names -f value)
expect "assignment --names" "member e2e-alice@Default +e2e-demo@Default" "$out"
out=$(os role assignment list --user e2e-alice --project e2e-demo -f value -c Role)
[ "$(wc -l <<<"$out")" -eq 2 ] || fail "assignment list --user --project: $out"
out=$(os role remove --project e2e-demo --user e2e-alice e2e-role && os role delete e2e-role \
      && os role list -f value -c Name)
grep -q e2e-role <<<"$out" && fail "role delete: $out"

# A member of another project: sees its project only, may not administer.
(
    fails=0
    export OS_USERNAME=e2e-alice OS_PASSWORD=pw1 OS_PROJECT_NAME=e2e-demo
    out=$(os token issue -f value -c project_id)
    expect "member token" "^[0-9a-f-]{36}$" "$out"
    out=$(os project list -f value -c Name)
    [ "$out" = e2e-demo ] || fail "member project list: $out"
    out=$(os user list)
    expect "member user list" "403|not authorized" "$out"
    out=$(os project create sneaky)
    expect "member project create" "403|not authorized" "$out"
    exit "$fails"
) || fails=$((fails + $?))

os user set --password pw2 e2e-alice >/dev/null || fail "user set --password"
out=$(OS_USERNAME=e2e-alice OS_PASSWORD=pw1 OS_PROJECT_NAME=e2e-demo os token issue)
expect "old password refused" "401|authenticat" "$out"

os user delete e2e-alice >/dev/null || fail "user delete"
os project delete e2e-demo e2e-other >/dev/null || fail "project delete"
out=$(os project list -f value -c Name)
[ "$out" = admin ] || fail "project list after delete: $out"

# Domains, groups, grants, application credentials, EC2 credentials (issue 18).
out=$(os domain create e2e-dom -f value -c name)
expect "domain create" "^e2e-dom$" "$out"
os group create e2e-grp >/dev/null || fail "group create"
os user create --password pw3 e2e-bob >/dev/null || fail "user create"
os project create e2e-gp >/dev/null || fail "project create e2e-gp"
os group add user e2e-grp e2e-bob >/dev/null || fail "group add user"
out=$(os group contains user e2e-grp e2e-bob)
expect "group contains user" "e2e-bob in group e2e-grp" "$out"
os role add --group e2e-grp --project e2e-gp member >/dev/null || fail "role add --group"
out=$(os role assignment list --effective --user e2e-bob -f value -c Role -c Project --names)
expect "effective assignment via group" "member e2e-gp@Default" "$out"
out=$(OS_USERNAME=e2e-bob OS_PASSWORD=pw3 OS_PROJECT_NAME=e2e-gp os application credential create e2e-ac -f value -c secret)
[ -n "$out" ] || fail "application credential create"
acid=$(OS_USERNAME=e2e-bob OS_PASSWORD=pw3 OS_PROJECT_NAME=e2e-gp os application credential show e2e-ac -f value -c id)
out=$(env -u OS_USERNAME -u OS_PASSWORD -u OS_PROJECT_NAME -u OS_USER_DOMAIN_NAME \
    -u OS_PROJECT_DOMAIN_NAME -u OS_USER_DOMAIN_ID -u OS_PROJECT_DOMAIN_ID \
    OS_AUTH_TYPE=v3applicationcredential \
    OS_APPLICATION_CREDENTIAL_ID="$acid" OS_APPLICATION_CREDENTIAL_SECRET="$out" \
    openstack token issue -f value -c project_id 2>&1)
expect "token issue with an application credential" "^[0-9a-f-]{36}$" "$out"
out=$(OS_USERNAME=e2e-bob OS_PASSWORD=pw3 OS_PROJECT_NAME=e2e-gp os ec2 credentials create -f value -c access)
expect "ec2 credentials create" "^[0-9a-f]{32}$" "$out"

out=$(os trust create --project admin --role admin admin e2e-bob -f value -c id 2>&1)
expect "trust create" "^[0-9a-f-]{36}$" "$out"
os trust delete "$out" >/dev/null || fail "trust delete"
out=$(os credential create --type cert e2e-bob 'a blob' -f value -c type)
expect "credential create" "^cert$" "$out"
out=$(os credential list -f value -c Type)
expect "credential list" "cert" "$out"
out=$(os service create --name e2e-svc e2e-type -f value -c id)
os endpoint create --region e2e-region e2e-svc public http://e2e.example >/dev/null ||
    fail "endpoint create"
out=$(os catalog list -f value)
expect "catalog follows a created service" "e2e-svc e2e-type" "$out"
os service delete e2e-svc >/dev/null || fail "service delete"
out=$(os region list -f value -c Region)
expect "region made by endpoint create" "e2e-region" "$out"
os region delete e2e-region >/dev/null || fail "region delete"
os implied role create --implied-role reader member >/dev/null 2>&1 ||
    fail "implied role create"
out=$(os implied role list -f value)
expect "implied role list" "member.*reader" "$out"
os implied role delete --implied-role reader member >/dev/null || fail "implied role delete"
os domain set --disable e2e-dom >/dev/null || fail "domain set --disable"
os domain delete e2e-dom >/dev/null || fail "domain delete"
os user delete e2e-bob >/dev/null && os group delete e2e-grp >/dev/null &&
    os project delete e2e-gp >/dev/null || fail "cleanup of e2e-bob/e2e-grp/e2e-gp"

os token revoke "$token" >/dev/null || fail "token revoke"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $token" \
       "http://127.0.0.1:$port/identity/v3/projects")
[ "$code" = 401 ] || fail "revoked token still works: $code"

[ "$fails" -eq 0 ] && echo "e2e openstack CLI: ok" || echo "e2e openstack CLI: $fails failures"
exit $((fails > 0))
