/* core/identity: records, name index, assignments, tokens, revocation,
 * password hashing; a real LMDB in a temporary directory. */
#include "core/identity/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

static struct identity *open_idn(const char *state, struct store **s, int ttl)
{
    struct identity *idn = NULL;
    CHECK(store_open(state, s) == 0);
    CHECK(identity_open(*s, ttl, &idn) == 0);
    return idn;
}

static json_t *find(struct identity *idn, enum identity_kind k, const char *scope, const char *name)
{
    struct store_txn *t;
    json_t *rec = NULL;
    if (store_begin(identity_store(idn), false, &t) == 0) {
        identity_find(t, idn, k, scope, name, &rec);
        store_abort(t);
    }
    return rec;
}

static int count_cb(const char *p, const char *u, const char *r, void *ctx)
{
    (void)p;
    (void)u;
    (void)r;
    ++*(int *)ctx;
    return 0;
}

int main(void)
{
    char dir[256];
    if (t_mkdtemp(dir, sizeof dir, "picostack-identity") < 0 || sodium_init() < 0)
        return 1;
    char state[300];
    snprintf(state, sizeof(state), "%s/state", dir);
    struct store *s;
    struct identity *idn = open_idn(state, &s, 3600);

    /* bootstrap: once */
    char pw[33];
    bool created;
    CHECK(identity_bootstrap(idn, pw, &created) == 0 && created && strlen(pw) >= 20);
    char pw2[33];
    CHECK(identity_bootstrap(idn, pw2, &created) == 0 && !created);
    json_t *admin = find(idn, IDENTITY_USER, "default", "admin");
    json_t *project = find(idn, IDENTITY_PROJECT, "default", "admin");
    CHECK(admin && project);
    CHECK(identity_password_ok(admin, pw) && !identity_password_ok(admin, "nope"));
    const char *hash = json_string_value(json_object_get(admin, "_password"));
    CHECK(hash && strstr(hash, "$argon2id$") && strstr(hash, "m=19456,t=2"));
    json_t *pub = identity_public(admin);
    CHECK(!json_object_get(pub, "_password") && json_object_get(pub, "name"));
    json_decref(pub);
    const char *uid = json_string_value(json_object_get(admin, "id"));
    const char *pid = json_string_value(json_object_get(project, "id"));

    /* tokens */
    struct store_txn *t;
    struct identity_token tok, got;
    char text[IDENTITY_TOKEN_MAX];
    CHECK(store_begin(s, false, &t) == 0);
    CHECK(identity_token_issue(t, idn, uid, pid, IDENTITY_METHOD_PASSWORD, NULL, 0, &tok, text) ==
          0);
    CHECK(tok.role_flags == (IDENTITY_ADMIN | IDENTITY_MEMBER | IDENTITY_READER));
    CHECK(tok.n_roles == 1);
    store_abort(t);
    CHECK(identity_token_check(idn, text, &got) == 0);
    CHECK(!strcmp(got.user_id, uid) && !strcmp(got.project_id, pid));
    CHECK(got.expires_us == tok.expires_us && !memcmp(got.audit, tok.audit, 16));
    CHECK(got.role_flags == tok.role_flags && !strcmp(got.role_ids[0], tok.role_ids[0]));
    /* every single-character change is refused */
    size_t len = strlen(text);
    int accepted = 0;
    for (size_t i = 0; i < len; i++) {
        char bad[IDENTITY_TOKEN_MAX];
        memcpy(bad, text, len + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        accepted += identity_token_check(idn, bad, &got) == 0;
    }
    CHECK(accepted == 0);
    char trunc[IDENTITY_TOKEN_MAX];
    snprintf(trunc, sizeof(trunc), "%.*s", (int)len - 4, text);
    CHECK(identity_token_check(idn, trunc, &got) == -EINVAL);
    CHECK(identity_token_check(idn, "", &got) == -EINVAL);
    CHECK(identity_token_check(idn, "!!!", &got) == -EINVAL);

    /* expiry */
    CHECK(store_begin(s, false, &t) == 0);
    char old[IDENTITY_TOKEN_MAX];
    CHECK(identity_token_issue(t, idn, uid, NULL, IDENTITY_METHOD_TOKEN, NULL,
                               identity_now_us() - 1, &tok, old) == 0);
    store_abort(t);
    CHECK(identity_token_check(idn, old, &got) == -ETIMEDOUT);

    /* a project without a role: refused */
    json_t *p2 = json_pack("{s:s, s:s, s:s, s:b}", "id", "11111111-1111-4111-8111-111111111111",
                           "name", "other", "domain_id", "default", "enabled", 1);
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(identity_create(t, idn, IDENTITY_PROJECT, p2) == 0);
    json_t *dup = json_pack("{s:s, s:s, s:s}", "id", "22222222-1111-4111-8111-111111111111", "name",
                            "other", "domain_id", "default");
    CHECK(identity_create(t, idn, IDENTITY_PROJECT, dup) == -EEXIST);
    /* same name in another domain is fine */
    json_object_set_new(dup, "domain_id", json_string("elsewhere"));
    CHECK(identity_create(t, idn, IDENTITY_PROJECT, dup) == 0);
    CHECK(identity_token_issue(t, idn, uid, json_string_value(json_object_get(p2, "id")),
                               IDENTITY_METHOD_PASSWORD, NULL, 0, &tok, text) == -EACCES);
    CHECK(store_commit(t) == 0);

    /* rename re-indexes; delete drops index and assignments */
    CHECK(store_begin(s, true, &t) == 0);
    json_t *renamed = json_deep_copy(p2);
    json_object_set_new(renamed, "name", json_string("renamed"));
    CHECK(identity_update(t, idn, IDENTITY_PROJECT, p2, renamed) == 0);
    CHECK(identity_assign(t, idn, json_string_value(json_object_get(p2, "id")), uid,
                          tok.role_ids[0]) == 0);
    CHECK(store_commit(t) == 0);
    json_t *f = find(idn, IDENTITY_PROJECT, "default", "renamed");
    CHECK(f != NULL);
    json_decref(f);
    CHECK(find(idn, IDENTITY_PROJECT, "default", "other") == NULL);
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(identity_delete(t, idn, IDENTITY_PROJECT, renamed) == 0);
    int n = 0;
    CHECK(identity_assignments(t, idn, NULL, uid, NULL, count_cb, &n) == 0 && n == 1);
    CHECK(store_commit(t) == 0);
    CHECK(find(idn, IDENTITY_PROJECT, "default", "renamed") == NULL);

    /* more roles than a token lists: flags still count them all */
    {
        const char *u2 = "cccccccc-0000-4000-8000-000000000001";
        json_t *urec = json_pack("{s:s, s:s, s:s, s:b}", "id", u2, "name", "many", "domain_id",
                                 "default", "enabled", 1);
        CHECK(store_begin(s, true, &t) == 0);
        CHECK(identity_create(t, idn, IDENTITY_USER, urec) == 0);
        for (int i = 0; i < IDENTITY_MAX_TOKEN_ROLES + 2; i++) {
            char rid[STORE_ID_LEN + 1], name[32];
            store_new_id(rid);
            snprintf(name, sizeof(name), "extra%02d", i);
            json_t *role = json_pack("{s:s, s:s, s:n}", "id", rid, "name", name, "domain_id");
            CHECK(identity_create(t, idn, IDENTITY_ROLE, role) == 0);
            CHECK(identity_assign(t, idn, pid, u2, rid) == 0);
            json_decref(role);
        }
        json_t *adm = NULL;
        CHECK(identity_find(t, idn, IDENTITY_ROLE, NULL, "admin", &adm) == 0);
        CHECK(identity_assign(t, idn, pid, u2, json_string_value(json_object_get(adm, "id"))) == 0);
        json_decref(adm);
        CHECK(store_commit(t) == 0);
        CHECK(store_begin(s, false, &t) == 0);
        char mt[IDENTITY_TOKEN_MAX];
        CHECK(identity_token_issue(t, idn, u2, pid, 1, NULL, 0, &tok, mt) == 0);
        store_abort(t);
        CHECK(tok.n_roles == IDENTITY_MAX_TOKEN_ROLES && (tok.role_flags & IDENTITY_ADMIN));
        CHECK(identity_token_check(idn, mt, &got) == 0 && (got.role_flags & IDENTITY_ADMIN));
        json_decref(urec);
    }

    /* revocation: token, user; and it persists */
    CHECK(store_begin(s, false, &t) == 0);
    char a[IDENTITY_TOKEN_MAX], b[IDENTITY_TOKEN_MAX];
    struct identity_token ta, tb;
    CHECK(identity_token_issue(t, idn, uid, pid, 1, NULL, 0, &ta, a) == 0);
    CHECK(identity_token_issue(t, idn, uid, pid, 1, NULL, 0, &tb, b) == 0);
    store_abort(t);
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(identity_revoke_token(t, idn, &ta) == 0);
    CHECK(store_commit(t) == 0);
    CHECK(identity_token_check(idn, a, &got) == -EKEYREVOKED);
    CHECK(identity_token_check(idn, b, &got) == 0);
    identity_close(idn);
    store_close(s);
    idn = open_idn(state, &s, 3600);
    CHECK(identity_token_check(idn, a, &got) == -EKEYREVOKED);
    CHECK(identity_token_check(idn, b, &got) == 0); /* same key after reopen */
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(identity_revoke_user(t, idn, uid) == 0);
    CHECK(store_commit(t) == 0);
    CHECK(identity_token_check(idn, b, &got) == -EKEYREVOKED);
    usleep(2);
    CHECK(store_begin(s, false, &t) == 0);
    CHECK(identity_token_issue(t, idn, uid, pid, 1, NULL, 0, &ta, a) == 0);
    store_abort(t);
    CHECK(identity_token_check(idn, a, &got) == 0); /* issued after: valid */
    identity_close(idn);
    store_close(s);
    idn = open_idn(state, &s, 3600);
    CHECK(identity_token_check(idn, b, &got) == -EKEYREVOKED);
    CHECK(identity_token_check(idn, a, &got) == 0);

    identity_close(idn);
    store_close(s);
    json_decref(admin);
    json_decref(project);
    json_decref(p2);
    json_decref(dup);
    json_decref(renamed);
    if (t_rm_rf(dir) < 0)
        return 1;
    fprintf(stderr, "identity: %s\n", t_failures ? "FAILED" : "ok");
    return t_failures ? 1 : 0;
}
