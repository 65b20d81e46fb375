/* test_afp.c - the audio fingerprint prov.chroma.1 (lib/afp.c,
 * afp_match.c) and the repository's audio index (lib/repo_audio.c):
 * synthetic chord sequences made here, altered (noise, gain, shift,
 * clipping) and compared; silence, NaN, short and streamed input; the
 * index published to, searched, torn, damaged and forged. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RATE PROV_AFP_RATE

/* seconds of chords: a new root every beat from an LCG, a major or minor
 * triad with two harmonics, a decaying envelope; then scaled by gain and
 * with white noise of amplitude noise (another LCG). */
static float *synth(double seconds, unsigned seed, double gain, double noise)
{
    size_t n = (size_t)(seconds * RATE);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    unsigned s = seed * 2654435761u + 12345, ns = seed ^ 0x9e3779b9u;
    double beat = 0.35 + (seed % 5) * 0.05, f0 = 110, third = 4;
    long cur = -1;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        long b = (long)(t / beat);
        if (b != cur) {
            cur = b;
            s = s * 1103515245u + 12345;
            f0 = 110 * pow(2, (double)((s >> 16) % 24) / 12);
            third = ((s >> 8) & 1) ? 4 : 3;
        }
        double env = exp(-3 * (t - (double)b * beat));
        double v = 0;
        double fr[3] = {f0, f0 * pow(2, third / 12), f0 * pow(2, 7.0 / 12)};
        for (int k = 0; k < 3; k++) v += sin(2 * M_PI * fr[k] * t) + 0.4 * sin(4 * M_PI * fr[k] * t);
        ns = ns * 1664525u + 1013904223u;
        x[i] = (float)(gain * 0.15 * env * v + noise * (((double)(ns >> 8) / 16777216.0) * 2 - 1));
    }
    return x;
}

static uint32_t *words_of(const float *x, size_t n, size_t chunk, size_t *nw)
{
    prov_afp *a = NULL;
    assert_int_equal(prov_afp_new(NULL, &a), 0);
    for (size_t i = 0; i < n; i += chunk) assert_int_equal(prov_afp_feed(a, x + i, n - i < chunk ? n - i : chunk), 0);
    const uint32_t *w;
    assert_int_equal(prov_afp_finish(a, &w, nw), 0);
    uint32_t *c = malloc(*nw * sizeof *c + 1);
    assert_non_null(c);
    if (*nw) memcpy(c, w, *nw * sizeof *c);
    /* finished: more sound is refused, the words stay */
    float z = 0;
    assert_int_not_equal(prov_afp_feed(a, &z, 1), 0);
    prov_afp_free(a);
    return c;
}

static void test_deterministic_and_streamed(void **state)
{
    (void)state;
    float *x = synth(20, 1, 1, 0);
    size_t n1, n2, n = 20 * RATE;
    uint32_t *a = words_of(x, n, n, &n1), *b = words_of(x, n, 1000, &n2);
    /* about 8 words a second, less the 12 frames a word spans */
    assert_int_equal(n1, (n - 4096) / 1365 + 1 - 11);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1 * 4);
    size_t ones = 0;
    for (size_t i = 0; i < n1; i++) {
        assert_int_not_equal(a[i], 0); /* sound: no word says silence */
        ones += (size_t)__builtin_popcount(a[i]);
    }
    /* the bits are neither stuck at 0 nor at 1 */
    double share = (double)ones / (32.0 * (double)n1);
    assert_true(share > 0.3 && share < 0.7);
    prov_afp_match m;
    assert_int_equal(prov_afp_compare(a, n1, b, n2, &m), 0);
    assert_int_equal(m.offset, 0);
    assert_true(m.ber == 0);
    free(a);
    free(b);
    free(x);
}

/* The same music altered: quieter, noisier, clipped, shifted by a part of
 * a frame and cut: it lines up where it should, a few bits apart. */
