/* The user's terminal while the guest owns it: raw (every key goes to the
 * guest's serial port), and restored on every way out: normal return,
 * exit(), and fatal signals. */
#include "kvm/terminal.h"

#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_termios;
static int termios_saved;

void restore_terminal(void)
{
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        termios_saved = 0;
    }
}

/* A crash must not leave the user's terminal raw: restore, then die as
 * the signal says (the handler is reset by SA_RESETHAND). */
static void restore_terminal_and_die(int sig)
{
    if (termios_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    raise(sig);
}

/* Only a controlling terminal can stop us (SIGTTIN/SIGTTOU). A terminal
 * that is not one, such as /dev/console handed down by init (tcgetpgrp
 * fails with ENOTTY), is ours to read and make raw. */
bool terminal_in_background(void)
{
    if (!isatty(STDIN_FILENO))
        return false;
    pid_t foreground = tcgetpgrp(STDIN_FILENO);
    return foreground >= 0 && foreground != getpgrp();
}

void raw_terminal(void)
{
    /* In the background, touching the terminal would stop us (SIGTTOU). */
    if (!isatty(STDIN_FILENO) || terminal_in_background() ||
        tcgetattr(STDIN_FILENO, &saved_termios) < 0)
        return;
    termios_saved = 1;
    atexit(restore_terminal);
    struct sigaction sa = { .sa_handler = restore_terminal_and_die, .sa_flags = SA_RESETHAND };
    sigemptyset(&sa.sa_mask);
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT };
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        sigaction(fatal[i], &sa, NULL);
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}
