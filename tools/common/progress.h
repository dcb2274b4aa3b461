/* Shared by the command-line tools (picostack, picostack-img): a progress
 * bar with throughput on stderr, drawn only if stderr is a terminal (so
 * scripts and tests see clean output). */
#ifndef PICOSTACK_TOOLS_PROGRESS_H
#define PICOSTACK_TOOLS_PROGRESS_H

#include <stdbool.h>

struct progress {
    bool enabled;     /* stderr is a terminal */
    const char *verb; /* "upload" / "download" / "import" */
    double started, last_draw;
};
void progress_init(struct progress *p, const char *verb);
/* At most ten redraws a second; total 0: unknown. */
void progress_update(struct progress *p, double done, double total);
/* The final bar and a newline. */
void progress_done(struct progress *p, double done);
/* CLOCK_MONOTONIC in seconds. */
double now_seconds(void);

#endif
