/* riff.c - the manifest store in RIFF files (WAV, WebP, AVI): a top-level
 * 'C2PA' chunk, written last in the RIFF as c2pa-rs writes it, excluded
 * from the data hash with its 8-byte header. */
#include "media.h"

#include <string.h>

#define RIFF_MAX (0xFFFFFFFFull + 8) /* RF64 (over 4 GiB) is not read here */

int riff_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    uint8_t h[12];
    if (media_at(r, 0, h, 12)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated RIFF header", what);
    uint64_t end = 8 + (uint64_t)rdle32(h + 4);
    if (end < 12) return prov_seterr(ctx, PROV_EFORMAT, "%s: RIFF size %u is too small", what, rdle32(h + 4));
    uint8_t last;
    if (media_at(r, end - 1, &last, 1))
        return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated RIFF (it says %llu bytes)", what, (unsigned long long)end);
    uint64_t off = 12;
    size_t n = 0;
    while (off < end && end - off >= 8) {
        if (++n > MEDIA_MAX_CHUNKS)
            return prov_seterr(ctx, PROV_ELIMIT, "%s: over %u RIFF chunks", what, MEDIA_MAX_CHUNKS);
        uint8_t c[8];
        if (media_at(r, off, c, 8)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated RIFF chunk header", what);
        uint32_t sz = rdle32(c + 4);
        uint64_t dend = off + 8 + sz;
        if (dend > end)
            return prov_seterr(ctx, PROV_EFORMAT, "%s: RIFF chunk '%.4s' at offset %llu runs past the RIFF's end", what,
                               (const char *)c, (unsigned long long)off);
        if (n == 1) { /* the first chunk's header and first bytes: a WebP's VP8X, or its size (media_xmp.c) */
            uint8_t d[10] = {0};
            if (media_at(r, off + 8, d, sz < 10 ? sz : 10) == 0) {
                a->aux.len = 0;
                pbuf_put(&a->aux, c, 8);
                pbuf_put(&a->aux, d, 10);
            }
        }
        if (!memcmp(c, "XMP ", 4)) media_read_xmp(r, a, off + 8, sz); /* an XMP chunk (WebP's; c2pa-rs's in any RIFF) */
        if (!memcmp(c, "C2PA", 4)) {
            int rc = media_read_store(ctx, r, a, off + 8, sz, what);
            if (rc) return rc;
            a->ranges[0].start = off; /* the chunk header is excluded too */
            a->ranges[0].len = 8 + (uint64_t)sz;
            a->drop.start = off;
            a->drop.len = 8 + (uint64_t)sz + ((sz & 1) && dend < end);
        }
        off = dend + (sz & 1);
    }
    a->body = 12;
    a->end = off < end ? off : end; /* the whole chunks */
    a->tail = end;                  /* bytes after them (under 8) are no chunk: kept after ours */
    return 0;
}

int riff_wrap(const uint8_t *store, size_t n, pbuf *out)
{
    if (n > 0xFFFFFFF0u) return PROV_ELIMIT;
    uint8_t h[8];
    memcpy(h, "C2PA", 4);
    wrle32(h + 4, (uint32_t)n);
    pbuf_put(out, h, 8);
    media_put_store(out, store, n);
    if (n & 1) pbuf_putc(out, 0); /* chunks are padded to an even length */
    return out->err ? PROV_ENOMEM : 0;
}

int riff_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl)
{
    static const char *form[] = {[FMT_WAV] = "WAVE", [FMT_WEBP] = "WEBP", [FMT_AVI] = "AVI "};
    pl->wrapped = 8 + (uint64_t)n + (n & 1);
    pl->ex_off = 0;
    pl->ex_len = 8 + (uint64_t)n;
    uint64_t body = a->end - a->body - a->drop.len;
    uint64_t pad = body & 1; /* an unpadded last chunk: the new one must start even */
    uint64_t size = 4 + body + pad + pl->wrapped + (a->tail - a->end);
    if (size + 8 > RIFF_MAX)
        return prov_seterr(ctx, PROV_ELIMIT, "the signed file would pass RIFF's 4 GiB (RF64 is not supported)");
    uint8_t h[12];
    memcpy(h, "RIFF", 4);
    wrle32(h + 4, (uint32_t)size);
    memcpy(h + 8, form[a->format], 4);
    mp_lit(pl, h, 12);
    if (a->drop.len) {
        mp_copy(pl, a->body, a->drop.start - a->body);
        mp_copy(pl, a->drop.start + a->drop.len, a->end - a->drop.start - a->drop.len);
    } else {
        mp_copy(pl, a->body, a->end - a->body);
    }
    if (pad) mp_lit(pl, "", 1);
    mp_store(pl);
    mp_copy(pl, a->end, a->tail - a->end);
    mp_copy(pl, a->tail, MP_TO_END); /* anything after the RIFF (AVI's AVIX parts) */
    return 0;
}
