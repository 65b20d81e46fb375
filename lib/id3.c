/* id3.c - the manifest store in an ID3v2 tag, in front of MP3 (and of
 * FLAC, where c2pa-rs puts it too): a GEOB frame of MIME type
 * application/c2pa whose object data is the store, excluded alone from the
 * data hash.  Signing rewrites the tag: its other frames are kept as they
 * are (v2.3 or v2.4), the old store's frame, padding, extended header and
 * footer are dropped, and the new frame goes last. */
#include "media.h"

#include <stdlib.h>
#include <string.h>

#define GEOB_MIME "application/c2pa"
#define GEOB_MIME_OLD "application/x-c2pa-manifest-store"
#define GEOB_FILE "c2pa"
#define GEOB_DESC "c2pa manifest store"
#define GEOB_HEAD (10 + 1 + sizeof GEOB_MIME + sizeof GEOB_FILE + sizeof GEOB_DESC)
_Static_assert(GEOB_HEAD == ID3_GEOB_HEAD, "media.h knows the GEOB head");
#define ID3_MAX_SIZE 0x0FFFFFFFu /* 28 bits, synchsafe */
#define GEOB_PEEK 4096           /* the frame's text fields are looked for here */

static int synchsafe(const uint8_t *p, uint32_t *v)
{
    if ((p[0] | p[1] | p[2] | p[3]) & 0x80) return -1;
    *v = (uint32_t)p[0] << 21 | (uint32_t)p[1] << 14 | (uint32_t)p[2] << 7 | p[3];
    return 0;
}

static void put_synchsafe(uint8_t *p, uint32_t v)
{
    p[0] = (v >> 21) & 0x7F;
    p[1] = (v >> 14) & 0x7F;
    p[2] = (v >> 7) & 0x7F;
    p[3] = v & 0x7F;
}

/* Past a NUL-terminated string in p[0..n) of encoding enc (0 and 3: one
 * byte; 1 and 2, UTF-16: a two-byte NUL on a two-byte boundary). */
static size_t skip_str(const uint8_t *p, size_t n, int wide)
{
    if (!wide) {
        const uint8_t *z = memchr(p, 0, n);
        return z ? (size_t)(z - p) + 1 : 0;
    }
    for (size_t i = 0; i + 1 < n; i += 2)
        if (!p[i] && !p[i + 1]) return i + 2;
    return 0;
}

/* A GEOB frame's content c[0..n): the offset of its object data when its
 * MIME type is C2PA's, else 0. */
static size_t c2pa_geob(const uint8_t *c, size_t n)
{
    if (n < 2 || c[0] > 3) return 0;
    int wide = c[0] == 1 || c[0] == 2;
    size_t at = 1, k = skip_str(c + at, n - at, 0);
    if (!k) return 0;
    const char *mime = (const char *)c + at;
    if (strcmp(mime, GEOB_MIME) && strcmp(mime, GEOB_MIME_OLD)) return 0;
    at += k;
    for (int f = 0; f < 2; f++) { /* file name, description */
        if (at >= n || !(k = skip_str(c + at, n - at, wide))) return 0;
        at += k;
    }
    return at;
}

/* The frames of a v2.3/v2.4 tag [body, limit): the store's frame, if any,
 * and where the frames end (padding follows). */
static int walk_frames(prov_ctx *ctx, rdr *r, asset *a, uint64_t limit, const char *what)
{
    uint64_t pos = a->body;
    uint8_t *peek = NULL;
    int rc = 0;
    for (size_t nf = 0; limit - pos >= 10; nf++) {
        uint8_t f[10];
        if (nf > MEDIA_MAX_CHUNKS) { rc = prov_seterr(ctx, PROV_ELIMIT, "%s: over %u ID3 frames", what, MEDIA_MAX_CHUNKS); break; }
        if (media_at(r, pos, f, 10)) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: truncated ID3 tag", what); break; }
        int id_ok = 1;
        for (int i = 0; i < 4; i++) id_ok &= (f[i] >= 'A' && f[i] <= 'Z') || (f[i] >= '0' && f[i] <= '9');
        if (!id_ok) break; /* padding (or junk a reader stops at too) */
        uint32_t sz;
        if (a->ver == 4) {
            if (synchsafe(f + 4, &sz)) sz = rd32(f + 4); /* some writers put plain sizes in v2.4 */
        } else {
            sz = rd32(f + 4);
        }
        uint64_t fend = pos + 10 + sz;
        if (fend > limit) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s: ID3 frame %.4s at offset %llu runs past the tag", what,
                             (const char *)f, (unsigned long long)pos);
            break;
        }
        if (!memcmp(f, "PRIV", 4) && sz > 4 && !(f[9] & (a->ver == 4 ? 0x0F : 0xE0))) {
            uint8_t own[4];
            if (media_at(r, pos + 10, own, 4) == 0 && !memcmp(own, "XMP", 4)) media_read_xmp(r, a, pos + 14, sz - 4);
        }
        if (!memcmp(f, "GEOB", 4)) {
            size_t pn = sz < GEOB_PEEK ? sz : GEOB_PEEK;
            if (!peek && !(peek = malloc(GEOB_PEEK))) { rc = PROV_ENOMEM; break; }
            if (media_at(r, pos + 10, peek, pn)) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: truncated ID3 tag", what); break; }
            size_t data = c2pa_geob(peek, pn);
            if (data) {
                /* compressed, encrypted or unsynchronised frames (v2.4:
                 * 0x0E, data length 0x01; v2.3: 0xE0) are not stores we read */
                if (f[9] & (a->ver == 4 ? 0x0F : 0xE0)) {
                    rc = prov_seterr(ctx, PROV_EUNSUPPORTED, "%s: the manifest store's ID3 frame is compressed or encrypted", what);
                    break;
                }
                if ((rc = media_read_store(ctx, r, a, pos + 10 + data, sz - data, what))) break;
                a->drop.start = pos;
                a->drop.len = 10 + (uint64_t)sz;
            }
        }
        pos = fend;
    }
    free(peek);
    a->end = pos;
    return rc;
}

