/* npr_cuda.cu - the NPR network on a CUDA GPU: libprov_cuda.so.
 *
 * libprov loads this object with dlopen (detector/cuda_load.c) and calls
 * it through the npr_backend table (detector/backend.h); it is the only
 * code that links the CUDA runtime (statically) and cuBLAS.
 *
 * Layout: a batch of crops of one size, NHWC float32 activations.  Every
 * convolution is one matrix product, [N*Ho*Wo x k*k*cin] x [cout x
 * k*k*cin]^T, through cublasGemmEx with float32 storage; 3x3 and strided
 * convolutions get an im2col first (1x1 stride-1 ones read the activations
 * as they are).  One kernel after each product adds the folded-BN bias and
 * the residual and applies the ReLU.  The products are full float32 by
 * default: TF32 (10-bit mantissa inputs on tensor cores) moved the test
 * logits by up to 5.3e-3 in an emulation with truncated inputs (5.3e-4
 * rounded), over the 1e-3 the CPU path is held to; PROV_CUDA_MATH=tf32
 * asks for it anyway.  Host work (packing the crops into pinned memory)
 * overlaps the previous chunk's kernels. */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "prov.h"

#define CROP 256
#define MAX_BATCH 256
#define LOGIT_BUF (64 * 1024) /* floats of pinned logits */

namespace {

struct dconv {
    int cin, cout, k, stride, pad;
    float *w, *b; /* device */
};

struct dblock {
    dconv c1, c2, c3, ds;
    int has_ds, stride;
};

struct state {
    int dev;
    cudaStream_t st;
    cublasHandle_t h;
    cublasComputeType_t ct;
    dconv conv1;
    dblock blk[NPR_BLOCKS];
    float *fc_w, fc_b, *lut;
    float *wmem; /* every weight in one allocation */
    /* workspace for up to cap crops of up to CROP x CROP */
    int cap, max_cap; /* crops the workspace holds now, and at most */
    unsigned char *d_u8, *h_u8[2];
    float *in, *a1, *x, *y, *t1, *t2, *idn, *col, *d_logit, *h_logit;
    cudaEvent_t copied[2];
    pthread_mutex_t mu;
    char desc[256];
};

int half_up(int n) { return (n - 1) / 2 + 1; }

int fail(char *err, size_t n, const char *what, cudaError_t e)
{
    snprintf(err, n, "%s: %s", what, cudaGetErrorString(e));
    return e == cudaErrorMemoryAllocation ? PROV_ENOMEM : PROV_EIO;
}

int failb(char *err, size_t n, const char *what, cublasStatus_t s)
{
    snprintf(err, n, "%s: cuBLAS status %d", what, (int)s);
    return s == CUBLAS_STATUS_ALLOC_FAILED ? PROV_ENOMEM : PROV_EIO;
}

#define CK(call, what)                                                                             \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) return fail(err, errlen, what, e_);                                 \
    } while (0)
#define CKB(call, what)                                                                            \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS) return failb(err, errlen, what, s_);                     \
    } while (0)

/* ---- kernels ----------------------------------------------------------- */

/* NPR residual of the normalised crop: (x - x[top-left of 2x2]) * 2/3,
 * the same float operations as npr.c's npr_rows. */
__global__ void k_npr(const unsigned char *__restrict__ u8, const float *__restrict__ lut, int H,
                      int W, long total, float *__restrict__ out)
{
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int c = (int)(i % 3);
    long p = i / 3;
    int x = (int)(p % W);
    long q = p / W;
    int y = (int)(q % H);
    long n = q / H;
    const unsigned char *img = u8 + n * (long)H * W * 3;
    int a = img[((long)y * W + x) * 3 + c];
    int t = img[((long)(y & ~1) * W + (x & ~1)) * 3 + c];
    out[i] = (lut[c * 256 + a] - lut[c * 256 + t]) * (float)(2.0 / 3.0);
}

/* im2col, NHWC: row m = (n, oy, ox), columns (ky, kx, ci); v floats at a
 * time (v = 4 when cin % 4 == 0). */
