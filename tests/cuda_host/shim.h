/* shim.h - just enough of the CUDA runtime and cuBLAS, on the host, to run
 * detector/cuda/npr_cuda.cu's host code and kernels on a machine without a
 * GPU (tests/cuda_host/check.sh).  Kernels run one thread after another,
 * except those that use __syncthreads (launched with LAUNCH_SYNC: one OS
 * thread per CUDA thread and a barrier).  cublasGemmEx follows cuBLAS's
 * definition (column-major, op(A) x op(B)), in double.  It checks the
 * indexing and the layout of the CUDA path, not the GPU. */
#pragma once
#include <barrier>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

struct dim3v {
    unsigned x = 0, y = 1, z = 1;
};
static thread_local dim3v blockIdx, threadIdx, blockDim;
static std::barrier<> *shim_bar;

#define __global__ static
#define __shared__ static
#define __restrict__
#define __syncthreads() shim_bar->arrive_and_wait()

struct float4 {
    float x, y, z, w;
};
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }

template <class F> static void shim_launch(unsigned grid, unsigned block, F f)
{
    for (unsigned b = 0; b < grid; b++)
        for (unsigned t = 0; t < block; t++) {
            blockIdx.x = b;
            threadIdx.x = t;
            blockDim.x = block;
            f();
        }
}

template <class F> static void shim_launch_sync(unsigned grid, unsigned block, F f)
{
    for (unsigned b = 0; b < grid; b++) {
        std::barrier<> bar(block);
        shim_bar = &bar;
        std::vector<std::thread> th;
        for (unsigned t = 0; t < block; t++)
            th.emplace_back([&, t] {
                blockIdx.x = b;
                threadIdx.x = t;
                blockDim.x = block;
                f();
            });
        for (auto &x : th) x.join();
    }
}

/* ---- runtime ---- */
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
typedef void *cudaStream_t;
typedef void *cudaEvent_t;
enum { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaHostAllocDefault = 0,
       cudaStreamNonBlocking = 1, cudaEventDisableTiming = 2 };
struct cudaDeviceProp {
    char name[256];
};
static inline const char *cudaGetErrorString(cudaError_t e) { return e ? "shim error" : "no error"; }
static inline cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return 0; }
static inline cudaError_t cudaSetDevice(int) { return 0; }
static inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int) { strcpy(p->name, "host shim"); return 0; }
static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, int) { *s = (void *)1; return 0; }
static inline cudaError_t cudaStreamDestroy(cudaStream_t) { return 0; }
static inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return 0; }
static inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, int) { *e = (void *)1; return 0; }
static inline cudaError_t cudaEventDestroy(cudaEvent_t) { return 0; }
static inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return 0; }
static inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return 0; }
static inline cudaError_t cudaGetLastError(void) { return 0; }
static inline cudaError_t cudaRuntimeGetVersion(int *v) { *v = 13000; return 0; }
static inline cudaError_t cudaMemGetInfo(size_t *f, size_t *t) { *f = *t = (size_t)8 << 30; return 0; }
template <class T> static inline cudaError_t cudaMalloc(T **p, size_t n)
{
    /* poisoned: reading what no kernel wrote shows up as NaN */
    *p = (T *)malloc(n ? n : 1);
    if (*p) memset(*p, 0xff, n);
    return *p ? 0 : cudaErrorMemoryAllocation;
}
static inline cudaError_t cudaFree(void *p) { free(p); return 0; }
static inline cudaError_t cudaHostAlloc(void **p, size_t n, int) { *p = malloc(n ? n : 1); return *p ? 0 : 2; }
static inline cudaError_t cudaFreeHost(void *p) { free(p); return 0; }
static inline cudaError_t cudaMemcpy(void *d, const void *s, size_t n, int) { memcpy(d, s, n); return 0; }
static inline cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, int, cudaStream_t) { memcpy(d, s, n); return 0; }

/* ---- cuBLAS ---- */
typedef void *cublasHandle_t;
typedef int cublasStatus_t;
enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_ALLOC_FAILED = 3 };
typedef enum { CUBLAS_OP_N, CUBLAS_OP_T } cublasOperation_t;
typedef enum { CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_COMPUTE_32F_FAST_TF32 } cublasComputeType_t;
enum { CUDA_R_32F = 0, CUBLAS_GEMM_DEFAULT = -1 };
static inline cublasStatus_t cublasCreate(cublasHandle_t *h) { *h = (void *)1; return 0; }
static inline cublasStatus_t cublasDestroy(cublasHandle_t) { return 0; }
static inline cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return 0; }
static inline cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m,
                                          int n, int k, const void *alpha, const void *A, int, int lda,
                                          const void *B, int, int ldb, const void *beta, void *C, int,
                                          int ldc, cublasComputeType_t, int)
{
    const float *a = (const float *)A, *b = (const float *)B;
    float *c = (float *)C, al = *(const float *)alpha, be = *(const float *)beta;
    std::vector<std::thread> th;
    unsigned nt = std::thread::hardware_concurrency();
    if (nt < 1) nt = 1;
    for (unsigned w = 0; w < nt; w++)
        th.emplace_back([=] {
            for (int j = (int)w; j < n; j += (int)nt)
                for (int i = 0; i < m; i++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        float x = ta == CUBLAS_OP_N ? a[i + (size_t)l * lda] : a[l + (size_t)i * lda];
                        float y = tb == CUBLAS_OP_N ? b[l + (size_t)j * ldb] : b[j + (size_t)l * ldb];
                        s += (double)x * y;
                    }
                    float *o = &c[i + (size_t)j * ldc];
                    *o = (float)(al * s + (be != 0 ? be * *o : 0));
                }
        });
    for (auto &x : th) x.join();
    return 0;
}
