/* core/identity (issue 18): grants to groups, on domains, inherited and
 * implied; effective roles; tokens scoped to domains, trusts and
 * application credentials; per-(user, scope) and scope revocation; what
 * deleting a record forgets.  A real LMDB in a temporary directory. */
#include "core/identity/identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#define DOM  "d0000000-0000-4000-8000-000000000001"
#define PAR  "90000000-0000-4000-8000-000000000001"
#define LEAF "90000000-0000-4000-8000-000000000002"
#define USR  "a0000000-0000-4000-8000-000000000001"
#define GRP  "b0000000-0000-4000-8000-000000000001"
#define R1   "c0000000-0000-4000-8000-000000000001"
#define R2   "c0000000-0000-4000-8000-000000000002"
#define R3   "c0000000-0000-4000-8000-000000000003"
#define DR   "c0000000-0000-4000-8000-000000000004"
#define TRU  "e0000000-0000-4000-8000-000000000001"
#define APC  "f0000000-0000-4000-8000-000000000001"

static int add(struct store_txn *t, struct identity *idn, enum identity_kind k, json_t *rec)
{
    int rc = identity_create(t, idn, k, rec);
    json_decref(rec);
    return rc;
}

static size_t effective(struct store *s, struct identity *idn, const char *target, const char *role)
{
    struct store_txn *t;
    json_t *roles = NULL;
    size_t n = (size_t)-1;
    if (store_begin(s, false, &t) == 0 &&
        identity_effective_roles(t, idn, USR, target, &roles) == 0) {
        n = role ? (json_object_get(roles, role) != NULL) : json_object_size(roles);
        json_decref(roles);
    }
    store_abort(t);
    return n;
}

