/* GET /servers filters that need more than a string compare: the name,
 * ip and ip6 regular expressions (Nova matches them anywhere, as SQL
 * REGEXP does) and the changes-since / changes-before times (ISO 8601, as
 * oslo's parse_isotime reads them; compared with the record's updated). */
#include "api/compute/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* YYYY-MM-DD[Thh:mm[:ss[.frac]]][Z|+hh:mm|-hh:mm|+hhmm]: 0 and *out (UTC),
 * or -EINVAL. */
int cmp_parse_time(const char *s, time_t *out)
{
    struct tm tm = { 0 };
    const char *p = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    if (!p)
        return -EINVAL;
    if (*p == 'T' || *p == ' ') {
        const char *q = strptime(p + 1, "%H:%M:%S", &tm);
        if (!q)
            q = strptime(p + 1, "%H:%M", &tm);
        if (!q)
            return -EINVAL;
        p = q;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++)
                ;
    }
    long off = 0;
    if (*p == 'Z')
        p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 &&
            sscanf(p + 1, "%2d%2d%n", &hh, &mm, &n) != 2)
            return -EINVAL;
        if (hh > 23 || mm > 59)
            return -EINVAL;
        off = sign * (hh * 3600L + mm * 60L);
        p += 1 + n;
    }
    if (*p)
        return -EINVAL;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *out = t - off;
    return 0;
}

static int regex_of(struct api_req *r, const char *key, regex_t *re, bool *has)
{
    const char *v = api_req_query(r, key);
    *has = false;
    if (!v || !*v)
        return 0;
    if (regcomp(re, v, REG_EXTENDED | REG_NOSUB)) {
        api_reply_error(r, 400, "Invalid regular expression in %s: %s", key, v);
        return -EINVAL;
    }
    *has = true;
    return 0;
}

static int time_of(struct api_req *r, const char *key, time_t *at, bool *has)
{
    const char *v = api_req_query(r, key);
    *has = v != NULL;
    if (v && cmp_parse_time(v, at)) {
        api_reply_error(r, 400,
                        "Invalid input for query parameters %s. Value: %s is not a "
                        "valid date-time.",
                        key, v);
        return -EINVAL;
    }
    return 0;
}

int cmp_filters_read(struct api_req *r, struct cmp_filters *f)
{
    memset(f, 0, sizeof *f);
    if (time_of(r, "changes-since", &f->since, &f->has_since) ||
        time_of(r, "changes-before", &f->before, &f->has_before))
        return -EINVAL;
    if (f->has_since && f->has_before && f->before < f->since) {
        api_reply_error(r, 400,
                        "The value of changes-since must be less than or equal to "
                        "changes-before.");
        return -EINVAL;
    }
    if (regex_of(r, "name", &f->name, &f->has_name))
        return -EINVAL;
    if (regex_of(r, "ip", &f->ip, &f->has_ip) || regex_of(r, "ip6", &f->ip6, &f->has_ip6)) {
        cmp_filters_free(f);
        return -EINVAL;
    }
    return 0;
}

void cmp_filters_free(struct cmp_filters *f)
{
    if (f->has_name)
        regfree(&f->name);
    if (f->has_ip)
        regfree(&f->ip);
    if (f->has_ip6)
        regfree(&f->ip6);
    f->has_name = f->has_ip = f->has_ip6 = false;
}

/* Whether one of rec's fixed addresses of the family matches re. */
static bool address_matches(const json_t *rec, const regex_t *re, bool v6)
{
    json_t *p, *ip;
    size_t i, k;
    json_array_foreach (json_object_get(rec, "ports"), i, p)
        json_array_foreach (json_object_get(p, "fixed_ips"), k, ip) {
            const char *a = json_string_value(json_object_get(ip, "ip_address"));
            if (a && (strchr(a, ':') != NULL) == v6 && !regexec(re, a, 0, NULL, 0))
                return true;
        }
    return false;
}

bool cmp_filters_match(const struct cmp_filters *f, const json_t *rec)
{
    if (f->has_name &&
        regexec(&f->name, json_string_value(json_object_get(rec, "name")) ?: "", 0, NULL, 0))
        return false;
    if (f->has_ip && !address_matches(rec, &f->ip, false))
        return false;
    if (f->has_ip6 && !address_matches(rec, &f->ip6, true))
        return false;
    if (f->has_since || f->has_before) {
        time_t upd;
        if (cmp_parse_time(json_string_value(json_object_get(rec, "updated")), &upd))
            return false;
        if ((f->has_since && upd < f->since) || (f->has_before && upd > f->before))
            return false;
    }
    return true;
}
