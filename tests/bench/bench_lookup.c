/* bench_lookup.c - key lookups per second from a registry mirror
 * (mirror_find: SQLite, prepared statement on the key) for users
 * 0..N-1 of a mkregistry log, in random order, for about SECONDS.
 * usage: bench_lookup MIRROR N SECONDS */
#include "../unit/mirror_fixture.h"
#include "mirror.h"

#include <time.h>

static double clk(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static double now(void) { return clk(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: bench_lookup MIRROR N SECONDS\n"); return 2; }
    uint64_t n = strtoull(argv[2], NULL, 10);
    double secs = atof(argv[3]);
    mirror *m;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    if (mirror_open(&m, argv[1], false, ctx)) { fprintf(stderr, "%s\n", prov_errmsg(ctx)); return 1; }
    /* the keys first (deriving them is not what is measured) */
    enum { K = 65536 };
    uint8_t (*keys)[32] = malloc((size_t)K * 32);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < K; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        mf_user_pk(x % n, keys[i]);
    }
    uint64_t done = 0, found = 0;
    double t0 = now(), c0 = clk(CLOCK_PROCESS_CPUTIME_ID), t;
    do {
        for (int i = 0; i < 4096; i++) {
            reg_ident d;
            if (!mirror_find(m, keys[(done + i) % K], &d, ctx)) found++, mirror_ident_clear(&d);
        }
        done += 4096;
    } while ((t = now() - t0) < secs);
    double cpu = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
    /* the machine may be shared: per CPU-second too */
    printf("lookups %llu found %llu seconds %.3f per_second %.0f cpu_seconds %.3f per_cpu_second %.0f\n",
           (unsigned long long)done, (unsigned long long)found, t, done / t, cpu, done / cpu);
    mirror_close(m);
    prov_ctx_free(ctx);
    return found == done ? 0 : 1;
}