template <int V>
__global__ void k_im2col(const float *__restrict__ in, int H, int W, int cin, int k, int s, int p,
                         int Ho, int Wo, long rows, float *__restrict__ col)
{
    int K = k * k * cin, Kv = K / V;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= rows * Kv) return;
    long m = i / Kv;
    int r = (int)(i % Kv) * V;
    int ci = r % cin, kx = (r / cin) % k, ky = r / (cin * k);
    int ox = (int)(m % Wo);
    long t = m / Wo;
    int oy = (int)(t % Ho);
    long n = t / Ho;
    int iy = oy * s - p + ky, ix = ox * s - p + kx;
    if (V == 4) {
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (iy >= 0 && iy < H && ix >= 0 && ix < W)
            v = *(const float4 *)(in + (((n * H + iy) * (long)W + ix) * cin + ci));
        *(float4 *)(col + m * K + r) = v;
    } else {
        float v = 0.f;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = in[((n * H + iy) * (long)W + ix) * cin + ci];
        col[m * K + r] = v;
    }
}

/* out = max(0, out + b (+ res)) or out + b, four channels a thread. */
__global__ void k_epilogue(float *__restrict__ out, const float *__restrict__ b,
                           const float *__restrict__ res, int N, long total4, int relu)
{
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total4) return;
    int n = (int)((i * 4) % N);
    float4 v = ((float4 *)out)[i];
    float4 bb = *(const float4 *)(b + n);
    v.x += bb.x;
    v.y += bb.y;
    v.z += bb.z;
    v.w += bb.w;
    if (res) {
        float4 r = ((const float4 *)res)[i];
        v.x += r.x;
        v.y += r.y;
        v.z += r.z;
        v.w += r.w;
    }
    if (relu) {
        v.x = v.x > 0.f ? v.x : 0.f;
        v.y = v.y > 0.f ? v.y : 0.f;
        v.z = v.z > 0.f ? v.z : 0.f;
        v.w = v.w > 0.f ? v.w : 0.f;
    }
    ((float4 *)out)[i] = v;
}

/* 3x3 max pool, stride 2, pad 1 (the centre tap is always inside). */
__global__ void k_maxpool(const float *__restrict__ in, int H, int W, int C, int Ho, int Wo,
                          long total, float *__restrict__ out)
{
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int c = (int)(i % C);
    long t = i / C;
    int ox = (int)(t % Wo);
    t /= Wo;
    int oy = (int)(t % Ho);
    long n = t / Ho;
    const float *img = in + n * (long)H * W * C;
    float m = img[((long)(2 * oy) * W + 2 * ox) * C + c];
    for (int iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++) {
        if (iy < 0 || iy >= H) continue;
        for (int ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
            if (ix < 0 || ix >= W) continue;
            float q = img[((long)iy * W + ix) * C + c];
            m = q > m ? q : m;
        }
    }
    out[i] = m;
}

/* Global average pool and fc1: one block of NPR_FEATURES threads an image,
 * sums in double as npr.c does. */
__global__ void k_pool_fc(const float *__restrict__ x, int P, const float *__restrict__ fc_w,
                          float fc_b, float *__restrict__ logits)
{
    __shared__ double part[NPR_FEATURES];
    int c = threadIdx.x;
    const float *img = x + (long)blockIdx.x * P * NPR_FEATURES;
    double s = 0;
    for (int p = 0; p < P; p++) s += img[(long)p * NPR_FEATURES + c];
    part[c] = (double)fc_w[c] * (s / P);
    __syncthreads();
    for (int k = NPR_FEATURES / 2; k > 0; k >>= 1) {
        if (c < k) part[c] += part[c + k];
        __syncthreads();
    }
    if (!c) logits[blockIdx.x] = (float)(fc_b + part[0]);
}

unsigned blocks(long n, int t) { return (unsigned)((n + t - 1) / t); }

/* ---- the network ------------------------------------------------------- */

