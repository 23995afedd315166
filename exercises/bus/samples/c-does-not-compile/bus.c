/*
 * bus.c -- does not compile: a missing semicolon after the conductor's kill() and a call to
 * an undeclared function (sleep_until_signal, meant to be pause). The build check fails with
 * the compiler's messages and every other check is skipped.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

pid_t conductor;

void go(int sig) { printf("老司机开车了\n"); fflush(stdout); }
void belt(int sig) { printf("系好安全带，车速有点快\n"); fflush(stdout); }
void stop(int sig) { kill(conductor, SIGUSR1); }
void relay_int(int sig) { kill(getppid(), SIGUSR1) }
void relay_quit(int sig) { kill(getppid(), SIGUSR2); }
void arrive(int sig) { printf("到站了，请下车\n"); fflush(stdout); _exit(0); }

int main(void)
{
    conductor = fork();
    if (conductor == 0) {
        signal(SIGTSTP, SIG_IGN);
        signal(SIGINT, relay_int);
        signal(SIGQUIT, relay_quit);
        signal(SIGUSR1, arrive);
        for (;;)
            sleep_until_signal();
    }
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGUSR1, go);
    signal(SIGUSR2, belt);
    signal(SIGTSTP, stop);
    while (wait(NULL) < 0)
        ;
    return 0;
}