int main(void)
{
    char dir[256], state[300];
    if (t_mkdtemp(dir, sizeof dir, "picostack-grants") < 0 || sodium_init() < 0)
        return 1;
    snprintf(state, sizeof state, "%s/state", dir);
    struct store *s;
    struct identity *idn;
    CHECK(store_open(state, &s) == 0 && identity_open(s, 3600, &idn) == 0);

    struct store_txn *t;
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(add(t, idn, IDENTITY_DOMAIN,
              json_pack("{s:s, s:s, s:b}", "id", DOM, "name", "d", "enabled", 1)) == 0);
    CHECK(add(t, idn, IDENTITY_PROJECT,
              json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", PAR, "name", "par", "domain_id", DOM,
                        "parent_id", DOM, "enabled", 1)) == 0);
    CHECK(add(t, idn, IDENTITY_PROJECT,
              json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", LEAF, "name", "leaf", "domain_id", DOM,
                        "parent_id", PAR, "enabled", 1)) == 0);
    CHECK(add(t, idn, IDENTITY_USER,
              json_pack("{s:s, s:s, s:s}", "id", USR, "name", "u", "domain_id", DOM)) == 0);
    CHECK(add(t, idn, IDENTITY_GROUP,
              json_pack("{s:s, s:s, s:s}", "id", GRP, "name", "g", "domain_id", DOM)) == 0);
    CHECK(add(t, idn, IDENTITY_GROUP,
              json_pack("{s:s, s:s, s:s}", "id", "x", "name", "g", "domain_id", DOM)) == -EEXIST);
    CHECK(add(t, idn, IDENTITY_ROLE,
              json_pack("{s:s, s:s, s:n}", "id", R1, "name", "r1", "domain_id")) == 0);
    CHECK(add(t, idn, IDENTITY_ROLE,
              json_pack("{s:s, s:s, s:n}", "id", R2, "name", "r2", "domain_id")) == 0);
    CHECK(add(t, idn, IDENTITY_ROLE,
              json_pack("{s:s, s:s, s:n}", "id", R3, "name", "r3", "domain_id")) == 0);
    /* a domain role may share a global role's name */
    CHECK(add(t, idn, IDENTITY_ROLE,
              json_pack("{s:s, s:s, s:s}", "id", DR, "name", "r1", "domain_id", DOM)) == 0);
    /* unnamed kinds need no name */
    CHECK(add(t, idn, IDENTITY_REGION, json_pack("{s:s}", "id", "RegionTwo")) == 0);
    CHECK(add(t, idn, IDENTITY_REGION, json_pack("{s:s}", "id", "RegionTwo")) == -EEXIST);
    CHECK(store_commit(t) == 0);
    CHECK(effective(s, idn, LEAF, NULL) == 0);

    /* group grant on the parent: the member holds it there, not below */
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(identity_member_set(t, idn, GRP, USR, true) == 0);
    struct identity_grant g = { PAR, GRP, R1, false };
    CHECK(identity_grant_set(t, idn, &g, true) == 0);
    CHECK(store_commit(t) == 0);
    CHECK(effective(s, idn, PAR, R1) == 1 && effective(s, idn, LEAF, NULL) == 0);

    /* inherited on the domain: every project in it, not the domain */
    CHECK(store_begin(s, true, &t) == 0);
    struct identity_grant inh = { DOM, USR, R2, true };
    CHECK(identity_grant_set(t, idn, &inh, true) == 0);
    CHECK(identity_grant_exists(t, idn, &inh));
    inh.inherited = false;
    CHECK(!identity_grant_exists(t, idn, &inh));
    inh.inherited = true;
    /* implied: r2 -> r3; a domain role implies a global one */
    CHECK(identity_imply_set(t, idn, R2, R3, true) == 0);
    CHECK(identity_implies(t, idn, R2, R3) && !identity_implies(t, idn, R3, R2));
    CHECK(store_commit(t) == 0);
    CHECK(effective(s, idn, LEAF, R2) == 1 && effective(s, idn, LEAF, R3) == 1);
    CHECK(effective(s, idn, PAR, NULL) == 3 && effective(s, idn, DOM, NULL) == 0);

    /* a domain role grants nothing by itself */
    CHECK(store_begin(s, true, &t) == 0);
    struct identity_grant dg = { DOM, USR, DR, false };
    CHECK(identity_grant_set(t, idn, &dg, true) == 0);
    CHECK(store_commit(t) == 0);
    CHECK(effective(s, idn, DOM, NULL) == 0);

    /* tokens: a domain scope with an inherited-free direct grant */
    CHECK(store_begin(s, true, &t) == 0);
    struct identity_grant dg2 = { DOM, USR, R1, false };
    CHECK(identity_grant_set(t, idn, &dg2, true) == 0);
    CHECK(store_commit(t) == 0);
    struct identity_token tok, got;
    char text[IDENTITY_TOKEN_MAX], dflt[IDENTITY_TOKEN_MAX];
    CHECK(store_begin(s, false, &t) == 0);
    struct identity_token_req req = { .user_id = USR,
                                      .scope = IDENTITY_SCOPE_DOMAIN,
                                      .target = DOM,
                                      .methods = IDENTITY_METHOD_PASSWORD };
    CHECK(identity_token_issue_req(t, idn, &req, &tok, text) == 0);
    json_t *only = json_pack("{s:b}", R3, 1);
    struct identity_token_req tr = { .user_id = USR,
                                     .scope = IDENTITY_SCOPE_PROJECT,
                                     .target = LEAF,
                                     .trust_id = TRU,
                                     .app_cred_id = APC,
                                     .methods = IDENTITY_METHOD_APP_CRED,
                                     .roles = only };
    char trust_text[IDENTITY_TOKEN_MAX];
    CHECK(identity_token_issue_req(t, idn, &tr, &tok, trust_text) == 0 && tok.n_roles == 1);
    struct identity_token_req dd = { .user_id = USR,
                                     .scope = IDENTITY_SCOPE_DOMAIN,
                                     .target = IDENTITY_DEFAULT_DOMAIN,
                                     .methods = 1 };
    CHECK(identity_token_issue_req(t, idn, &dd, &tok, dflt) == -EACCES); /* no role there */
    store_abort(t);
    json_decref(only);
    CHECK(identity_token_check(idn, text, &got) == 0 && got.scope == IDENTITY_SCOPE_DOMAIN &&
          !strcmp(got.domain_id, DOM) && !got.project_id[0] && got.n_roles == 1);
    CHECK(identity_token_check(idn, trust_text, &got) == 0 && !strcmp(got.trust_id, TRU) &&
          !strcmp(got.app_cred_id, APC) && !strcmp(got.project_id, LEAF) &&
          !strcmp(got.role_ids[0], R3) && got.methods == IDENTITY_METHOD_APP_CRED);

    /* revocation by scope (trust, app cred, domain) and by (user, scope) */
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(identity_revoke_scope(t, idn, APC) == 0);
    CHECK(identity_revoke_user_scope(t, idn, USR, DOM) == 0);
    CHECK(store_commit(t) == 0);
    CHECK(identity_token_check(idn, trust_text, &got) == -EKEYREVOKED);
    CHECK(identity_token_check(idn, text, &got) == -EKEYREVOKED);

    /* deleting the group forgets its grant and membership; the role its rules */
    CHECK(store_begin(s, true, &t) == 0);
    json_t *rec;
    CHECK(identity_get(t, idn, IDENTITY_GROUP, GRP, &rec) == 0);
    CHECK(identity_delete(t, idn, IDENTITY_GROUP, rec) == 0);
    json_decref(rec);
    CHECK(!identity_is_member(t, idn, GRP, USR) && !identity_grant_exists(t, idn, &g));
    CHECK(identity_get(t, idn, IDENTITY_ROLE, R3, &rec) == 0);
    CHECK(identity_delete(t, idn, IDENTITY_ROLE, rec) == 0);
    json_decref(rec);
    CHECK(!identity_implies(t, idn, R2, R3));
    CHECK(identity_member_set(t, idn, GRP, USR, false) == -ENOENT);
    CHECK(store_commit(t) == 0);
    CHECK(effective(s, idn, PAR, NULL) == 1); /* r2, inherited from the domain */

    identity_close(idn);
    store_close(s);
    if (t_rm_rf(dir) < 0)
        return 1;
    fprintf(stderr, "identity grants: %s\n", t_failures ? "FAILED" : "ok");
    return t_failures ? 1 : 0;
}
