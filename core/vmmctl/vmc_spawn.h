/* Starting a detached child with chosen descriptors (vmc_spawn.c). */
#ifndef PICOSTACK_VMMCTL_SPAWN_H
#define PICOSTACK_VMMCTL_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* Runs argv[0] (an absolute path) with argv, in a new session, inheriting
 * keep[] (all >= 3) and nothing else besides stdin (/dev/null) and stdout/
 * stderr (log_path, appended to). Returns once the exec has happened: 0 with
 * *pid and a pidfd, or -errno with a reason in why. */
int vmc_spawn(char *const argv[], const int *keep, int nkeep, const char *log_path, pid_t *pid,
              int *pidfd, char *why, size_t whylen);

#endif
