/* progress.c - a progress bar on the terminal for work over a second. */
#include "cli.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress_start(progress *p, const char *label)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->start = now();
    p->tty = isatty(STDERR_FILENO);
}

void progress_cb(void *user, uint64_t done, uint64_t total)
{
    progress *p = user;
    double t = now() - p->start;
    if (!p->tty || t < 1.0) return; /* quick work shows nothing */
    char bar[31];
    double frac = total ? (double)done / (double)total : 0;
    if (frac > 1) frac = 1;
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    double mb = done / 1e6, rate = t > 0 ? mb / t : 0;
    if (total)
        fprintf(stderr, "\r%.40s [%s] %3d%% %.0f/%.0f MB %.0f MB/s ", p->label, bar, (int)(frac * 100), mb, total / 1e6,
                rate);
    else
        fprintf(stderr, "\r%.40s %.0f MB %.0f MB/s ", p->label, mb, rate);
    p->shown = 1;
}

void progress_files(progress *p, uint64_t done, uint64_t total)
{
    double t = now() - p->start;
    if (!p->tty || t < 1.0 || !total) return;
    char bar[31];
    int fill = (int)((double)done / (double)total * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    double rate = done / t, left = rate > 0 ? (total - done) / rate : 0;
    fprintf(stderr, "\r%.40s [%s] %llu/%llu files %.1f/s, %.0f s left ", p->label, bar, (unsigned long long)done,
            (unsigned long long)total, rate, left);
    p->shown = 1;
}

void progress_end(progress *p)
{
    if (p->shown) fputs("\r\033[K", stderr);
    p->shown = 0;
}

void progress_count(progress *p, uint64_t files, uint64_t skipped)
{
    double t = now() - p->start;
    if (!p->tty || t < 1.0) return;
    fprintf(stderr, "\r%s: %llu files, %.1f/s", p->label, (unsigned long long)files, t > 0 ? files / t : 0.0);
    if (skipped) fprintf(stderr, ", %llu skipped", (unsigned long long)skipped);
    fputc(' ', stderr);
    p->shown = 1;
}
