/* detector.h - the NPR classifier's internals (not installed).
 *
 * weights.c reads a PROVNPR1 weights file into an npr_net, folding batch
 * norm into the convolutions; npr.c runs the network on one crop;
 * blas.c finds the matrix product (OpenBLAS through dlopen, or plain C);
 * detector.c is the public prov_detector_* API (crops, threads, files). */
#ifndef PROV_DETECTOR_INTERNAL_H
#define PROV_DETECTOR_INTERNAL_H

#include "internal.h"
#include "prov.h"
#include "backend.h"

#include <pthread.h>

#define NPR_MAGIC "PROVNPR1"
#define NPR_FORMAT_VERSION 1u
#define NPR_MAX_FILE (64u << 20)   /* bytes in a weights file */
#define NPR_MAX_META (64u << 10)   /* bytes of JSON metadata */
#define NPR_MAX_TENSORS 1024u
#define NPR_MAX_NAME 255u
#define NPR_MAX_NDIM 4u
#define NPR_ALIGN 64u
#define NPR_DTYPE_F32 1u
#define NPR_DTYPE_F16 2u
#define NPR_BN_EPS 1e-5

#define NPR_CROP 256u    /* crop side */

/* The product to use: OpenBLAS (or another CBLAS) loaded with dlopen the
 * first time, else npr_gemm_builtin; *name says which (static string). */
PROV_HIDDEN npr_gemm_fn npr_gemm(const char **name);
PROV_HIDDEN void npr_gemm_builtin(int M, int N, int K, const float *A, int lda, const float *B,
                                  int ldb, float *C, int ldc);

/* Parse a whole weights file held in memory (n bytes) into net.  Every
 * count, size and shape is checked against n first; values must be
 * finite.  On failure net is zeroed and nothing is allocated. */
PROV_HIDDEN int npr_load(prov_ctx *ctx, const uint8_t *p, size_t n, npr_net *net);
PROV_HIDDEN void npr_free(npr_net *net);

/* Scratch memory (floats) for one crop of up to cw x ch pixels run by
 * nthreads threads together; the caller gives it 64-byte aligned. */
PROV_HIDDEN size_t npr_workspace_floats(uint32_t cw, uint32_t ch, int nthreads);

/* Threads that run one crop together.  With nthreads == 1, bar is unused. */
typedef struct npr_team {
    int nthreads;
    pthread_barrier_t *bar;
} npr_team;

/* Run the network on one crop: cw x ch pixels (both even, >= 2) of 8-bit
 * RGB starting at rgb, rows stride bytes apart.  Every thread of the team
 * calls it with its own tid and the same ws (sized by npr_workspace_floats
 * for the team); the logit is returned to every thread. */
PROV_HIDDEN float npr_forward(const npr_net *net, const uint8_t *rgb, uint32_t cw, uint32_t ch,
                              size_t stride, float *ws, const npr_team *team, int tid);

/* The crops for a w x h image: *count of them (<= max_crops), each cw x ch,
 * origins xs[i], ys[i] (even).  xs/ys must hold max_crops entries.
 * Returns PROV_EUNSUPPORTED for an image under PROV_DETECTOR_MIN_SIDE. */
PROV_HIDDEN int npr_crop_plan(uint32_t w, uint32_t h, unsigned max_crops, uint32_t *cw,
                              uint32_t *ch, uint32_t *xs, uint32_t *ys, unsigned *count);

/* The CPU back end (detector.c): npr_forward on the detector's threads. */
PROV_HIDDEN extern const npr_backend npr_cpu_backend;

/* The CUDA back end (cuda_load.c): checks for a CUDA driver and device
 * (libcuda.so.1, through dlopen), then loads libprov_cuda.so once per
 * process.  NULL with the reason in err when there is none. */
PROV_HIDDEN const npr_backend *npr_cuda_backend(char *err, size_t errlen);
/* Only the second step (tests: is the object there and well-formed, on a
 * machine without a GPU).  *path says which file was tried last. */
PROV_HIDDEN const npr_backend *npr_cuda_load_lib(char *err, size_t errlen, char *path,
                                                 size_t pathlen);

/* Tests: make d use the built-in product instead of the CBLAS library. */
PROV_HIDDEN void npr_detector_use_builtin_gemm(prov_detector *d);

#endif
