/* core/identity: the Keystone v3 model of picostackd, no HTTP.
 *
 *  - Records (domains, projects, users, roles) are JSON objects in the
 *    control-plane store, shaped as the Keystone API shows them; fields
 *    whose name starts with '_' are private (e.g. "_password") and
 *    identity_public() strips them.  Names are unique per kind and scope
 *    (domains and roles globally, projects and users within their domain)
 *    through a name index kept in the same transaction.
 *  - Role assignments: (project, user, role) triples.
 *  - Tokens: self-contained, MAC'd (libsodium keyed BLAKE2b) binary blobs,
 *    base64url.  They carry user, project, roles and times, so checking one
 *    (identity_token_check) reads no database: a MAC, an expiry test and two
 *    lookups in in-memory revocation maps (revoked audit ids, and a per-user
 *    and per-project "not before" time), persisted in LMDB.
 *  - Passwords: Argon2id (crypto_pwhash) at IDENTITY_PWHASH_MEMLIMIT /
 *    IDENTITY_PWHASH_OPSLIMIT.  The hashing is CPU-heavy: callers run it off
 *    their request threads.
 * Functions return 0 or a negative errno.
 */
#ifndef PICOSTACK_IDENTITY_H
#define PICOSTACK_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "core/store/store.h"

#define IDENTITY_PWHASH_MEMLIMIT (19u << 20) /* OWASP minimum for Argon2id */
#define IDENTITY_PWHASH_OPSLIMIT 2u
#define IDENTITY_MAX_TOKEN_ROLES 16
#define IDENTITY_TOKEN_MAX       512  /* text form, with NUL */
#define IDENTITY_DEFAULT_TTL     3600 /* seconds */
#define IDENTITY_DEFAULT_DOMAIN  "default"

/* The kinds of record.  Names are unique (a name index) for domains
 * (globally), projects, users, groups and roles (within their domain_id; a
 * role with a null domain_id is global) and application credentials (per
 * user_id); the other kinds have no unique name. */
enum identity_kind {
    IDENTITY_DOMAIN,
    IDENTITY_PROJECT,
    IDENTITY_USER,
    IDENTITY_ROLE,
    IDENTITY_GROUP,
    IDENTITY_REGION,
    IDENTITY_SERVICE,
    IDENTITY_ENDPOINT,
    IDENTITY_CREDENTIAL, /* /v3/credentials, EC2 credentials among them */
    IDENTITY_POLICY,
    IDENTITY_APP_CRED,
    IDENTITY_ACCESS_RULE,
    IDENTITY_TRUST,
    IDENTITY_CONSUMER, /* OS-OAUTH1 consumers */
    IDENTITY_ENDPOINT_GROUP,
    IDENTITY_DOMAIN_CONFIG, /* id: the domain's id */
    IDENTITY_KINDS
};

/* Effective role flags carried by a token: admin implies member implies reader. */
enum { IDENTITY_READER = 1, IDENTITY_MEMBER = 2, IDENTITY_ADMIN = 4 };
enum {
    IDENTITY_METHOD_PASSWORD = 1,
    IDENTITY_METHOD_TOKEN = 2,
    IDENTITY_METHOD_APP_CRED = 4, /* application_credential */
};
/* What a token is scoped to. */
enum identity_scope {
    IDENTITY_SCOPE_NONE,
    IDENTITY_SCOPE_PROJECT,
    IDENTITY_SCOPE_DOMAIN,
    IDENTITY_SCOPE_SYSTEM,
};

struct identity;

struct identity_token {
    char user_id[STORE_ID_LEN + 1];
    char project_id[STORE_ID_LEN + 1]; /* "" unless project-scoped */
    char domain_id[STORE_ID_LEN + 1];  /* "" unless domain-scoped */
    enum identity_scope scope;
    char trust_id[STORE_ID_LEN + 1];    /* "" unless trust-scoped */
    char app_cred_id[STORE_ID_LEN + 1]; /* "" unless from an application credential */
    int64_t issued_us, expires_us;      /* Unix time, microseconds */
    unsigned char audit[16];
    unsigned methods;    /* IDENTITY_METHOD_* bits */
    unsigned role_flags; /* IDENTITY_ADMIN/MEMBER/READER */
    unsigned n_roles;
    char role_ids[IDENTITY_MAX_TOKEN_ROLES][STORE_ID_LEN + 1];
};

/* Opens identity's tables in s, loads (or makes) the token key and the
 * revocation lists.  Call before serving. ttl_s: token lifetime. */
int identity_open(struct store *s, int ttl_s, struct identity **out);
void identity_close(struct identity *idn);
struct store *identity_store(struct identity *idn);