static void test_altered_copies_match(void **state)
{
    (void)state;
    size_t n = 30 * RATE, no, nc;
    float *x = synth(30, 2, 1, 0);
    uint32_t *o = words_of(x, n, n, &no);
    struct {
        const char *what;
        double gain, noise;
        size_t skip; /* samples cut from the start */
        long want_offset;
    } cases[] = {
        {"quieter by 20 dB", 0.1, 0, 0, 0},
        {"noise", 1, 0.05, 0, 0},
        {"louder, clipped", 4, 0, 0, 0},
        {"cut 1365 * 10 + 400 samples", 1, 0.01, 1365 * 10 + 400, 10},
        {"cut 3 s", 1, 0, 3 * RATE, 24}, /* 3 s is 24.2 words */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float *y = synth(30, 2, cases[k].gain, cases[k].noise);
        for (size_t i = 0; i < n; i++) y[i] = y[i] > 1 ? 1 : y[i] < -1 ? -1 : y[i];
        uint32_t *c = words_of(y + cases[k].skip, n - cases[k].skip, 4096, &nc);
        prov_afp_match m;
        int rc = prov_afp_compare(c, nc, o, no, &m);
        if (rc || m.ber > PROV_AFP_MATCH_BER / 2 || labs(m.offset - cases[k].want_offset) > 1)
            fail_msg("%s: rc %d ber %.3f offset %ld (want %ld)", cases[k].what, rc, m.ber, m.offset,
                     cases[k].want_offset);
        assert_true(m.overlap >= nc - 2);
        free(c);
        free(y);
    }
    free(o);
    free(x);
}

static void test_unrelated_do_not_match(void **state)
{
    (void)state;
    size_t n = 30 * RATE, na, nb;
    int near = 0;
    for (unsigned s = 10; s < 16; s++) {
        float *x = synth(30, s, 1, 0), *y = synth(30, s + 100, 1, 0.01);
        uint32_t *a = words_of(x, n, n, &na), *b = words_of(y, n, n, &nb);
        prov_afp_match m;
        int rc = prov_afp_compare(a, na, b, nb, &m);
        if (rc == 0 && m.ber <= PROV_AFP_MATCH_BER && m.overlap >= PROV_AFP_MIN_WORDS) near++;
        if (rc == 0) assert_true(m.ber > 0.3);
        free(a);
        free(b);
        free(x);
        free(y);
    }
    assert_int_equal(near, 0);
}

static void test_silence_short_and_nan(void **state)
{
    (void)state;
    size_t n = 10 * RATE, nw;
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    uint32_t *w = words_of(x, n, n, &nw);
    assert_true(nw > 60);
    for (size_t i = 0; i < nw; i++) assert_int_equal(w[i], 0); /* no sound */
    prov_afp_match m;
    assert_int_equal(prov_afp_compare(w, nw, w, nw, &m), PROV_ENOTFOUND); /* silence matches nothing */
    free(w);
    /* under a word's span: no words */
    w = words_of(x, 4096 + 1365 * 10, 4096, &nw);
    assert_int_equal(nw, 0);
    free(w);
    /* NaN, infinities and huge values are clipped, not trusted */
    for (size_t i = 0; i < n; i++) x[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -1e30f;
    w = words_of(x, n, 777, &nw);
    assert_true(nw > 60);
    free(w);
    free(x);
    assert_int_equal(prov_afp_new(NULL, NULL), PROV_EINVAL);
    assert_int_equal(prov_afp_compare(NULL, 1, NULL, 0, &m), PROV_EINVAL);
}

/* One held word everywhere (a hum): its half-keys are too common to vote,
 * so the alignment stays linear and finds nothing, quickly. */
static void test_repeated_words_bounded(void **state)
{
    (void)state;
    size_t n = PROV_AFP_MAX_WORDS;
    uint32_t *w = malloc(n * sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) w[i] = 0x12345678;
    prov_afp_match m;
    clock_t t0 = clock();
    assert_int_equal(prov_afp_compare(w, n, w, n, &m), PROV_ENOTFOUND);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5);
    assert_int_equal(prov_afp_compare(w, n + 1, w, n, &m), PROV_ELIMIT);
    free(w);
}

static const char *repo_dir(void) { return tu_path("arepo"); }

static void idx_path(char *p, size_t cap) { snprintf(p, cap, "%s/manifests/afp.idx", repo_dir()); }

