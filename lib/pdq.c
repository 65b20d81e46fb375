/* pdq.c - the PDQ perceptual hash, from Meta's published description
 * (hashing.pdf, "PDQ"): see pdq.h.  Floats throughout, as the reference. */
#include "pdq.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define JAROSZ_DIVISOR 128 /* window = dimension / 128: two passes of half a 64th */
#define JAROSZ_PASSES 2

/* One centred box filter of width win along a vector (length n, stride),
 * the window shrinking at both ends. */
static void box1d(const float *in, float *out, size_t n, size_t stride, size_t win)
{
    size_t half = (win + 2) / 2;
    size_t p1 = half - 1, p2 = win - half + 1, p3 = n > win ? n - win : 0, p4 = half - 1;
    size_t li = 0, ri = 0, oi = 0, cur = 0;
    float sum = 0;
    for (size_t i = 0; i < p1 && ri < n * stride; i++, ri += stride) {
        sum += in[ri];
        cur++;
    }
    for (size_t i = 0; i < p2 && ri < n * stride; i++, ri += stride, oi += stride) {
        sum += in[ri];
        cur++;
        out[oi] = sum / (float)cur;
    }
    for (size_t i = 0; i < p3; i++, li += stride, ri += stride, oi += stride) {
        sum += in[ri];
        sum -= in[li];
        out[oi] = sum / (float)cur;
    }
    for (size_t i = 0; i < p4 && oi < n * stride; i++, li += stride, oi += stride) {
        sum -= in[li];
        cur--;
        out[oi] = cur ? sum / (float)cur : 0;
    }
}

static size_t window(size_t dim) { return (dim + JAROSZ_DIVISOR - 1) / JAROSZ_DIVISOR; }

/* box1d down every column at once, a row at a time: the same additions in
 * the same order per column (so the same floats), but memory is read along
 * rows, not one cache line a pixel.  sum: cols floats of scratch. */
static void box_cols(const float *in, float *out, size_t rows, size_t cols, size_t win, float *sum)
{
    size_t half = (win + 2) / 2;
    size_t p1 = half - 1, p2 = win - half + 1, p3 = rows > win ? rows - win : 0, p4 = half - 1;
    size_t li = 0, ri = 0, oi = 0, cur = 0;
    memset(sum, 0, cols * sizeof *sum);
    for (size_t i = 0; i < p1 && ri < rows; i++, ri++, cur++)
        for (size_t j = 0; j < cols; j++) sum[j] += in[ri * cols + j];
    for (size_t i = 0; i < p2 && ri < rows; i++, ri++, oi++) {
        cur++;
        for (size_t j = 0; j < cols; j++) {
            sum[j] += in[ri * cols + j];
            out[oi * cols + j] = sum[j] / (float)cur;
        }
    }
    for (size_t i = 0; i < p3; i++, li++, ri++, oi++)
        for (size_t j = 0; j < cols; j++) {
            sum[j] += in[ri * cols + j];
            sum[j] -= in[li * cols + j];
            out[oi * cols + j] = sum[j] / (float)cur;
        }
    for (size_t i = 0; i < p4 && oi < rows; i++, li++, oi++) {
        cur--;
        for (size_t j = 0; j < cols; j++) {
            sum[j] -= in[li * cols + j];
            out[oi * cols + j] = cur ? sum[j] / (float)cur : 0;
        }
    }
}

/* Rows then columns, twice: a tent filter; the result is back in a. */
static void jarosz(float *a, float *b, size_t rows, size_t cols, float *sum)
{
    size_t wr = window(cols), wc = window(rows);
    for (int k = 0; k < JAROSZ_PASSES; k++) {
        for (size_t i = 0; i < rows; i++) box1d(a + i * cols, b + i * cols, cols, 1, wr);
        box_cols(b, a, rows, cols, wc, sum);
    }
}

/* Torben's median (the lower one for an even count), as the reference. */
static float median(const float *m, int n)
{
    float lo = m[0], hi = m[0];
    for (int i = 1; i < n; i++) {
        if (m[i] < lo) lo = m[i];
        if (m[i] > hi) hi = m[i];
    }
    int half = (n + 1) / 2;
    for (;;) {
        float guess = (lo + hi) / 2, maxlt = lo, mingt = hi;
        int less = 0, greater = 0, equal = 0;
        for (int i = 0; i < n; i++) {
            if (m[i] < guess) {
                less++;
                if (m[i] > maxlt) maxlt = m[i];
            } else if (m[i] > guess) {
                greater++;
                if (m[i] < mingt) mingt = m[i];
            } else {
                equal++;
            }
        }
        if (less <= half && greater <= half) {
            if (less >= half) return maxlt;
            if (less + equal >= half) return guess;
            return mingt;
        }
        if (less > greater) hi = maxlt;
        else lo = mingt;
    }
}

static float dct[16][64];

