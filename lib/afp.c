/* afp.c - the audio fingerprint prov.chroma.1 (afp.h): streaming frames,
 * FFT, chroma; the words are made at the end from the chroma image. */
#include "afp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FMIN 28.0
#define FMAX 3520.0
#define SILENT_POWER 1e-6 /* mean square under -60 dBFS */
#define LOG2N 12

_Static_assert((1 << LOG2N) == AFP_FRAME, "FFT size");

struct prov_afp {
    prov_ctx *ctx;
    float buf[AFP_FRAME];
    size_t fill;
    float win[AFP_FRAME];
    float cosv[AFP_FRAME / 2], sinv[AFP_FRAME / 2];
    uint16_t rev[AFP_FRAME];
    int8_t cls[AFP_FRAME / 2]; /* pitch class of a bin, -1 outside FMIN..FMAX */
    float re[AFP_FRAME], im[AFP_FRAME];
    float *rows;   /* 12 a frame; a silent frame is all zero */
    uint8_t *quiet;
    size_t nrows, cap;
    uint32_t *words;
    size_t nwords;
    int finished;
};

int prov_afp_new(prov_ctx *ctx, prov_afp **out)
{
    if (!out) return PROV_EINVAL;
    *out = NULL;
    prov_afp *a = calloc(1, sizeof *a);
    if (!a) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    a->ctx = ctx;
    for (int i = 0; i < AFP_FRAME; i++) {
        a->win[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * i / (AFP_FRAME - 1)));
        unsigned r = 0;
        for (int b = 0; b < LOG2N; b++) r |= ((i >> b) & 1u) << (LOG2N - 1 - b);
        a->rev[i] = (uint16_t)r;
    }
    for (int i = 0; i < AFP_FRAME / 2; i++) {
        a->cosv[i] = (float)cos(2 * M_PI * i / AFP_FRAME);
        a->sinv[i] = (float)-sin(2 * M_PI * i / AFP_FRAME);
        double f = (double)i * PROV_AFP_RATE / AFP_FRAME;
        if (f < FMIN || f > FMAX) {
            a->cls[i] = -1;
        } else {
            long note = lround(12.0 * log2(f / 440.0)) + 69; /* MIDI number */
            a->cls[i] = (int8_t)(((note % 12) + 12) % 12);
        }
    }
    *out = a;
    return 0;
}

void prov_afp_free(prov_afp *a)
{
    if (!a) return;
    free(a->rows);
    free(a->quiet);
    free(a->words);
    free(a);
}

/* In-place radix-2 FFT of re/im. */
static void fft(prov_afp *a)
{
    float *re = a->re, *im = a->im;
    for (int i = 0; i < AFP_FRAME; i++) {
        int j = a->rev[i];
        if (j > i) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int len = 2; len <= AFP_FRAME; len <<= 1) {
        int half = len >> 1, step = AFP_FRAME / len;
        for (int i = 0; i < AFP_FRAME; i += len) {
            for (int k = 0; k < half; k++) {
                float wr = a->cosv[k * step], wi = a->sinv[k * step];
                float *ur = &re[i + k], *ui = &im[i + k], *vr = &re[i + k + half], *vi = &im[i + k + half];
                float tr = *vr * wr - *vi * wi, ti = *vr * wi + *vi * wr;
                *vr = *ur - tr;
                *vi = *ui - ti;
                *ur += tr;
                *ui += ti;
            }
        }
    }
}

static int frame(prov_afp *a)
{
    if (a->nrows >= PROV_AFP_MAX_WORDS + AFP_SPAN) return 0; /* past the bound: the rest is not read */
    if (a->nrows == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 1024;
        if (nc > PROV_AFP_MAX_WORDS + AFP_SPAN) nc = PROV_AFP_MAX_WORDS + AFP_SPAN;
        float *r = realloc(a->rows, nc * 12 * sizeof *r);
        if (!r) return prov_seterr(a->ctx, PROV_ENOMEM, "out of memory");
        a->rows = r;
        uint8_t *q = realloc(a->quiet, nc);
        if (!q) return prov_seterr(a->ctx, PROV_ENOMEM, "out of memory");
        a->quiet = q;
        a->cap = nc;
    }
    double power = 0;
    for (int i = 0; i < AFP_FRAME; i++) {
        power += (double)a->buf[i] * a->buf[i];
        a->re[i] = a->buf[i] * a->win[i];
        a->im[i] = 0;
    }
    float *row = a->rows + a->nrows * 12;
    memset(row, 0, 12 * sizeof *row);
    int quiet = power / AFP_FRAME < SILENT_POWER;
    a->quiet[a->nrows] = (uint8_t)quiet;
    if (!quiet) {
        fft(a);
        for (int k = 0; k < AFP_FRAME / 2; k++)
            if (a->cls[k] >= 0) row[a->cls[k]] += sqrtf(a->re[k] * a->re[k] + a->im[k] * a->im[k]);
    }
    a->nrows++;
    return 0;
}

