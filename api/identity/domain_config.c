/* Keystone's domain-specific configuration (/v3/domains/{id}/config[/{group}
 * [/{option}]] and the defaults under /v3/domains/config/...), admin only.
 * Keystone accepts the groups "identity" and "ldap"; picostack stores what
 * the admin sets (one record per domain) and reports it, with no LDAP
 * driver behind it. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The defaults Keystone shows (its [identity] and [ldap] options). */
static json_t *defaults(void)
{
    json_t *identity = json_pack("{s:s, s:n}", "driver", "sql", "list_limit");
    json_t *ldap = json_object();
    static const char *const strings[][2] = {
        { "url", "ldap://localhost" },           { "query_scope", "one" },
        { "user_objectclass", "inetOrgPerson" }, { "user_id_attribute", "cn" },
        { "user_name_attribute", "sn" },         { "group_objectclass", "groupOfNames" },
    };
    static const char *const nulls[] = { "user",        "suffix",        "user_tree_dn",
                                         "user_filter", "group_tree_dn", "group_filter" };
    for (size_t i = 0; i < API_COUNT(strings); i++)
        json_object_set_new(ldap, strings[i][0], json_string(strings[i][1]));
    for (size_t i = 0; i < API_COUNT(nulls); i++)
        json_object_set_new(ldap, nulls[i], json_null());
    return json_pack("{s:o, s:o}", "identity", identity, "ldap", ldap);
}

static bool known_group(const char *g)
{
    return g && (!strcmp(g, "identity") || !strcmp(g, "ldap"));
}

/* Replies the part of cfg the path names ({group} {option} from index i). */
static void reply_part(struct api_req *r, json_t *cfg, unsigned i, int status)
{
    const char *group = api_req_param(r, i), *opt = group ? api_req_param(r, i + 1) : NULL;
    if (!group) {
        api_reply_json(r, status, json_pack("{s:O}", "config", cfg));
        return;
    }
    json_t *g = json_object_get(cfg, group);
    if (!known_group(group) || !g) {
        api_reply_error(r, known_group(group) ? 404 : 403, "Could not find config group: %s.",
                        group);
        return;
    }
    if (!opt) {
        api_reply_json(r, status, json_pack("{s:{s:O}}", "config", group, g));
        return;
    }
    json_t *v = json_object_get(g, opt);
    if (!v) {
        api_reply_error(r, 404, "Could not find config option: %s.", opt);
        return;
    }
    api_reply_json(r, status, json_pack("{s:{s:O}}", "config", opt, v));
}

void idn_domain_config_default(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    json_t *cfg = defaults();
    reply_part(r, cfg, 0, 200);
    json_decref(cfg);
}

/* The domain's stored config (*rec, may be NULL), after checking the
 * domain exists; false when answered. */
static bool load(struct api_req *r, struct store_txn *t, json_t **rec)
{
    json_t *d;
    const char *id = api_req_param(r, 0);
    int rc = identity_get(t, idn_of(r), IDENTITY_DOMAIN, id, &d);
    if (rc) {
        idn_fail(r, rc, "domain", id);
        return false;
    }
    json_decref(d);
    *rec = NULL;
    identity_get(t, idn_of(r), IDENTITY_DOMAIN_CONFIG, id, rec);
    return true;
}

void idn_domain_config_show(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec;
    if (load(r, t, &rec)) {
        if (!rec)
            api_reply_error(r, 404, "Could not find config for domain %s.", api_req_param(r, 0));
        else
            reply_part(r, json_object_get(rec, "config"), 1, 200);
    }
    store_abort(t);
    json_decref(rec);
}

/* Checks a config body: groups known, each an object. */
static bool valid(struct api_req *r, json_t *cfg)
{
    const char *g;
    json_t *v;
    if (!json_is_object(cfg) || !json_object_size(cfg)) {
        api_reply_error(r, 400, "Invalid input for field 'config': an object is required.");
        return false;
    }
    json_object_foreach (cfg, g, v) {
        if (!known_group(g)) {
            api_reply_error(r, 403,
                            "Group %s is not supported for domain specific "
                            "configurations.",
                            g);
            return false;
        }
        if (!json_is_object(v)) {
            api_reply_error(r, 400, "Invalid input for field 'config.%s'.", g);
            return false;
        }
    }
    return true;
}

/* PUT (create: 201, replaces), PATCH (merge at the path's level), DELETE. */
static void change(struct api_req *r, char op)
{
    if (!api_req_require_admin(r))
        return;
    const char *group = api_req_param(r, 1), *opt = group ? api_req_param(r, 2) : NULL;
    json_t *body = NULL, *in = NULL;
    if (op != 'D') {
        if (!(body = api_req_json(r)))
            return;
        in = json_object_get(body, "config");
        /* an option's body is {"config": {"<option>": value}} */
        json_t *check = opt ? json_pack("{s:O}", group, in ? in : json_null()) : json_incref(in);
        bool ok = (!opt || json_is_object(in)) && valid(r, check);
        json_decref(check);
        if (!ok) {
            json_decref(body);
            return;
        }
    }
    struct store_txn *t = api_txn_begin(r, true);
    json_t *rec = NULL;
    if (!t || !load(r, t, &rec)) {
        if (t)
            store_abort(t);
        json_decref(body);
        return;
    }
    bool fresh = !rec;
    if (fresh && op != 'P') {
        store_abort(t);
        json_decref(body);
        api_reply_error(r, 404, "Could not find config for domain %s.", api_req_param(r, 0));
        return;
    }
    json_t *old = rec; /* owned: released at the end */
    if (fresh || (op == 'P' && !group))
        rec = json_pack("{s:s, s:O}", "id", api_req_param(r, 0), "config", in);
    else
        rec = json_deep_copy(old);
    json_t *cfg = json_object_get(rec, "config");
    int rc = 0;
    if (op == 'U' && !group)
        json_object_update_recursive(cfg, in);
    else if (op == 'U' && !opt)
        json_object_update(json_object_get(cfg, group) ?: cfg, json_object_get(in, group));
    else if (op == 'U')
        json_object_update(json_object_get(cfg, group) ?: cfg, in);
    else if (op == 'D' && opt)
        rc = json_object_del(json_object_get(cfg, group), opt) ? -ENOENT : 0;
    else if (op == 'D' && group)
        rc = json_object_del(cfg, group) ? -ENOENT : 0;
    if (!rc && op == 'D' && !group)
        rc = identity_delete(t, idn_of(r), IDENTITY_DOMAIN_CONFIG, old);
    else if (!rc)
        rc = old ? identity_update(t, idn_of(r), IDENTITY_DOMAIN_CONFIG, old, rec)
                 : identity_create(t, idn_of(r), IDENTITY_DOMAIN_CONFIG, rec);
    json_decref(body);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "config", group);
    } else if (idn_commit(r, t)) {
        if (op == 'D')
            api_reply_empty(r, 204);
        else /* Keystone answers the whole configuration */
            api_reply_json(r, fresh ? 201 : 200, json_pack("{s:O}", "config", cfg));
    }
    json_decref(old);
    json_decref(rec);
}

void idn_domain_config_create(struct api_req *r)
{
    change(r, 'P');
}

void idn_domain_config_update(struct api_req *r)
{
    change(r, 'U');
}

void idn_domain_config_delete(struct api_req *r)
{
    change(r, 'D');
}
