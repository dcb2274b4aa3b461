/* Keystone's plainer admin resources, each a stored record kept as its
 * body says: /v3/credentials, /v3/policies, OS-OAUTH1 consumers and
 * OS-EP-FILTER endpoint groups (admin only, as Keystone's default
 * policy), and the EC2 credentials a user keeps for itself
 * (/v3/users/{id}/credentials/OS-EC2). */
#include "api/identity/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_CRUD(name, kind)                    \
    void idn_##name##_list(struct api_req *r)     \
    {                                             \
        if (api_req_require_admin(r))             \
            idn_entity_list(r, kind, NULL, NULL); \
    }                                             \
    void idn_##name##_show(struct api_req *r)     \
    {                                             \
        if (api_req_require_admin(r))             \
            idn_entity_show(r, kind, true);       \
    }                                             \
    void idn_##name##_create(struct api_req *r)   \
    {                                             \
        idn_entity_create(r, kind);               \
    }                                             \
    void idn_##name##_update(struct api_req *r)   \
    {                                             \
        idn_entity_update(r, kind);               \
    }                                             \
    void idn_##name##_delete(struct api_req *r)   \
    {                                             \
        idn_entity_delete(r, kind);               \
    }

ADMIN_CRUD(credential, IDENTITY_CREDENTIAL)
ADMIN_CRUD(policy, IDENTITY_POLICY)
ADMIN_CRUD(consumer, IDENTITY_CONSUMER)
ADMIN_CRUD(endpoint_group, IDENTITY_ENDPOINT_GROUP)

/* ---------- EC2 credentials ---------- */

static bool own_or_admin(struct api_req *r)
{
    if (api_req_is_admin(r) || !strcmp(api_req_param(r, 0), idn_me(r)))
        return true;
    api_reply_error(r, 403, "You are not authorized to perform the requested action.");
    return false;
}

/* The EC2 view of a stored credential of type ec2. */
static json_t *ec2_view(struct api_req *r, json_t *rec)
{
    json_t *blob = json_loads(json_string_value(json_object_get(rec, "blob")) ?: "{}", 0, NULL);
    const char *user = json_string_value(json_object_get(rec, "user_id"));
    char path[200];
    snprintf(path, sizeof(path), "/users/%s/credentials/OS-EC2/%%s", user ? user : "");
    json_t *out = json_pack(
        "{s:O?, s:O?, s:O?, s:O?, s:O?, s:o}", "access", json_object_get(blob, "access"), "secret",
        json_object_get(blob, "secret"), "user_id", json_object_get(rec, "user_id"), "tenant_id",
        json_object_get(rec, "project_id"), "trust_id", json_object_get(blob, "trust_id"), "links",
        idn_links(r, path, json_string_value(json_object_get(blob, "access"))));
    json_decref(blob);
    return out;
}

void idn_ec2_create(struct api_req *r)
{
    if (!own_or_admin(r))
        return;
    json_t *body = api_req_json(r);
    if (!body)
        return;
    const char *project = json_string_value(json_object_get(body, "tenant_id"));
    char project_id[STORE_MAX_KEY];
    snprintf(project_id, sizeof(project_id), "%s", project ? project : "");
    if (!project) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field 'tenant_id': a string is required.");
        return;
    }
    unsigned char raw[32];
    char access[33], secret[33], id[STORE_ID_LEN + 1];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(access, sizeof(access), raw, 16);
    sodium_bin2hex(secret, sizeof(secret), raw + 16, 16);
    store_new_id(id);
    json_t *blob = json_pack("{s:s, s:s, s:n}", "access", access, "secret", secret, "trust_id");
    char *blob_text = json_dumps(blob, JSON_COMPACT);
    json_decref(blob);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "user_id", api_req_param(r, 0),
                            "project_id", project_id, "type", "ec2", "blob", blob_text ?: "{}");
    free(blob_text);
    json_decref(body);
    project = project_id;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(rec);
        return;
    }
    json_t *check;
    int rc = identity_get(t, idn_of(r), IDENTITY_USER, api_req_param(r, 0), &check);
    if (!rc) {
        json_decref(check);
        rc = identity_get(t, idn_of(r), IDENTITY_PROJECT, project, &check);
        if (!rc)
            json_decref(check);
    }
    if (!rc)
        rc = identity_create(t, idn_of(r), IDENTITY_CREDENTIAL, rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, rc == -ENOENT ? "user or project" : "credential", NULL);
    } else if (idn_commit(r, t)) {
        api_reply_json(r, 201, json_pack("{s:o}", "credential", ec2_view(r, rec)));
    }
    json_decref(rec);
}

struct ec2_find {
    struct api_req *r;
    const char *user, *access;
    json_t *out; /* a list of views, or the one record */
};

static int ec2_one(json_t *rec, void *ctx)
{
    struct ec2_find *f = ctx;
    if (strcmp(json_string_value(json_object_get(rec, "type")) ?: "", "ec2") ||
        strcmp(json_string_value(json_object_get(rec, "user_id")) ?: "", f->user))
        return 0;
    if (!f->access) {
        json_array_append_new(f->out, ec2_view(f->r, rec));
        return 0;
    }
    json_t *blob = json_loads(json_string_value(json_object_get(rec, "blob")) ?: "{}", 0, NULL);
    bool match = !strcmp(json_string_value(json_object_get(blob, "access")) ?: "", f->access);
    json_decref(blob);
    if (match && !f->out)
        f->out = json_incref(rec);
    return 0;
}

void idn_ec2_list(struct api_req *r)
{
    if (!own_or_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    struct ec2_find f = { r, api_req_param(r, 0), NULL, json_array() };
    int rc = identity_list(t, idn_of(r), IDENTITY_CREDENTIAL, ec2_one, &f);
    store_abort(t);
    if (rc) {
        json_decref(f.out);
        idn_fail(r, rc, "credentials", NULL);
        return;
    }
    char path[128];
    snprintf(path, sizeof(path), "/users/%s/credentials/OS-EC2", f.user);
    idn_reply_collection(r, "credentials", path, f.out);
}

/* The user's ec2 credential {1} in t: the record, or replies 404. */
static json_t *ec2_get(struct api_req *r, struct store_txn *t)
{
    struct ec2_find f = { r, api_req_param(r, 0), api_req_param(r, 1), NULL };
    int rc = identity_list(t, idn_of(r), IDENTITY_CREDENTIAL, ec2_one, &f);
    if (rc || !f.out) {
        json_decref(f.out);
        idn_fail(r, rc ? rc : -ENOENT, "credential", api_req_param(r, 1));
        return NULL;
    }
    return f.out;
}

void idn_ec2_show(struct api_req *r)
{
    if (!own_or_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec = ec2_get(r, t);
    store_abort(t);
    if (rec) {
        api_reply_json(r, 200, json_pack("{s:o}", "credential", ec2_view(r, rec)));
        json_decref(rec);
    }
}

void idn_ec2_delete(struct api_req *r)
{
    if (!own_or_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec = ec2_get(r, t);
    if (!rec) {
        store_abort(t);
        return;
    }
    int rc = identity_delete(t, idn_of(r), IDENTITY_CREDENTIAL, rec);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "credential", api_req_param(r, 1));
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}
