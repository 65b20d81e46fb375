/* media_xmp.c - a remote manifest's reference in the formats of media.h,
 * where c2pa-rs 0.91 writes it: RIFF (WAV, AVI, WebP) an 'XMP ' chunk last
 * (WebP: with VP8X's XMP flag set, a VP8X chunk put first in a simple
 * WebP); GIF an 'XMP DataXMP' application extension holding the packet and
 * its 257-byte magic trailer in sub-blocks; ID3 (MP3, FLAC) a PRIV frame
 * owned by "XMP"; TIFF and DNG (one page) tag 700 in the first directory,
 * which is appended anew as for the store.
 *
 * Each carrier is framed as the store would be with some payload length,
 * so each format's own plan lays the output out: RIFF the packet's length,
 * GIF the packet and trailer, ID3 the PRIV frame's length less a GEOB
 * frame's head. */
#include "media.h"

#include <string.h>

#define GIF_TRAILER 257
#define PRIV_HEAD 14 /* frame header, "XMP" NUL */
#define VP8X_FLAG_XMP 0x04
#define VP8X_FLAG_ALPHA 0x10

static const uint8_t XMP_APP[12] = {11, 'X', 'M', 'P', ' ', 'D', 'a', 't', 'a', 'X', 'M', 'P'};

static int insert(mplan *pl, size_t at, mpiece p)
{
    if (pl->n >= MEDIA_MAX_PIECES || at > pl->n) return PROV_EINVAL;
    memmove(pl->p + at + 1, pl->p + at, (pl->n - at) * sizeof *pl->p);
    pl->p[at] = p;
    pl->n++;
    return 0;
}

static mpiece lit(mplan *pl, const void *b, size_t n)
{
    mpiece p = {MP_LIT, pl->lit.len, n};
    pbuf_put(&pl->lit, b, n);
    return p;
}

