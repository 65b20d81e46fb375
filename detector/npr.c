/* npr.c - the NPR network on one crop, on the CPU.
 *
 * Activations are HWC (channels innermost).  A convolution is an im2col
 * of a band of output rows followed by one sgemm (net->gemm: OpenBLAS,
 * see blas.c) and a pass that
 * adds the folded-BN bias, the residual and applies the ReLU while the
 * band is still in cache; 1x1 stride-1 convolutions need no im2col (the
 * HWC input already is the matrix).  A team of threads splits every stage
 * by output rows and meets at a barrier where the next stage reads rows
 * another thread wrote (3x3 convolutions and the max pool read a halo). */
#include "detector.h"

#include <string.h>

/* Floats of im2col scratch per thread: a band of output rows is cut so
 * that its im2col matrix (or its output) stays near this size (1 MB). */
#define NPR_BAND_FLOATS (256u * 1024u)

#define ALIGN16(n) (((size_t)(n) + 15) & ~(size_t)15)

static int half_up(int n) { return (n - 1) / 2 + 1; } /* 3x3/1x1 stride 2 pad 1/0 */

typedef struct dims {
    int h0, w0, h1, w1, h2, w2, h3, w3;
} dims;

static dims dims_of(uint32_t cw, uint32_t ch)
{
    dims d;
    d.h0 = (int)ch;
    d.w0 = (int)cw;
    d.h1 = half_up(d.h0); /* conv1 */
    d.w1 = half_up(d.w0);
    d.h2 = half_up(d.h1); /* max pool */
    d.w2 = half_up(d.w1);
    d.h3 = half_up(d.h2); /* layer2 */
    d.w3 = half_up(d.w2);
    return d;
}

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

typedef struct layout {
    size_t in, a1, x, y, t1, t2, idn, col, part, total;
    size_t col_each;
} layout;

static layout plan(uint32_t cw, uint32_t ch, int nthreads)
{
    dims d = dims_of(cw, ch);
    size_t p2 = (size_t)d.h2 * d.w2, p3 = (size_t)d.h3 * d.w3;
    size_t io = ALIGN16(zmax(p2 * 256, p3 * 512));
    layout l;
    l.col_each = ALIGN16(zmax(NPR_BAND_FLOATS,
                              zmax((size_t)d.w1 * 64 * 27, zmax((size_t)d.w2 * 256 * 9,
                                                                  (size_t)d.w3 * 512 * 9))));
    size_t off = 0;
    l.in = off, off += ALIGN16((size_t)d.h0 * d.w0 * 3);
    l.a1 = off, off += ALIGN16((size_t)d.h1 * d.w1 * 64);
    l.x = off, off += io;
    l.y = off, off += io;
    l.t1 = off, off += ALIGN16(zmax(p2 * 128, p3 * 128));
    l.t2 = off, off += ALIGN16(zmax(p2 * 64, p3 * 128));
    l.idn = off, off += io;
    l.part = off, off += ALIGN16((size_t)nthreads * NPR_FEATURES * 2); /* doubles */
    l.col = off, off += l.col_each * (size_t)nthreads;
    l.total = off;
    return l;
}

size_t npr_workspace_floats(uint32_t cw, uint32_t ch, int nthreads)
{
    return plan(cw, ch, nthreads < 1 ? 1 : nthreads).total;
}

static void span(int n, int tid, int nt, int *a, int *b)
{
    *a = (int)((long)n * tid / nt);
    *b = (int)((long)n * (tid + 1) / nt);
}

static void sync_team(const npr_team *t)
{
    if (t->nthreads > 1) pthread_barrier_wait(t->bar);
}

/* Rows [oy, oy + ny) of the im2col matrix of c over in (H x W x cin):
 * one row per output pixel, k*k*cin columns ordered (ky, kx, ci). */
