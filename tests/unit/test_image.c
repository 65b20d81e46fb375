/* test_image.c - bounded JPEG/PNG decoding, downscaling, JPEG encoding and
 * thumbnails (lib/image.c), including hostile input. */
#include "testutil.h"

#include "image.h"

#include <jpeglib.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define TEAPOT "samples/teapot.jpg" /* 703x703 baseline JPEG */
#define KODIM "samples/kodim01.png" /* 768x512 RGB PNG */

static prov_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    return prov_ctx_new(&ctx);
}

static int teardown(void **state)
{
    (void)state;
    prov_ctx_free(ctx);
    return 0;
}

static void decode_file(const char *path, uint32_t min_side, prov_img *img)
{
    size_t n;
    uint8_t *p = tu_read(path, &n);
    int rc = img_decode(ctx, p, n, min_side, img);
    if (rc) fail_msg("%s: %d %s", path, rc, prov_errmsg(ctx));
    free(p);
}

/* Mean absolute difference of two images of the same size. */
static double mad(const prov_img *a, const prov_img *b)
{
    assert_int_equal(a->w, b->w);
    assert_int_equal(a->h, b->h);
    size_t n = (size_t)a->w * a->h * 3;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += (uint64_t)abs(a->rgb[i] - b->rgb[i]);
    return (double)s / (double)n;
}

/* Some variation, i.e. not a blank (failed) decode. */
static void assert_has_content(const prov_img *img)
{
    size_t n = (size_t)img->w * img->h * 3;
    uint8_t lo = 255, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (img->rgb[i] < lo) lo = img->rgb[i];
        if (img->rgb[i] > hi) hi = img->rgb[i];
    }
    assert_true(hi - lo > 64);
}

/* ---- tiny encoders for synthetic inputs ---- */

typedef struct membuf {
    uint8_t *p;
    size_t len;
} membuf;

static void mb_write(png_structp png, png_bytep d, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    m->p = realloc(m->p, m->len + n);
    assert_non_null(m->p);
    memcpy(m->p + m->len, d, n);
    m->len += n;
}
static void mb_flush(png_structp png) { (void)png; }

/* A PNG of w x h from packed rows (bytes per row = rowbytes). */
static membuf make_png(uint32_t w, uint32_t h, int depth, int ctype, int interlace,
                       const uint8_t *px, size_t rowbytes, const png_color *pal, int npal,
                       const uint8_t *trns, int ntrns)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng write failed");
    png_set_write_fn(png, &m, mb_write, mb_flush);
    png_set_IHDR(png, info, w, h, depth, ctype, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (uint32_t y = 0; y < h; y++) png_write_row(png, px + y * rowbytes);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return m;
}

/* A JPEG of w x h, ncomp components in colour space cs, written as jcs;
 * nscans > 0: this scan script; < 0: libjpeg's simple progression. */
static membuf make_jpeg(uint32_t w, uint32_t h, const uint8_t *px, int ncomp,
                        J_COLOR_SPACE cs, J_COLOR_SPACE jcs, jpeg_scan_info *scans,
                        int nscans)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = w;
    c.image_height = h;
    c.input_components = ncomp;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, jcs);
    jpeg_set_quality(&c, 95, TRUE);
    if (nscans > 0) {
        c.scan_info = scans;
        c.num_scans = nscans;
    } else if (nscans < 0) {
        jpeg_simple_progression(&c);
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)px + (size_t)c.next_scanline * w * ncomp;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return (membuf){out, len};
}

/* ---- decoding ---- */

static void test_decode_jpeg(void **state)
{
    (void)state;
    prov_img img;
    decode_file(TEAPOT, 0, &img);
    assert_int_equal(img.w, 703);
    assert_int_equal(img.h, 703);
    assert_has_content(&img);
    img_free(&img);
    assert_null(img.rgb);

    /* DCT scaling: the smallest of 1/2, 1/4, 1/8 keeping the side >= min_side. */
    static const struct { uint32_t min_side, side; } cases[] = {
        {1, 88}, {88, 88}, {89, 176}, {176, 176}, {300, 352}, {352, 352},
        {353, 703}, {703, 703}, {5000, 703},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        decode_file(TEAPOT, cases[i].min_side, &img);
        assert_int_equal(img.w, cases[i].side);
        assert_int_equal(img.h, cases[i].side);
        assert_has_content(&img);
        img_free(&img);
    }
}

