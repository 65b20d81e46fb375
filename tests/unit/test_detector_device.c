/* test_detector_device.c - where the detector runs: the back-end table,
 * prov_detector_set_device, and the CUDA back end (libprov_cuda.so).
 *
 * On every machine: asking for cuda without a GPU is a clean
 * PROV_EUNSUPPORTED that names the reason and leaves the CPU path in place;
 * auto falls back to the CPU with the same logits; the object that the
 * build made (when nvcc was there) loads and has the right entry point and
 * ABI; a wrong PROV_CUDA_LIB is refused with its name.  On a machine with a
 * GPU: the CUDA logits match PyTorch's (tests/vectors/detector) and the CPU
 * path's within 1e-3, per crop of every size, per image, and on a batch of
 * 256. */
#include "testutil.h"

#include "detector.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VEC "tests/vectors/detector/"
#define MODEL VEC "npr_random_f16.provnpr"
#define TOL 1e-3

static prov_ctx *ctx;
static char build_dir[4096];
static int have_so; /* the build made libprov_cuda.so */
static int have_gpu;

static uint32_t synth_pixel(uint32_t x, uint32_t y, uint32_t c, uint32_t seed)
{
    uint32_t h = (x * 73856093u) ^ (y * 19349663u) ^ ((c + seed) * 83492791u);
    h *= 2654435761u;
    uint32_t smooth = x * 3 + y * 5 + c * 60 + ((x * y) % 37) * 2;
    return (smooth + ((h >> 24) % 48)) & 255;
}

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx)) return -1;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    *strrchr(exe, '/') = 0; /* BUILD/tests */
    *strrchr(exe, '/') = 0; /* BUILD */
    snprintf(build_dir, sizeof build_dir, "%s", exe);
    char so[4200];
    snprintf(so, sizeof so, "%s/libprov_cuda.so", build_dir);
    have_so = access(so, R_OK) == 0;
    if (have_so) setenv("PROV_CUDA_LIB", so, 1);
    prov_detector *d;
    if (prov_detector_open(ctx, MODEL, &d)) return -1;
    have_gpu = prov_detector_set_device(ctx, d, PROV_DEVICE_CUDA) == 0;
    printf("CUDA back end: %s; %s\n", have_so ? so : "not built (no nvcc)",
           have_gpu ? prov_detector_backend(d) : prov_errmsg(ctx));
    prov_detector_free(d);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    prov_ctx_free(ctx);
    return 0;
}

static void test_cpu_default(void **state)
{
    (void)state;
    prov_detector *d;
    assert_int_equal(prov_detector_open(ctx, MODEL, &d), 0);
    assert_string_equal(prov_detector_device(d), "cpu");
    assert_int_equal(prov_detector_set_device(ctx, d, 7), PROV_EINVAL);
    assert_int_equal(prov_detector_set_device(ctx, d, -1), PROV_EINVAL);
    assert_int_equal(prov_detector_set_device(ctx, NULL, PROV_DEVICE_CPU), PROV_EINVAL);
    assert_int_equal(prov_detector_set_device(ctx, d, PROV_DEVICE_CPU), 0);
    assert_string_equal(prov_detector_device(d), "cpu");
    assert_null(prov_detector_device(NULL));
    prov_detector_free(d);
}

/* The object the build made loads, exports the entry point and speaks this
 * ABI (a GPU is not needed for that); a wrong PROV_CUDA_LIB is named. */
static void test_object(void **state)
{
    (void)state;
    char err[512], path[4096];
    const char *keep = getenv("PROV_CUDA_LIB");
    char saved[4200] = "";
    if (keep) snprintf(saved, sizeof saved, "%s", keep);
    if (have_so) {
        const npr_backend *be = npr_cuda_load_lib(err, sizeof err, path, sizeof path);
        if (!be) fail_msg("libprov_cuda.so does not load: %s", err);
        assert_int_equal(be->abi, NPR_BACKEND_ABI);
        assert_string_equal(be->name, "cuda");
        assert_non_null(be->open);
        assert_non_null(be->score);
        assert_non_null(be->describe);
    }
    setenv("PROV_CUDA_LIB", "/nonexistent/libprov_cuda.so", 1);
    assert_null(npr_cuda_load_lib(err, sizeof err, path, sizeof path));
    assert_non_null(strstr(err, "/nonexistent/libprov_cuda.so"));
    char other[4200];
    snprintf(other, sizeof other, "%s/libprov.so", build_dir);
    if (access(other, R_OK) == 0) {
        setenv("PROV_CUDA_LIB", other, 1);
        assert_null(npr_cuda_load_lib(err, sizeof err, path, sizeof path));
        assert_non_null(strstr(err, "not a prov CUDA back end"));
    }
    if (*saved)
        setenv("PROV_CUDA_LIB", saved, 1);
    else
        unsetenv("PROV_CUDA_LIB");
}

