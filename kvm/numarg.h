/* Numbers on a command line, shared by picostack-vmm and picostack-jailer:
 * a whole decimal number in [min, max], nothing before or after it (no
 * sign, no spaces, no suffix). */
#ifndef PICOSTACK_KVM_NUMARG_H
#define PICOSTACK_KVM_NUMARG_H

/* 0 and *out, or -1 when s is not such a number. */
int parse_uint(const char *s, unsigned long long min, unsigned long long max,
               unsigned long long *out);

#endif