static void test_info(void **state)
{
    (void)state;
    const char *files[] = {TEAPOT, KODIM};
    const uint32_t ws[] = {703, 768}, hs[] = {703, 512};
    for (int f = 0; f < 2; f++) {
        size_t n;
        uint8_t *p = tu_read(files[f], &n);
        uint32_t w, h;
        assert_int_equal(img_info(ctx, p, n, &w, &h), 0);
        assert_int_equal(w, ws[f]);
        assert_int_equal(h, hs[f]);
        /* The bytes up to the image data are enough (JPEG: SOS at 936;
         * PNG: the first IDAT's type at 58). */
        assert_int_equal(img_info(ctx, p, f ? 62 : 950, &w, &h), 0);
        assert_int_equal(w, ws[f]);
        free(p);
    }
    uint32_t w = 1, h = 1;
    assert_int_equal(img_info(ctx, (const uint8_t *)"GIF89a", 6, &w, &h), PROV_EUNSUPPORTED);
    assert_true(w == 0 && h == 0);
    assert_int_equal(img_info(ctx, NULL, 0, NULL, &h), PROV_EINVAL);
}

static void test_decode_png(void **state)
{
    (void)state;
    prov_img img, img2;
    decode_file(KODIM, 0, &img);
    assert_int_equal(img.w, 768);
    assert_int_equal(img.h, 512);
    assert_has_content(&img);
    /* min_side does not apply to PNG: always full size. */
    decode_file(KODIM, 64, &img2);
    assert_int_equal(img2.w, 768);
    assert_memory_equal(img.rgb, img2.rgb, (size_t)768 * 512 * 3);
    img_free(&img);
    img_free(&img2);
}

/* A reader that returns at most one byte a time, or fails after fail_at. */
typedef struct trickle {
    const uint8_t *p;
    size_t n, pos, fail_at;
} trickle;

static long trickle_read(void *user, void *buf, size_t len)
{
    trickle *t = user;
    if (t->pos >= t->fail_at) return -1;
    if (t->pos >= t->n || !len) return 0;
    *(uint8_t *)buf = t->p[t->pos++];
    return 1;
}

static void test_stream_equals_memory(void **state)
{
    (void)state;
    const char *files[] = {TEAPOT, KODIM};
    for (int f = 0; f < 2; f++) {
        size_t n;
        uint8_t *p = tu_read(files[f], &n);
        for (uint32_t min_side = 0; min_side <= 200; min_side += 200) {
            prov_img a, b, c, d;
            assert_int_equal(img_decode(ctx, p, n, min_side, &a), 0);
            prov_stream s;
            prov_stream_mem(&s, p, n);
            assert_int_equal(img_decode_stream(ctx, &s, min_side, &b), 0);
            FILE *fp = fopen(files[f], "rb");
            assert_non_null(fp);
            prov_stream_file(&s, fp);
            assert_int_equal(img_decode_stream(ctx, &s, min_side, &c), 0);
            fclose(fp);
            trickle t = {p, n, 0, SIZE_MAX};
            s = (prov_stream){.read = trickle_read, .user = &t};
            assert_int_equal(img_decode_stream(ctx, &s, min_side, &d), 0);
            size_t size = (size_t)a.w * a.h * 3;
            const prov_img *all[] = {&b, &c, &d};
            for (int i = 0; i < 3; i++) {
                assert_int_equal(all[i]->w, a.w);
                assert_int_equal(all[i]->h, a.h);
                assert_memory_equal(all[i]->rgb, a.rgb, size);
            }
            img_free(&a), img_free(&b), img_free(&c), img_free(&d);
        }
        /* A read error is PROV_EIO, wherever it happens. */
        size_t fails[] = {0, 5, 100, n / 2};
        for (int i = 0; i < 4; i++) {
            trickle t = {p, n, 0, fails[i]};
            prov_stream s = {.read = trickle_read, .user = &t};
            prov_img img;
            assert_int_equal(img_decode_stream(ctx, &s, 0, &img), PROV_EIO);
            assert_null(img.rgb);
        }
        free(p);
    }
}

