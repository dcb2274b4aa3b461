/* See check.h. */
#include "tests/support/check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int t_failures, t_checks;

void t_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int t_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, t_checks, t_failures);
    return t_failures ? 1 : 0;
}

/* A failed CHECK fails the process, even where main() forgot t_done(). */
static void exit_guard(void)
{
    if (t_failures) {
        fflush(NULL);
        _exit(1);
    }
}

__attribute__((constructor)) static void install_exit_guard(void)
{
    atexit(exit_guard);
}
