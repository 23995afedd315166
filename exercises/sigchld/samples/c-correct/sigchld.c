#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reaped = 0;

static void on_child(int sig) {
    (void)sig;
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "reaped %d\n", (int)pid);
        write(1, buf, n);
        reaped++;
    }
}

int main(void) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    signal(SIGCHLD, on_child);
    for (int i = 0; i < 3; i++) {
        if (fork() == 0) {
            usleep(100000 * (i + 1));
            _exit(0);
        }
    }
    while (reaped < 3)
        sigsuspend(&old);
    printf("all done\n");
    return 0;
}