static void test_gray_cmyk_jpeg(void **state)
{
    (void)state;
    enum { W = 24, H = 16 };
    uint8_t gray[W * H], cmyk[W * H * 4];
    for (int i = 0; i < W * H; i++) gray[i] = (uint8_t)(i % W < W / 2 ? 40 : 200);
    membuf m = make_jpeg(W, H, gray, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, NULL, 0);
    prov_img img;
    assert_int_equal(img_decode(ctx, m.p, m.len, 0, &img), 0);
    assert_int_equal(img.w, W);
    assert_int_equal(img.h, H);
    for (int i = 0; i < W * H; i++) {
        assert_int_equal(img.rgb[3 * i], img.rgb[3 * i + 1]);
        assert_int_equal(img.rgb[3 * i], img.rgb[3 * i + 2]);
    }
    assert_true(abs(img.rgb[0] - 40) < 8);
    assert_true(abs(img.rgb[3 * (W - 1)] - 200) < 8);
    img_free(&img);
    free(m.p);

    /* Adobe-style inverted CMYK, stored as CMYK and as YCCK: left half
     * full cyan ink (inverted C = 0), right half no ink; reads as cyan and
     * white. */
    for (int i = 0; i < W * H; i++) {
        uint8_t *q = cmyk + 4 * i;
        q[0] = i % W < W / 2 ? 0 : 255;
        q[1] = q[2] = q[3] = 255;
    }
    J_COLOR_SPACE as[] = {JCS_CMYK, JCS_YCCK};
    for (int k = 0; k < 2; k++) {
        m = make_jpeg(W, H, cmyk, 4, JCS_CMYK, as[k], NULL, 0);
        assert_int_equal(img_decode(ctx, m.p, m.len, 0, &img), 0);
        const uint8_t *l = img.rgb + 3 * (W * 8 + 2), *r = img.rgb + 3 * (W * 8 + W - 3);
        assert_true(l[0] < 16 && l[1] > 240 && l[2] > 240);
        assert_true(r[0] > 240 && r[1] > 240 && r[2] > 240);
        img_free(&img);
        free(m.p);
    }
}

static void test_png_variants(void **state)
{
    (void)state;
    enum { W = 9, H = 7 };
    prov_img img;
    /* 16-bit gray, interlaced: scaled to 8 bits, r == g == b. */
    uint8_t g16[W * H * 2];
    for (int i = 0; i < W * H; i++) g16[2 * i] = (uint8_t)(i * 3), g16[2 * i + 1] = 0x80;
    membuf m = make_png(W, H, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_ADAM7, g16, W * 2, NULL,
                        0, NULL, 0);
    assert_int_equal(img_decode(ctx, m.p, m.len, 0, &img), 0);
    assert_int_equal(img.w, W);
    assert_int_equal(img.h, H);
    for (int i = 0; i < W * H; i++) {
        assert_true(abs(img.rgb[3 * i] - i * 3) <= 1);
        assert_int_equal(img.rgb[3 * i], img.rgb[3 * i + 2]);
    }
    img_free(&img);
    free(m.p);

    /* RGBA, plain and interlaced: opaque kept, transparent is white, half
     * transparent black is mid gray. */
    uint8_t rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        uint8_t *q = rgba + 4 * i;
        int kind = i % 3;
        q[0] = kind == 0 ? 200 : 0, q[1] = kind == 0 ? 10 : 0, q[2] = 0;
        q[3] = kind == 0 ? 255 : kind == 1 ? 0 : 128;
    }
    for (int il = 0; il < 2; il++) {
        m = make_png(W, H, 8, PNG_COLOR_TYPE_RGBA, il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                     rgba, W * 4, NULL, 0, NULL, 0);
        assert_int_equal(img_decode(ctx, m.p, m.len, 0, &img), 0);
        for (int i = 0; i < W * H; i++) {
            const uint8_t *q = img.rgb + 3 * i;
            if (i % 3 == 0) assert_true(q[0] == 200 && q[1] == 10 && q[2] == 0);
            if (i % 3 == 1) assert_true(q[0] == 255 && q[1] == 255 && q[2] == 255);
            if (i % 3 == 2) assert_true(abs(q[0] - 127) <= 1 && q[0] == q[2]);
        }
        img_free(&img);
        free(m.p);
    }

    /* 2-bit palette with a transparent entry. */
    png_color pal[3] = {{255, 0, 0}, {0, 0, 255}, {0, 0, 0}};
    uint8_t trns[3] = {255, 255, 0};
    uint8_t idx[H][3]; /* 9 pixels of 2 bits: 3 bytes a row */
    for (int y = 0; y < H; y++) idx[y][0] = 0x06, idx[y][1] = 0x20, idx[y][2] = 0; /* 0,0,1,2,0,2,0,0,0 */
    m = make_png(W, H, 2, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &idx[0][0], 3, pal, 3,
                 trns, 3);
    assert_int_equal(img_decode(ctx, m.p, m.len, 0, &img), 0);
    static const uint8_t want[4][3] = {{255, 0, 0}, {255, 0, 0}, {0, 0, 255}, {255, 255, 255}};
    for (int x = 0; x < 4; x++) assert_memory_equal(img.rgb + 3 * x, want[x], 3);
    img_free(&img);
    free(m.p);
}

