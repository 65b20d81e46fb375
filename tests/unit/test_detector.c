/* test_detector.c - the NPR classifier's C path (detector/): parity with
 * PyTorch on the committed vectors, crops, threads, batches, files, and
 * hostile weights files.
 *
 * tests/vectors/detector/ (made by detector/train/make_vectors.py, which
 * needs torch; this test does not):
 *   npr_random_f16.provnpr  the full network, random weights (float16)
 *   teapot_rgb.png          samples/teapot.jpg decoded, stored lossless
 *   expected.txt            PyTorch's logits per image and per crop, and
 *                           crop plans */
#include "testutil.h"

#include "detector.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define VEC "tests/vectors/detector/"
#define TOL 1e-3 /* |C logit - PyTorch logit| */

static prov_ctx *ctx;
static uint8_t *wfile;
static size_t wlen;
static prov_detector *det;
static char *expected;

/* ---- vectors ------------------------------------------------------------ */

typedef struct vimage {
    char name[64], src[128];
    uint32_t w, h, crops;
    unsigned long long fnv;
    double logit;
    uint8_t *rgb;
} vimage;

typedef struct vcrop {
    char name[64];
    uint32_t x, y, cw, ch;
    double logit;
} vcrop;

static vimage vimgs[8];
static int nvimg;
static vcrop vcrops[64];
static int nvcrop;
static double temperature;
static double worst; /* largest |diff| seen in the parity tests */

static uint32_t synth_pixel(uint32_t x, uint32_t y, uint32_t c, uint32_t seed)
{
    uint32_t h = (x * 73856093u) ^ (y * 19349663u) ^ ((c + seed) * 83492791u);
    h *= 2654435761u;
    uint32_t smooth = x * 3 + y * 5 + c * 60 + ((x * y) % 37) * 2;
    return (smooth + ((h >> 24) % 48)) & 255;
}

static unsigned long long fnv1a64(const uint8_t *p, size_t n)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint8_t *load_pixels(const vimage *v)
{
    uint8_t *rgb;
    unsigned seed;
    if (sscanf(v->src, "synth:%u", &seed) == 1) {
        rgb = malloc((size_t)v->w * v->h * 3);
        assert_non_null(rgb);
        for (uint32_t y = 0; y < v->h; y++)
            for (uint32_t x = 0; x < v->w; x++)
                for (uint32_t c = 0; c < 3; c++)
                    rgb[((size_t)y * v->w + x) * 3 + c] = (uint8_t)synth_pixel(x, y, c, seed);
        return rgb;
    }
    size_t n;
    uint8_t *p = tu_read(v->src, &n);
    prov_img img;
    int rc = img_decode(ctx, p, n, 0, &img);
    free(p);
    if (rc) fail_msg("%s: %s", v->src, prov_errmsg(ctx));
    assert_int_equal(img.w, v->w);
    assert_int_equal(img.h, v->h);
    return img.rgb;
}

static void parse_expected(void)
{
    expected = (char *)tu_read(VEC "expected.txt", NULL);
    char *save = NULL;
    for (char *l = strtok_r(expected, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char wname[128];
        if (!strncmp(l, "weights ", 8)) {
            assert_int_equal(sscanf(l, "weights %127s %lf", wname, &temperature), 2);
        } else if (!strncmp(l, "image ", 6)) {
            assert_true(nvimg < 8);
            vimage *v = &vimgs[nvimg++];
            assert_int_equal(sscanf(l, "image %63s %127s %u %u %llx %u %lf", v->name, v->src,
                                    &v->w, &v->h, &v->fnv, &v->crops, &v->logit),
                             7);
        } else if (!strncmp(l, "crop ", 5)) {
            assert_true(nvcrop < 64);
            vcrop *c = &vcrops[nvcrop++];
            assert_int_equal(sscanf(l, "crop %63s %u %u %u %u %lf", c->name, &c->x, &c->y, &c->cw,
                                    &c->ch, &c->logit),
                             6);
        }
    }
    assert_true(nvimg >= 4);
    for (int i = 0; i < nvimg; i++) {
        vimgs[i].rgb = load_pixels(&vimgs[i]);
        unsigned long long h = fnv1a64(vimgs[i].rgb, (size_t)vimgs[i].w * vimgs[i].h * 3);
        if (h != vimgs[i].fnv)
            fail_msg("%s: pixels differ from the ones the vectors were made from (%016llx)",
                     vimgs[i].src, h);
    }
}

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx)) return -1;
    wfile = tu_read(VEC "npr_random_f16.provnpr", &wlen);
    if (prov_detector_open(ctx, VEC "npr_random_f16.provnpr", &det)) {
        fprintf(stderr, "open: %s\n", prov_errmsg(ctx));
        return -1;
    }
    parse_expected();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (worst > 0) printf("detector parity: max |C - PyTorch| logit = %.3g\n", worst);
    for (int i = 0; i < nvimg; i++) free(vimgs[i].rgb);
    prov_detector_free(det);
    free(wfile);
    free(expected);
    prov_ctx_free(ctx);
    return 0;
}

