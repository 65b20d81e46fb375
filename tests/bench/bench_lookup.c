/* bench_lookup.c - key lookups per second from a registry mirror
 * (mirror_find: SQLite, a prepared statement on the key) for users
 * 0..N-1 of a mkregistry log, in random order, for about SECONDS, in
 * THREADS threads (each its own connection, as a server would).
 * usage: bench_lookup MIRROR N SECONDS [THREADS] */
#include "../unit/mirror_fixture.h"
#include "mirror.h"

#include <pthread.h>
#include <time.h>

enum { K = 65536 };
static uint8_t (*keys)[32];
static const char *path;
static double secs;

static double clk(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct run {
    uint64_t done, found, seed;
    double cpu;
    int rc;
} run;

static void *work(void *arg)
{
    run *r = arg;
    mirror *m;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    if (mirror_open(&m, path, false, ctx)) { fprintf(stderr, "%s\n", prov_errmsg(ctx)); r->rc = 1; return NULL; }
    double t0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
    uint64_t at = r->seed;
    do {
        for (int i = 0; i < 4096; i++, at++) {
            reg_ident d;
            if (!mirror_find(m, keys[at % K], &d, ctx)) r->found++, mirror_ident_clear(&d);
        }
        r->done += 4096;
    } while (clk(CLOCK_MONOTONIC) - t0 < secs);
    r->cpu = clk(CLOCK_THREAD_CPUTIME_ID) - c0;
    mirror_close(m);
    prov_ctx_free(ctx);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: bench_lookup MIRROR N SECONDS [THREADS]\n"); return 2; }
    path = argv[1];
    uint64_t n = strtoull(argv[2], NULL, 10);
    secs = atof(argv[3]);
    int nt = argc > 4 ? atoi(argv[4]) : 1;
    if (nt < 1 || nt > 16 || !n) return 2;
    /* the keys first (deriving them is not what is measured) */
    keys = malloc((size_t)K * 32);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < K; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        mf_user_pk(x % n, keys[i]);
    }
    run r[16];
    pthread_t th[16];
    memset(r, 0, sizeof r);
    double t0 = clk(CLOCK_MONOTONIC);
    for (int t = 0; t < nt; t++) r[t].seed = (uint64_t)t * 7919, pthread_create(&th[t], NULL, work, &r[t]);
    uint64_t done = 0, found = 0;
    double cpu = 0;
    int rc = 0;
    for (int t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        done += r[t].done, found += r[t].found, cpu += r[t].cpu, rc |= r[t].rc;
    }
    double t = clk(CLOCK_MONOTONIC) - t0;
    /* the machine may be shared: per CPU-second too */
    printf("lookups %llu found %llu seconds %.3f per_second %.0f cpu_seconds %.3f per_cpu_second %.0f threads %d\n",
           (unsigned long long)done, (unsigned long long)found, t, done / t, cpu, done / cpu, nt);
    return rc || found != done;
}