/* ---- downscaling, encoding, thumbnails ---- */

static void test_downscale(void **state)
{
    (void)state;
    prov_img img, small, copy;
    decode_file(KODIM, 0, &img);
    assert_int_equal(img_downscale(&img, 256, &small), 0);
    assert_int_equal(small.w, 256);
    assert_int_equal(small.h, 171);
    assert_has_content(&small);
    img_free(&small);
    assert_int_equal(img_downscale(&img, 1, &small), 0);
    assert_int_equal(small.w, 1);
    assert_int_equal(small.h, 1);
    img_free(&small);
    /* Already small enough: an exact copy. */
    assert_int_equal(img_downscale(&img, 768, &copy), 0);
    assert_int_equal(copy.w, 768);
    assert_int_equal(copy.h, 512);
    assert_ptr_not_equal(copy.rgb, img.rgb);
    assert_memory_equal(copy.rgb, img.rgb, (size_t)768 * 512 * 3);
    img_free(&copy);
    img_free(&img);

    /* Area average: 4x2 to 2x1 averages each 2x2 block. */
    uint8_t px[4 * 2 * 3] = {0,   0,   0,   100, 100, 100, 10, 20, 30, 10, 20, 30,
                             200, 200, 200, 100, 100, 100, 10, 20, 30, 10, 20, 30};
    prov_img t = {4, 2, px};
    assert_int_equal(img_downscale(&t, 2, &small), 0);
    assert_int_equal(small.w, 2);
    assert_int_equal(small.h, 1);
    static const uint8_t want[6] = {100, 100, 100, 10, 20, 30};
    assert_memory_equal(small.rgb, want, 6);
    img_free(&small);

    /* A very thin image keeps at least one pixel across. */
    uint8_t line[1000 * 3] = {0};
    prov_img thin = {1000, 1, line};
    assert_int_equal(img_downscale(&thin, 10, &small), 0);
    assert_int_equal(small.w, 10);
    assert_int_equal(small.h, 1);
    img_free(&small);

    assert_int_equal(img_downscale(&thin, 0, &small), PROV_EINVAL);
    prov_img empty = {0, 0, NULL};
    assert_int_equal(img_downscale(&empty, 10, &small), PROV_EINVAL);
    assert_null(small.rgb);
}

static void test_encode_round_trip(void **state)
{
    (void)state;
    prov_img img, small, back;
    decode_file(TEAPOT, 256, &img); /* 1/2 scale: 352x352 */
    assert_int_equal(img.w, 352);
    assert_int_equal(img_downscale(&img, 256, &small), 0);
    pbuf b;
    pbuf_init(&b);
    pbuf_put(&b, "xy", 2); /* encoding appends */
    assert_int_equal(img_encode_jpeg(&small, 90, &b), 0);
    assert_true(b.len > 1000);
    assert_memory_equal(b.p, "xy\xFF\xD8\xFF", 5);
    assert_memory_equal(b.p + b.len - 2, "\xFF\xD9", 2);
    assert_int_equal(img_decode(ctx, b.p + 2, b.len - 2, 0, &back), 0);
    assert_int_equal(back.w, 256);
    assert_int_equal(back.h, 256);
    assert_true(mad(&small, &back) < 6.0);
    img_free(&back);

    /* Quality is clamped; lower quality is smaller. */
    pbuf lo, hi;
    pbuf_init(&lo), pbuf_init(&hi);
    assert_int_equal(img_encode_jpeg(&small, -5, &lo), 0);
    assert_int_equal(img_encode_jpeg(&small, 1000, &hi), 0);
    assert_true(lo.len < hi.len);
    pbuf_free(&lo), pbuf_free(&hi);

    prov_img bad = {0, 10, small.rgb};
    size_t len = b.len;
    assert_int_equal(img_encode_jpeg(&bad, 80, &b), PROV_EINVAL);
    assert_int_equal(b.len, len);
    pbuf_free(&b);
    img_free(&small);
    img_free(&img);
}