/* out rows of conv c over in (N x H x W x cin) + bias (+ res), ReLU. */
int conv(state *s, const dconv *c, const float *in, int N, int H, int W, float *out,
         const float *res, int relu, char *err, size_t errlen)
{
    int Ho = c->stride == 2 ? half_up(H) : H, Wo = c->stride == 2 ? half_up(W) : W;
    long M = (long)N * Ho * Wo;
    int K = c->k * c->k * c->cin;
    const float *A = in;
    if (!(c->k == 1 && c->stride == 1)) {
        if (c->cin % 4 == 0)
            k_im2col<4><<<blocks(M * K / 4, 256), 256, 0, s->st>>>(in, H, W, c->cin, c->k, c->stride,
                                                                    c->pad, Ho, Wo, M, s->col);
        else
            k_im2col<1><<<blocks(M * K, 256), 256, 0, s->st>>>(in, H, W, c->cin, c->k, c->stride,
                                                                c->pad, Ho, Wo, M, s->col);
        A = s->col;
    }
    const float one = 1.f, zero = 0.f;
    /* row-major C[M][cout] = A[M][K] W[cout][K]^T is column-major
     * C^T = W^T(op T of a K x cout matrix) x A^T */
    CKB(cublasGemmEx(s->h, CUBLAS_OP_T, CUBLAS_OP_N, c->cout, (int)M, K, &one, c->w, CUDA_R_32F, K,
                     A, CUDA_R_32F, K, &zero, out, CUDA_R_32F, c->cout, s->ct, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
    long t4 = M * c->cout / 4;
    k_epilogue<<<blocks(t4, 256), 256, 0, s->st>>>(out, c->b, res, c->cout, t4, relu);
    return 0;
}

int forward(state *s, int N, int cw, int ch, float *d_logits, char *err, size_t errlen)
{
    int H0 = ch, W0 = cw, H1 = half_up(H0), W1 = half_up(W0), H2 = half_up(H1), W2 = half_up(W1);
    long t = (long)N * H0 * W0 * 3;
    k_npr<<<blocks(t, 256), 256, 0, s->st>>>(s->d_u8, s->lut, H0, W0, t, s->in);
    int rc = conv(s, &s->conv1, s->in, N, H0, W0, s->a1, NULL, 1, err, errlen);
    if (rc) return rc;
    t = (long)N * H2 * W2 * 64;
    k_maxpool<<<blocks(t, 256), 256, 0, s->st>>>(s->a1, H1, W1, 64, H2, W2, t, s->x);
    float *x = s->x, *y = s->y;
    int H = H2, W = W2;
    for (int i = 0; i < NPR_BLOCKS; i++) {
        const dblock *k = &s->blk[i];
        int Ho = k->stride == 2 ? half_up(H) : H, Wo = k->stride == 2 ? half_up(W) : W;
        if ((rc = conv(s, &k->c1, x, N, H, W, s->t1, NULL, 1, err, errlen))) return rc;
        if (k->has_ds && (rc = conv(s, &k->ds, x, N, H, W, s->idn, NULL, 0, err, errlen))) return rc;
        if ((rc = conv(s, &k->c2, s->t1, N, H, W, s->t2, NULL, 1, err, errlen))) return rc;
        if ((rc = conv(s, &k->c3, s->t2, N, Ho, Wo, y, k->has_ds ? s->idn : x, 1, err, errlen)))
            return rc;
        float *sw = x;
        x = y;
        y = sw;
        H = Ho;
        W = Wo;
    }
    k_pool_fc<<<N, NPR_FEATURES, 0, s->st>>>(x, H * W, s->fc_w, s->fc_b, d_logits);
    CK(cudaGetLastError(), "kernel launch");
    return 0;
}

/* Floats of each buffer for one crop of CROP x CROP (the largest). */
struct sizes {
    size_t in, a1, io, t1, t2, col;
};

sizes per_crop(void)
{
    long p1 = (long)(CROP / 2) * (CROP / 2), p2 = p1 / 4, p3 = p2 / 4;
    sizes z;
    z.in = (size_t)CROP * CROP * 3;
    z.a1 = p1 * 64;
    z.io = p2 * 256 > p3 * 512 ? p2 * 256 : p3 * 512;
    z.t1 = p2 * 128 > p3 * 128 ? p2 * 128 : p3 * 128;
    z.t2 = p2 * 64 > p3 * 128 ? p2 * 64 : p3 * 128;
    long c = p1 * 27;
    if (p2 * 576 > c) c = p2 * 576;
    if (p3 * 1152 > c) c = p3 * 1152;
    z.col = c;
    return z;
}

void free_ws(state *s)
{
    cudaFree(s->d_u8);
    cudaFree(s->in);
    cudaFree(s->a1);
    cudaFree(s->x);
    cudaFree(s->y);
    cudaFree(s->idn);
    cudaFree(s->t1);
    cudaFree(s->t2);
    cudaFree(s->col);
    cudaFree(s->d_logit);
    cudaFreeHost(s->h_u8[0]);
    cudaFreeHost(s->h_u8[1]);
    s->d_u8 = s->h_u8[0] = s->h_u8[1] = NULL;
    s->in = s->a1 = s->x = s->y = s->idn = s->t1 = s->t2 = s->col = s->d_logit = NULL;
    s->cap = 0;
}

size_t per_crop_bytes(void)
{
    sizes z = per_crop();
    return (z.in + z.a1 + 3 * z.io + z.t1 + z.t2 + z.col + 1) * sizeof(float) + CROP * CROP * 3;
}

/* The largest chunk: as many crops as half the free memory holds, at most
 * MAX_BATCH (about 30 MB a crop). */
int plan_cap(state *s, char *err, size_t errlen)
{
    size_t per = per_crop_bytes();
    size_t fr = 0, tot = 0;
    CK(cudaMemGetInfo(&fr, &tot), "cudaMemGetInfo");
    long cap = (long)(fr / 2 / per);
    if (cap > MAX_BATCH) cap = MAX_BATCH;
    if (cap < 1) {
        snprintf(err, errlen, "not enough GPU memory (%zu MB free, %zu MB needed)", fr >> 20, per >> 20);
        return PROV_ENOMEM;
    }
    const char *e = getenv("PROV_CUDA_BATCH"); /* for measurements */
    if (e && atoi(e) > 0 && atoi(e) < cap) cap = atoi(e);
    s->max_cap = (int)cap;
    return 0;
}

/* Workspace for chunks of up to cap crops (allocated when first needed,
 * grown by the calls that need more: one image does not take gigabytes). */
int alloc_ws(state *s, int cap, char *err, size_t errlen)
{
    sizes z = per_crop();
    s->cap = cap;
    size_t u8 = (size_t)cap * CROP * CROP * 3;
    CK(cudaMalloc(&s->d_u8, u8), "cudaMalloc");
    CK(cudaMalloc(&s->in, cap * z.in * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->a1, cap * z.a1 * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->x, cap * z.io * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->y, cap * z.io * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->idn, cap * z.io * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->t1, cap * z.t1 * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->t2, cap * z.t2 * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->col, cap * z.col * sizeof(float)), "cudaMalloc");
    CK(cudaMalloc(&s->d_logit, MAX_BATCH * sizeof(float)), "cudaMalloc");
    CK(cudaHostAlloc((void **)&s->h_u8[0], u8, cudaHostAllocDefault), "cudaHostAlloc");
    CK(cudaHostAlloc((void **)&s->h_u8[1], u8, cudaHostAllocDefault), "cudaHostAlloc");
    return 0;
}

/* ---- the table --------------------------------------------------------- */

size_t conv_floats(const npr_conv *c) { return (size_t)c->cout * c->k * c->k * c->cin + c->cout; }

void take_conv(dconv *d, const npr_conv *c, float **dst, float *host, size_t *off)
{
    d->cin = c->cin;
    d->cout = c->cout;
    d->k = c->k;
    d->stride = c->stride;
    d->pad = c->pad;
    size_t nw = (size_t)c->cout * c->k * c->k * c->cin;
    memcpy(host + *off, c->w, nw * sizeof(float));
    d->w = *dst + *off;
    *off += (nw + 3) & ~(size_t)3;
    memcpy(host + *off, c->b, c->cout * sizeof(float));
    d->b = *dst + *off;
    *off += ((size_t)c->cout + 3) & ~(size_t)3;
}

void cu_close(void *p)
{
    state *s = (state *)p;
    if (!s) return;
    cudaSetDevice(s->dev);
    if (s->st) cudaStreamSynchronize(s->st);
    free_ws(s);
    cudaFreeHost(s->h_logit);
    cudaFree(s->wmem);
    for (int i = 0; i < 2; i++)
        if (s->copied[i]) cudaEventDestroy(s->copied[i]);
    if (s->h) cublasDestroy(s->h);
    if (s->st) cudaStreamDestroy(s->st);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int cu_open_inner(state *s, const npr_net *net, char *err, size_t errlen)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n < 1) {
        snprintf(err, errlen, "no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none");
        return PROV_EUNSUPPORTED;
    }
    const char *dv = getenv("PROV_CUDA_DEVICE");
    s->dev = dv ? atoi(dv) : 0;
    if (s->dev < 0 || s->dev >= n) s->dev = 0;
    CK(cudaSetDevice(s->dev), "cudaSetDevice");
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, s->dev), "cudaGetDeviceProperties");
    CK(cudaStreamCreateWithFlags(&s->st, cudaStreamNonBlocking), "cudaStreamCreate");
    for (int i = 0; i < 2; i++) CK(cudaEventCreateWithFlags(&s->copied[i], cudaEventDisableTiming), "cudaEventCreate");
    CKB(cublasCreate(&s->h), "cublasCreate");
    CKB(cublasSetStream(s->h, s->st), "cublasSetStream");
    const char *m = getenv("PROV_CUDA_MATH");
    int fp32 = !(m && !strcmp(m, "tf32"));
    s->ct = fp32 ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F_FAST_TF32;
    /* weights: one block, converted layout is the CPU's own */
    size_t total = conv_floats(&net->conv1) + 8;
    for (int i = 0; i < NPR_BLOCKS; i++) {
        const npr_block *k = &net->blk[i];
        total += conv_floats(&k->c1) + conv_floats(&k->c2) + conv_floats(&k->c3) + 32;
        if (k->ds.w) total += conv_floats(&k->ds) + 8;
    }
    total += NPR_FEATURES + 3 * 256 + 16;
    float *host = (float *)calloc(total, sizeof(float));
    if (!host) {
        snprintf(err, errlen, "out of memory");
        return PROV_ENOMEM;
    }
    e = cudaMalloc(&s->wmem, total * sizeof(float));
    if (e != cudaSuccess) {
        free(host);
        return fail(err, errlen, "cudaMalloc (weights)", e);
    }
    size_t off = 0;
    take_conv(&s->conv1, &net->conv1, &s->wmem, host, &off);
    for (int i = 0; i < NPR_BLOCKS; i++) {
        const npr_block *k = &net->blk[i];
        dblock *b = &s->blk[i];
        take_conv(&b->c1, &k->c1, &s->wmem, host, &off);
        take_conv(&b->c2, &k->c2, &s->wmem, host, &off);
        take_conv(&b->c3, &k->c3, &s->wmem, host, &off);
        b->has_ds = k->ds.w != NULL;
        if (b->has_ds) take_conv(&b->ds, &k->ds, &s->wmem, host, &off);
        b->stride = k->stride;
    }
    memcpy(host + off, net->fc_w, NPR_FEATURES * sizeof(float));
    s->fc_w = s->wmem + off;
    off += NPR_FEATURES;
    memcpy(host + off, net->lut, 3 * 256 * sizeof(float));
    s->lut = s->wmem + off;
    off += 3 * 256;
    s->fc_b = net->fc_b;
    e = cudaMemcpy(s->wmem, host, off * sizeof(float), cudaMemcpyHostToDevice);
    free(host);
    if (e != cudaSuccess) return fail(err, errlen, "cudaMemcpy (weights)", e);
    int rc = plan_cap(s, err, errlen);
    if (rc) return rc;
    CK(cudaHostAlloc((void **)&s->h_logit, LOGIT_BUF * sizeof(float), cudaHostAllocDefault), "cudaHostAlloc");
    int rt = 0;
    cudaRuntimeGetVersion(&rt);
    snprintf(s->desc, sizeof s->desc, "%.200s (CUDA %d.%d, cuBLAS %s, batch up to %d)", prop.name, rt / 1000,
             rt % 1000 / 10, fp32 ? "FP32" : "TF32", s->max_cap);
    return 0;
}

