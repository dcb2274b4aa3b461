/* Raw terminal mode for --serial stdio (see terminal.c). */
#ifndef PICOSTACK_KVM_TERMINAL_H
#define PICOSTACK_KVM_TERMINAL_H

/* If stdin is a terminal: remember its settings, make it raw, and arrange
 * for restore_terminal() at exit and on fatal signals. */
void raw_terminal(void);
/* Puts the terminal back as it was (no-op if raw_terminal() did nothing). */
void restore_terminal(void);

#endif
