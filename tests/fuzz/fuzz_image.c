/* fuzz_image.c - libFuzzer harness for the bounded image decoders
 * (lib/image.c).
 *
 * The input is a whole JPEG or PNG file.  img_info reads its header: on
 * failure img_decode must fail the same way (with a message, no image).
 * The decoders accept up to 200M pixels, which takes seconds, so past
 * 16M pixels the harness stops there (the bounds themselves are checked
 * by then).  Otherwise:
 *  - img_decode with min_side 64 (JPEG DCT scaling) gives an image within
 *    the bounds, a 1/1..1/8 scale of the header's size (PNG: that size),
 *    or an error with a message and no image;
 *  - the same decode from a stream read 1..13 bytes at a time gives the
 *    same result and pixels;
 *  - up to 4M pixels, img_decode at full size gives the header's size
 *    (PNG: the same pixels);
 *  - the image, downscaled and encoded as JPEG, decodes to the same size.
 */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static void check_result(int rc, const prov_ctx *ctx, const prov_img *img)
{
    if (rc) {
        CHECK(rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_EUNSUPPORTED ||
              rc == PROV_ENOMEM);
        CHECK(prov_errmsg(ctx)[0]);
        CHECK(!img->rgb && !img->w && !img->h);
        return;
    }
    CHECK(img->rgb && img->w && img->h);
    CHECK(img->w <= PROV_IMG_MAX_SIDE && img->h <= PROV_IMG_MAX_SIDE);
    CHECK((uint64_t)img->w * img->h <= PROV_IMG_MAX_PIXELS);
    /* Touch both ends so ASan sees a short buffer. */
    size_t last = (size_t)img->w * img->h * 3 - 1;
    volatile uint8_t t = img->rgb[0] ^ img->rgb[last];
    (void)t;
}

/* A stream over the input that returns 1..13 bytes a read. */
typedef struct trickle {
    const uint8_t *p;
    size_t n, pos;
} trickle;

static long trickle_read(void *user, void *buf, size_t len)
{
    trickle *t = user;
    size_t k = 1 + t->pos * 31 % 13;
    if (k > len) k = len;
    if (k > t->n - t->pos) k = t->n - t->pos;
    memcpy(buf, t->p + t->pos, k);
    t->pos += k;
    return (long)k;
}

static int is_scale_of(uint32_t full, uint32_t scaled, uint32_t f)
{
    return (full + f - 1) / f == scaled;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prov_ctx ctx = {{0}};
    prov_img a, b;
    uint32_t w, h;
    int rc = img_info(&ctx, data, size, &w, &h);
    if (rc) {
        CHECK(!w && !h && prov_errmsg(&ctx)[0]);
        CHECK(img_decode(&ctx, data, size, 64, &a) == rc);
        check_result(rc, &ctx, &a);
        return 0;
    }
    CHECK(w && h && w <= PROV_IMG_MAX_SIDE && h <= PROV_IMG_MAX_SIDE);
    uint64_t px = (uint64_t)w * h;
    CHECK(px <= PROV_IMG_MAX_PIXELS);
    if (px > (16u << 20)) return 0;

    int jpeg = data[0] == 0xFF;
    rc = img_decode(&ctx, data, size, 64, &a);
    check_result(rc, &ctx, &a);
    trickle t = {data, size, 0};
    prov_stream s = {.read = trickle_read, .user = &t};
    int rc2 = img_decode_stream(&ctx, &s, 64, &b);
    check_result(rc2, &ctx, &b);
    CHECK(rc2 == rc);
    if (rc) return 0;
    CHECK(b.w == a.w && b.h == a.h);
    CHECK(!memcmp(a.rgb, b.rgb, (size_t)a.w * a.h * 3));
    img_free(&b);
    uint32_t f = 1;
    while (f < 8 && !(is_scale_of(w, a.w, f) && is_scale_of(h, a.h, f))) f *= 2;
    CHECK(is_scale_of(w, a.w, f) && is_scale_of(h, a.h, f));
    CHECK(jpeg || f == 1);

    if (px <= (4u << 20)) {
        rc = img_decode(&ctx, data, size, 0, &b);
        check_result(rc, &ctx, &b);
        /* A scaled JPEG decode can work where the full one fails: libjpeg
         * picks its upsampling code per scale. */
        CHECK(rc == 0 || jpeg);
        if (rc == 0) CHECK(b.w == w && b.h == h);
        if (rc == 0 && !jpeg) CHECK(!memcmp(a.rgb, b.rgb, (size_t)w * h * 3));
        img_free(&b);
    }

    prov_img small, back;
    CHECK(img_downscale(&a, 32, &small) == 0);
    CHECK(small.w <= 32 && small.h <= 32 && small.w && small.h);
    pbuf jp;
    pbuf_init(&jp);
    CHECK(img_encode_jpeg(&small, 1 + (int)(size % 100), &jp) == 0);
    CHECK(img_decode(&ctx, jp.p, jp.len, 0, &back) == 0);
    CHECK(back.w == small.w && back.h == small.h);
    img_free(&back);
    img_free(&small);
    pbuf_free(&jp);
    img_free(&a);
    return 0;
}