int prov_afp_feed(prov_afp *a, const float *pcm, size_t n)
{
    if (!a || (!pcm && n)) return PROV_EINVAL;
    if (a->finished) return prov_seterr(a->ctx, PROV_EINVAL, "audio fingerprint: fed after it was finished");
    while (n) {
        size_t k = AFP_FRAME - a->fill;
        if (k > n) k = n;
        for (size_t i = 0; i < k; i++) {
            float v = pcm[i];
            /* NaN and out-of-range samples are clipped, not trusted */
            a->buf[a->fill + i] = v != v ? 0.0f : v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        }
        a->fill += k;
        pcm += k;
        n -= k;
        if (a->fill == AFP_FRAME) {
            int rc = frame(a);
            if (rc) return rc;
            memmove(a->buf, a->buf + AFP_HOP, (AFP_FRAME - AFP_HOP) * sizeof *a->buf);
            a->fill = AFP_FRAME - AFP_HOP;
        }
    }
    return 0;
}

/* The 32 filters: a rectangle of the chroma image (frames t0..t1 from the
 * word's first, pitch classes c0..c1, wrapping past 12) minus another. */
typedef struct {
    uint8_t t0, t1, c0, c1, u0, u1, d0, d1;
} afp_filter;

static const afp_filter FILTERS[32] = {
    /* 0-11: one pitch class against the next, over half a second */
    {0, 4, 0, 1, 0, 4, 1, 2}, {0, 4, 1, 2, 0, 4, 2, 3}, {0, 4, 2, 3, 0, 4, 3, 4}, {0, 4, 3, 4, 0, 4, 4, 5},
    {0, 4, 4, 5, 0, 4, 5, 6}, {0, 4, 5, 6, 0, 4, 6, 7}, {0, 4, 6, 7, 0, 4, 7, 8}, {0, 4, 7, 8, 0, 4, 8, 9},
    {0, 4, 8, 9, 0, 4, 9, 10}, {0, 4, 9, 10, 0, 4, 10, 11}, {0, 4, 10, 11, 0, 4, 11, 12}, {0, 4, 11, 12, 0, 4, 12, 13},
    /* 12-17: three classes against the three a tritone away, over a second */
    {0, 8, 0, 3, 0, 8, 6, 9}, {0, 8, 1, 4, 0, 8, 7, 10}, {0, 8, 2, 5, 0, 8, 8, 11},
    {0, 8, 3, 6, 0, 8, 9, 12}, {0, 8, 4, 7, 0, 8, 10, 13}, {0, 8, 5, 8, 0, 8, 11, 14},
    /* 18-23: two classes against the two a minor third up, later second */
    {4, 12, 0, 2, 4, 12, 3, 5}, {4, 12, 2, 4, 4, 12, 5, 7}, {4, 12, 4, 6, 4, 12, 7, 9},
    {4, 12, 6, 8, 4, 12, 9, 11}, {4, 12, 8, 10, 4, 12, 11, 13}, {4, 12, 10, 12, 4, 12, 13, 15},
    /* 24-31: three classes, earlier against later half second */
    {0, 4, 0, 3, 4, 8, 0, 3}, {0, 4, 3, 6, 4, 8, 3, 6}, {0, 4, 6, 9, 4, 8, 6, 9}, {0, 4, 9, 12, 4, 8, 9, 12},
    {4, 8, 0, 3, 8, 12, 0, 3}, {4, 8, 3, 6, 8, 12, 3, 6}, {4, 8, 6, 9, 8, 12, 6, 9}, {4, 8, 9, 12, 8, 12, 9, 12},
};