/* First start: default domain, admin project, roles admin/member/reader,
 * user admin (random password, written to password_out) with role admin on
 * project admin.  *created = false (and nothing changes) when the store
 * already has the default domain. */
int identity_bootstrap(struct identity *idn, char password_out[33], bool *created);
/* The same in steps, so that a caller can keep the password safe before it
 * is committed: is the setup still to do (1), done (0), or -errno; a fresh
 * random password; and the setup with that password. */
int identity_bootstrap_needed(struct identity *idn);
void identity_new_password(char out[33]);
int identity_bootstrap_with(struct identity *idn, const char *password, bool *created);

/* Records.  scope is the name's scope: the domain id for projects, users,
 * groups and domain roles, the user id for application credentials, NULL
 * otherwise. */
int identity_get(struct store_txn *t, struct identity *idn, enum identity_kind k, const char *id,
                 json_t **out);
int identity_find(struct store_txn *t, struct identity *idn, enum identity_kind k,
                  const char *scope, const char *name, json_t **out);
/* All records of a kind, in id order: calls fn(rec, ctx) (rec borrowed). */
int identity_list(struct store_txn *t, struct identity *idn, enum identity_kind k,
                  int (*fn)(json_t *rec, void *ctx), void *ctx);
/* rec must have "id", and "name" for the named kinds (and "domain_id" for
 * projects, users and groups).  -EEXIST when the id, or the name in its
 * scope, is taken. */
int identity_create(struct store_txn *t, struct identity *idn, enum identity_kind k, json_t *rec);
/* Replaces the record (same id); re-indexes a changed name. */
int identity_update(struct store_txn *t, struct identity *idn, enum identity_kind k,
                    const json_t *old, json_t *rec);
/* Deletes the record, its name index and every grant, group membership
 * and implied-role rule naming it. */
int identity_delete(struct store_txn *t, struct identity *idn, enum identity_kind k,
                    const json_t *rec);
/* A copy of rec without its private ('_') fields. */
json_t *identity_public(const json_t *rec);
const char *identity_kind_name(enum identity_kind k); /* "project" ... */

/* Grants (role assignments), Keystone's model: an actor (a user or group
 * id) holds a role on a target (a project id, a domain id, or "system").
 * An inherited grant (OS-INHERIT) applies to the projects below its target
 * (the projects of a domain, the subtree of a project), not to the target. */
#define IDENTITY_SYSTEM "system"
struct identity_grant {
    const char *target, *actor, *role;
    bool inherited;
};
/* add: create (idempotent) or delete (-ENOENT if absent). */
int identity_grant_set(struct store_txn *t, struct identity *idn, const struct identity_grant *g,
                       bool add);
bool identity_grant_exists(struct store_txn *t, struct identity *idn,
                           const struct identity_grant *g);
/* NULL filters match anything; inherited: 0 direct, 1 inherited, -1 both. */
int identity_grants(struct store_txn *t, struct identity *idn, const char *target,
                    const char *actor, const char *role, int inherited,
                    int (*fn)(const struct identity_grant *g, void *ctx), void *ctx);

/* Group membership. */
int identity_member_set(struct store_txn *t, struct identity *idn, const char *group,
                        const char *user, bool add); /* remove: -ENOENT if absent */
bool identity_is_member(struct store_txn *t, struct identity *idn, const char *group,
                        const char *user);
/* NULL filters match anything. */
int identity_members(struct store_txn *t, struct identity *idn, const char *group, const char *user,
                     int (*fn)(const char *group, const char *user, void *ctx), void *ctx);

/* Implied roles: holding prior gives implied too (one level per rule;
 * identity_effective_roles follows chains). */
int identity_imply_set(struct store_txn *t, struct identity *idn, const char *prior,
                       const char *implied, bool add);
bool identity_implies(struct store_txn *t, struct identity *idn, const char *prior,
                      const char *implied);
int identity_implications(struct store_txn *t, struct identity *idn, const char *prior,
                          int (*fn)(const char *prior, const char *implied, void *ctx), void *ctx);

/* The roles user holds on target (a project, a domain id, or "system"), as
 * Keystone computes them: grants to the user and to its groups, grants
 * inherited from the project's ancestors and domain, and the roles those
 * imply.  Returns a new JSON object whose keys are the role ids, with
 * *out; 0 or -errno. */
int identity_effective_roles(struct store_txn *t, struct identity *idn, const char *user,
                             const char *target, json_t **out);

/* Role assignments: the direct user-on-project grants (the older API). */
int identity_assign(struct store_txn *t, struct identity *idn, const char *project,
                    const char *user, const char *role);
