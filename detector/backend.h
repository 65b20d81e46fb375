/* backend.h - the network as the back ends see it, and the one table of
 * function pointers every back end (cpu, cuda) fills.
 *
 * Plain C with no libprov internals, so that the CUDA back end (compiled
 * by nvcc into libprov_cuda.so, loaded with dlopen) includes it too: the
 * structs below are the ABI between libprov and that object, checked by
 * NPR_BACKEND_ABI. */
#ifndef PROV_DETECTOR_BACKEND_H
#define PROV_DETECTOR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below or the table changes. */
#define NPR_BACKEND_ABI 1
/* The symbol libprov_cuda.so exports: const npr_backend *(*)(int abi). */
#define NPR_CUDA_ENTRY "prov_cuda_backend"

#define NPR_BLOCKS 7     /* layer1: 3 bottlenecks, layer2: 4 */
#define NPR_FEATURES 512 /* channels into fc1 */

/* A convolution with its batch norm folded in: out = W * in + b.
 * w is [cout][k][k][cin] (input channels innermost, as the HWC im2col
 * lays them out), b is [cout]. */
typedef struct npr_conv {
    int cin, cout, k, stride, pad;
    const float *w, *b;
} npr_conv;

typedef struct npr_block {
    npr_conv c1, c2, c3, ds; /* ds.w is NULL when the block has no projection */
    int stride;
} npr_block;

/* C[m][n] = sum_k A[m][k] * B[n][k] (row-major; B as cblas' Trans). */
typedef void (*npr_gemm_fn)(int M, int N, int K, const float *A, int lda, const float *B,
                            int ldb, float *C, int ldc);

typedef struct npr_net {
    npr_gemm_fn gemm; /* set by the caller of npr_load */
    npr_conv conv1;
    npr_block blk[NPR_BLOCKS];
    const float *fc_w; /* [512] */
    float fc_b;
    float mean[3], std[3], temperature;
    float lut[3][256]; /* (v / 255 - mean[c]) / std[c], as PyTorch computes it */
    float *arena;      /* every folded weight; 64-byte aligned */
    char *meta;        /* NUL-terminated JSON metadata */
} npr_net;

/* One crop to score: cw x ch pixels (both even) of 8-bit RGB from p, rows
 * stride bytes apart. */
typedef struct npr_crop {
    const uint8_t *p;
    uint32_t cw, ch;
    size_t stride;
} npr_crop;

/* A back end.  Functions return 0 or a negative PROV_E* code and then put
 * a message in err (errlen bytes).  open() makes the back end's state for
 * a loaded net (the net outlives the state); score() writes one logit per
 * crop (crops of different sizes may be mixed) and may be called from
 * several threads at once; threads is the caller's worker count (a hint). */
typedef struct npr_backend {
    int abi;          /* NPR_BACKEND_ABI */
    const char *name; /* "cpu", "cuda" */
    int (*open)(const npr_net *net, void **state, char *err, size_t errlen);
    int (*score)(void *state, const npr_crop *crops, size_t n, unsigned threads, float *logits,
                 char *err, size_t errlen);
    /* what runs it, e.g. "NVIDIA H100 80GB HBM3 (cuBLAS, TF32)"; static or owned by state */
    const char *(*describe)(void *state);
    void (*close)(void *state);
} npr_backend;

#ifdef __cplusplus
}
#endif
#endif
