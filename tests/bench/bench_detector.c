/* bench_detector.c - images per second of the detector's C path.
 *
 * usage: bench_detector WEIGHTS [BATCH [THREADS [SECONDS [DEVICE]]]]
 * Scores BATCH (default 32) pseudo-random 256x256 RGB images per call with
 * prov_detector_score_batch (one crop each), THREADS worker threads
 * (default 2; 0 = every CPU), once untimed, then for at least SECONDS
 * (default 10) of wall clock; prints one JSON line.  DEVICE: cpu (default)
 * or cuda; exit 3 when cuda is asked for and there is none. */
#define _POSIX_C_SOURCE 200809L
#include "prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clk(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}
static double now(void) { return clk(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_detector WEIGHTS [BATCH [THREADS [SECONDS [DEVICE]]]]\n");
        return 2;
    }
    int batch = argc > 2 ? atoi(argv[2]) : 32, threads = argc > 3 ? atoi(argv[3]) : 2;
    double secs = argc > 4 ? atof(argv[4]) : 10;
    if (batch < 1 || threads < 0) return 2;
    prov_ctx *ctx;
    prov_detector *d;
    if (prov_ctx_new(&ctx) || prov_detector_open(ctx, argv[1], &d)) {
        fprintf(stderr, "bench_detector: %s\n", prov_errmsg(ctx));
        return 1;
    }
    prov_detector_set_threads(d, (unsigned)threads);
    int cuda = argc > 5 && !strcmp(argv[5], "cuda");
    if (cuda && prov_detector_set_device(ctx, d, PROV_DEVICE_CUDA)) {
        fprintf(stderr, "bench_detector: %s\n", prov_errmsg(ctx));
        return 3;
    }
    const uint32_t S = 256;
    uint8_t *px = malloc((size_t)batch * S * S * 3);
    prov_detector_image *im = calloc((size_t)batch, sizeof *im);
    prov_detector_result *r = calloc((size_t)batch, sizeof *r);
    if (!px || !im || !r) return 1;
    uint32_t s = 1;
    for (size_t i = 0; i < (size_t)batch * S * S * 3; i++) {
        s = s * 1664525u + 1013904223u;
        px[i] = (uint8_t)(s >> 24);
    }
    for (int i = 0; i < batch; i++)
        im[i] = (prov_detector_image){px + (size_t)i * S * S * 3, S, S, S * 3};
    if (prov_detector_score_batch(ctx, d, im, (size_t)batch, r)) {
        fprintf(stderr, "bench_detector: %s\n", prov_errmsg(ctx));
        return 1;
    }
    double t0 = now(), c0 = clk(CLOCK_PROCESS_CPUTIME_ID), t;
    long n = 0, calls = 0;
    do {
        if (prov_detector_score_batch(ctx, d, im, (size_t)batch, r)) return 1;
        n += batch;
        calls++;
        t = now();
    } while (t - t0 < secs);
    double cpu = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("{\"impl\":\"%s\",\"batch\":%d,\"threads\":%d,\"images\":%ld,\"seconds\":%.3f,"
           "\"cpu_seconds\":%.3f,\"images_per_s\":%.3f,\"logit0\":%.6f,\"backend\":\"%s\"}\n",
           cuda ? "c-cuda" : "c", batch, threads, n, t - t0, cpu, n / (t - t0), r[0].logit, prov_detector_backend(d));
    free(px);
    free(im);
    free(r);
    prov_detector_free(d);
    prov_ctx_free(ctx);
    return 0;
}
