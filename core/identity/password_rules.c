/* Keystone's [security_compliance] password rules, off unless an operator
 * sets them: a minimum length and a regular expression for new
 * passwords, an expiry, and a history of the last N passwords that a
 * user's own change may not reuse (admin resets are not held to it, as in
 * Keystone).  Lockout after failed logins lives elsewhere (auth). */
#include "internal.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct password_rules {
    struct identity_password_rules r;
    char *regex_text, *regex_description;
    regex_t regex;
    bool has_regex;
};

/* One set per process: the rules are fixed before serving. */
static struct password_rules rules;

int identity_set_password_rules(struct identity *idn, const struct identity_password_rules *r)
{
    (void)idn;
    if (rules.has_regex)
        regfree(&rules.regex);
    free(rules.regex_text);
    free(rules.regex_description);
    memset(&rules, 0, sizeof(rules));
    rules.r = *r;
    if (r->regex && *r->regex) {
        if (regcomp(&rules.regex, r->regex, REG_EXTENDED | REG_NOSUB) != 0)
            return -EINVAL;
        rules.has_regex = true;
        rules.regex_text = strdup(r->regex);
        rules.regex_description = strdup(r->regex_description ? r->regex_description : r->regex);
        if (!rules.regex_text || !rules.regex_description)
            return -ENOMEM;
    }
    rules.r.regex = rules.regex_text;
    rules.r.regex_description = rules.regex_description;
    return 0;
}

int identity_password_check(const char *password, char msg[160])
{
    size_t n = strlen(password);
    if (rules.r.min_length && n < rules.r.min_length) {
        snprintf(msg, 160, "Password does not meet the requirements: at least %u characters.",
                 rules.r.min_length);
        return -EINVAL;
    }
    if (rules.has_regex && regexec(&rules.regex, password, 0, NULL, 0) != 0) {
        snprintf(msg, 160, "Password does not meet the requirements: %s.", rules.regex_description);
        return -EINVAL;
    }
    return 0;
}

bool identity_password_reused(const json_t *user_rec, const char *password)
{
    if (!rules.r.history)
        return false;
    if (identity_password_ok(user_rec, password))
        return true;
    size_t i;
    json_t *h;
    json_array_foreach (json_object_get(user_rec, "_password_history"), i, h) {
        json_t *tmp = json_pack("{s:O}", "_password", h);
        bool same = identity_password_ok(tmp, password);
        json_decref(tmp);
        if (same)
            return true;
    }
    return false;
}

int identity_password_store(json_t *user_rec, const char *hash, int64_t now_us)
{
    const char *old = json_string_value(json_object_get(user_rec, "_password"));
    if (rules.r.history > 1 && old) {
        json_t *hist = json_object_get(user_rec, "_password_history");
        if (!json_is_array(hist))
            json_object_set_new(user_rec, "_password_history", hist = json_array());
        json_array_insert_new(hist, 0, json_string(old));
        while (json_array_size(hist) > rules.r.history - 1)
            json_array_remove(hist, json_array_size(hist) - 1);
    }
    if (json_object_set_new(user_rec, "_password", json_string(hash)))
        return -ENOMEM;
    json_t *exp = json_null();
    if (rules.r.expires_days) {
        int64_t at = now_us / 1000000 + (int64_t)rules.r.expires_days * 86400;
        char text[32];
        time_t s = (time_t)at;
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S.000000", &tm);
        exp = json_string(text);
    }
    return json_object_set_new(user_rec, "password_expires_at", exp) ? -ENOMEM : 0;
}

bool identity_password_expired(const json_t *user_rec, int64_t now_us)
{
    const char *s = json_string_value(json_object_get(user_rec, "password_expires_at"));
    struct tm tm = { 0 };
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return false;
    return (int64_t)timegm(&tm) * 1000000 <= now_us;
}
