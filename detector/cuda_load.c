/* cuda_load.c - find the CUDA back end at run time.
 *
 * libprov never links CUDA: the runtime and cuBLAS would load (and cost
 * start-up time and memory) in every program, and fail on machines without
 * them.  The driver is asked first, through libcuda.so.1 and its stable C
 * API, whether there is a device at all (cheap); only then is
 * libprov_cuda.so (and cuBLAS behind it) opened.  Both happen once per
 * process. */
#include "detector.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PROV_LIBDIR
#define PROV_LIBDIR "/usr/local/lib"
#endif
#define CUDA_SO "libprov_cuda.so"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int tried; /* 0 untried, 1 loaded, -1 failed (why holds the reason) */
static const npr_backend *loaded;
static char why[512], tried_path[PATH_MAX];

static const npr_backend *try_open(const char *path, char *err, size_t errlen)
{
    snprintf(tried_path, sizeof tried_path, "%s", path);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errlen, "cannot load %s: %s", path, e ? e : "?");
        return NULL;
    }
    const npr_backend *(*entry)(int);
    *(void **)&entry = dlsym(h, NPR_CUDA_ENTRY);
    const npr_backend *be = entry ? entry(NPR_BACKEND_ABI) : NULL;
    if (!be || be->abi != NPR_BACKEND_ABI || !be->open || !be->score || !be->close) {
        snprintf(err, errlen, "%s is not a prov CUDA back end of this version (ABI %d)", path,
                 NPR_BACKEND_ABI);
        dlclose(h);
        return NULL;
    }
    return be; /* kept loaded for the life of the process */
}

/* The folder of the file that holds this code: libprov.so, or the program
 * libprov.a was linked into. */
static int self_dir(char *dir, size_t cap)
{
    Dl_info info;
    char buf[PATH_MAX];
    const char *f = NULL;
    if (dladdr((void *)self_dir, &info) && info.dli_fname && strstr(info.dli_fname, "libprov"))
        f = info.dli_fname;
    if (!f) {
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0) return -1;
        buf[n] = 0;
        f = buf;
    }
    char real[PATH_MAX];
    if (!realpath(f, real)) return -1;
    char *slash = strrchr(real, '/');
    if (!slash) return -1;
    *slash = 0;
    snprintf(dir, cap, "%s", real);
    return 0;
}

const npr_backend *npr_cuda_load_lib(char *err, size_t errlen, char *path, size_t pathlen)
{
    const npr_backend *be = NULL;
    const char *env = getenv("PROV_CUDA_LIB");
    if (env && *env) {
        be = try_open(env, err, errlen);
    } else {
        char dir[PATH_MAX], cand[PATH_MAX + 64], first[600] = "";
        int have_dir = self_dir(dir, sizeof dir) == 0;
        const char *tries[4];
        char c0[PATH_MAX + 64], c1[PATH_MAX + 64];
        int k = 0;
        if (have_dir) {
            snprintf(c0, sizeof c0, "%s/" CUDA_SO, dir);
            snprintf(c1, sizeof c1, "%s/../lib/" CUDA_SO, dir);
            tries[k++] = c0;
            tries[k++] = c1;
        }
        tries[k++] = PROV_LIBDIR "/" CUDA_SO;
        tries[k++] = CUDA_SO;
        for (int i = 0; i < k && !be; i++) {
            snprintf(cand, sizeof cand, "%s", tries[i]);
            if (strchr(cand, '/') && access(cand, F_OK)) continue; /* not there: next place */
            be = try_open(cand, err, errlen);
            if (!be && !*first) snprintf(first, sizeof first, "%s", err);
        }
        if (!be && *first) snprintf(err, errlen, "%s", first); /* the first one found is the one that matters */
        else if (!be)
            snprintf(err, errlen, CUDA_SO " not found (beside the program, in " PROV_LIBDIR
                                  ", or on the loader path; set PROV_CUDA_LIB, or build with nvcc)");
    }
    if (path) snprintf(path, pathlen, "%s", tried_path);
    return be;
}

/* Is there a driver and at least one device?  CUresult 0 is success. */
static int have_device(char *err, size_t errlen)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "no CUDA driver (libcuda.so.1 not found): no GPU here");
        return 0;
    }
    int (*init)(unsigned), (*count)(int *);
    *(void **)&init = dlsym(h, "cuInit");
    *(void **)&count = dlsym(h, "cuDeviceGetCount");
    int n = 0, r = init ? init(0) : -1;
    if (r == 0 && count) r = count(&n);
    if (r != 0 || n < 1) {
        snprintf(err, errlen, "no CUDA device (driver: cuInit/cuDeviceGetCount gave %d, %d devices)",
                 r, n);
        return 0;
    }
    return 1; /* the driver stays loaded: the runtime uses it */
}

const npr_backend *npr_cuda_backend(char *err, size_t errlen)
{
    pthread_mutex_lock(&mu);
    if (!tried) {
        tried = -1;
        if (have_device(why, sizeof why) && (loaded = npr_cuda_load_lib(why, sizeof why, NULL, 0)))
            tried = 1;
    }
    const npr_backend *be = loaded;
    if (!be) snprintf(err, errlen, "%s", why);
    pthread_mutex_unlock(&mu);
    return be;
}
