/*
 * bench_verify - time prov_verify_file() in one process.
 *
 * usage: bench_verify FILE [RUNS]
 *
 * Makes one context, then times RUNS (default 5) calls of
 * prov_verify_file(ctx, NULL, FILE, &report) + prov_report_free() with
 * CLOCK_MONOTONIC: the in-process figure to set beside c2pa-rs's reader,
 * which c2pa_bench.mjs also times inside its process (after wasm start-up).
 * Like it, every run is timed (no separate warm-up run) and the best and
 * the median are reported.  Verification options are NULL (nothing is
 * trusted), the same as c2pa_bench.mjs without --trust.
 *
 * Prints one JSON line: {"file","runs","best_s","median_s","state"}.
 * Exit 1 if a call fails or the file does not verify as valid/trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "prov.h"

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

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_verify FILE [RUNS]\n");
        return 2;
    }
    const char *file = argv[1];
    int runs = argc == 3 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 100000) {
        fprintf(stderr, "bench_verify: bad RUNS\n");
        return 2;
    }
    prov_ctx *ctx = NULL;
    if (prov_ctx_new(&ctx) != PROV_OK) {
        fprintf(stderr, "bench_verify: prov_ctx_new failed\n");
        return 1;
    }
    double *t = malloc((size_t)runs * sizeof *t);
    if (!t)
        return 1;
    int state = PROV_STATE_ERROR;
    for (int i = 0; i < runs; i++) {
        prov_report *r = NULL;
        double t0 = now();
        int rc = prov_verify_file(ctx, NULL, file, &r);
        if (r)
            state = prov_report_state(r);
        prov_report_free(r);
        t[i] = now() - t0;
        if (rc != PROV_OK) {
            fprintf(stderr, "bench_verify: %s: %s (%s)\n", file, prov_strerror(rc),
                    prov_errmsg(ctx));
            return 1;
        }
    }
    if (state != PROV_STATE_VALID && state != PROV_STATE_TRUSTED) {
        fprintf(stderr, "bench_verify: %s: state %s, expected valid\n", file,
                prov_state_name(state));
        return 1;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    printf("{\"file\":\"%s\",\"runs\":%d,\"best_s\":%.6f,\"median_s\":%.6f,\"state\":\"%s\"}\n",
           file, runs, t[0], median, prov_state_name(state));
    free(t);
    prov_ctx_free(ctx);
    return 0;
}