/* A simple WebP's canvas from its first chunk (VP8 or VP8L): 1, else 0. */
static int webp_size(const uint8_t *c, uint32_t *w, uint32_t *h, int *alpha)
{
    const uint8_t *d = c + 8;
    *alpha = 0;
    if (!memcmp(c, "VP8 ", 4) && d[3] == 0x9d && d[4] == 0x01 && d[5] == 0x2a) {
        *w = (uint32_t)(d[6] | d[7] << 8) & 0x3fff;
        *h = (uint32_t)(d[8] | d[9] << 8) & 0x3fff;
        return *w && *h;
    }
    if (!memcmp(c, "VP8L", 4) && d[0] == 0x2f) {
        uint32_t b = (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 24;
        *w = (b & 0x3fff) + 1;
        *h = ((b >> 14) & 0x3fff) + 1;
        *alpha = (b >> 28) & 1;
        return 1;
    }
    return 0;
}

/* WebP: XMP needs the extended format's header to say so. */
static int webp_vp8x(prov_ctx *ctx, const asset *a, mplan *pl)
{
    if (a->aux.len != 18) return prov_seterr(ctx, PROV_EFORMAT, "WebP: no first chunk");
    const uint8_t *c = a->aux.p;
    /* pieces: [0] the RIFF header, [1] the chunks from offset 12 */
    if (pl->n < 2 || pl->p[0].kind != MP_LIT || pl->p[1].kind != MP_COPY || pl->p[1].off != 12)
        return PROV_EINVAL;
    if (!memcmp(c, "VP8X", 4)) { /* set the flag: byte 20 of the file */
        if (pl->p[1].len < 9) return prov_seterr(ctx, PROV_EFORMAT, "WebP: a truncated VP8X chunk");
        uint8_t f = c[8] | VP8X_FLAG_XMP;
        mpiece rest = {MP_COPY, 21, pl->p[1].len - 9};
        pl->p[1].len = 8;
        int rc = insert(pl, 2, lit(pl, &f, 1));
        return rc ? rc : insert(pl, 3, rest);
    }
    uint32_t w, h;
    int alpha;
    if (!webp_size(c, &w, &h, &alpha))
        return prov_seterr(ctx, PROV_EFORMAT, "WebP: cannot read the picture's size from its '%.4s' chunk", (const char *)c);
    uint8_t x[18] = {'V', 'P', '8', 'X', 10, 0, 0, 0, (uint8_t)(VP8X_FLAG_XMP | (alpha ? VP8X_FLAG_ALPHA : 0))};
    x[12] = (uint8_t)(w - 1), x[13] = (uint8_t)((w - 1) >> 8), x[14] = (uint8_t)((w - 1) >> 16);
    x[15] = (uint8_t)(h - 1), x[16] = (uint8_t)((h - 1) >> 8), x[17] = (uint8_t)((h - 1) >> 16);
    /* the RIFF size grows by the new chunk */
    uint8_t *hd = pl->lit.p + pl->p[0].off;
    uint64_t size = (uint64_t)rdle32(hd + 4) + sizeof x;
    if (size > 0xFFFFFFFFull) return prov_seterr(ctx, PROV_ELIMIT, "the signed file would pass RIFF's 4 GiB");
    mpiece v = lit(pl, x, sizeof x);
    hd = pl->lit.p + pl->p[0].off; /* lit may have moved */
    wrle32(hd + 4, (uint32_t)size);
    return insert(pl, 1, v);
}

int media_plan_xmp(prov_ctx *ctx, const asset *a, size_t n, mplan *pl)
{
    size_t as;
    switch (a->format) {
    case FMT_WAV: case FMT_WEBP: case FMT_AVI: as = n; break;
    case FMT_GIF: as = n + GIF_TRAILER; break;
    case FMT_MP3: case FMT_FLAC:
        if (n + PRIV_HEAD < ID3_GEOB_HEAD) {
            memset(pl, 0, sizeof *pl);
            return PROV_EINVAL;
        }
        as = n + PRIV_HEAD - ID3_GEOB_HEAD;
        break;
    case FMT_TIFF: case FMT_DNG:
        if (!tiff_single_page(a)) {
            memset(pl, 0, sizeof *pl);
            return prov_seterr(ctx, PROV_EUNSUPPORTED,
                               "a remote manifest reference goes into a TIFF's first directory: single-page TIFF and "
                               "DNG only (this one has more pages)");
        }
        as = n; /* the directory and the packet after it, as the store would be */
        break;
    default:
        memset(pl, 0, sizeof *pl);
        return prov_seterr(ctx, PROV_EUNSUPPORTED, "a remote manifest reference is not written into this format");
    }
    int rc = media_plan(ctx, a, as, pl);
    if (!rc && a->format == FMT_WEBP) rc = webp_vp8x(ctx, a, pl);
    if (!rc && pl->lit.err) rc = PROV_ENOMEM;
    pl->ex_off = pl->ex_len = 0; /* nothing excluded: the carrier is hashed */
    return rc;
}

int media_wrap_xmp(const asset *a, const uint8_t *packet, size_t n, pbuf *out)
{
    switch (a->format) {
    case FMT_WAV: case FMT_WEBP: case FMT_AVI: {
        if (n > 0xFFFFFFF0u) return PROV_ELIMIT;
        uint8_t h[8] = {'X', 'M', 'P', ' '};
        wrle32(h + 4, (uint32_t)n);
        pbuf_put(out, h, 8);
        pbuf_put(out, packet, n);
        if (n & 1) pbuf_putc(out, 0);
        break;
    }
    case FMT_GIF: {
        /* the packet and the magic trailer (1, then 255 down to 0), in sub-blocks */
        pbuf d;
        pbuf_init(&d);
        pbuf_put(&d, packet, n);
        pbuf_putc(&d, 1);
        for (int b = 255; b >= 0; b--) pbuf_putc(&d, (uint8_t)b);
        pbuf_putc(out, 0x21);
        pbuf_putc(out, 0xFF);
        pbuf_put(out, XMP_APP, 12);
        for (size_t off = 0; !d.err && off < d.len;) {
            size_t k = d.len - off < 255 ? d.len - off : 255;
            pbuf_putc(out, (uint8_t)k);
            pbuf_put(out, d.p + off, k);
            off += k;
        }
        pbuf_putc(out, 0);
        int e = d.err;
        pbuf_free(&d);
        if (e) return PROV_ENOMEM;
        break;
    }
    case FMT_MP3: case FMT_FLAC: {
        uint64_t fsz = 4 + (uint64_t)n;
        if (fsz > 0x0FFFFFFF) return PROV_ELIMIT;
        uint8_t f[14] = {'P', 'R', 'I', 'V', 0, 0, 0, 0, 0, 0, 'X', 'M', 'P', 0};
        if ((a->ver ? a->ver : 4) == 4) { /* synchsafe */
            f[4] = (uint8_t)(fsz >> 21 & 0x7f), f[5] = (uint8_t)(fsz >> 14 & 0x7f);
            f[6] = (uint8_t)(fsz >> 7 & 0x7f), f[7] = (uint8_t)(fsz & 0x7f);
        } else {
            wr32(f + 4, (uint32_t)fsz);
        }
        pbuf_put(out, f, sizeof f);
        pbuf_put(out, packet, n);
        break;
    }
    case FMT_TIFF: case FMT_DNG:
        return tiff_wrap_xmp(a, packet, n, out);
    default:
        return PROV_EUNSUPPORTED;
    }
    return out->err ? PROV_ENOMEM : 0;
}