static void dct_init(void)
{
    /* rows 1..16 of the 64-point DCT-II: the DC term carries brightness,
     * not structure, so it is left out */
    const double scale = sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++)
            dct[i][j] = (float)(scale * cos((M_PI / 2 / 64.0) * (i + 1) * (2 * j + 1)));
}

/* Scratch for hashing pictures up to n pixels (reused across crops). */
typedef struct pdq_scratch {
    float *a, *b, *sum;
} pdq_scratch;

static int scratch_new(pdq_scratch *sc, size_t n, size_t w)
{
    sc->a = malloc(n * sizeof *sc->a);
    sc->b = malloc(n * sizeof *sc->b);
    sc->sum = malloc(w * sizeof *sc->sum);
    if (sc->a && sc->b && sc->sum) return 0;
    free(sc->a);
    free(sc->b);
    free(sc->sum);
    return PROV_ENOMEM;
}

static void scratch_free(pdq_scratch *sc)
{
    free(sc->a);
    free(sc->b);
    free(sc->sum);
}

static inline float luma_of(const uint8_t *p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

static int hash_luma(float *a, float *b, float *sum, uint32_t w, uint32_t h, uint8_t hash[32], int *quality);

int pdq_rgb(const uint8_t *rgb, uint32_t w, uint32_t h, size_t stride, uint8_t hash[32], int *quality)
{
    if (!rgb || !w || !h || stride < (size_t)w * 3 || (uint64_t)w * h > PROV_IMG_MAX_PIXELS) return PROV_EINVAL;
    pdq_scratch sc;
    if (scratch_new(&sc, (size_t)w * h, w)) return PROV_ENOMEM;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *p = rgb + (size_t)y * stride;
        float *o = sc.a + (size_t)y * w;
        for (uint32_t x = 0; x < w; x++, p += 3) o[x] = luma_of(p);
    }
    int rc = hash_luma(sc.a, sc.b, sc.sum, w, h, hash, quality);
    scratch_free(&sc);
    return rc;
}

/* The hash of the luma plane in a (w x h; a and b are overwritten). */
static int hash_luma(float *a, float *b, float *sum, uint32_t w, uint32_t h, uint8_t hash[32], int *quality)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dct_init); /* threads may hash at once (a service) */
    jarosz(a, b, h, w, sum);
    static const int N = 64;
    float d64[64][64];
    for (int i = 0; i < N; i++) {
        size_t yi = (size_t)(((i + 0.5) * h) / N);
        for (int j = 0; j < N; j++) {
            size_t xj = (size_t)(((j + 0.5) * w) / N);
            d64[i][j] = a[yi * w + xj];
        }
    }
    /* quality: how much the picture varies (a flat one hashes to noise) */
    int grad = 0;
    for (int i = 0; i < 63; i++)
        for (int j = 0; j < 64; j++) grad += abs((int)(((d64[i][j] - d64[i + 1][j]) * 100) / 255));
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 63; j++) grad += abs((int)(((d64[i][j] - d64[i][j + 1]) * 100) / 255));
    int q = grad / 90;
    if (quality) *quality = q > 100 ? 100 : q;
    /* B = D A D^T, 16x16 */
    float t[16][64], c[16][16];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++) {
            float s = 0;
            for (int k = 0; k < 64; k++) s += dct[i][k] * d64[k][j];
            t[i][j] = s;
        }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = 0;
            for (int k = 0; k < 64; k++) s += t[i][k] * dct[j][k];
            c[i][j] = s;
        }
    float med = median(&c[0][0], 256);
    memset(hash, 0, 32);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            if (c[i][j] > med) {
                /* bit i*16+j of word i; words print from 15 down, big-endian */
                int byte = 2 * (15 - i) + (j < 8 ? 1 : 0);
                hash[byte] |= (uint8_t)(1u << (j & 7));
            }
    return 0;
}

/* Crops of one picture: its luma computed once, scratch shared. */
typedef struct crops {
    const prov_img *im;
    float *luma;
    pdq_scratch sc;
} crops;

static int crops_new(crops *c, const prov_img *im)
{
    if (!im || !im->rgb || !im->w || !im->h || (uint64_t)im->w * im->h > PROV_IMG_MAX_PIXELS) return PROV_EINVAL;
    size_t n = (size_t)im->w * im->h;
    c->im = im;
    if (!(c->luma = malloc(n * sizeof *c->luma))) return PROV_ENOMEM;
    if (scratch_new(&c->sc, n, im->w)) {
        free(c->luma);
        return PROV_ENOMEM;
    }
    const uint8_t *p = im->rgb;
    for (size_t i = 0; i < n; i++, p += 3) c->luma[i] = luma_of(p);
    return 0;
}

static void crops_free(crops *c)
{
    free(c->luma);
    scratch_free(&c->sc);
}

/* Hash the crop [x0, x0 + w) x [y0, y0 + h) (the whole picture when it
 * does not fit). */
