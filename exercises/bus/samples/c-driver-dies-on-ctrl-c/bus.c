/*
 * bus.c -- faulty: the driver never ignores SIGINT. Only the conductor was meant to react to
 * Ctrl-C, but the key reaches the whole foreground process group, so the driver is killed
 * by it (the default action) and no line 1 is ever printed. Otherwise correct (printf with
 * fflush, signal() everywhere, the driver waits with wait()). Should fail ctrl-c alone: repeat
 * then sends SIGINT to the conductor alone in place of Ctrl-C and passes, handlers (the same
 * disposition) is ctrl-c's consequence, and the other checks are graded on fresh runs and pass.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int child;

void usr1_driver(int s)
{
    printf("老司机开车了\n");
    fflush(stdout);
}

void usr2_driver(int s)
{
    printf("系好安全带，车速有点快\n");
    fflush(stdout);
}

void tstp_driver(int s)
{
    kill(child, SIGUSR1);
}

void int_conductor(int s)
{
    kill(getppid(), SIGUSR1);
}

void quit_conductor(int s)
{
    kill(getppid(), SIGUSR2);
}

void usr1_conductor(int s)
{
    printf("到站了，请下车\n");
    fflush(stdout);
    exit(0);
}

int main()
{
    child = fork();
    if (child == 0) {
        /* conductor */
        signal(SIGINT, int_conductor);
        signal(SIGQUIT, quit_conductor);
        signal(SIGUSR1, usr1_conductor);
        signal(SIGTSTP, SIG_IGN);
        while (1)
            pause();
    } else {
        /* driver */
        signal(SIGQUIT, SIG_IGN);
        signal(SIGUSR1, usr1_driver);
        signal(SIGUSR2, usr2_driver);
        signal(SIGTSTP, tstp_driver);
        while (wait(NULL) == -1)
            ;
    }
    return 0;
}