static void test_thumbnail(void **state)
{
    (void)state;
    const char *files[] = {TEAPOT, KODIM};
    const uint32_t w[] = {512, 512}, h[] = {512, 341};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "rb");
        assert_non_null(fp);
        prov_stream s;
        prov_stream_file(&s, fp);
        pbuf b;
        pbuf_init(&b);
        assert_int_equal(img_thumbnail(ctx, &s, 0, 0, &b), 0);
        fclose(fp);
        prov_img t;
        assert_int_equal(img_decode(ctx, b.p, b.len, 0, &t), 0);
        assert_int_equal(t.w, w[f]);
        assert_int_equal(t.h, h[f]);
        assert_has_content(&t);
        img_free(&t);
        pbuf_free(&b);
    }
    /* Never enlarged. */
    size_t n;
    uint8_t *p = tu_read(TEAPOT, &n);
    prov_stream s;
    prov_stream_mem(&s, p, n);
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(img_thumbnail(ctx, &s, 4000, 75, &b), 0);
    prov_img t;
    assert_int_equal(img_decode(ctx, b.p, b.len, 0, &t), 0);
    assert_int_equal(t.w, 703);
    img_free(&t);
    pbuf_free(&b);
    free(p);
    /* Not an image. */
    prov_stream_mem(&s, "hello world", 11);
    pbuf_init(&b);
    assert_int_equal(img_thumbnail(ctx, &s, 0, 0, &b), PROV_EUNSUPPORTED);
    assert_int_equal(b.len, 0);
    assert_int_equal(img_thumbnail(ctx, NULL, 0, 0, &b), PROV_EINVAL);
}

/* ---- hostile input ---- */

static void test_truncated(void **state)
{
    (void)state;
    const char *files[] = {TEAPOT, KODIM};
    for (int f = 0; f < 2; f++) {
        size_t n;
        uint8_t *p = tu_read(files[f], &n);
        size_t cuts[] = {0, 1, 2, 3, 8, 20, 24, 33, 100, 200, 600, 1000, n / 3, n / 2, n - 100, n - 2, n - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            for (uint32_t min_side = 0; min_side <= 100; min_side += 100) {
                prov_img img;
                int rc = img_decode(ctx, p, cuts[i], min_side, &img);
                if (rc == 0) { /* a JPEG decodes in part; a PNG needs all rows */
                    assert_true(f == 0 || cuts[i] >= n - 16); /* IEND unread */
                    assert_int_equal(img.w, f ? 768 : min_side ? 176 : 703);
                    img_free(&img);
                } else {
                    assert_true(rc == PROV_EFORMAT || rc == PROV_EUNSUPPORTED);
                    assert_true(prov_errmsg(ctx)[0] != 0);
                    assert_null(img.rgb);
                }
                if (f == 1 && cuts[i] >= 8 && cuts[i] < n - 100) assert_int_equal(rc, PROV_EFORMAT);
                if (f == 0 && cuts[i] >= n / 3) assert_int_equal(rc, 0);
            }
        }
        free(p);
    }
}

/* A JPEG cut short keeps the rows its data covers; the rest is mid-gray. */
static void test_truncated_jpeg_rows(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = tu_read(TEAPOT, &n);
    assert_memory_equal(p + n - 2, "\xFF\xD9", 2);
    for (uint32_t min_side = 0; min_side <= 100; min_side += 100) {
        prov_img full, cut;
        assert_int_equal(img_decode(ctx, p, n, min_side, &full), 0);
        /* Without only its EOI marker, every row is intact. */
        assert_int_equal(img_decode(ctx, p, n - 2, min_side, &cut), 0);
        assert_memory_equal(cut.rgb, full.rgb, (size_t)full.w * full.h * 3);
        img_free(&cut);
        /* Cut in half: the top as decoded in full, the bottom mid-gray. */
        assert_int_equal(img_decode(ctx, p, n / 2, min_side, &cut), 0);
        size_t row = (size_t)full.w * 3, last = (size_t)(full.h - 1) * row;
        assert_memory_equal(cut.rgb, full.rgb, row * 8);
        for (size_t i = 0; i < row; i++) assert_int_equal(cut.rgb[last + i], 128);
        img_free(&cut);
        img_free(&full);
    }
    free(p);
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = (uint8_t)v; }