static void im2col(const npr_conv *c, const float *in, int H, int W, int Wo, int oy, int ny,
                   float *col)
{
    int cin = c->cin, k = c->k, s = c->stride, p = c->pad;
    size_t tap = (size_t)cin * sizeof(float);
    float *d = col;
    for (int y = oy; y < oy + ny; y++)
        for (int x = 0; x < Wo; x++) {
            int ix0 = x * s - p;
            int inside = ix0 >= 0 && ix0 + k <= W;
            for (int ky = 0; ky < k; ky++) {
                int iy = y * s - p + ky;
                if (iy < 0 || iy >= H) {
                    memset(d, 0, tap * k);
                    d += (size_t)cin * k;
                    continue;
                }
                const float *row = in + (size_t)iy * W * cin;
                if (inside) {
                    memcpy(d, row + (size_t)ix0 * cin, tap * k);
                    d += (size_t)cin * k;
                    continue;
                }
                for (int kx = 0; kx < k; kx++, d += cin) {
                    int ix = ix0 + kx;
                    if (ix < 0 || ix >= W)
                        memset(d, 0, tap);
                    else
                        memcpy(d, row + (size_t)ix * cin, tap);
                }
            }
        }
}

/* 4 floats, any alignment (GCC/clang vector extension: one SSE or NEON
 * register).  At -O2 GCC does not vectorise the epilogue loop by itself,
 * and a branchy ReLU mispredicts on every other value. */
typedef float v4f __attribute__((vector_size(16), aligned(4)));
typedef int32_t v4i __attribute__((vector_size(16), aligned(4)));