static void near(double got, double want, double tol, const char *what)
{
    double d = fabs(got - want);
    if (d > worst && tol == TOL) worst = d;
    if (!(d <= tol)) fail_msg("%s: logit %.7f, expected %.7f (|diff| %.3g)", what, got, want, d);
}

static const vimage *find_image(const char *name)
{
    for (int i = 0; i < nvimg; i++)
        if (!strcmp(vimgs[i].name, name)) return &vimgs[i];
    fail_msg("no image %s", name);
    return NULL;
}

/* ---- parity ------------------------------------------------------------- */

static void test_meta(void **state)
{
    (void)state;
    assert_float_equal(prov_detector_temperature(det), temperature, 1e-6);
    const char *m = prov_detector_meta(det);
    assert_non_null(m);
    assert_non_null(strstr(m, "\"model\":\"npr-r50l2\""));
    assert_non_null(strstr(m, "test-random-1"));
}

/* Every crop on its own (a sub-image no larger than a crop is one crop). */
static void test_parity_crops(void **state)
{
    (void)state;
    for (int i = 0; i < nvcrop; i++) {
        const vcrop *c = &vcrops[i];
        const vimage *v = find_image(c->name);
        size_t stride = (size_t)v->w * 3;
        prov_detector_result r;
        int rc = prov_detector_score_rgb(ctx, det, v->rgb + (size_t)c->y * stride + 3 * c->x,
                                         c->cw, c->ch, stride, &r);
        if (rc) fail_msg("%s crop %u,%u: %s", c->name, c->x, c->y, prov_errmsg(ctx));
        assert_int_equal(r.crops, 1);
        char what[96];
        snprintf(what, sizeof what, "%.40s crop %u,%u %ux%u", c->name, c->x, c->y, c->cw, c->ch);
        near(r.logit, c->logit, TOL, what);
    }
}

/* Whole images: the crop plan and the mean of the crop logits. */
static void test_parity_images(void **state)
{
    (void)state;
    for (int i = 0; i < nvimg; i++) {
        const vimage *v = &vimgs[i];
        prov_detector_result r;
        int rc = prov_detector_score_rgb(ctx, det, v->rgb, v->w, v->h, (size_t)v->w * 3, &r);
        if (rc) fail_msg("%s: %s", v->name, prov_errmsg(ctx));
        assert_int_equal(r.crops, v->crops);
        near(r.logit, v->logit, TOL, v->name);
        double p = 1.0 / (1.0 + exp(-v->logit / temperature));
        assert_float_equal(r.probability, p, 1e-4);
        /* the crops the plan picks are the ones PyTorch scored */
        uint32_t cw, ch, xs[PROV_DETECTOR_MAX_CROPS], ys[PROV_DETECTOR_MAX_CROPS];
        unsigned k;
        assert_int_equal(npr_crop_plan(v->w, v->h, PROV_DETECTOR_MAX_CROPS, &cw, &ch, xs, ys, &k), 0);
        assert_int_equal(k, v->crops);
        unsigned j = 0;
        for (int c = 0; c < nvcrop; c++) {
            if (strcmp(vcrops[c].name, v->name)) continue;
            assert_true(j < k);
            assert_int_equal(xs[j], vcrops[c].x);
            assert_int_equal(ys[j], vcrops[c].y);
            assert_int_equal(cw, vcrops[c].cw);
            assert_int_equal(ch, vcrops[c].ch);
            j++;
        }
        assert_int_equal(j, k);
    }
}

