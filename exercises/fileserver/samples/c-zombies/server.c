/*
 * server.c -- FAULTY: a child per client, never reaped.
 *
 * Usage: ./server <port> <library-dir>
 *
 * The classic mistake: no SIGCHLD handler and no waitpid() anywhere, so every child that has
 * served its client stays a zombie for as long as the server runs. On SIGINT/SIGTERM it
 * sends SIGTERM to its process group (its children) and exits without waiting for them. It
 * also leaves a variable unused, which -Wall reports (a warning: shown, costs nothing).
 * Otherwise it is c-correct/server.c. Should fail cleanup only; no client is handed in.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LINE 4096
#define CHUNK 65536
#define MAX_CHILDREN 1024

/* ---------- the parent ---------- */

static volatile sig_atomic_t stopping = 0;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* ---------- a child: one connection ---------- */

static int sock = -1;   /* the client's connection */
static int lib = -1;    /* the library directory */
static char inbuf[CHUNK];
static size_t inlen = 0, inpos = 0;
static char tmpname[64] = "";

static void drop_temp(void)
{
    if (tmpname[0]) {
        unlinkat(lib, tmpname, 0);
        tmpname[0] = '\0';
    }
}

static void child_on_term(int sig)
{
    (void)sig;
    if (tmpname[0])
        unlinkat(lib, tmpname, 0);
    _exit(0);
}