/* out[m][n] += b[n] (+ res[m][n]), then max(0, .) if relu. */
static void epilogue(float *restrict out, int M, int N, const float *restrict b,
                     const float *restrict res, int relu)
{
    const v4f zero = {0};
    int n4 = N & ~3;
    for (int m = 0; m < M; m++) {
        float *restrict o = out + (size_t)m * N;
        const float *restrict r = res ? res + (size_t)m * N : NULL;
        for (int n = 0; n < n4; n += 4) {
            v4f v = *(v4f *)(o + n) + *(const v4f *)(b + n);
            if (r) v += *(const v4f *)(r + n);
            if (relu) v = (v4f)((v4i)v & (v4i)(v > zero));
            *(v4f *)(o + n) = v;
        }
        for (int n = n4; n < N; n++) {
            float v = o[n] + b[n] + (r ? r[n] : 0.0f);
            o[n] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

/* Output rows [oy0, oy1) of conv c (+ bias, + res, ReLU) from in (H x W). */
static void conv_rows(npr_gemm_fn gemm, const npr_conv *c, const float *in, int H, int W,
                      float *out, int Wo, int oy0, int oy1, float *col, size_t col_cap,
                      const float *res, int relu)
{
    int K = c->k * c->k * c->cin, N = c->cout;
    int direct = c->k == 1 && c->stride == 1;
    size_t row_f = (size_t)Wo * (size_t)(K > N ? K : N);
    int band = (int)(col_cap / row_f);
    if (band < 1) band = 1;
    for (int oy = oy0; oy < oy1; oy += band) {
        int ny = oy1 - oy < band ? oy1 - oy : band, M = ny * Wo;
        const float *A = in + (size_t)oy * W * c->cin;
        if (!direct) {
            im2col(c, in, H, W, Wo, oy, ny, col);
            A = col;
        }
        float *C = out + (size_t)oy * Wo * N;
        gemm(M, N, K, A, K, c->w, K, C, N);
        epilogue(C, M, N, c->b, res ? res + (size_t)oy * Wo * N : NULL, relu);
    }
}

/* 3x3 max pool, stride 2, pad 1 (padding never wins: the centre tap is
 * always inside), rows [oy0, oy1). */
static void maxpool_rows(const float *in, int H, int W, int C, float *out, int Wo, int oy0,
                         int oy1)
{
    for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < Wo; ox++) {
            float *restrict o = out + ((size_t)oy * Wo + ox) * C;
            memcpy(o, in + ((size_t)(2 * oy) * W + 2 * ox) * C, (size_t)C * sizeof(float));
            for (int iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++) {
                if (iy < 0 || iy >= H) continue;
                for (int ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
                    if (ix < 0 || ix >= W) continue;
                    const float *restrict q = in + ((size_t)iy * W + ix) * C;
                    for (int c = 0; c < C; c++) o[c] = q[c] > o[c] ? q[c] : o[c];
                }
            }
        }
}

/* Rows [y0, y1) of the network input: the NPR residual of the normalised
 * crop, (x - x[top-left of its 2x2 block]) * 2/3, HWC. */
static void npr_rows(const npr_net *net, const uint8_t *rgb, int W, size_t stride, float *out,
                     int y0, int y1)
{
    const float scale = (float)(2.0 / 3.0);
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = rgb + (size_t)y * stride, *top = rgb + (size_t)(y & ~1) * stride;
        float *o = out + (size_t)y * W * 3;
        for (int x = 0; x < W; x++) {
            const uint8_t *a = row + 3 * (size_t)x, *t = top + 3 * (size_t)(x & ~1);
            for (int c = 0; c < 3; c++)
                o[3 * x + c] = (net->lut[c][a[c]] - net->lut[c][t[c]]) * scale;
        }
    }
}

float npr_forward(const npr_net *net, const uint8_t *rgb, uint32_t cw, uint32_t ch, size_t stride,
                  float *ws, const npr_team *team, int tid)
{
    int nt = team->nthreads;
    dims d = dims_of(cw, ch);
    layout l = plan(cw, ch, nt);
    float *in = ws + l.in, *a1 = ws + l.a1, *x = ws + l.x, *y = ws + l.y, *t1 = ws + l.t1,
          *t2 = ws + l.t2, *idn = ws + l.idn, *col = ws + l.col + l.col_each * (size_t)tid;
    double *part = (double *)(ws + l.part);
    int a, b;

    span(d.h0, tid, nt, &a, &b);
    npr_rows(net, rgb, d.w0, stride, in, a, b);
    sync_team(team);
    span(d.h1, tid, nt, &a, &b);
    conv_rows(net->gemm, &net->conv1, in, d.h0, d.w0, a1, d.w1, a, b, col, l.col_each, NULL, 1);
    sync_team(team);
    span(d.h2, tid, nt, &a, &b);
    maxpool_rows(a1, d.h1, d.w1, 64, x, d.w2, a, b);
    sync_team(team);

    int H = d.h2, W = d.w2;
    for (int i = 0; i < NPR_BLOCKS; i++) {
        const npr_block *k = &net->blk[i];
        int Ho = k->stride == 2 ? half_up(H) : H, Wo = k->stride == 2 ? half_up(W) : W;
        span(H, tid, nt, &a, &b);
        conv_rows(net->gemm, &k->c1, x, H, W, t1, W, a, b, col, l.col_each, NULL, 1);
        span(Ho, tid, nt, &a, &b);
        if (k->ds.w) conv_rows(net->gemm, &k->ds, x, H, W, idn, Wo, a, b, col, l.col_each, NULL, 0);
        sync_team(team); /* the 3x3 conv reads t1 rows of the neighbours */
        conv_rows(net->gemm, &k->c2, t1, H, W, t2, Wo, a, b, col, l.col_each, NULL, 1);
        conv_rows(net->gemm, &k->c3, t2, Ho, Wo, y, Wo, a, b, col, l.col_each, k->ds.w ? idn : x, 1);
        sync_team(team);
        float *s = x;
        x = y;
        y = s;
        H = Ho;
        W = Wo;
    }

    /* global average pool (each thread sums its rows) and fc1 */
    span(H, tid, nt, &a, &b);
    double *acc = part + (size_t)tid * NPR_FEATURES;
    for (int c = 0; c < NPR_FEATURES; c++) acc[c] = 0;
    for (size_t p = (size_t)a * W; p < (size_t)b * W; p++) {
        const float *v = x + p * NPR_FEATURES;
        for (int c = 0; c < NPR_FEATURES; c++) acc[c] += v[c];
    }
    sync_team(team);
    double logit = net->fc_b, inv = 1.0 / ((double)H * W);
    for (int c = 0; c < NPR_FEATURES; c++) {
        double s = 0;
        for (int t = 0; t < nt; t++) s += part[(size_t)t * NPR_FEATURES + c];
        logit += (double)net->fc_w[c] * (s * inv);
    }
    return (float)logit;
}
