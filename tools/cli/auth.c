/* Authentication: a project-scoped token by the password method at
 * OS_AUTH_URL/v3/auth/tokens, and endpoint look-ups in its catalog. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* OS_AUTH_URL may end in /v3, /v3/, / or nothing: make .../v3. */
static char *identity_v3_url(const char *auth_url)
{
    size_t n = strlen(auth_url);
    while (n && auth_url[n - 1] == '/')
        n--;
    char *u = malloc(n + 4);
    if (!u)
        return NULL;
    memcpy(u, auth_url, n);
    u[n] = '\0';
    if (n < 3 || strcmp(u + n - 3, "/v3") != 0)
        strcat(u, "/v3");
    return u;
}

/* {"name": N} or {"id": I} for a domain, from OS_*_DOMAIN_ID/_NAME. */
static json_t *domain_ref(const char *prefix)
{
    char idv[64], namev[64];
    snprintf(idv, sizeof idv, "OS_%s_DOMAIN_ID", prefix);
    snprintf(namev, sizeof namev, "OS_%s_DOMAIN_NAME", prefix);
    const char *id = env_or(idv, NULL), *name = env_or(namev, NULL);
    if (name && !id)
        return json_pack("{s:s}", "name", name);
    return json_pack("{s:s}", "id", id ? id : "default");
}

static json_t *auth_body(void)
{
    const char *user = env_or("OS_USERNAME", NULL), *user_id = env_or("OS_USER_ID", NULL);
    const char *pw = env_or("OS_PASSWORD", NULL);
    if ((!user && !user_id) || !pw) {
        fprintf(stderr, "picostack: set OS_USERNAME and OS_PASSWORD (or use --rc FILE)\n");
        return NULL;
    }
    json_t *u = user_id ? json_pack("{s:s, s:s}", "id", user_id, "password", pw)
                        : json_pack("{s:s, s:s, s:o}", "name", user, "password", pw, "domain",
                                    domain_ref("USER"));
    json_t *body = json_pack("{s:{s:{s:[s], s:{s:o}}}}", "auth", "identity", "methods", "password",
                             "password", "user", u);
    const char *pid = env_or("OS_PROJECT_ID", env_or("OS_TENANT_ID", NULL));
    const char *pname = env_or("OS_PROJECT_NAME", env_or("OS_TENANT_NAME", NULL));
    json_t *project = pid ? json_pack("{s:s}", "id", pid)
                      : pname
                          ? json_pack("{s:s, s:o}", "name", pname, "domain", domain_ref("PROJECT"))
                          : NULL;
    if (project)
        json_object_set_new(json_object_get(body, "auth"), "scope",
                            json_pack("{s:o}", "project", project));
    return body;
}

int auth_login(struct cli *c)
{
    const char *auth_url = env_or("OS_AUTH_URL", NULL);
    if (!auth_url) {
        fprintf(stderr, "picostack: set OS_AUTH_URL (or use --rc FILE)\n");
        return -1;
    }
    json_t *body = auth_body();
    if (!body)
        return -1;
    char *base = identity_v3_url(auth_url);
    char url[2048];
    snprintf(url, sizeof url, "%s/auth/tokens", base);
    free(base);
    struct http_resp r;
    int rc = http_json(c, "POST", url, body, NULL, &r);
    json_decref(body);
    if (rc < 0)
        return -1;
    if (r.status != 201 && r.status != 200) {
        http_fail("authentication failed", &r);
        http_resp_free(&r);
        return -1;
    }
    json_t *j = http_body_json(&r);
    json_t *token = json_object_get(j, "token");
    if (!json_is_object(token) || !r.subject_token) {
        fprintf(stderr, "picostack: authentication: no token in the answer\n");
        json_decref(j);
        http_resp_free(&r);
        return -1;
    }
    c->token = strdup(r.subject_token);
    c->token_body = json_incref(token);
    json_decref(j);
    http_resp_free(&r);
    return 0;
}

char *auth_endpoint(struct cli *c, const char *type)
{
    const char *iface = env_or("OS_INTERFACE", "public");
    const char *region = env_or("OS_REGION_NAME", NULL);
    size_t i, j;
    json_t *svc, *ep;
    json_array_foreach (json_object_get(c->token_body, "catalog"), i, svc) {
        if (!json_is_string(json_object_get(svc, "type")) ||
            strcmp(json_string_value(json_object_get(svc, "type")), type) != 0)
            continue;
        json_array_foreach (json_object_get(svc, "endpoints"), j, ep) {
            const char *ei = json_string_value(json_object_get(ep, "interface"));
            const char *er = json_string_value(json_object_get(ep, "region_id"));
            if (!er)
                er = json_string_value(json_object_get(ep, "region"));
            const char *url = json_string_value(json_object_get(ep, "url"));
            if (!url || !ei || strcmp(ei, iface) != 0 || (region && er && strcmp(er, region) != 0))
                continue;
            char *u = strdup(url);
            size_t n = strlen(u);
            while (n && u[n - 1] == '/')
                u[--n] = '\0';
            return u;
        }
    }
    fprintf(stderr, "picostack: no %s endpoint (interface %s) in the service catalog\n", type,
            iface);
    return NULL;
}