static int crop_hash(crops *c, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint8_t out[32], int *quality)
{
    const prov_img *im = c->im;
    if (!w || !h || x0 + w > im->w || y0 + h > im->h) x0 = y0 = 0, w = im->w, h = im->h;
    for (uint32_t y = 0; y < h; y++)
        memcpy(c->sc.a + (size_t)y * w, c->luma + (size_t)(y0 + y) * im->w + x0, (size_t)w * sizeof(float));
    return hash_luma(c->sc.a, c->sc.b, c->sc.sum, w, h, out, quality);
}

int pdq_variants(const prov_img *im, uint8_t out[PDQ_VARIANTS][32], int *quality)
{
    crops c;
    int rc = crops_new(&c, im);
    if (rc) return rc;
    for (int k = 0; k < PDQ_VARIANTS && !rc; k++) {
        /* k % 3 and k / 3: 0, 5 or 10% of the width and the height, half
         * off each edge; k = 0 is the whole picture */
        uint32_t cx = (uint32_t)((uint64_t)im->w * (k % 3) / 20), cy = (uint32_t)((uint64_t)im->h * (k / 3) / 20);
        rc = crop_hash(&c, cx / 2, cy / 2, im->w - cx, im->h - cy, out[k], k ? NULL : quality);
    }
    crops_free(&c);
    return rc;
}

int pdq_queries(const prov_img *im, uint8_t out[PDQ_QUERIES][32], int *quality)
{
    /* which edges lose 5%: none; left, right, top, bottom; the corners */
    static const uint8_t cut[PDQ_QUERIES][4] = {{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1},
                                                {1, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 0, 1}, {0, 1, 0, 1}};
    crops c;
    int rc = crops_new(&c, im);
    if (rc) return rc;
    uint32_t dx = im->w / 20, dy = im->h / 20;
    for (int k = 0; k < PDQ_QUERIES && !rc; k++) {
        uint32_t x0 = cut[k][0] ? dx : 0, y0 = cut[k][2] ? dy : 0;
        uint32_t w = im->w - (cut[k][0] + cut[k][1]) * dx, h = im->h - (cut[k][2] + cut[k][3]) * dy;
        rc = crop_hash(&c, x0, y0, w, h, out[k], k ? NULL : quality);
    }
    crops_free(&c);
    return rc;
}

int pdq_fit(prov_img *im)
{
    if (im->w <= PDQ_HASH_SIDE && im->h <= PDQ_HASH_SIDE) return 0;
    prov_img small;
    int rc = img_downscale(im, PDQ_HASH_SIDE, &small);
    if (rc) return rc;
    img_free(im);
    *im = small;
    return 0;
}

int pdq_decode(prov_ctx *ctx, prov_stream *in, prov_img *out)
{
    int rc = img_decode_stream(ctx, in, PDQ_DECODE_SIDE, out);
    if (rc) return rc;
    if ((rc = pdq_fit(out))) img_free(out);
    return rc;
}

int pdq_stream(prov_ctx *ctx, prov_stream *in, uint8_t hash[32], int *quality)
{
    prov_img img;
    int rc = pdq_decode(ctx, in, &img);
    if (rc) return rc;
    rc = pdq_rgb(img.rgb, img.w, img.h, (size_t)img.w * 3, hash, quality);
    img_free(&img);
    return rc;
}

/* ---- public ---- */

int prov_pdq_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, size_t stride, uint8_t hash[PROV_PDQ_BYTES],
                 int *quality)
{
    if (!hash) return PROV_EINVAL;
    return pdq_rgb(rgb, width, height, stride, hash, quality);
}

int prov_pdq_stream(prov_ctx *ctx, prov_stream *in, uint8_t hash[PROV_PDQ_BYTES], int *quality)
{
    if (!in || !hash) return PROV_EINVAL;
    if (ctx) ctx->msg[0] = 0;
    return pdq_stream(ctx, in, hash, quality);
}

int prov_pdq_file(prov_ctx *ctx, const char *path, uint8_t hash[PROV_PDQ_BYTES], int *quality)
{
    if (!path || !hash) return PROV_EINVAL;
    if (ctx) ctx->msg[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return prov_seterr(ctx, PROV_EIO, "%s: cannot open", path);
    prov_stream s;
    prov_stream_file(&s, f);
    int rc = pdq_stream(ctx, &s, hash, quality);
    fclose(f);
    return rc;
}

int prov_pdq_distance(const uint8_t a[PROV_PDQ_BYTES], const uint8_t b[PROV_PDQ_BYTES])
{
    int d = 0;
    for (int i = 0; i < PROV_PDQ_BYTES; i++) d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return d;
}

void prov_pdq_hex(const uint8_t hash[PROV_PDQ_BYTES], char out[2 * PROV_PDQ_BYTES + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < PROV_PDQ_BYTES; i++) {
        out[2 * i] = hx[hash[i] >> 4];
        out[2 * i + 1] = hx[hash[i] & 15];
    }
    out[2 * PROV_PDQ_BYTES] = 0;
}