/* Sum of the chroma image over frames [t0, t1) and classes [c0, c1) (c
 * taken mod 12), from the integral image ii (24 columns + 1 a row). */
static double rect(const double *ii, size_t t0, size_t t1, int c0, int c1)
{
    const size_t w = 25;
    return ii[t1 * w + c1] - ii[t0 * w + c1] - ii[t1 * w + c0] + ii[t0 * w + c0];
}

int prov_afp_finish(prov_afp *a, const uint32_t **words, size_t *n)
{
    if (!a || !words || !n) return PROV_EINVAL;
    if (!a->finished) {
        a->finished = 1;
        size_t T = a->nrows;
        size_t nw = T >= AFP_SPAN ? T - AFP_SPAN + 1 : 0;
        if (nw > PROV_AFP_MAX_WORDS) nw = PROV_AFP_MAX_WORDS;
        if (nw) {
            static const double tap[5] = {0.25, 0.75, 1.0, 0.75, 0.25};
            double *ii = calloc((T + 1) * 25, sizeof *ii);
            a->words = malloc(nw * sizeof *a->words);
            if (!ii || !a->words) {
                free(ii);
                return prov_seterr(a->ctx, PROV_ENOMEM, "out of memory");
            }
            /* smoothed, normalised rows, integrated over time and 24
             * columns (the 12 classes twice, for the wrapping filters) */
            for (size_t t = 0; t < T; t++) {
                double v[12] = {0}, norm = 0;
                if (!a->quiet[t]) {
                    for (int j = -2; j <= 2; j++) {
                        long u = (long)t + j;
                        if (u < 0) u = 0;
                        if (u >= (long)T) u = (long)T - 1;
                        for (int c = 0; c < 12; c++) v[c] += tap[j + 2] * a->rows[(size_t)u * 12 + c];
                    }
                    for (int c = 0; c < 12; c++) norm += v[c] * v[c];
                    norm = sqrt(norm);
                }
                for (int c = 0; c < 12; c++) v[c] = norm > 1e-9 ? v[c] / norm : 0;
                double *prev = ii + t * 25, *cur = ii + (t + 1) * 25, run = 0;
                cur[0] = 0;
                for (int c = 0; c < 24; c++) {
                    run += v[c % 12];
                    cur[c + 1] = prev[c + 1] + run;
                }
            }
            for (size_t t = 0; t < nw; t++) {
                size_t quiet = 0;
                for (size_t j = 0; j < AFP_SPAN; j++) quiet += a->quiet[t + j];
                uint32_t w = 0;
                if (quiet * 2 <= AFP_SPAN) {
                    for (int b = 0; b < 32; b++) {
                        const afp_filter *f = &FILTERS[b];
                        double d = rect(ii, t + f->t0, t + f->t1, f->c0, f->c1) - rect(ii, t + f->u0, t + f->u1, f->d0, f->d1);
                        if (d > 1e-9) w |= 1u << b;
                    }
                    if (!w) w = 1; /* 0 is kept for "no sound" */
                }
                a->words[t] = w;
            }
            free(ii);
        }
        a->nwords = nw;
    }
    *words = a->words;
    *n = a->nwords;
    return 0;
}

int prov_afp_compare(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, prov_afp_match *m)
{
    if ((!a && na) || (!b && nb) || !m) return PROV_EINVAL;
    memset(m, 0, sizeof *m);
    if (na > PROV_AFP_MAX_WORDS || nb > PROV_AFP_MAX_WORDS) return PROV_ELIMIT;
    afp_query *x = afp_query_new(a, na);
    uint32_t *scratch = malloc((na + nb + 1) * sizeof *scratch);
    if (!x || !scratch) {
        afp_query_free(x);
        free(scratch);
        return PROV_ENOMEM;
    }
    afp_hit h;
    int found = afp_align(x, b, nb, 1, scratch, &h);
    afp_query_free(x);
    free(scratch);
    if (!found) return PROV_ENOTFOUND;
    m->offset = h.offset;
    m->overlap = h.overlap;
    m->ber = h.ber;
    return 0;
}
