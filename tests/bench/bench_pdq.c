/* bench_pdq.c - fingerprint lookup in a manifest repository of N records.
 *
 * Writes an index of N random fingerprints (DIR/manifests/pdq.idx, the
 * on-disk format) with Q planted near-duplicates (1..31 bits from a query),
 * then times Q lookups at the match threshold three ways: a full scan of
 * the mapped index (what a one-shot `prov verify` does), the multi-index
 * (what a long-running service does after prov_repo_index), and open +
 * scan (the one-shot cost, the index in the page cache); then builds the
 * sidecar pdq.mih (prov_repo_reindex) and times open + mmap + query, one
 * fingerprint and nine crops, as a one-shot process does.  Prints mean and
 * p99 in milliseconds and the recall of the planted records.
 *
 * usage: bench_pdq DIR [N [Q]]   (defaults 1000000, 1000) */
#include "prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static uint64_t s = 88172645463325252ull;
static uint64_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t q)
{
    double sum = 0;
    for (size_t i = 0; i < q; i++) sum += t[i];
    qsort(t, q, sizeof *t, cmpd);
    size_t p99 = q * 99 / 100;
    if (p99 >= q) p99 = q - 1;
    printf("%-34s mean %8.3f ms  p99 %8.3f ms  max %8.3f ms\n", what, 1e3 * sum / q, 1e3 * t[p99], 1e3 * t[q - 1]);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: bench_pdq DIR [N [Q]]\n"); return 2; }
    const char *dir = argv[1];
    size_t N = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000, Q = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
    if (Q > N || Q == 0) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifests", dir);
    mkdir(dir, 0755);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/manifests/pdq.idx", dir);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 2; }
    uint8_t hdr[16] = {'P', 'R', 'O', 'V', 'P', 'D', 'Q', '1', 0, 0, 0, 1, 0, 0, 0, 64};
    fwrite(hdr, 1, 16, f);
    uint8_t(*qs)[32] = malloc(Q * 32);
    int *planted_d = malloc(Q * sizeof *planted_d);
    size_t stride = N / Q;
    for (size_t i = 0; i < N; i++) {
        uint8_t rec[64];
        for (int k = 0; k < 8; k++) {
            uint64_t v = rnd();
            memcpy(rec + 8 * k, &v, 8);
        }
        if (i % stride == 0 && i / stride < Q) {
            /* a planted record: the query, 1..31 bits flipped */
            size_t j = i / stride;
            memcpy(qs[j], rec, 32);
            int d = 1 + (int)(rnd() % 31);
            planted_d[j] = d;
            for (int b = 0; b < d;) {
                int bit = (int)(rnd() % 256);
                if ((rec[bit / 8] ^ qs[j][bit / 8]) & (1u << (bit & 7))) continue;
                rec[bit / 8] ^= (uint8_t)(1u << (bit & 7));
                b++;
            }
        }
        fwrite(rec, 1, 64, f);
    }
    if (fclose(f)) { perror(path); return 2; }
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    prov_repo *r;
    double t0 = now();
    if (prov_repo_open(ctx, dir, &r)) { fprintf(stderr, "%s\n", prov_errmsg(ctx)); return 2; }
    double t_open = now() - t0;
    double *t = malloc(Q * sizeof *t);
    size_t found = 0;
    prov_repo_match m[8];
    size_t n;
    /* warm the page cache */
    prov_repo_search(r, qs[0], PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
    for (size_t j = 0; j < Q; j++) {
        double a = now();
        prov_repo_search(r, qs[j], PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
        t[j] = now() - a;
        found += n >= 1 && m[0].distance == planted_d[j];
    }
    printf("index: %zu records (%.1f MB), %zu queries, threshold %d; open (mmap) %.3f ms\n", N, (16 + 64.0 * N) / 1e6,
           Q, PROV_PDQ_MATCH_DISTANCE, 1e3 * t_open);
    report("full scan (one-shot verify)", t, Q);
    printf("  recall %zu / %zu\n", found, Q);
    t0 = now();
    if (prov_repo_index(r)) { fprintf(stderr, "index: out of memory\n"); return 2; }
    printf("multi-index build %.1f ms\n", 1e3 * (now() - t0));
    found = 0;
    for (size_t j = 0; j < Q; j++) {
        double a = now();
        prov_repo_search(r, qs[j], PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
        t[j] = now() - a;
        found += n >= 1 && m[0].distance == planted_d[j];
    }
    report("multi-index (service)", t, Q);
    printf("  recall %zu / %zu\n", found, Q);
    prov_repo_free(r);
    /* what a verify does: nine crops of the copy in one scan */
    if (prov_repo_open(ctx, dir, &r)) return 2;
    size_t q9 = Q < 200 ? Q : 200;
    uint8_t nine[9][32];
    for (size_t j = 0; j < q9; j++) {
        memcpy(nine[0], qs[j], 32);
        for (int k = 1; k < 9; k++)
            for (int b = 0; b < 32; b++) nine[k][b] = (uint8_t)rnd();
        double a = now();
        prov_repo_search_many(r, (const uint8_t(*)[32])nine, 9, PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
        t[j] = now() - a;
    }
    report("9 crops, one scan (verify)", t, q9);
    prov_repo_free(r);
    size_t q2 = Q < 100 ? Q : 100;
    for (size_t j = 0; j < q2; j++) {
        double a = now();
        prov_repo_open(ctx, dir, &r);
        prov_repo_search(r, qs[j], PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
        prov_repo_free(r);
        t[j] = now() - a;
    }
    report("open + scan (per verify call)", t, q2);
    /* the persisted multi-index: what a one-shot process gets */
    t0 = now();
    if (prov_repo_reindex(ctx, dir)) { fprintf(stderr, "%s\n", prov_errmsg(ctx)); return 2; }
    snprintf(path, sizeof path, "%s/manifests/pdq.mih", dir);
    struct stat st;
    stat(path, &st);
    printf("sidecar pdq.mih build + write %.1f ms (%.1f MB)\n", 1e3 * (now() - t0), st.st_size / 1e6);
    found = 0;
    for (size_t j = 0; j < Q; j++) {
        double a = now();
        if (prov_repo_open(ctx, dir, &r)) return 2;
        prov_repo_search(r, qs[j], PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
        prov_repo_free(r);
        t[j] = now() - a;
        found += n >= 1 && m[0].distance == planted_d[j];
    }
    report("open + mmap + query (sidecar)", t, Q);
    printf("  recall %zu / %zu\n", found, Q);
    found = 0;
    for (size_t j = 0; j < q9; j++) {
        memcpy(nine[0], qs[j], 32);
        for (int k = 1; k < 9; k++)
            for (int b = 0; b < 32; b++) nine[k][b] = (uint8_t)rnd();
        double a = now();
        if (prov_repo_open(ctx, dir, &r)) return 2;
        prov_repo_search_many(r, (const uint8_t(*)[32])nine, 9, PROV_PDQ_MATCH_DISTANCE, m, 8, &n);
        prov_repo_free(r);
        t[j] = now() - a;
        found += n >= 1 && m[0].distance == planted_d[j];
    }
    report("open + 9 crops (sidecar, verify)", t, q9);
    printf("  recall %zu / %zu\n", found, q9);
    free(t);
    free(qs);
    free(planted_d);
    prov_ctx_free(ctx);
    return 0;
}