/* Crop plans of other sizes (model.crop_plan in Python). */
static void test_crop_plans(void **state)
{
    (void)state;
    char *text = (char *)tu_read(VEC "expected.txt", NULL), *save = NULL;
    uint32_t *xs = malloc(1024 * sizeof *xs), *ys = malloc(1024 * sizeof *ys);
    int plans = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        unsigned w, h, mx, ecw, ech;
        int off;
        if (sscanf(l, "plan %u %u %u %u %u %n", &w, &h, &mx, &ecw, &ech, &off) != 5) continue;
        uint32_t cw, ch;
        unsigned k;
        assert_int_equal(npr_crop_plan(w, h, mx, &cw, &ch, xs, ys, &k), 0);
        assert_int_equal(cw, ecw);
        assert_int_equal(ch, ech);
        const char *p = l + off;
        unsigned j = 0;
        unsigned x, y;
        int n;
        while (sscanf(p, "%u,%u%n", &x, &y, &n) == 2) {
            if (j >= k) fail_msg("plan %ux%u max %u: too few crops (%u)", w, h, mx, k);
            if (xs[j] != x || ys[j] != y)
                fail_msg("plan %ux%u max %u: crop %u at %u,%u, expected %u,%u", w, h, mx, j,
                         xs[j], ys[j], x, y);
            j++;
            p += n;
            while (*p == ' ') p++;
        }
        if (j != k) fail_msg("plan %ux%u max %u: %u crops, expected %u", w, h, mx, k, j);
        assert_true(k <= mx);
        plans++;
    }
    assert_true(plans >= 5);
    /* under the minimum */
    uint32_t cw, ch;
    unsigned k;
    assert_int_equal(npr_crop_plan(31, 500, 16, &cw, &ch, xs, ys, &k), PROV_EUNSUPPORTED);
    assert_int_equal(npr_crop_plan(500, 33, 16, &cw, &ch, xs, ys, &k), 0);
    assert_int_equal(ch, 32);
    free(xs);
    free(ys);
    free(text);
}

/* ---- threads, batches, files ---------------------------------------------- */

static void test_threads(void **state)
{
    (void)state;
    prov_detector *d;
    assert_int_equal(prov_detector_open_mem(ctx, wfile, wlen, &d), 0);
    const vimage *v = find_image("teapot"), *s = find_image("synth50x38");
    prov_detector_result ref, ref1, r;
    assert_int_equal(prov_detector_set_threads(d, 1), 0);
    assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, v->w * 3, &ref), 0);
    assert_int_equal(prov_detector_score_rgb(ctx, d, s->rgb, s->w, s->h, s->w * 3, &ref1), 0);
    for (unsigned t = 2; t <= 7; t++) { /* 9 crops: solo rounds plus a team for the rest */
        assert_int_equal(prov_detector_set_threads(d, t), 0);
        assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, v->w * 3, &r), 0);
        near(r.logit, ref.logit, 1e-4, "teapot, threads");
        assert_int_equal(r.crops, ref.crops);
        /* one small crop split over a team */
        assert_int_equal(prov_detector_score_rgb(ctx, d, s->rgb, s->w, s->h, s->w * 3, &r), 0);
        near(r.logit, ref1.logit, 1e-4, "synth50x38, threads");
    }
    assert_int_equal(prov_detector_set_threads(d, 65), PROV_EINVAL);
    assert_int_equal(prov_detector_set_threads(d, 0), 0);
    prov_detector_free(d);
}

