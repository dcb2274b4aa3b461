/* A progress bar with throughput, drawn on stderr only if it is a
 * terminal (so scripts and tests see clean output). */
#include "tools/common/progress.h"

#include <stdio.h>

#include <time.h>
#include <unistd.h>

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *verb)
{
    p->enabled = isatty(STDERR_FILENO);
    p->verb = verb;
    p->started = now_seconds();
    p->last_draw = 0;
}

static void draw(struct progress *p, double done, double total, double t)
{
    double secs = t - p->started;
    double mbs = secs > 0 ? done / secs / 1e6 : 0;
    int width = 30, fill = total > 0 ? (int)(width * done / total) : 0;
    fprintf(stderr, "\r%s [", p->verb);
    for (int i = 0; i < width; i++)
        fputc(i < fill ? '#' : ' ', stderr);
    if (total > 0)
        fprintf(stderr, "] %3.0f%% %.1f/%.1f MB %.1f MB/s ", 100 * done / total, done / 1e6,
                total / 1e6, mbs);
    else
        fprintf(stderr, "] %.1f MB %.1f MB/s ", done / 1e6, mbs);
}

void progress_update(struct progress *p, double done, double total)
{
    if (!p->enabled)
        return;
    double t = now_seconds();
    if (t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    draw(p, done, total, t);
}

void progress_done(struct progress *p, double done)
{
    double t = now_seconds();
    if (p->enabled) {
        draw(p, done, done, t);
        fputc('\n', stderr);
    }
}
