/* Runs picostack-vmm as a child with its stdin, stdout (the guest's serial
 * port with --serial stdio) and stderr on pipes, and lets a test wait for
 * output, feed input and wait for the exit, each with a deadline. */
#ifndef PICOSTACK_TESTS_KVM_VMRUN_H
#define PICOSTACK_TESTS_KVM_VMRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct outbuf {
    char *data; /* always NUL-terminated */
    size_t len, cap;
};

struct vm {
    pid_t pid;
    int in_fd, out_fd, err_fd; /* -1 once closed */
    struct outbuf out, err;
    bool exited;
    int status;        /* waitpid status once exited */
    double started;    /* monotonic seconds */
    double first_byte; /* seconds from start to the first serial byte, -1 */
};

double now_s(void);

/* argv[0] is the VMM's path. Returns 0 or -errno (message printed). */
int vm_start(struct vm *vm, char *const argv[]);
/* Waits until NEEDLE appears in stdout at or after FROM; returns its offset,
 * or -1 on timeout or when the VMM exited without printing it. */
long vm_wait_output(struct vm *vm, const char *needle, size_t from, double timeout_s);
/* Waits for the VMM to exit; on timeout kills it (SIGKILL) and returns -1,
 * else 0 with vm->status set. */
int vm_wait_exit(struct vm *vm, double timeout_s);
/* Reads what is there for up to timeout_s (also reaps the child). */
void vm_pump(struct vm *vm, double timeout_s);
int vm_write(struct vm *vm, const void *buf, size_t len);
void vm_close_stdin(struct vm *vm);
/* Kills the VMM if it still runs, reaps it and frees the buffers. */
void vm_destroy(struct vm *vm);
/* The exit code, or -1 when it did not exit normally (signal). */
int vm_exit_code(const struct vm *vm);
/* Prints both output streams, for a failing test's log. */
void vm_dump(const struct vm *vm, const char *why);

#endif
