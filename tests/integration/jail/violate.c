/* Preloaded into a jailed picostack-vmm by test-jail: right after the
 * VMM's own seccomp filter is loaded (kvm/sandbox.c calls libseccomp's
 * seccomp_load), makes a call the filter forbids, as a VMM taken over by a
 * hostile guest would. The filter is the production one, untouched. */
#include <dlfcn.h>
#include <sys/socket.h>

int seccomp_load(void *ctx);

int seccomp_load(void *ctx)
{
    int (*real)(void *) = (int (*)(void *))dlsym(RTLD_NEXT, "seccomp_load");
    if (!real)
        return -1;
    int r = real(ctx);
    if (r == 0)
        socket(AF_INET, SOCK_STREAM, 0); /* SIGSYS: the VMM reports it and exits 1 */
    return r;
}