/* Sends all of buf; 0, or -1 when the client is gone. */
static int send_all(const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int reply(const char *fmt, ...)
{
    char line[MAX_LINE + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    return send_all(line, (size_t)n);
}

/* Refills the input buffer; the number of bytes now there, 0 at end of input. */
static ssize_t fill(void)
{
    if (inpos < inlen)
        return (ssize_t)(inlen - inpos);
    for (;;) {
        ssize_t r = recv(sock, inbuf, sizeof inbuf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        inlen = (size_t)r;
        inpos = 0;
        return r;
    }
}

/* Reads a request line into line (without the newline). 1: a line; 0: end of input;
 * -1: a line too long (read and thrown away). */
static int read_line(char *line)
{
    size_t n = 0;
    int too_long = 0;
    for (;;) {
        if (fill() == 0)
            return 0;
        char c = inbuf[inpos++];
        if (c == '\n')
            break;
        if (n < MAX_LINE)
            line[n++] = c;
        else
            too_long = 1;
    }
    if (too_long)
        return -1;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return 1;
}

static const char *name_problem(const char *name)
{
    if (name[0] == '\0')
        return "empty name";
    if (strchr(name, '/'))
        return "invalid name: must not contain '/'";
    if (name[0] == '.')
        return "invalid name: must not start with '.'";
    if (strlen(name) > 255)
        return "invalid name: too long";
    return NULL;
}

static int do_list(void)
{
    int fd = dup(lib);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d)
        return reply("ERR cannot read the library");
    rewinddir(d);
    size_t cap = 4096, len = 0, count = 0;
    char *names = malloc(cap);
    struct dirent *e;
    while (names && (e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(lib, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISREG(st.st_mode))
            continue;
        size_t n = strlen(e->d_name);
        while (len + n + 1 > cap) {
            cap *= 2;
            names = realloc(names, cap);
            if (!names)
                break;
        }
        if (!names)
            break;
        memcpy(names + len, e->d_name, n);
        names[len + n] = '\n';
        len += n + 1;
        count++;
    }
    closedir(d);
    if (!names)
        return reply("ERR out of memory");
    int r = reply("OK %zu", count);
    if (r == 0)
        r = send_all(names, len);
    free(names);
    return r;
}

static int do_get(const char *name)
{
    int fd = openat(lib, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return reply("ERR no such file");
        if (errno == ELOOP)
            return reply("ERR not a regular file");
        return reply("ERR cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return reply("ERR not a regular file");
    }
    if (reply("OK %lld", (long long)st.st_size) < 0) {
        close(fd);
        return -1;
    }
    char buf[CHUNK];
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t r = read(fd, buf, left < CHUNK ? (size_t)left : CHUNK);
        if (r <= 0) {   /* the file shrank: the promised size cannot be kept */
            close(fd);
            return -1;
        }
        if (send_all(buf, (size_t)r) < 0) {
            close(fd);
            return -1;
        }
        left -= r;
    }
    close(fd);
    return 0;
}

static int do_put(long long size, const char *name)
{
    struct stat st;
    if (fstatat(lib, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        return reply("ERR cannot replace something that is not a regular file");
    static unsigned counter = 0;
    snprintf(tmpname, sizeof tmpname, ".upload-%d-%u", (int)getpid(), counter++);
    int fd = openat(lib, tmpname, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        tmpname[0] = '\0';
        return reply("ERR cannot store: %s", strerror(errno));
    }
    if (reply("OK") < 0) {
        close(fd);
        drop_temp();
        return -1;
    }
    int write_error = 0;
    long long left = size;
    while (left > 0) {
        if (fill() == 0) {   /* the client went away in the middle */
            close(fd);
            drop_temp();
            return -1;
        }
        size_t n = inlen - inpos;
        if ((long long)n > left)
            n = (size_t)left;
        if (!write_error) {
            const char *p = inbuf + inpos;
            size_t todo = n;
            while (todo > 0) {
                ssize_t w = write(fd, p, todo);
                if (w < 0) {
                    if (errno == EINTR)
                        continue;
                    write_error = errno;
                    break;
                }
                p += w;
                todo -= (size_t)w;
            }
        }
        inpos += n;
        left -= (long long)n;
    }
    close(fd);
    if (write_error) {
        drop_temp();
        return reply("ERR cannot store: %s", strerror(write_error));
    }
    if (renameat(lib, tmpname, lib, name) < 0) {
        int e = errno;
        drop_temp();
        return reply("ERR cannot store: %s", strerror(e));
    }
    tmpname[0] = '\0';
    return reply("OK");
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void serve(void)
{
    char line[MAX_LINE + 1];
    for (;;) {
        int got = read_line(line);
        if (got == 0)
            return;
        int r;
        const char *problem;
        if (got < 0) {
            r = reply("ERR request line too long");
        } else if (strcmp(line, "L") == 0) {
            r = do_list();
        } else if (strcmp(line, "Q") == 0) {
            return;
        } else if (strncmp(line, "G ", 2) == 0) {
            if ((problem = name_problem(line + 2)))
                r = reply("ERR %s", problem);
            else
                r = do_get(line + 2);
        } else if (strncmp(line, "P ", 2) == 0) {
            char *size = line + 2;
            char *space = strchr(size, ' ');
            if (!space || !all_digits(size, (size_t)(space - size)))
                r = reply("ERR usage: P <size> <name>");
            else if ((problem = name_problem(space + 1)))
                r = reply("ERR %s", problem);
            else
                r = do_put(atoll(size), space + 1);
        } else {
            r = reply("ERR unknown request");
        }
        if (r < 0)
            return;
    }
}

static void install(int sig, void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <port> <library-dir>\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    lib = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (lib < 0) {
        perror(argv[2]);
        return 1;
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 64) < 0) {
        perror("bind/listen");
        return 1;
    }

    /* SIGINT and SIGTERM interrupt accept(). */
    install(SIGINT, on_stop, 0);
    install(SIGTERM, on_stop, 0);
    signal(SIGPIPE, SIG_IGN);

    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    int status;

    while (!stopping) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0) {
            if (errno == EINTR)
                continue;
            perror("accept");
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(listener);
            install(SIGINT, child_on_term, 0);
            install(SIGTERM, child_on_term, 0);
            sock = conn;
            serve();
            drop_temp();
            close(conn);
            _exit(0);
        }
        close(conn);
    }

    /* Stopping: the children go too (they are in our process group). */
    signal(SIGTERM, SIG_IGN);
    kill(0, SIGTERM);
    close(listener);
    return 0;
}