int cu_open(const npr_net *net, void **out, char *err, size_t errlen)
{
    *out = NULL;
    state *s = (state *)calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return PROV_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    int rc = cu_open_inner(s, net, err, errlen);
    if (rc) {
        cu_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

const char *cu_describe(void *p) { return ((state *)p)->desc; }

/* Score a run of crops of one size, chunk by chunk; the host packs chunk
 * i + 1 while the GPU runs chunk i (two pinned staging buffers). */
int score_same(state *s, const npr_crop *crops, const size_t *idx, size_t n, float *logits,
               char *err, size_t errlen)
{
    int cw = (int)crops[idx[0]].cw, ch = (int)crops[idx[0]].ch;
    size_t row = (size_t)cw * 3, img = row * ch;
    size_t done = 0, chunk = 0, flushed = 0;
    while (done < n) {
        int b = (int)(n - done < (size_t)s->cap ? n - done : (size_t)s->cap);
        int slot = (int)(chunk & 1);
        CK(cudaEventSynchronize(s->copied[slot]), "cudaEventSynchronize");
        unsigned char *h = s->h_u8[slot];
        for (int i = 0; i < b; i++) {
            const npr_crop *c = &crops[idx[done + i]];
            for (int y = 0; y < ch; y++) memcpy(h + i * img + y * row, c->p + y * c->stride, row);
        }
        CK(cudaMemcpyAsync(s->d_u8, h, b * img, cudaMemcpyHostToDevice, s->st), "cudaMemcpyAsync");
        CK(cudaEventRecord(s->copied[slot], s->st), "cudaEventRecord");
        int rc = forward(s, b, cw, ch, s->d_logit, err, errlen);
        if (rc) return rc;
        /* logits gather in the pinned buffer (64K at a time), read back
         * once the stream has run: no wait between chunks */
        if (done - flushed + b > LOGIT_BUF) {
            CK(cudaStreamSynchronize(s->st), "cudaStreamSynchronize");
            for (size_t i = flushed; i < done; i++) logits[idx[i]] = s->h_logit[i - flushed];
            flushed = done;
        }
        CK(cudaMemcpyAsync(s->h_logit + (done - flushed), s->d_logit, b * sizeof(float),
                           cudaMemcpyDeviceToHost, s->st),
           "cudaMemcpyAsync");
        done += (size_t)b;
        chunk++;
    }
    CK(cudaStreamSynchronize(s->st), "cudaStreamSynchronize");
    for (size_t i = flushed; i < n; i++) logits[idx[i]] = s->h_logit[i - flushed];
    return 0;
}

int cu_score(void *p, const npr_crop *crops, size_t n, unsigned threads, float *logits, char *err,
             size_t errlen)
{
    state *s = (state *)p;
    if (!n) return 0;
    size_t *idx = (size_t *)malloc(n * sizeof *idx);
    char *used = (char *)calloc(n, 1);
    if (!idx || !used) {
        free(idx);
        free(used);
        snprintf(err, errlen, "out of memory");
        return PROV_ENOMEM;
    }
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    cudaError_t e = cudaSetDevice(s->dev);
    if (e != cudaSuccess) rc = fail(err, errlen, "cudaSetDevice", e);
    /* workspace for this call: the next power of two of its crops */
    int want = 1;
    while (want < s->max_cap && (size_t)want < n) want *= 2;
    if (want > s->max_cap) want = s->max_cap;
    if (!rc && want > s->cap) {
        cudaStreamSynchronize(s->st);
        free_ws(s);
        rc = alloc_ws(s, want, err, errlen);
        if (rc) free_ws(s); /* the next call tries again */
    }
    /* group crops of one size (nearly always there is one size) */
    for (size_t i = 0; i < n && !rc; i++) {
        if (used[i]) continue;
        if (crops[i].cw > CROP || crops[i].ch > CROP || crops[i].cw < 2 || crops[i].ch < 2) {
            snprintf(err, errlen, "crop %zu is %ux%u", i, crops[i].cw, crops[i].ch);
            rc = PROV_EINVAL;
            break;
        }
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (!used[j] && crops[j].cw == crops[i].cw && crops[j].ch == crops[i].ch) {
                used[j] = 1;
                idx[k++] = j;
            }
        rc = score_same(s, crops, idx, k, logits, err, errlen);
    }
    if (rc) cudaStreamSynchronize(s->st);
    pthread_mutex_unlock(&s->mu);
    free(idx);
    free(used);
    return rc;
}

const npr_backend table = {NPR_BACKEND_ABI, "cuda", cu_open, cu_score, cu_describe, cu_close};

} // namespace

extern "C" __attribute__((visibility("default"))) const npr_backend *prov_cuda_backend(int abi)
{
    return abi == NPR_BACKEND_ABI ? &table : NULL;
}
