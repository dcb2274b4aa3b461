/* Raw terminal mode for --serial stdio (see terminal.c). */
#ifndef PICOSTACK_KVM_TERMINAL_H
#define PICOSTACK_KVM_TERMINAL_H

#include <stdbool.h>

/* If stdin is a terminal: remember its settings, make it raw, and arrange
 * for restore_terminal() at exit and on fatal signals. */
void raw_terminal(void);
/* stdin is a terminal whose foreground is another process group (we were
 * started with &): reading it or changing its mode would stop us. */
bool terminal_in_background(void);
/* Puts the terminal back as it was (no-op if raw_terminal() did nothing). */
void restore_terminal(void);

#endif
