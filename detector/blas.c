/* blas.c - the matrix product the detector's convolutions run on.
 *
 * OpenBLAS is loaded at run time (dlopen), the first time a detector is
 * opened, not linked: its start-up (a thread pool, ~25 MB) would otherwise
 * tax every program that links libprov.  Tried in order: libopenblas.so.0,
 * libopenblas.so, then any CBLAS behind libblas.so.3 (Debian's
 * alternatives).  OpenBLAS is set to one thread, since the detector runs
 * its own.  Without any of them, a plain C product is used (same results
 * within float rounding, several times slower). */
#include "detector.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The CBLAS ABI (cblas.h): enums are ints with these values. */
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*cblas_sgemm_fn)(int layout, int transa, int transb, int m, int n, int k,
                               float alpha, const float *a, int lda, const float *b, int ldb,
                               float beta, float *c, int ldc);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cblas_sgemm_fn cblas_sgemm_p;
static npr_gemm_fn chosen;
static char chosen_name[160];

static void gemm_cblas(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                       float *C, int ldc)
{
    cblas_sgemm_p(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, M, N, K, 1.0f, A, lda, B, ldb,
                  0.0f, C, ldc);
}

typedef float v4f __attribute__((vector_size(16), aligned(4)));

static float hsum(v4f v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/* C[m][n] = sum_k A[m][k] * B[n][k]: four columns of C at a time, so each
 * load of A serves four dot products. */
void npr_gemm_builtin(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                      float *C, int ldc)
{
    int K4 = K & ~3;
    for (int m = 0; m < M; m++) {
        const float *a = A + (size_t)m * lda;
        float *c = C + (size_t)m * ldc;
        int n = 0;
        for (; n + 4 <= N; n += 4) {
            const float *b0 = B + (size_t)n * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
            for (int k = 0; k < K4; k += 4) {
                v4f x = *(const v4f *)(a + k);
                s0 += x * *(const v4f *)(b0 + k);
                s1 += x * *(const v4f *)(b1 + k);
                s2 += x * *(const v4f *)(b2 + k);
                s3 += x * *(const v4f *)(b3 + k);
            }
            float t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
            for (int k = K4; k < K; k++) {
                t0 += a[k] * b0[k];
                t1 += a[k] * b1[k];
                t2 += a[k] * b2[k];
                t3 += a[k] * b3[k];
            }
            c[n] = t0;
            c[n + 1] = t1;
            c[n + 2] = t2;
            c[n + 3] = t3;
        }
        for (; n < N; n++) {
            const float *b = B + (size_t)n * ldb;
            float t = 0;
            for (int k = 0; k < K; k++) t += a[k] * b[k];
            c[n] = t;
        }
    }
}

static void load(void)
{
    static const char *const libs[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++) {
        void *h = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        cblas_sgemm_fn f;
        *(void **)&f = dlsym(h, "cblas_sgemm");
        if (!f) {
            dlclose(h);
            continue;
        }
        void (*set_threads)(int);
        char *(*config)(void);
        *(void **)&set_threads = dlsym(h, "openblas_set_num_threads");
        *(void **)&config = dlsym(h, "openblas_get_config");
        if (set_threads) set_threads(1); /* the detector runs its own threads */
        const char *cfg = config ? config() : NULL;
        snprintf(chosen_name, sizeof chosen_name, "%s%s%s", libs[i], cfg ? ": " : "",
                 cfg ? cfg : "");
        cblas_sgemm_p = f;
        chosen = gemm_cblas;
        return; /* the library stays loaded for the life of the process */
    }
    snprintf(chosen_name, sizeof chosen_name, "built-in C (no CBLAS library found)");
    chosen = npr_gemm_builtin;
}

npr_gemm_fn npr_gemm(const char **name)
{
    pthread_once(&once, load);
    if (name) *name = chosen_name;
    return chosen;
}
