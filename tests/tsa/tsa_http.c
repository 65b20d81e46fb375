/* tsa_http.c - a tiny RFC 3161 time-stamp authority on loopback for the
 * tests: HTTP/1.0 POSTs of a TimeStampReq are answered by `openssl ts
 * -reply` with the given configuration.  One request at a time.
 *
 *   tsa_http CONFIG [PORTFILE]   listens on 127.0.0.1 (any port), writes the
 *                                port to PORTFILE (or stdout), serves until
 *                                killed.  Bodies over 64 KiB are refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_BODY 65536

static int read_all(int fd, char *buf, size_t cap, size_t *got)
{
    /* headers, then as much body as Content-Length says */
    size_t n = 0;
    char *hend = NULL;
    long clen = -1;
    while (n < cap) {
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0) return -1;
        n += (size_t)r;
        if (!hend) {
            buf[n < cap ? n : cap - 1] = 0;
            hend = strstr(buf, "\r\n\r\n");
            if (hend) {
                char *cl = strcasestr(buf, "Content-Length:");
                if (!cl || cl > hend) return -1;
                clen = strtol(cl + 15, NULL, 10);
                if (clen < 0 || clen > MAX_BODY) return -1;
            }
        }
        if (hend && (size_t)(hend + 4 - buf) + (size_t)clen <= n) {
            *got = (size_t)clen;
            memmove(buf, hend + 4, (size_t)clen);
            return 0;
        }
    }
    return -1;
}

static void reply(int fd, const char *status, const void *body, size_t n)
{
    char h[256];
    int hl = snprintf(h, sizeof h, "HTTP/1.0 %s\r\nContent-Type: application/timestamp-reply\r\nContent-Length: %zu\r\n\r\n",
                      status, n);
    if (send(fd, h, (size_t)hl, MSG_NOSIGNAL) < 0) return;
    if (n) send(fd, body, n, MSG_NOSIGNAL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tsa_http CONFIG [PORTFILE]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16) ||
        getsockname(s, (struct sockaddr *)&a, &al)) {
        perror("tsa_http");
        return 1;
    }
    FILE *pf = argc > 2 ? fopen(argv[2], "w") : stdout;
    if (!pf) return 1;
    fprintf(pf, "%d\n", ntohs(a.sin_port));
    if (pf != stdout) fclose(pf);
    else fflush(stdout);
    char dir[] = "/tmp/tsa_http.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char q[64], r[64];
    snprintf(q, sizeof q, "%s/q.tsq", dir);
    snprintf(r, sizeof r, "%s/r.tsr", dir);
    static char buf[MAX_BODY + 8192];
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR) continue;
            break;
        }
        struct timeval tv = {5, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        size_t n;
        if (read_all(c, buf, sizeof buf, &n)) {
            reply(c, "400 Bad Request", NULL, 0);
            close(c);
            continue;
        }
        FILE *f = fopen(q, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        unlink(r);
        pid_t p = fork();
        if (p == 0) {
            int dn = open("/dev/null", 1);
            if (dn >= 0) dup2(dn, 2);
            execlp("openssl", "openssl", "ts", "-reply", "-config", argv[1], "-queryfile", q, "-out", r, (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(p, &st, 0);
        f = fopen(r, "rb");
        size_t rn = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && rn) reply(c, "200 OK", buf, rn);
        else reply(c, "500 Internal Server Error", NULL, 0);
        close(c);
    }
    return 0;
}
