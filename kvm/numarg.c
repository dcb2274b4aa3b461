#include "kvm/numarg.h"

#include <errno.h>
#include <stdlib.h>

int parse_uint(const char *s, unsigned long long min, unsigned long long max,
               unsigned long long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