/* A PNG of only a header (signature, IHDR, IEND) claiming w x h. */
static size_t png_header(uint8_t out[45], uint32_t w, uint32_t h)
{
    static const uint8_t head[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                                     0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    memcpy(out, head, 16);
    put32(out + 16, w);
    put32(out + 20, h);
    memcpy(out + 24, "\x08\x02\x00\x00\x00", 5);
    put32(out + 29, (uint32_t)crc32(0, out + 12, 17));
    memcpy(out + 33, "\0\0\0\0IEND\xAE\x42\x60\x82", 12);
    return 45;
}

static void test_png_bomb(void **state)
{
    (void)state;
    uint8_t p[45];
    prov_img img;
    static const uint32_t dims[][2] = {{100000, 100000}, {30001, 1}, {1, 30001}, {20000, 20000}};
    for (int i = 0; i < 4; i++) {
        size_t n = png_header(p, dims[i][0], dims[i][1]);
        assert_int_equal(img_decode(ctx, p, n, 0, &img), PROV_ELIMIT);
        assert_non_null(strstr(prov_errmsg(ctx), "exceeds"));
        assert_null(img.rgb);
        uint32_t w, h;
        assert_int_equal(img_info(ctx, p, n, &w, &h), PROV_ELIMIT);
        /* The stream path refuses after reading the header only. */
        trickle t = {p, 24, 0, SIZE_MAX};
        prov_stream s = {.read = trickle_read, .user = &t};
        assert_int_equal(img_decode_stream(ctx, &s, 0, &img), PROV_ELIMIT);
    }
    /* Within the bounds, the header passes and the missing data is the error. */
    png_header(p, 30000, 6000);
    assert_int_equal(img_decode(ctx, p, sizeof p, 0, &img), PROV_EFORMAT);
    png_header(p, 0, 5);
    assert_int_equal(img_decode(ctx, p, sizeof p, 0, &img), PROV_EFORMAT);
}

/* Offset of the SOFn frame header's height field in a JPEG, or 0. */
static size_t sof_dims(const uint8_t *p, size_t n)
{
    size_t i = 2;
    while (i + 9 < n && p[i] == 0xFF) {
        uint8_t m = p[i + 1];
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) return i + 5;
        i += 2 + (size_t)(p[i + 2] << 8 | p[i + 3]);
    }
    return 0;
}

static void test_jpeg_bomb(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = tu_read(TEAPOT, &n);
    size_t at = sof_dims(p, n);
    assert_true(at > 0);
    assert_int_equal(p[at] << 8 | p[at + 1], 703);
    static const uint16_t dims[][2] = {{65000, 65000}, {30001, 8}, {8, 30001}, {20000, 20000}};
    for (int i = 0; i < 4; i++) {
        p[at] = dims[i][1] >> 8, p[at + 1] = dims[i][1] & 0xFF;     /* height */
        p[at + 2] = dims[i][0] >> 8, p[at + 3] = dims[i][0] & 0xFF; /* width */
        for (uint32_t min_side = 0; min_side <= 64; min_side += 64) {
            prov_img img;
            assert_int_equal(img_decode(ctx, p, n, min_side, &img), PROV_ELIMIT);
            assert_non_null(strstr(prov_errmsg(ctx), "exceeds"));
            assert_null(img.rgb);
        }
        uint32_t w, h;
        assert_int_equal(img_info(ctx, p, n, &w, &h), PROV_ELIMIT);
    }
    free(p);

    /* Progressive, 16000x12000 4:2:0 (192M pixels, within the pixel limit):
     * libjpeg would need 576 MB of coefficients, over its memory bound.
     * Refused when it asks for them, before any row is decoded. */
    uint8_t px[16 * 16 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 5);
    membuf m = make_jpeg(16, 16, px, 3, JCS_RGB, JCS_YCbCr, NULL, -1);
    at = sof_dims(m.p, m.len);
    assert_true(at > 0);
    assert_int_equal(m.p[at - 4], 0xC2); /* SOF2: progressive */
    memcpy(m.p + at, "\x2E\xE0\x3E\x80", 4); /* height 12000, width 16000 */
    uint32_t w, h;
    assert_int_equal(img_info(ctx, m.p, m.len, &w, &h), 0); /* the header is fine */
    assert_int_equal(w, 16000);
    assert_int_equal(h, 12000);
    for (uint32_t min_side = 0; min_side <= 64; min_side += 64) {
        prov_img img;
        assert_int_equal(img_decode(ctx, m.p, m.len, min_side, &img), PROV_ELIMIT);
        assert_non_null(strstr(prov_errmsg(ctx), "needs more than"));
        assert_null(img.rgb);
    }
    free(m.p);
}

