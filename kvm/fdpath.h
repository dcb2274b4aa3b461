/* Files the VMM opens by name, or takes as inherited descriptors: "fd:N"
 * names descriptor N, which the caller left open (picostack-jailer's VMM
 * cannot reach the caller's files by name). Used for --kernel, --initrd and
 * --disk path=; "./fd:N" names a file. */
#ifndef PICOSTACK_KVM_FDPATH_H
#define PICOSTACK_KVM_FDPATH_H

/* open(path, flags | O_CLOEXEC), or a close-on-exec duplicate of N (the
 * inherited one stays open) whose access mode allows flags' (O_RDONLY or
 * O_RDWR). -1 with errno set (EBADF: not a descriptor, or not open for
 * that access). */
int vmm_open_path(const char *path, int flags);

#endif