static void test_batch(void **state)
{
    (void)state;
    prov_detector_image im[8];
    prov_detector_result r[8];
    for (int i = 0; i < nvimg; i++)
        im[i] = (prov_detector_image){vimgs[i].rgb, vimgs[i].w, vimgs[i].h, (size_t)vimgs[i].w * 3};
    assert_int_equal(prov_detector_score_batch(ctx, det, im, (size_t)nvimg, r), 0);
    for (int i = 0; i < nvimg; i++) {
        assert_int_equal(r[i].crops, vimgs[i].crops);
        near(r[i].logit, vimgs[i].logit, TOL, vimgs[i].name);
    }
    assert_int_equal(prov_detector_score_batch(ctx, det, im, 0, r), 0);
    /* one bad image: nothing scored */
    im[1].stride = 3 * im[1].width - 1;
    assert_int_equal(prov_detector_score_batch(ctx, det, im, (size_t)nvimg, r), PROV_EINVAL);
    assert_int_equal(r[0].crops, 0);
}

static void test_max_crops(void **state)
{
    (void)state;
    prov_detector *d;
    assert_int_equal(prov_detector_open_mem(ctx, wfile, wlen, &d), 0);
    const vimage *v = find_image("teapot");
    prov_detector_result r;
    assert_int_equal(prov_detector_set_max_crops(d, 1), 0);
    assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, v->w * 3, &r), 0);
    assert_int_equal(r.crops, 1);
    /* the centre crop (222, 222) is one PyTorch scored */
    for (int c = 0; c < nvcrop; c++)
        if (!strcmp(vcrops[c].name, "teapot") && vcrops[c].x == 222 && vcrops[c].y == 222)
            near(r.logit, vcrops[c].logit, TOL, "teapot centre crop");
    assert_int_equal(prov_detector_set_max_crops(d, 1025), PROV_EINVAL);
    assert_int_equal(prov_detector_set_max_crops(d, 0), 0);
    prov_detector_free(d);
}

static void test_files(void **state)
{
    (void)state;
    prov_detector_result r;
    const vimage *v = find_image("kodim01");
    assert_int_equal(prov_detector_score_file(ctx, det, "samples/kodim01.png", &r), 0);
    near(r.logit, v->logit, TOL, "kodim01 from its file");
    v = find_image("teapot");
    assert_int_equal(prov_detector_score_file(ctx, det, VEC "teapot_rgb.png", &r), 0);
    near(r.logit, v->logit, TOL, "teapot from its PNG");
    /* the JPEG itself decodes and scores (libjpeg's pixels may differ from PIL's) */
    assert_int_equal(prov_detector_score_file(ctx, det, "samples/teapot.jpg", &r), 0);
    assert_int_equal(r.crops, 9);
    assert_true(fabs(r.logit - v->logit) < 0.5);
    assert_int_equal(prov_detector_score_file(ctx, det, "no/such/file.png", &r), PROV_EIO);
    assert_int_equal(prov_detector_score_file(ctx, det, VEC "expected.txt", &r),
                     PROV_EUNSUPPORTED);
}

static void test_args(void **state)
{
    (void)state;
    prov_detector_result r;
    uint8_t px[64 * 64 * 3] = {0};
    assert_int_equal(prov_detector_score_rgb(ctx, det, px, 31, 64, 64 * 3, &r), PROV_EUNSUPPORTED);
    assert_int_equal(prov_detector_score_rgb(ctx, det, px, 64, 31, 64 * 3, &r), PROV_EUNSUPPORTED);
    assert_int_equal(prov_detector_score_rgb(ctx, det, px, 33, 34, 64 * 3, &r), 0);
    assert_int_equal(r.crops, 1);
    assert_true(fabs(r.logit) < 1e6);
    assert_int_equal(prov_detector_score_rgb(ctx, det, NULL, 64, 64, 64 * 3, &r), PROV_EINVAL);
    assert_int_equal(prov_detector_score_rgb(ctx, det, px, 64, 64, 64 * 3 - 1, &r), PROV_EINVAL);
    assert_int_equal(prov_detector_score_rgb(ctx, NULL, px, 64, 64, 64 * 3, NULL), PROV_EINVAL);
    assert_int_equal(prov_detector_score_rgb(NULL, NULL, px, 64, 64, 64 * 3, &r), PROV_EINVAL);
    prov_detector *d = (prov_detector *)1;
    assert_int_equal(prov_detector_open(ctx, "no/such/weights", &d), PROV_EIO);
    assert_null(d);
    assert_int_equal(prov_detector_open(ctx, VEC "teapot_rgb.png", &d), PROV_EFORMAT);
    assert_null(d);
    prov_detector_free(NULL);
}