int identity_unassign(struct store_txn *t, struct identity *idn, const char *project,
                      const char *user, const char *role); /* -ENOENT if absent */
bool identity_has_assignment(struct store_txn *t, struct identity *idn, const char *project,
                             const char *user, const char *role);
/* NULL filters match anything. */
int identity_assignments(struct store_txn *t, struct identity *idn, const char *project,
                         const char *user, const char *role,
                         int (*fn)(const char *project, const char *user, const char *role,
                                   void *ctx),
                         void *ctx);

/* Passwords (slow on purpose; call off request threads).  password_ok with
 * a NULL record (unknown user) costs one verification too. */
int identity_password_hash(const char *password, json_t *user_rec); /* sets "_password" */
bool identity_password_ok(const json_t *user_rec, const char *password);

/* Keystone's password rules ([security_compliance]), all off (0/NULL) by
 * default; set once before serving.  -EINVAL: the regex does not compile. */
struct identity_password_rules {
    unsigned min_length;           /* new passwords at least this long */
    const char *regex;             /* POSIX extended regex new passwords match */
    const char *regex_description; /* said when one does not */
    unsigned expires_days;         /* passwords expire this long after set */
    unsigned history;              /* a user's own change may not reuse its last N */
};
int identity_set_password_rules(struct identity *idn, const struct identity_password_rules *r);
/* 0, or -EINVAL with why in msg. */
int identity_password_check(const char *password, char msg[160]);
/* Is password one of the user's last `history` passwords? (slow: one
 * verification each) */
bool identity_password_reused(const json_t *user_rec, const char *password);
/* Stores a new hash (from identity_password_hash) in the record: keeps the
 * history and sets password_expires_at. */
int identity_password_store(json_t *user_rec, const char *hash, int64_t now_us);
bool identity_password_expired(const json_t *user_rec, int64_t now_us);

/* Tokens. identity_token_issue fills tok from user/project (roles read in
 * t) and writes its text.  -EACCES: no role on that project. */
int identity_token_issue(struct store_txn *t, struct identity *idn, const char *user_id,
                         const char *project_id, unsigned methods,
                         const unsigned char *audit /* NULL = new */,
                         int64_t expires_us /* 0 = now + ttl */, struct identity_token *tok,
                         char text[IDENTITY_TOKEN_MAX]);
/* The general form: what to scope to and which roles to carry.  req->scope
 * and the ids say the scope; roles (a JSON object keyed by role id, NULL:
 * the user's effective roles on the scope) are the roles the token carries
 * (application credentials and trusts pass their own).  -EACCES when a
 * scoped token would carry no role. */
struct identity_token_req {
    const char *user_id;
    enum identity_scope scope;
    const char *target; /* project or domain id for those scopes */
    const char *trust_id, *app_cred_id;
    unsigned methods;
    const unsigned char *audit; /* NULL = new */
    int64_t expires_us;         /* 0 = now + ttl */
    const json_t *roles;
};
int identity_token_issue_req(struct store_txn *t, struct identity *idn,
                             const struct identity_token_req *req, struct identity_token *tok,
                             char text[IDENTITY_TOKEN_MAX]);
/* Verifies MAC, expiry and revocation: 0, -EINVAL (bad), -ETIMEDOUT
 * (expired), -EKEYREVOKED (revoked). No database read. */
int identity_token_check(struct identity *idn, const char *text, struct identity_token *tok);
void identity_audit_text(const unsigned char audit[16], char out[23]);

/* Revocation, persisted in t (commit it). */
int identity_revoke_token(struct store_txn *t, struct identity *idn,
                          const struct identity_token *tok);
int identity_revoke_user(struct store_txn *t, struct identity *idn, const char *user_id);
int identity_revoke_project(struct store_txn *t, struct identity *idn, const char *project_id);
/* The user's tokens scoped to scope_id (a project or domain id) issued
 * before now: a grant there was removed. */
int identity_revoke_user_scope(struct store_txn *t, struct identity *idn, const char *user_id,
                               const char *scope_id);
/* Tokens issued before now for any of: a domain (its scope), a trust, an
 * application credential (id a store id). */
int identity_revoke_scope(struct store_txn *t, struct identity *idn, const char *id);
/* The in-memory side takes effect at once (a failed commit at worst
 * revokes more, never less). */

int64_t identity_now_us(void);

/* A counter that changes after every committed identity change: callers
 * that cache renderings of records compare it (call identity_changed after
 * each successful commit of an identity write). */
uint64_t identity_generation(struct identity *idn);
void identity_changed(struct identity *idn);

#endif