/* cuda without a GPU: a clean error, the CPU path stays; auto: the CPU,
 * with the very same logits. */
static void test_no_gpu(void **state)
{
    (void)state;
    if (have_gpu) {
        printf("a GPU is here: the no-GPU errors are not exercised on this machine\n");
        return;
    }
    prov_detector *d;
    assert_int_equal(prov_detector_open(ctx, MODEL, &d), 0);
    prov_detector_result a, b;
    assert_int_equal(prov_detector_score_file(ctx, d, VEC "teapot_rgb.png", &a), 0);
    assert_int_equal(prov_detector_set_device(ctx, d, PROV_DEVICE_CUDA), PROV_EUNSUPPORTED);
    const char *m = prov_errmsg(ctx);
    assert_non_null(strstr(m, "CUDA"));
    assert_true(strstr(m, "no CUDA") || strstr(m, "libprov_cuda.so"));
    assert_string_equal(prov_detector_device(d), "cpu");
    assert_int_equal(prov_detector_set_device(ctx, d, PROV_DEVICE_AUTO), 0);
    assert_string_equal(prov_detector_device(d), "cpu");
    assert_int_equal(prov_detector_score_file(ctx, d, VEC "teapot_rgb.png", &b), 0);
    assert_int_equal(a.crops, 9);
    assert_true(a.logit == b.logit);
    assert_true(a.probability == b.probability);
    prov_detector_free(d);
}

/* ---- GPU parity ---------------------------------------------------------- */

static double worst;

static void near(double got, double want, const char *what)
{
    double d = fabs(got - want);
    if (d > worst) worst = d;
    if (!(d <= TOL)) fail_msg("%s: CUDA logit %.7f, expected %.7f (|diff| %.3g)", what, got, want, d);
}

typedef struct vimg {
    char name[64], src[128];
    uint32_t w, h;
    uint8_t *rgb;
} vimg;

static uint8_t *pixels(const char *src, uint32_t w, uint32_t h)
{
    unsigned seed;
    if (sscanf(src, "synth:%u", &seed) == 1) {
        uint8_t *rgb = malloc((size_t)w * h * 3);
        assert_non_null(rgb);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                for (uint32_t c = 0; c < 3; c++)
                    rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)synth_pixel(x, y, c, seed);
        return rgb;
    }
    size_t n;
    uint8_t *p = tu_read(src, &n);
    prov_img img;
    assert_int_equal(img_decode(ctx, p, n, 0, &img), 0);
    free(p);
    assert_int_equal(img.w, w);
    assert_int_equal(img.h, h);
    return img.rgb;
}

