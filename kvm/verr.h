/* A clear error message travelling with a negative errno.
 *
 * Library code in kvm/ never prints and never exits: a function that fails
 * fills a verr with one sentence saying what was wrong and returns -errno.
 * The caller decides what to do with it (vmm.c prints it and picks the exit
 * status). */
#ifndef PICOSTACK_KVM_VERR_H
#define PICOSTACK_KVM_VERR_H

#include <stdarg.h>
#include <stdio.h>

typedef struct verr {
    char msg[512];
} verr_t;

/* Records the message (if err is not NULL) and returns -code. */
static inline __attribute__((format(printf, 3, 4))) int verr_set(verr_t *err, int code,
                                                                 const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return -code;
}

#endif