/* ---- the weights file --------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static void fix_crc(uint8_t *p, size_t n) { put32(p + n - 4, (uint32_t)crc32(0L, p, (uInt)(n - 4))); }

/* Where each record's fields are (a well-formed file). */
typedef struct rec {
    size_t name_len_at, name_at, dtype_at, dims_at, data_at, numel;
    unsigned ndim, dtype;
} rec;

static size_t records(const uint8_t *p, size_t n, rec *r, size_t max)
{
    size_t pos = 24 + le32(p + 12), count = le32(p + 16);
    assert_true(count <= max);
    for (size_t i = 0; i < count; i++) {
        r[i].name_len_at = pos;
        size_t nl = p[pos] | p[pos + 1] << 8;
        r[i].name_at = pos + 2;
        pos += 2 + nl;
        r[i].dtype_at = pos;
        r[i].dtype = p[pos];
        r[i].ndim = p[pos + 1];
        pos += 2;
        r[i].dims_at = pos;
        r[i].numel = 1;
        for (unsigned d = 0; d < r[i].ndim; d++) r[i].numel *= le32(p + pos + 4 * d);
        pos += 4 * r[i].ndim;
        pos = (pos + 63) & ~(size_t)63;
        r[i].data_at = pos;
        pos += r[i].numel * (r[i].dtype == 1 ? 4 : 2);
    }
    assert_int_equal(pos, n - 4);
    return count;
}

static float half_to_float(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31u, m = h & 1023u, u;
    float f;
    if (e == 0) {
        f = ldexpf((float)m, -24);
        return s ? -f : f;
    }
    u = e == 31 ? (s | 0x7f800000u | m << 13) : (s | (e + 112) << 23 | m << 13);
    memcpy(&f, &u, 4);
    return f;
}

/* The f16 vector rewritten with every tensor in float32. */
static uint8_t *to_f32(size_t *out_len)
{
    rec r[256];
    size_t count = records(wfile, wlen, r, 256);
    uint8_t *o = calloc(1, wlen * 2 + 64 * 256);
    assert_non_null(o);
    size_t meta = le32(wfile + 12), pos = 24 + meta;
    memcpy(o, wfile, pos);
    for (size_t i = 0; i < count; i++) {
        size_t hdr = r[i].dims_at + 4 * r[i].ndim - r[i].name_len_at;
        memcpy(o + pos, wfile + r[i].name_len_at, hdr);
        o[pos + (r[i].dtype_at - r[i].name_len_at)] = 1;
        pos += hdr;
        pos = (pos + 63) & ~(size_t)63;
        for (size_t k = 0; k < r[i].numel; k++) {
            float f;
            if (r[i].dtype == 1) {
                uint32_t u = le32(wfile + r[i].data_at + 4 * k);
                memcpy(&f, &u, 4);
            } else {
                const uint8_t *q = wfile + r[i].data_at + 2 * k;
                f = half_to_float((uint16_t)(q[0] | q[1] << 8));
            }
            uint32_t u;
            memcpy(&u, &f, 4);
            put32(o + pos, u);
            pos += 4;
        }
    }
    pos += 4;
    fix_crc(o, pos);
    *out_len = pos;
    return o;
}

