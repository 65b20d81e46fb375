/* gif.c - the manifest store in GIF: an application extension named
 * 'C2PA_GIF' (authentication code 01 00 00) whose data sub-blocks carry
 * the store, placed after the global colour table as c2pa-rs places it
 * and excluded whole from the data hash.  Only the blocks before the first
 * image are searched, as c2pa-rs does. */
#include "media.h"

#include <string.h>

static const uint8_t C2PA_APP[12] = {11, 'C', '2', 'P', 'A', '_', 'G', 'I', 'F', 1, 0, 0};

int gif_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    uint8_t h[13];
    if (media_at(r, 0, h, 13)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF header", what);
    uint64_t off = 13 + (h[10] & 0x80 ? 3u << ((h[10] & 7) + 1) : 0);
    a->ver = h[4] == '7';
    a->body = off;
    pbuf xd; /* an XMP extension's data, joined */
    pbuf_init(&xd);
    for (size_t nb = 0;; nb++) {
        if (nb > MEDIA_MAX_CHUNKS) return prov_seterr(ctx, PROV_ELIMIT, "%s: over %u GIF blocks", what, MEDIA_MAX_CHUNKS);
        uint8_t b[2];
        if (media_at(r, off, b, 1)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF (no image)", what);
        if (b[0] == 0x2C || b[0] == 0x3B) break; /* an image or the trailer */
        if (b[0] != 0x21)
            return prov_seterr(ctx, PROV_EFORMAT, "%s: GIF block 0x%02x at offset %llu", what, b[0],
                               (unsigned long long)off);
        if (rdr_read(r, b + 1, 1)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF extension", what);
        uint64_t start = off, pos = off + 2;
        int ours = 0, xmp = 0;
        if (b[1] == 0xFF) {
            uint8_t id[12];
            if (rdr_read(r, id, 12)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF extension", what);
            ours = !memcmp(id, C2PA_APP, 12);
            xmp = !memcmp(id, "\x0bXMP DataXMP", 12); /* the packet runs raw through its sub-blocks */
            if (id[0] != 11) { /* not the usual 11-byte identifier: walk it as sub-blocks */
                pos = off + 2;
                if (rdr_seek(r, pos)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF extension", what);
            } else {
                pos += 12;
            }
        }
        if (ours && a->has_store) return prov_seterr(ctx, PROV_EFORMAT, "%s: two C2PA manifest stores", what);
        for (;;) { /* data sub-blocks: a length byte, then that many bytes; 0 ends */
            uint8_t len;
            if (rdr_read(r, &len, 1)) goto trunc;
            pos++;
            if (!len) break;
            if (ours) {
                if (a->store.len + len > PROV_MAX_STORE)
                    return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store over %u bytes", what, PROV_MAX_STORE);
                if (pbuf_reserve(&a->store, len)) return PROV_ENOMEM;
                if (rdr_read(r, a->store.p + a->store.len, len)) goto trunc;
                a->store.len += len;
            } else if (xmp && !a->xmp.len && xd.len + len <= MEDIA_MAX_XMP && pbuf_reserve(&xd, len) == 0) {
                /* XMP in data sub-blocks (as c2pa-rs writes it): their data, joined */
                if (rdr_read(r, xd.p + xd.len, len)) {
                    pbuf_free(&xd);
                    return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF extension", what);
                }
                xd.len += len;
            } else if (rdr_seek(r, pos + len)) {
                pbuf_free(&xd);
                return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF extension", what);
            }
            pos += len;
        }
        if (xmp && !a->xmp.len) {
            /* and its raw bytes: Adobe's way runs the packet through the
             * length bytes, so it reads whole only there */
            media_read_xmp(r, a, start + 14, pos - start - 14);
            if (a->xmp.len + xd.len <= 2 * MEDIA_MAX_XMP) pbuf_put(&a->xmp, xd.p, xd.len);
        }
        pbuf_free(&xd);
        if (ours) {
            a->has_store = 1;
            a->ranges[0].start = a->drop.start = start;
            a->ranges[0].len = a->drop.len = pos - start;
            a->nranges = 1;
        }
        off = pos;
    }
    return 0;
trunc: /* only xd (an XMP extension's data) is ours here: ours is a->store's */
    pbuf_free(&xd);
    return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated GIF extension", what);
}

int gif_wrap(const uint8_t *store, size_t n, pbuf *out)
{
    pbuf_putc(out, 0x21);
    pbuf_putc(out, 0xFF);
    pbuf_put(out, C2PA_APP, 12);
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 255 ? n - off : 255;
        pbuf_putc(out, (uint8_t)k);
        media_put_store(out, store ? store + off : NULL, k);
        off += k;
    }
    pbuf_putc(out, 0);
    return out->err ? PROV_ENOMEM : 0;
}

int gif_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl)
{
    (void)ctx;
    pl->wrapped = 14 + (uint64_t)n + (n + 254) / 255 + 1;
    pl->ex_off = 0;
    pl->ex_len = pl->wrapped;
    if (a->ver) { /* GIF87a has no extensions: the file becomes 89a */
        mp_lit(pl, "GIF89a", 6);
        mp_copy(pl, 6, a->body - 6);
    } else {
        mp_copy(pl, 0, a->body);
    }
    mp_store(pl);
    if (a->drop.len) {
        mp_copy(pl, a->body, a->drop.start - a->body);
        mp_copy(pl, a->drop.start + a->drop.len, MP_TO_END);
    } else {
        mp_copy(pl, a->body, MP_TO_END);
    }
    return 0;
}
