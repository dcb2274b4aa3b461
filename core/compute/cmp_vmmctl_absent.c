/* Built only while core/vmmctl is not in the tree (its own branch): the
 * vmmctl entry points core/compute links against, all refusing, so that
 * servers are created and listed but every boot ends in error "no
 * hypervisor". Goes away when core/vmmctl is merged. */
#include "core/vmmctl/vmmctl.h"

#include <errno.h>
#include <stdio.h>

int vmmctl_open(const struct vmmctl_config *cfg, struct vmmctl **out, struct vmmctl_err *err)
{
    (void)cfg;
    *out = NULL;
    if (err)
        snprintf(err->msg, sizeof err->msg, "core/vmmctl is not built into this picostackd");
    return -ENOSYS;
}
#define ABSENT(...)     \
    {                   \
        (void)v;        \
        (void)id;       \
        return -ENOSYS; \
    }
void vmmctl_close(struct vmmctl *v)
{
    (void)v;
}
int vmmctl_start(struct vmmctl *v, const struct vmm_spec *spec, struct vmmctl_err *err)
{
    (void)v;
    (void)spec;
    (void)err;
    return -ENOSYS;
}
int vmmctl_stop(struct vmmctl *v, const char *id, unsigned timeout_ms, struct vmmctl_err *err)
{
    (void)timeout_ms;
    (void)err;
    ABSENT();
}
int vmmctl_kill(struct vmmctl *v, const char *id, struct vmmctl_err *err)
{
    (void)err;
    ABSENT();
}
int vmmctl_reboot_soft(struct vmmctl *v, const char *id, struct vmmctl_err *err)
{
    (void)err;
    ABSENT();
}
int vmmctl_pause(struct vmmctl *v, const char *id, bool pause, struct vmmctl_err *err)
{
    (void)pause;
    (void)err;
    ABSENT();
}
int vmmctl_adopt(struct vmmctl *v, const char *id, struct vmmctl_err *err)
{
    (void)err;
    ABSENT();
}
bool vmmctl_running(struct vmmctl *v, const char *id)
{
    (void)v;
    (void)id;
    return false;
}
int vmmctl_console_tail(struct vmmctl *v, const char *id, unsigned lines, char **out)
{
    (void)lines;
    (void)out;
    ABSENT();
}
int vmmctl_forget(struct vmmctl *v, const char *id)
{
    ABSENT();
}