static void test_f32_file(void **state)
{
    (void)state;
    size_t n;
    uint8_t *f32 = to_f32(&n);
    prov_detector *d;
    if (prov_detector_open_mem(ctx, f32, n, &d)) fail_msg("%s", prov_errmsg(ctx));
    const vimage *v = find_image("synth301x131");
    prov_detector_result a, b;
    assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, v->w * 3, &a), 0);
    assert_int_equal(prov_detector_score_rgb(ctx, det, v->rgb, v->w, v->h, v->w * 3, &b), 0);
    assert_true(a.logit == b.logit); /* the same values, so the same arithmetic */
    near(a.logit, v->logit, TOL, "f32 file");
    prov_detector_free(d);
    free(f32);
}

/* The plain C product (no OpenBLAS) gives the same logits. */
static void test_builtin_gemm(void **state)
{
    (void)state;
    prov_detector *d;
    assert_int_equal(prov_detector_open_mem(ctx, wfile, wlen, &d), 0);
    printf("detector backend: %s\n", prov_detector_backend(d));
    npr_detector_use_builtin_gemm(d);
    assert_non_null(strstr(prov_detector_backend(d), "built-in"));
    const char *names[] = {"synth50x38", "synth301x131"};
    for (int i = 0; i < 2; i++) {
        const vimage *v = find_image(names[i]);
        prov_detector_result r;
        assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, v->w * 3, &r), 0);
        near(r.logit, v->logit, TOL, names[i]);
    }
    prov_detector_free(d);
}

static int opens(const uint8_t *p, size_t n)
{
    prov_detector *d = NULL;
    int rc = prov_detector_open_mem(ctx, p, n, &d);
    if (rc) assert_null(d);
    prov_detector_free(d);
    return rc;
}

static void test_truncated(void **state)
{
    (void)state;
    uint8_t *p = malloc(wlen);
    assert_non_null(p);
    memcpy(p, wfile, wlen);
    /* every length up to 3 kB, then a spread over the rest: never a crash,
     * always an error (the CRC is made right for each length too) */
    for (size_t n = 0; n < wlen; n += n < 3072 ? 1 : 9973) {
        assert_int_not_equal(opens(p, n), 0);
        if (n >= 28) {
            uint8_t *q = malloc(n);
            memcpy(q, wfile, n);
            fix_crc(q, n);
            assert_int_not_equal(opens(q, n), 0);
            free(q);
        }
    }
    assert_int_equal(opens(wfile, wlen), 0);
    free(p);
}

/* Change a copy of the file, fix the CRC, expect code. */
static void expect_mut(int code, const char *what, void (*mut)(uint8_t *, rec *, size_t),
                       int keep_crc)
{
    rec r[256];
    uint8_t *p = malloc(wlen);
    memcpy(p, wfile, wlen);
    size_t count = records(p, wlen, r, 256);
    mut(p, r, count);
    if (!keep_crc) fix_crc(p, wlen);
    int rc = opens(p, wlen);
    if (rc != code) fail_msg("%s: got %d (%s), expected %d", what, rc, prov_errmsg(ctx), code);
    free(p);
}