static void test_repo_publish_search(void **state)
{
    (void)state;
    prov_ctx *ctx = NULL;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    size_t n = 25 * RATE;
    uint32_t *w[4];
    size_t nw[4];
    for (int i = 0; i < 4; i++) {
        float *x = synth(25, 40 + (unsigned)i, 1, 0);
        w[i] = words_of(x, n, n, &nw[i]);
        free(x);
    }
    prov_repo_audio_match m[5];
    size_t k = 9;
    /* nothing published: an empty repository */
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[0], nw[0], 0, m, 5, &k), 0);
    assert_int_equal(k, 0);
    uint8_t d[3][32];
    const char *stores[3] = {"store zero", "store one", "store two"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(prov_repo_publish_audio(ctx, repo_dir(), (const uint8_t *)stores[i], strlen(stores[i]), w[i],
                                                 nw[i], d[i]),
                         0);
    /* a noisy, cut copy of the second finds it, and only it */
    float *y = synth(25, 41, 0.5, 0.03);
    size_t nq;
    uint32_t *q = words_of(y + 5 * RATE, 15 * RATE, 5000, &nq);
    free(y);
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), q, nq, 0, m, 5, &k), 0);
    assert_int_equal(k, 1);
    assert_memory_equal(m[0].manifest, d[1], 32);
    assert_true(m[0].ber < 0.15);
    assert_true(labs(m[0].offset - 40) <= 1); /* 5 s in: 40.4 words */
    uint8_t *st;
    size_t sl;
    assert_int_equal(prov_repo_load(ctx, repo_dir(), m[0].manifest, &st, &sl), 0);
    assert_int_equal(sl, strlen(stores[1]));
    prov_free(st);
    /* sound never published finds nothing */
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[3], nw[3], 0, m, 5, &k), 0);
    assert_int_equal(k, 0);
    /* under 3 s of sound is not looked up */
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), q, PROV_AFP_MIN_WORDS - 1, 0, m, 5, &k), PROV_ELIMIT);
    assert_non_null(strstr(prov_errmsg(ctx), "too little sound"));

    /* a torn append: readers see the whole records, the next writer cuts it */
    char p[600];
    idx_path(p, sizeof p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    off_t whole = sb.st_size;
    assert_int_equal(truncate(p, whole - 100), 0); /* the third record torn */
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), q, nq, 0, m, 5, &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(prov_repo_publish_audio(ctx, repo_dir(), (const uint8_t *)stores[2], strlen(stores[2]), w[2],
                                             nw[2], NULL),
                     0);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, whole); /* cut, then appended again */
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[2], nw[2], 0, m, 5, &k), 0);
    assert_int_equal(k, 1);
    assert_memory_equal(m[0].manifest, d[2], 32);

    /* a word of the second record changed on disk: its check fails, it is
     * skipped, and the records after it still read */
    size_t len;
    uint8_t *img = tu_read(p, &len);
    size_t second = 16 + 40 + nw[0] * 4;
    img[second + 40 + 17] ^= 0x40;
    tu_write(p, img, len);
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), q, nq, 0, m, 5, &k), 0);
    assert_int_equal(k, 0);
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[2], nw[2], 0, m, 5, &k), 0);
    assert_int_equal(k, 1);
    /* a forged count past the end: the rest is not read, nothing crashes */
    img[second + 40 + 17] ^= 0x40;
    img[second + 32] = 0x7f;
    tu_write(p, img, len);
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[2], nw[2], 0, m, 5, &k), 0);
    assert_int_equal(k, 0);
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[0], nw[0], 0, m, 5, &k), 0);
    assert_int_equal(k, 1);
    /* ... and a writer does not cut the file there (the records behind it
     * would be lost): it refuses, leaving the file as it was */
    assert_int_equal(prov_repo_publish_audio(ctx, repo_dir(), (const uint8_t *)"y", 1, w[3], nw[3], NULL), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "not appending"));
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal((size_t)sb.st_size, len);
    /* not an index */
    memcpy(img, "PROVAFP9", 8);
    tu_write(p, img, len);
    assert_int_equal(prov_repo_search_audio(ctx, repo_dir(), w[0], nw[0], 0, m, 5, &k), PROV_EFORMAT);
    assert_int_equal(prov_repo_publish_audio(ctx, repo_dir(), (const uint8_t *)"x", 1, w[0], nw[0], NULL),
                     PROV_EFORMAT);
    free(img);
    /* bad arguments */
    assert_int_equal(prov_repo_publish_audio(ctx, repo_dir(), (const uint8_t *)"x", 1, w[0], PROV_AFP_MAX_WORDS + 1, NULL),
                     PROV_ELIMIT);
    assert_int_equal(prov_repo_search_audio(ctx, NULL, w[0], nw[0], 0, m, 5, &k), PROV_EINVAL);
    free(q);
    for (int i = 0; i < 4; i++) free(w[i]);
    prov_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_streamed),
        cmocka_unit_test(test_altered_copies_match),
        cmocka_unit_test(test_unrelated_do_not_match),
        cmocka_unit_test(test_silence_short_and_nan),
        cmocka_unit_test(test_repeated_words_bounded),
        cmocka_unit_test(test_repo_publish_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
