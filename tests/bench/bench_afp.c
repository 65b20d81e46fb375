/* bench_afp.c - lookup in an audio index (make bench, bench_afp.sh):
 * publishes N sounds of W words (LCG words: each sound its own), then
 * searches Q queries of 240 words (30 s) cut from published sounds with a
 * tenth of their words changed by a bit or two.  Prints the index size and
 * the mean and worst search time; checks every query found its sound.
 * usage: bench_afp DIR N W Q */
#include "prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void sound(uint32_t *w, size_t n, unsigned id)
{
    uint32_t s = id * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        w[i] = s ^ (s >> 15) ^ id;
        if (!w[i]) w[i] = 1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) return fprintf(stderr, "usage: bench_afp DIR N W Q\n"), 2;
    const char *dir = argv[1];
    size_t n = strtoul(argv[2], 0, 10), W = strtoul(argv[3], 0, 10), Q = strtoul(argv[4], 0, 10);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return 2;
    uint32_t *w = malloc(W * sizeof *w);
    char store[64];
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        sound(w, W, (unsigned)i);
        int k = snprintf(store, sizeof store, "store %zu", i);
        if (prov_repo_publish_audio(ctx, dir, (const uint8_t *)store, (size_t)k, w, W, NULL))
            return fprintf(stderr, "publish: %s\n", prov_errmsg(ctx)), 1;
    }
    double tp = now() - t0;
    double sum = 0, worst = 0;
    size_t found = 0;
    uint32_t q[240];
    for (size_t j = 0; j < Q; j++) {
        unsigned id = (unsigned)(j * 7919 % n);
        sound(w, W, id);
        size_t off = (j * 131) % (W - 240);
        memcpy(q, w + off, sizeof q);
        for (size_t i = 0; i < 240; i += 10) q[i] ^= 1u << (i % 32) | 1u << ((i * 7) % 32);
        prov_repo_audio_match m[5];
        size_t k;
        double a = now();
        if (prov_repo_search_audio(ctx, dir, q, 240, 0, m, 5, &k)) return fprintf(stderr, "search: %s\n", prov_errmsg(ctx)), 1;
        double d = now() - a;
        sum += d;
        if (d > worst) worst = d;
        char want[64];
        int wl = snprintf(want, sizeof want, "store %u", id);
        uint8_t *st;
        size_t sl;
        if (k && m[0].offset == (long)off && !prov_repo_load(ctx, dir, m[0].manifest, &st, &sl)) {
            found += sl == (size_t)wl && !memcmp(st, want, sl);
            prov_free(st);
        }
    }
    printf("sounds %zu of %zu words (%.0f hours), published in %.2f s; %zu queries of 30 s: mean %.1f ms, worst %.1f ms, "
           "found %zu/%zu\n",
           n, W, (double)n * W * 1365 / PROV_AFP_RATE / 3600, tp, Q, 1000 * sum / Q, 1000 * worst, found, Q);
    free(w);
    prov_ctx_free(ctx);
    return found == Q ? 0 : 1;
}