static void m_magic(uint8_t *p, rec *r, size_t c) { p[3] ^= 1; }
static void m_crc(uint8_t *p, rec *r, size_t c) { p[r[5].data_at + 3] ^= 0x10; }
static void m_version(uint8_t *p, rec *r, size_t c) { put32(p + 8, 2); }
static void m_flags(uint8_t *p, rec *r, size_t c) { put32(p + 20, 1); }
static void m_meta_big(uint8_t *p, rec *r, size_t c) { put32(p + 12, 0xfffffff0u); }
static void m_meta_past(uint8_t *p, rec *r, size_t c) { put32(p + 12, 60000); }
static void m_count_big(uint8_t *p, rec *r, size_t c) { put32(p + 16, 0x7fffffffu); }
static void m_count_more(uint8_t *p, rec *r, size_t c) { put32(p + 16, (uint32_t)c + 1); }
static void m_count_less(uint8_t *p, rec *r, size_t c) { put32(p + 16, (uint32_t)c - 1); }
static void m_meta_ctl(uint8_t *p, rec *r, size_t c) { p[25] = 0; }
static void m_meta_obj(uint8_t *p, rec *r, size_t c) { p[24] = '['; }
static void m_name_len0(uint8_t *p, rec *r, size_t c) { p[r[3].name_len_at] = 0, p[r[3].name_len_at + 1] = 0; }
static void m_name_len_big(uint8_t *p, rec *r, size_t c) { p[r[3].name_len_at + 1] = 0xff; }
static void m_name_char(uint8_t *p, rec *r, size_t c) { p[r[3].name_at] = '/'; }
static void m_name_unknown(uint8_t *p, rec *r, size_t c) { p[r[3].name_at] = 'x'; }
static void m_name_dup(uint8_t *p, rec *r, size_t c)
{ /* a later tensor renamed to an earlier one's name of the same length */
    for (size_t j = 1; j < c; j++)
        for (size_t i = 0; i < j; i++) {
            size_t a = (size_t)(p[r[i].name_len_at] | p[r[i].name_len_at + 1] << 8);
            size_t b = (size_t)(p[r[j].name_len_at] | p[r[j].name_len_at + 1] << 8);
            if (a == b) {
                memcpy(p + r[j].name_at, p + r[i].name_at, a);
                return;
            }
        }
    fail_msg("no pair to duplicate");
}
static void m_dtype(uint8_t *p, rec *r, size_t c) { p[r[3].dtype_at] = 7; }
static void m_dtype0(uint8_t *p, rec *r, size_t c) { p[r[3].dtype_at] = 0; }
static void m_ndim5(uint8_t *p, rec *r, size_t c) { p[r[3].dtype_at + 1] = 5; }
static void m_ndim0(uint8_t *p, rec *r, size_t c) { p[r[0].dtype_at + 1] = 0; }
static void m_dim0(uint8_t *p, rec *r, size_t c) { put32(p + r[0].dims_at, 0); }
static void m_dim_huge(uint8_t *p, rec *r, size_t c) { put32(p + r[0].dims_at, 0xffffffffu); }
static void m_dims_product(uint8_t *p, rec *r, size_t c)
{
    put32(p + r[0].dims_at, 1u << 20);
    put32(p + r[0].dims_at + 4, 1u << 20);
}
static void m_dim_shape(uint8_t *p, rec *r, size_t c) /* [64,3,3,3] -> [3,64,3,3]: same size */
{
    put32(p + r[0].dims_at, 3);
    put32(p + r[0].dims_at + 4, 64);
}
static void m_dim_bigger(uint8_t *p, rec *r, size_t c) { put32(p + r[0].dims_at, 65); }
static void m_pad(uint8_t *p, rec *r, size_t c) { p[r[0].data_at - 1] = 1; }
static void put_half(uint8_t *q, uint16_t h) { q[0] = (uint8_t)h, q[1] = (uint8_t)(h >> 8); }
static void m_nan(uint8_t *p, rec *r, size_t c) { put_half(p + r[0].data_at + 2 * 100, 0x7e00); }
static void m_inf(uint8_t *p, rec *r, size_t c) { put_half(p + r[10].data_at, 0x7c00); }
static void m_var_neg(uint8_t *p, rec *r, size_t c) { put_half(p + r[4].data_at + 2 * 5, 0xbc00); }
static void m_temp0(uint8_t *p, rec *r, size_t c) { put32(p + r[c - 1].data_at, 0); }
static void m_std_neg(uint8_t *p, rec *r, size_t c) { put32(p + r[c - 2].data_at, 0xbf800000u); }

