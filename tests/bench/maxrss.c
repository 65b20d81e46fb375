/*
 * maxrss - run a command several times; report its wall time and peak RSS.
 *
 * usage: maxrss [-n RUNS] [-w] -- COMMAND [ARG...]
 *
 *   -n RUNS  timed runs (default 1)
 *   -w       one untimed run first (warms the page cache and the loader)
 *
 * Each run is fork + execvp + wait4, timed with CLOCK_MONOTONIC around the
 * whole child life (so process start-up is included, as for any CLI use);
 * the child's stdout and stderr go to /dev/null.  The peak resident set
 * comes from wait4()'s rusage.ru_maxrss (KiB on Linux), which the kernel
 * keeps for the child alone, so it is exact after the process has gone.
 *
 * Prints one line:  best_s median_s max_rss_kib cpu_s
 * where cpu_s is the user + system CPU time of the fastest run (less than
 * best_s when the command waits, e.g. in fsync()).
 * Exit 0 when every run exited 0; otherwise says which run failed and
 * exits 1 (the command is left for the caller to re-run and show).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run: 0 and *secs, *rss_kib, *cpu filled, or -1 when it failed. */
static int run_once(char **argv, double *secs, long *rss_kib, double *cpu)
{
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("maxrss: fork");
        return -1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    pid_t r;
    do
        r = wait4(pid, &status, 0, &ru);
    while (r < 0 && errno == EINTR);
    double t1 = now();
    if (r < 0) {
        perror("maxrss: wait4");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status))
            fprintf(stderr, "maxrss: %s exited %d\n", argv[0], WEXITSTATUS(status));
        else
            fprintf(stderr, "maxrss: %s killed by signal %d\n", argv[0],
                    WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        return -1;
    }
    *secs = t1 - t0;
    *rss_kib = ru.ru_maxrss;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 1, warm = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (!strcmp(argv[i], "-w")) {
            warm = 1;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else {
            break;
        }
    }
    if (i >= argc || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: maxrss [-n RUNS] [-w] -- COMMAND [ARG...]\n");
        return 2;
    }
    char **cmd = argv + i;
    double secs, cpu, best = 0, best_cpu = 0;
    long rss, max_rss = 0;
    if (warm && run_once(cmd, &secs, &rss, &cpu))
        return 1;
    double *t = malloc((size_t)runs * sizeof *t);
    if (!t)
        return 1;
    for (int k = 0; k < runs; k++) {
        if (run_once(cmd, &t[k], &rss, &cpu))
            return 1;
        if (k == 0 || t[k] < best) {
            best = t[k];
            best_cpu = cpu;
        }
        if (rss > max_rss)
            max_rss = rss;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    printf("%.6f %.6f %ld %.6f\n", t[0], median, max_rss, best_cpu);
    free(t);
    return 0;
}
