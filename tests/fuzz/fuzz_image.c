/* fuzz_image.c - libFuzzer harness for the bounded image decoders
 * (lib/image.c).
 *
 * The input is a whole JPEG or PNG file.  It is decoded from memory with
 * min_side 64 (JPEG DCT scaling) and must either fail with a message and
 * no image, or give an image within the bounds.  Then, kept cheap so the
 * run stays fast (the decoders allow up to 200M pixels, seconds each):
 *  - the same decode through a stream read a few bytes at a time must
 *    give the same result and the same pixels;
 *  - a full-size decode, when the full image is at most ~16M pixels, must
 *    agree with the scaled one (same size for PNG, a 1/1..1/8 scale of it
 *    for JPEG);
 *  - the image is downscaled, encoded as JPEG, and the JPEG decodes to the
 *    same size. */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

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
    int rc = img_decode(&ctx, data, size, 64, &a);
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

    uint64_t px = (uint64_t)a.w * a.h;
    int jpeg = data[0] == 0xFF;
    if (px * (jpeg ? 64 : 1) <= (16u << 20)) {
        rc = img_decode(&ctx, data, size, 0, &b);
        check_result(rc, &ctx, &b);
        /* A scaled JPEG decode can fail where the full one works, and back:
         * libjpeg picks upsampling code per scale. */
        CHECK(rc == 0 || jpeg);
        if (rc == 0 && jpeg) {
            uint32_t f = 1;
            while (f < 8 && !(is_scale_of(b.w, a.w, f) && is_scale_of(b.h, a.h, f))) f *= 2;
            CHECK(is_scale_of(b.w, a.w, f) && is_scale_of(b.h, a.h, f));
        } else if (rc == 0) {
            CHECK(b.w == a.w && b.h == a.h);
            CHECK(!memcmp(a.rgb, b.rgb, (size_t)a.w * a.h * 3));
        }
        img_free(&b);
    }

    if (px <= (4u << 20)) {
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
    }
    img_free(&a);
    return 0;
}