static void test_hostile(void **state)
{
    (void)state;
    expect_mut(PROV_EFORMAT, "magic", m_magic, 1);
    expect_mut(PROV_EFORMAT, "bit flip in a weight (CRC)", m_crc, 1);
    expect_mut(PROV_EUNSUPPORTED, "version 2", m_version, 0);
    expect_mut(PROV_EUNSUPPORTED, "flags", m_flags, 0);
    expect_mut(PROV_ELIMIT, "huge metadata length", m_meta_big, 0);
    expect_mut(PROV_EFORMAT, "metadata length past the records", m_meta_past, 0);
    expect_mut(PROV_ELIMIT, "huge tensor count", m_count_big, 0);
    expect_mut(PROV_EFORMAT, "one tensor more", m_count_more, 0);
    expect_mut(PROV_EFORMAT, "one tensor less", m_count_less, 0);
    expect_mut(PROV_EFORMAT, "NUL in the metadata", m_meta_ctl, 0);
    expect_mut(PROV_EFORMAT, "metadata not an object", m_meta_obj, 0);
    expect_mut(PROV_EFORMAT, "empty name", m_name_len0, 0);
    expect_mut(PROV_EFORMAT, "name past the end", m_name_len_big, 0);
    expect_mut(PROV_EFORMAT, "bad name character", m_name_char, 0);
    expect_mut(PROV_EFORMAT, "unknown tensor", m_name_unknown, 0);
    expect_mut(PROV_EFORMAT, "duplicate tensor", m_name_dup, 0);
    expect_mut(PROV_EUNSUPPORTED, "dtype 7", m_dtype, 0);
    expect_mut(PROV_EUNSUPPORTED, "dtype 0", m_dtype0, 0);
    expect_mut(PROV_EFORMAT, "5 dimensions", m_ndim5, 0);
    expect_mut(PROV_EFORMAT, "0 dimensions", m_ndim0, 0);
    expect_mut(PROV_EFORMAT, "dimension 0", m_dim0, 0);
    expect_mut(PROV_EFORMAT, "dimension 2^32-1", m_dim_huge, 0);
    expect_mut(PROV_EFORMAT, "dimensions multiply past the bound", m_dims_product, 0);
    expect_mut(PROV_EFORMAT, "transposed shape", m_dim_shape, 0);
    expect_mut(PROV_EFORMAT, "larger shape", m_dim_bigger, 0);
    expect_mut(PROV_EFORMAT, "padding not zero", m_pad, 0);
    expect_mut(PROV_EFORMAT, "NaN weight", m_nan, 0);
    expect_mut(PROV_EFORMAT, "infinite weight", m_inf, 0);
    expect_mut(PROV_EFORMAT, "negative running_var", m_var_neg, 0);
    expect_mut(PROV_EFORMAT, "temperature 0", m_temp0, 0);
    expect_mut(PROV_EFORMAT, "negative std", m_std_neg, 0);

    /* random byte changes in the header and the records (CRC made right):
     * any answer but a crash; a success must still score */
    rec r[256];
    size_t count = records(wfile, wlen, r, 256);
    uint8_t *p = malloc(wlen);
    uint32_t seed = 12345;
    int ok = 0;
    for (int it = 0; it < 500; it++) {
        memcpy(p, wfile, wlen);
        for (int k = 0; k < 1 + it % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t i = (seed >> 8) % count;
            seed = seed * 1103515245u + 12345u;
            size_t span = r[i].data_at - r[i].name_len_at + 8;
            size_t at = (it % 7 == 0) ? (seed >> 8) % 28 : r[i].name_len_at + (seed >> 8) % span;
            seed = seed * 1103515245u + 12345u;
            p[at] ^= (uint8_t)(1u << ((seed >> 12) & 7));
        }
        fix_crc(p, wlen);
        prov_detector *d = NULL;
        if (!prov_detector_open_mem(ctx, p, wlen, &d)) {
            ok++;
            prov_detector_result res;
            const vimage *v = find_image("synth50x38");
            assert_int_equal(prov_detector_score_rgb(ctx, d, v->rgb, v->w, v->h, v->w * 3, &res), 0);
            prov_detector_free(d);
        }
    }
    (void)ok;
    free(p);
    /* a file over the bound */
    uint8_t *big = calloc(1, (size_t)NPR_MAX_FILE + 8);
    memcpy(big, wfile, 28);
    assert_int_equal(opens(big, (size_t)NPR_MAX_FILE + 8), PROV_ELIMIT);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_parity_crops),
        cmocka_unit_test(test_parity_images),
        cmocka_unit_test(test_crop_plans),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_max_crops),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_f32_file),
        cmocka_unit_test(test_builtin_gemm),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
