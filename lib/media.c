/* media.c - the formats of media.h: sniffing, dispatch and plans. */
#include "media.h"

#include <string.h>

int media_is(int format) { return format >= FMT_WAV && format <= FMT_DNG; }

/* An MPEG audio frame header (no ID3 tag in front): the sync, and no
 * reserved version, layer, bitrate or sample rate. */
static int mpeg_audio(const uint8_t *p, size_t n)
{
    return n >= 4 && p[0] == 0xFF && (p[1] & 0xE0) == 0xE0 && ((p[1] >> 3) & 3) != 1 && ((p[1] >> 1) & 3) != 0 &&
           (p[2] >> 4) != 15 && ((p[2] >> 2) & 3) != 3;
}

int media_sniff(const uint8_t *p, size_t n)
{
    if (n >= 12 && !memcmp(p, "RIFF", 4)) {
        if (!memcmp(p + 8, "WAVE", 4)) return FMT_WAV;
        if (!memcmp(p + 8, "WEBP", 4)) return FMT_WEBP;
        if (!memcmp(p + 8, "AVI ", 4)) return FMT_AVI;
        return 0;
    }
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6))) return FMT_GIF;
    if (n >= 4 && !memcmp(p, "fLaC", 4)) return FMT_FLAC;
    if (n >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4) || !memcmp(p, "II+\0", 4) || !memcmp(p, "MM\0+", 4)))
        return FMT_TIFF; /* or DNG: tiff_scan looks for its DNGVersion tag */
    if (n >= 10 && !memcmp(p, "ID3", 3)) return FMT_MP3; /* or FLAC: id3_scan looks behind the tag */
    if (mpeg_audio(p, n)) return FMT_MP3;
    return 0;
}

int media_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    if (!r->s->seek) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s: %s files need a seekable input", what, asset_format_mime(a->format));
    int rc;
    switch (a->format) {
    case FMT_WAV: case FMT_WEBP: case FMT_AVI: rc = riff_scan(ctx, r, a, what); break;
    case FMT_GIF: rc = gif_scan(ctx, r, a, what); break;
    case FMT_TIFF: case FMT_DNG: rc = tiff_scan(ctx, r, a, what); break;
    default: rc = id3_scan(ctx, r, a, what); break;
    }
    if (rc) return rc;
    a->head.len = 0;
    if (rdr_seek(r, 0)) return prov_seterr(ctx, PROV_EIO, "%s: seek failed", what);
    return 0;
}

void mp_lit(mplan *pl, const void *p, size_t n)
{
    if (pl->n && pl->p[pl->n - 1].kind == MP_LIT) {
        pl->p[pl->n - 1].len += n;
    } else if (pl->n < MEDIA_MAX_PIECES) {
        pl->p[pl->n++] = (mpiece){MP_LIT, pl->lit.len, n};
    } else {
        pl->lit.err = 1;
        return;
    }
    pbuf_put(&pl->lit, p, n);
}

void mp_copy(mplan *pl, uint64_t off, uint64_t len)
{
    if (len == 0) return;
    if (pl->n < MEDIA_MAX_PIECES) pl->p[pl->n++] = (mpiece){MP_COPY, off, len};
    else pl->lit.err = 1;
}

void mp_store(mplan *pl)
{
    if (pl->n < MEDIA_MAX_PIECES) pl->p[pl->n++] = (mpiece){MP_STORE, 0, pl->wrapped};
    else pl->lit.err = 1;
}

void media_plan_free(mplan *pl) { pbuf_free(&pl->lit); }

int media_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl)
{
    memset(pl, 0, sizeof *pl);
    pbuf_init(&pl->lit);
    int rc;
    switch (a->format) {
    case FMT_WAV: case FMT_WEBP: case FMT_AVI: rc = riff_plan(ctx, a, n, pl); break;
    case FMT_GIF: rc = gif_plan(ctx, a, n, pl); break;
    case FMT_MP3: case FMT_FLAC: rc = id3_plan(ctx, a, n, pl); break;
    case FMT_TIFF: case FMT_DNG: rc = tiff_plan(ctx, a, n, pl); break;
    default: rc = PROV_EINVAL;
    }
    if (!rc && pl->lit.err) rc = PROV_ENOMEM;
    return rc;
}

int media_wrap(const asset *a, const uint8_t *store, size_t n, pbuf *out)
{
    switch (a->format) {
    case FMT_WAV: case FMT_WEBP: case FMT_AVI: return riff_wrap(store, n, out);
    case FMT_GIF: return gif_wrap(store, n, out);
    case FMT_MP3: case FMT_FLAC: return id3_wrap(a->ver ? a->ver : 4, store, n, out);
    case FMT_TIFF: case FMT_DNG: return tiff_wrap(a, store, n, out);
    default: return PROV_EINVAL;
    }
}

void media_put_store(pbuf *out, const uint8_t *store, size_t n)
{
    if (store) {
        pbuf_put(out, store, n);
    } else if (pbuf_reserve(out, n) == 0) {
        memset(out->p + out->len, 0, n);
        out->len += n;
    }
}

int media_at(rdr *r, uint64_t off, void *buf, size_t n)
{
    if (rdr_seek(r, off)) return PROV_EIO;
    return rdr_read(r, buf, n);
}

void media_read_xmp(rdr *r, asset *a, uint64_t off, uint64_t n)
{
    if (a->xmp.len || n == 0 || n > MEDIA_MAX_XMP || pbuf_reserve(&a->xmp, (size_t)n)) return;
    if (media_at(r, off, a->xmp.p, (size_t)n) == 0) a->xmp.len = (size_t)n;
}

int media_read_store(prov_ctx *ctx, rdr *r, asset *a, uint64_t off, uint64_t n, const char *what)
{
    if (a->has_store) return prov_seterr(ctx, PROV_EFORMAT, "%s: two C2PA manifest stores", what);
    if (n > PROV_MAX_STORE)
        return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store over %u bytes", what, PROV_MAX_STORE);
    if (pbuf_reserve(&a->store, (size_t)n)) return PROV_ENOMEM;
    int rc = media_at(r, off, a->store.p, (size_t)n);
    if (rc) return prov_seterr(ctx, rc, "%s: the manifest store at offset %llu is cut short", what, (unsigned long long)off);
    a->store.len = (size_t)n;
    a->has_store = 1;
    a->ranges[0].start = off;
    a->ranges[0].len = n;
    a->nranges = 1;
    return 0;
}