/* PyTorch's logits (expected.txt) for every crop and image, on the GPU. */
static void test_gpu_vectors(void **state)
{
    (void)state;
    if (!have_gpu) {
        printf("no GPU here: CUDA parity not run (%s)\n", have_so ? "object built and loadable" : "not built");
        return;
    }
    prov_detector *d;
    assert_int_equal(prov_detector_open(ctx, MODEL, &d), 0);
    assert_int_equal(prov_detector_set_device(ctx, d, PROV_DEVICE_CUDA), 0);
    assert_string_equal(prov_detector_device(d), "cuda");
    char *exp = (char *)tu_read(VEC "expected.txt", NULL), *save = NULL;
    vimg im[8];
    int ni = 0, ncrop = 0;
    for (char *l = strtok_r(exp, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        unsigned long long fnv;
        unsigned crops;
        double logit;
        uint32_t x, y, cw, ch;
        char name[64];
        if (!strncmp(l, "image ", 6)) {
            vimg *v = &im[ni];
            assert_true(ni < 8);
            assert_int_equal(sscanf(l, "image %63s %127s %u %u %llx %u %lf", v->name, v->src, &v->w,
                                    &v->h, &fnv, &crops, &logit),
                             7);
            v->rgb = pixels(v->src, v->w, v->h);
            ni++;
            prov_detector_result r;
            assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, (size_t)v->w * 3, &r), 0);
            assert_int_equal(r.crops, crops);
            near(r.logit, logit, v->name);
        } else if (sscanf(l, "crop %63s %u %u %u %u %lf", name, &x, &y, &cw, &ch, &logit) == 6) {
            const vimg *v = NULL;
            for (int i = 0; i < ni; i++)
                if (!strcmp(im[i].name, name)) v = &im[i];
            assert_non_null(v);
            size_t stride = (size_t)v->w * 3;
            prov_detector_result r;
            assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb + y * stride + 3 * x, cw, ch, stride, &r), 0);
            near(r.logit, logit, name);
            ncrop++;
        }
    }
    assert_true(ni >= 4);
    assert_true(ncrop >= 16); /* expected.txt holds 18 */
    /* one batch mixing every image (so crops of several sizes) */
    prov_detector_image b[8];
    prov_detector_result g[8], c[8];
    for (int i = 0; i < ni; i++) b[i] = (prov_detector_image){im[i].rgb, im[i].w, im[i].h, (size_t)im[i].w * 3};
    assert_int_equal(prov_detector_score_batch(ctx, d, b, (size_t)ni, g), 0);
    assert_int_equal(prov_detector_set_device(ctx, d, PROV_DEVICE_CPU), 0);
    assert_string_equal(prov_detector_device(d), "cpu");
    assert_int_equal(prov_detector_score_batch(ctx, d, b, (size_t)ni, c), 0);
    for (int i = 0; i < ni; i++) near(g[i].logit, c[i].logit, im[i].name);
    printf("CUDA parity: %d images, %d crops, max |CUDA - reference| logit = %.3g\n", ni, ncrop, worst);
    for (int i = 0; i < ni; i++) free(im[i].rgb);
    free(exp);
    prov_detector_free(d);
}

/* 256 images in one call (the batch the GPU is fast at): CUDA = CPU. */
static void test_gpu_batch(void **state)
{
    (void)state;
    if (!have_gpu) return;
    enum { N = 256, S = 256 };
    uint8_t *px = malloc((size_t)N * S * S * 3);
    prov_detector_image *im = calloc(N, sizeof *im);
    prov_detector_result *g = calloc(N, sizeof *g), *c = calloc(N, sizeof *c);
    assert_true(px && im && g && c);
    uint32_t s = 7;
    for (size_t i = 0; i < (size_t)N * S * S * 3; i++) {
        /* smooth images with noise, like photos, not white noise */
        size_t p = i / 3, x = p % S, y = (p / S) % S;
        s = s * 1664525u + 1013904223u;
        px[i] = (uint8_t)((x + 2 * y + (i % 3) * 50 + (p / (S * S)) * 13 + (s >> 28)) & 255);
    }
    for (int i = 0; i < N; i++) im[i] = (prov_detector_image){px + (size_t)i * S * S * 3, S, S, S * 3};
    prov_detector *d;
    assert_int_equal(prov_detector_open(ctx, MODEL, &d), 0);
    assert_int_equal(prov_detector_score_batch(ctx, d, im, N, c), 0);
    assert_int_equal(prov_detector_set_device(ctx, d, PROV_DEVICE_AUTO), 0);
    assert_string_equal(prov_detector_device(d), "cuda");
    assert_int_equal(prov_detector_score_batch(ctx, d, im, N, g), 0);
    double w = 0;
    for (int i = 0; i < N; i++) {
        double e = fabs(g[i].logit - c[i].logit);
        if (e > w) w = e;
        if (!(e <= TOL)) fail_msg("image %d: CUDA %.7f, CPU %.7f", i, g[i].logit, c[i].logit);
    }
    printf("CUDA batch of %d: max |CUDA - CPU| logit = %.3g\n", N, w);
    prov_detector_free(d);
    free(px);
    free(im);
    free(g);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_default),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_no_gpu),
        cmocka_unit_test(test_gpu_vectors),
        cmocka_unit_test(test_gpu_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