int id3_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    uint8_t h[10];
    if (media_at(r, 0, h, 4)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated file", what);
    a->ver = 0;
    a->tail = 0;
    if (memcmp(h, "ID3", 3)) return 0; /* a bare MP3 or FLAC stream: no store */
    if (media_at(r, 0, h, 10)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated ID3 header", what);
    uint32_t size;
    if (h[3] < 2 || h[3] > 4 || synchsafe(h + 6, &size))
        return prov_seterr(ctx, PROV_EFORMAT, "%s: ID3v2.%u tag with a malformed header", what, h[3]);
    a->ver = h[3];
    uint8_t flags = h[5];
    uint64_t limit = 10 + (uint64_t)size;
    a->tail = limit + (a->ver == 4 && (flags & 0x10) ? 10 : 0);
    uint8_t m[4];
    if (media_at(r, a->tail, m, 4)) return prov_seterr(ctx, PROV_EFORMAT, "%s: nothing after the ID3 tag", what);
    if (!memcmp(m, "fLaC", 4)) a->format = FMT_FLAC;
    a->body = 10;
    if (a->ver == 2 || (flags & 0x80)) {
        a->body = a->end = 0; /* v2.2 or unsynchronised: read as no store, not rewritten */
        return 0;
    }
    if (flags & 0x40) { /* an extended header: skipped, and dropped when signing */
        uint8_t e[4];
        uint32_t es;
        if (media_at(r, 10, e, 4)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated ID3 tag", what);
        if (a->ver == 3) es = rd32(e) + 4;
        else if (synchsafe(e, &es)) return prov_seterr(ctx, PROV_EFORMAT, "%s: malformed ID3 extended header", what);
        if (es < 6 || es > size) return prov_seterr(ctx, PROV_EFORMAT, "%s: malformed ID3 extended header", what);
        a->body = 10 + (uint64_t)es;
    }
    return walk_frames(ctx, r, a, limit, what);
}

int id3_wrap(int ver, const uint8_t *store, size_t n, pbuf *out)
{
    uint64_t fsz = GEOB_HEAD - 10 + (uint64_t)n;
    if (fsz > ID3_MAX_SIZE) return PROV_ELIMIT;
    uint8_t f[10] = {'G', 'E', 'O', 'B'};
    if (ver == 4) put_synchsafe(f + 4, (uint32_t)fsz);
    else wr32(f + 4, (uint32_t)fsz);
    pbuf_put(out, f, 10);
    pbuf_putc(out, 0); /* ISO-8859-1 text */
    pbuf_put(out, GEOB_MIME, sizeof GEOB_MIME);
    pbuf_put(out, GEOB_FILE, sizeof GEOB_FILE);
    pbuf_put(out, GEOB_DESC, sizeof GEOB_DESC);
    media_put_store(out, store, n);
    return out->err ? PROV_ENOMEM : 0;
}

int id3_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl)
{
    if (a->ver && !a->end)
        return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s ID3 tag: prov rewrites v2.3 and v2.4 tags only (re-tag the file)",
                           a->ver == 2 ? "an ID3v2.2" : "an unsynchronised");
    pl->wrapped = GEOB_HEAD + (uint64_t)n;
    pl->ex_off = GEOB_HEAD;
    pl->ex_len = n;
    uint64_t kept = a->ver ? a->end - a->body - a->drop.len : 0;
    uint64_t size = kept + pl->wrapped;
    if (size > ID3_MAX_SIZE) return prov_seterr(ctx, PROV_ELIMIT, "the ID3 tag would pass 256 MiB");
    uint8_t h[10] = {'I', 'D', '3', (uint8_t)(a->ver ? a->ver : 4), 0, 0};
    put_synchsafe(h + 6, (uint32_t)size);
    mp_lit(pl, h, 10);
    if (a->ver && a->drop.len) {
        mp_copy(pl, a->body, a->drop.start - a->body);
        mp_copy(pl, a->drop.start + a->drop.len, a->end - a->drop.start - a->drop.len);
    } else if (a->ver) {
        mp_copy(pl, a->body, a->end - a->body);
    }
    mp_store(pl);
    mp_copy(pl, a->tail, MP_TO_END);
    return 0;
}
