/* Failed logins: Keystone's account lockout ([security_compliance]
 * lockout_failure_attempts and lockout_duration; off unless configured, as
 * in Keystone) and a per-address limit on failed logins (on by default,
 * generous: picostackd's login_failures_per_min).  Both are counted in
 * memory (a restart forgets them) in small fixed tables: when a table is
 * full the entry seen longest ago gives way, so an attacker cannot make it
 * grow.  The address check comes before the password hash, so a flood of
 * wrong passwords costs no Argon2 time once over the limit. */
#include "api/identity/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TABLE 512

struct counter {
    char key[80];
    unsigned failures;
    int64_t since; /* monotonic seconds: start of the window, or the lockout */
    int64_t seen;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct counter by_addr[TABLE], by_user[TABLE];

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* The entry for key (created, replacing the one seen longest ago). */
static struct counter *find(struct counter *t, const char *key, bool create)
{
    struct counter *oldest = &t[0];
    for (int i = 0; i < TABLE; i++) {
        if (t[i].key[0] && !strcmp(t[i].key, key))
            return &t[i];
        if (!t[i].key[0] || t[i].seen < oldest->seen)
            oldest = &t[i];
    }
    if (!create)
        return NULL;
    memset(oldest, 0, sizeof(*oldest));
    snprintf(oldest->key, sizeof(oldest->key), "%s", key);
    return oldest;
}

bool idn_login_address_ok(struct api_req *r)
{
    unsigned limit = api_server_config(api_req_server(r))->login_failures_per_min;
    if (!limit)
        return true;
    int64_t now = now_s();
    pthread_mutex_lock(&lock);
    struct counter *c = find(by_addr, api_req_client(r), false);
    bool ok = !c || now - c->since >= 60 || c->failures < limit;
    pthread_mutex_unlock(&lock);
    if (!ok) {
        api_reply_header(r, "Retry-After", "60");
        api_reply_error(r, 429, "Too many failed logins from this address; try again later.");
    }
    return ok;
}

bool idn_login_user_locked(struct api_req *r, const char *user_id)
{
    const struct api_config *cfg = api_server_config(api_req_server(r));
    if (!cfg->lockout_failure_attempts || !user_id)
        return false;
    int64_t now = now_s();
    pthread_mutex_lock(&lock);
    struct counter *c = find(by_user, user_id, false);
    bool locked = c && c->failures >= cfg->lockout_failure_attempts &&
                  now - c->since < (int64_t)cfg->lockout_duration_s;
    if (c && c->failures >= cfg->lockout_failure_attempts && !locked)
        memset(c, 0, sizeof(*c)); /* the lockout is over */
    pthread_mutex_unlock(&lock);
    return locked;
}

void idn_login_result(struct api_req *r, const char *user_id, bool ok)
{
    const struct api_config *cfg = api_server_config(api_req_server(r));
    int64_t now = now_s();
    pthread_mutex_lock(&lock);
    if (ok && user_id) {
        struct counter *c = find(by_user, user_id, false);
        if (c)
            memset(c, 0, sizeof(*c));
    } else if (!ok) {
        struct counter *a = find(by_addr, api_req_client(r), true);
        if (now - a->since >= 60) {
            a->failures = 0;
            a->since = now;
        }
        a->failures++;
        a->seen = now;
        if (user_id && cfg->lockout_failure_attempts) {
            struct counter *u = find(by_user, user_id, true);
            if (u->failures < cfg->lockout_failure_attempts)
                u->failures++;
            u->since = now; /* the lockout runs from the last failure */
            u->seen = now;
        }
    }
    pthread_mutex_unlock(&lock);
}