static void test_too_many_scans(void **state)
{
    (void)state;
    enum { W = 16, H = 16 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) px[i] = (uint8_t)(i * 7);
    /* Progressive, one scan per coefficient: 1 + 63 scans for gray (fine),
     * 1 + 3 * 63 = 190 for colour (over the limit). */
    jpeg_scan_info scans[190];
    for (int comps = 1; comps <= 3; comps += 2) {
        int k = 0;
        scans[k] = (jpeg_scan_info){.comps_in_scan = comps, .component_index = {0, 1, 2}};
        k++;
        for (int c = 0; c < comps; c++)
            for (int s = 1; s < 64; s++, k++)
                scans[k] = (jpeg_scan_info){.comps_in_scan = 1, .component_index = {c},
                                            .Ss = s, .Se = s};
        membuf m = make_jpeg(W, H, px, comps, comps == 1 ? JCS_GRAYSCALE : JCS_RGB,
                             comps == 1 ? JCS_GRAYSCALE : JCS_YCbCr, scans, k);
        prov_img img;
        int rc = img_decode(ctx, m.p, m.len, 0, &img);
        if (comps == 1) {
            assert_int_equal(rc, 0);
            assert_int_equal(img.w, W);
            img_free(&img);
        } else {
            assert_int_equal(rc, PROV_ELIMIT);
            assert_non_null(strstr(prov_errmsg(ctx), "scans"));
            assert_null(img.rgb);
        }
        free(m.p);
    }
}

static void test_garbage(void **state)
{
    (void)state;
    prov_img img;
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 2654435761u >> 13);
    assert_int_equal(img_decode(ctx, junk, sizeof junk, 0, &img), PROV_EUNSUPPORTED);
    assert_non_null(strstr(prov_errmsg(ctx), "not a JPEG or PNG"));
    assert_int_equal(img_decode(ctx, junk, 0, 0, &img), PROV_EUNSUPPORTED);
    assert_int_equal(img_decode(ctx, NULL, 0, 0, &img), PROV_EUNSUPPORTED);
    /* The right magic, then noise. */
    memcpy(junk, "\xFF\xD8\xFF", 3);
    assert_int_equal(img_decode(ctx, junk, sizeof junk, 0, &img), PROV_EFORMAT);
    assert_true(strncmp(prov_errmsg(ctx), "JPEG: ", 6) == 0);
    memcpy(junk, "\x89PNG\r\n\x1A\n", 8);
    assert_int_equal(img_decode(ctx, junk, sizeof junk, 0, &img), PROV_EFORMAT);
    assert_true(strncmp(prov_errmsg(ctx), "PNG: ", 5) == 0);
    assert_null(img.rgb);
    /* Corrupt entropy data in a real JPEG: decodes (with damage) or fails. */
    size_t n;
    uint8_t *p = tu_read(TEAPOT, &n);
    for (size_t i = n / 2; i < n / 2 + 64; i++) p[i] ^= 0x5A;
    int rc = img_decode(ctx, p, n, 0, &img);
    assert_true(rc == 0 || rc == PROV_EFORMAT);
    img_free(&img);
    free(p);
    /* Bad arguments. */
    assert_int_equal(img_decode(ctx, junk, 1, 0, NULL), PROV_EINVAL);
    assert_int_equal(img_decode(ctx, NULL, 5, 0, &img), PROV_EINVAL);
    assert_int_equal(img_decode_stream(ctx, NULL, 0, &img), PROV_EINVAL);
    img_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_jpeg),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_decode_png),
        cmocka_unit_test(test_stream_equals_memory),
        cmocka_unit_test(test_gray_cmyk_jpeg),
        cmocka_unit_test(test_png_variants),
        cmocka_unit_test(test_downscale),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_thumbnail),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_truncated_jpeg_rows),
        cmocka_unit_test(test_png_bomb),
        cmocka_unit_test(test_jpeg_bomb),
        cmocka_unit_test(test_too_many_scans),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
