/* asset.c - find, remove and insert the manifest store in JPEG (APP11
 * JUMBF segments) and PNG (caBX chunk) files. */
#include "asset.h"
#include "jumbf.h"
#include "media.h"

#include <string.h>
#include <zlib.h>

#define JPEG_SEG_MAX 64000 /* JUMBF bytes per APP11 segment */
#define JPEG_MAX_JUNK 65536 /* stray bytes tolerated between two segments */

const char *asset_format_mime(int format)
{
    switch (format) {
    case FMT_JPEG: return "image/jpeg";
    case FMT_PNG: return "image/png";
    case FMT_WAV: return "audio/wav";
    case FMT_WEBP: return "image/webp";
    case FMT_AVI: return "video/x-msvideo";
    case FMT_GIF: return "image/gif";
    case FMT_MP3: return "audio/mpeg";
    case FMT_FLAC: return "audio/flac";
    case FMT_TIFF: return "image/tiff";
    case FMT_DNG: return "image/x-adobe-dng";
    case FMT_C2PA: return "application/c2pa";
    default: return "application/octet-stream";
    }
}

void asset_free(asset *a)
{
    pbuf_free(&a->head);
    pbuf_free(&a->store);
    pbuf_free(&a->aux);
    pbuf_free(&a->xmp);
}

/* Read n bytes from r and append them to the head.  The head grows as
 * bytes arrive, so a length field alone (a 30-byte file saying its chunk
 * is 60 MB long) reserves no memory. */
static int take(rdr *r, asset *a, size_t n)
{
    if (a->head.len + n > PROV_MAX_HEADER) return PROV_ELIMIT;
    while (n) {
        size_t k = n < RDR_BUF ? n : RDR_BUF;
        if (pbuf_reserve(&a->head, k)) return PROV_ENOMEM;
        int rc = rdr_read(r, a->head.p + a->head.len, k);
        if (rc) return rc;
        a->head.len += k;
        n -= k;
    }
    return 0;
}

static int add_range(asset *a, uint64_t off, uint64_t len)
{
    if (a->nranges && a->ranges[a->nranges - 1].start + a->ranges[a->nranges - 1].len == off) {
        a->ranges[a->nranges - 1].len += len; /* contiguous: one exclusion */
        return 0;
    }
    if (a->nranges == ASSET_MAX_RANGES) return PROV_ELIMIT;
    a->ranges[a->nranges].start = off;
    a->ranges[a->nranges].len = len;
    a->nranges++;
    return 0;
}

static int is_c2pa_jumbf_start(const uint8_t *p, size_t n)
{
    /* LBox TBox('jumb') LBox TBox('jumd') UUID('c2pa'...) */
    return n >= 32 && rd32(p + 4) == BOX_JUMB && rd32(p + 12) == BOX_JUMD &&
           rd32(p + 16) == C2PA_STORE && memcmp(p + 20, JUMBF_UUID_TAIL, 12) == 0;
}

static int jpeg_head(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    int rc;
    int store_en = -1;
    uint32_t nseg = 0;
    int after_app01 = 1;
    a->insert_at = 2;
    if ((rc = take(r, a, 2))) goto trunc;
    for (;;) {
        size_t at = a->head.len;
        if ((rc = take(r, a, 2))) goto trunc;
        /* stray bytes between segments (some writers leave padding after
         * Exif): skipped to the next 0xFF, as readers (libjpeg, c2pa-rs)
         * do; bounded so a file of junk ends quickly */
        size_t junk = 0;
        while (a->head.p[at] != 0xFF) {
            if (++junk > JPEG_MAX_JUNK)
                return prov_seterr(ctx, PROV_EFORMAT, "%s: JPEG marker expected at offset %zu", what, at - junk + 1);
            at++;
            if ((rc = take(r, a, 1))) goto trunc;
        }
        const uint8_t *m = a->head.p + at;
        uint8_t type = m[1];
        while (type == 0xFF) { /* fill bytes: the marker starts at the last 0xFF */
            at++;
            if ((rc = take(r, a, 1))) goto trunc;
            type = a->head.p[at + 1];
        }
        if (type == 0xDA || type == 0xD9) { /* SOS or EOI: image data follows */
            a->head.len = at;
            if (rdr_seek(r, at)) return prov_seterr(ctx, PROV_EIO, "%s: seek failed", what);
            break;
        }
        if ((type >= 0xD0 && type <= 0xD7) || type == 0x01 || type == 0xD8) {
            after_app01 = 0;
            continue;
        }
        if ((rc = take(r, a, 2))) goto trunc;
        size_t seglen = rd16(a->head.p + at + 2);
        if (seglen < 2) return prov_seterr(ctx, PROV_EFORMAT, "%s: JPEG segment length %zu at offset %zu", what, seglen, at);
        if ((rc = take(r, a, seglen - 2))) goto trunc;
        const uint8_t *d = a->head.p + at + 4;
        size_t dn = seglen - 2;
        if (after_app01 && (type == 0xE0 || type == 0xE1)) {
            a->insert_at = at + 2 + seglen;
            continue;
        }
        after_app01 = 0;
        if (type != 0xEB || dn < 8 || d[0] != 'J' || d[1] != 'P') continue;
        int en = rd16(d + 2);
        uint32_t z = rd32(d + 4);
        const uint8_t *pl = d + 8;
        size_t pn = dn - 8;
        /* The first packet's sequence number is not checked (Bing and
         * Microsoft Designer start at 0, the standard at 1); a
         * continuation has the store's En and a larger number than the
         * packets so far (as c2pa-rs reads them). */
        if (store_en >= 0 && en == store_en && nseg > 0) {
            if (z <= nseg) { /* not contiguous: the store ended before */
                store_en = -2;
                continue;
            }
            if (pn < 8) return prov_seterr(ctx, PROV_EFORMAT, "%s: APP11 continuation too short", what);
            pl += 8; /* LBox/TBox repeated in each continuation */
            pn -= 8;
            nseg++;
        } else if (is_c2pa_jumbf_start(pl, pn)) {
            if (a->has_store)
                return prov_seterr(ctx, PROV_EFORMAT, "%s: two C2PA manifest stores", what);
            a->has_store = 1;
            store_en = en;
            nseg = 1;
        } else {
            continue; /* another JUMBF, not ours */
        }
        if (a->store.len + pn > PROV_MAX_STORE)
            return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store over %u bytes", what, PROV_MAX_STORE);
        pbuf_put(&a->store, pl, pn);
        if (a->store.err) return PROV_ENOMEM;
        if (add_range(a, at, 2 + seglen))
            return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store scattered over too many segments", what);
    }
    if (a->has_store) {
        /* the superbox's own length must match what the segments carried */
        uint32_t lbox = rd32(a->store.p);
        if (lbox != a->store.len)
            return prov_seterr(ctx, PROV_EFORMAT, "%s: manifest store is %zu bytes but says %u", what, a->store.len, lbox);
    }
    return 0;
trunc:
    if (rc == PROV_ELIMIT) return prov_seterr(ctx, rc, "%s: JPEG header over %u bytes", what, PROV_MAX_HEADER);
    if (rc == PROV_EFORMAT) return prov_seterr(ctx, rc, "%s: truncated JPEG (ends before the image data)", what);
    return prov_seterr(ctx, rc, "%s: read failed", what);
}

static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
#define PNG_IHDR FOURCC('I', 'H', 'D', 'R')
#define PNG_IDAT FOURCC('I', 'D', 'A', 'T')
#define PNG_IEND FOURCC('I', 'E', 'N', 'D')
#define PNG_CABX FOURCC('c', 'a', 'B', 'X')

static int png_head(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    int rc;
    if ((rc = take(r, a, 8))) goto trunc;
    int first = 1;
    for (;;) {
        size_t at = a->head.len;
        if ((rc = take(r, a, 8))) goto trunc;
        uint32_t len = rd32(a->head.p + at), type = rd32(a->head.p + at + 4);
        if (len > 0x7FFFFFFFu) return prov_seterr(ctx, PROV_EFORMAT, "%s: PNG chunk length %u at offset %zu", what, len, at);
        if (first && type != PNG_IHDR) return prov_seterr(ctx, PROV_EFORMAT, "%s: PNG does not start with IHDR", what);
        if (type == PNG_IDAT || type == PNG_IEND) {
            a->head.len = at;
            if (rdr_seek(r, at)) return prov_seterr(ctx, PROV_EIO, "%s: seek failed", what);
            break;
        }
        if (type == PNG_CABX && len > PROV_MAX_STORE)
            return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store over %u bytes", what, PROV_MAX_STORE);
        if ((rc = take(r, a, (size_t)len + 4))) goto trunc;
        if (first) a->insert_at = at + 12 + len;
        first = 0;
        if (type != PNG_CABX) continue;
        if (a->has_store) return prov_seterr(ctx, PROV_EFORMAT, "%s: two C2PA manifest stores", what);
        a->has_store = 1;
        pbuf_put(&a->store, a->head.p + at + 8, len);
        if (a->store.err) return PROV_ENOMEM;
        add_range(a, at, 12 + (uint64_t)len);
    }
    return 0;
trunc:
    if (rc == PROV_ELIMIT) return prov_seterr(ctx, rc, "%s: PNG header over %u bytes", what, PROV_MAX_HEADER);
    if (rc == PROV_EFORMAT) return prov_seterr(ctx, rc, "%s: truncated PNG (ends before the image data)", what);
    return prov_seterr(ctx, rc, "%s: read failed", what);
}

/* A .c2pa file: the store is the whole file. */
static int store_alone(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    for (;;) {
        const uint8_t *p;
        size_t n;
        if (rdr_next(r, &p, &n, RDR_BUF)) return prov_seterr(ctx, PROV_EIO, "%s: read failed", what);
        if (!n) break;
        if (a->store.len + n > PROV_MAX_STORE)
            return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store over %u bytes", what, PROV_MAX_STORE);
        pbuf_put(&a->store, p, n);
        if (a->store.err) return PROV_ENOMEM;
    }
    if (rd32(a->store.p) != a->store.len)
        return prov_seterr(ctx, PROV_EFORMAT, "%s: manifest store is %zu bytes but says %u", what, a->store.len,
                           rd32(a->store.p));
    a->has_store = 1;
    return 0;
}

int asset_read_head(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    memset(a, 0, sizeof *a);
    int rc = rdr_fill(r, 12);
    if (rc) return prov_seterr(ctx, rc, "%s: read failed", what);
    const uint8_t *p = r->buf + r->pos;
    size_t n = r->end - r->pos;
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) a->format = FMT_JPEG;
    else if (n >= 8 && memcmp(p, PNG_SIG, 8) == 0) a->format = FMT_PNG;
    else if (is_c2pa_jumbf_start(p, n)) a->format = FMT_C2PA;
    else if ((a->format = media_sniff(p, n)) == 0)
        return prov_seterr(ctx, PROV_EUNSUPPORTED,
                           "%s: not a format prov reads (JPEG, PNG, WebP, GIF, TIFF, DNG, BMFF: MP4/MOV/HEIC/AVIF/M4A, WAV, AVI, MP3, FLAC)",
                           what);
    a->mime = asset_format_mime(a->format);
    if (a->format == FMT_C2PA) rc = store_alone(ctx, r, a, what);
    else if (media_is(a->format)) rc = media_scan(ctx, r, a, what);
    else rc = a->format == FMT_JPEG ? jpeg_head(ctx, r, a, what) : png_head(ctx, r, a, what);
    a->mime = asset_format_mime(a->format); /* an ID3 tag may front FLAC */
    if (rc) asset_free(a);
    return rc;
}

uint64_t asset_wrapped_len(int format, size_t n)
{
    if (format == FMT_PNG) return 12 + (uint64_t)n;
    uint64_t segs = (n + JPEG_SEG_MAX - 1) / JPEG_SEG_MAX;
    if (segs == 0) segs = 1;
    return segs * 12 + (segs - 1) * 8 + n;
}

int asset_wrap_store(int format, const uint8_t *s, size_t n, pbuf *out)
{
    if (n < 8) return PROV_EINVAL;
    if (format == FMT_PNG) {
        if (n > 0x7FFFFFFFu) return PROV_ELIMIT;
        uint8_t hdr[8];
        wr32(hdr, (uint32_t)n);
        wr32(hdr + 4, PNG_CABX);
        pbuf_put(out, hdr, 8);
        pbuf_put(out, s, n);
        uLong crc = crc32(0, hdr + 4, 4);
        crc = crc32_z(crc, s, n);
        pbuf_be32(out, (uint32_t)crc);
        return out->err;
    }
    uint32_t z = 1;
    for (size_t off = 0; off < n; z++) {
        size_t k = n - off < JPEG_SEG_MAX ? n - off : JPEG_SEG_MAX;
        size_t rep = z > 1 ? 8 : 0;
        pbuf_be16(out, 0xFFEB);
        pbuf_be16(out, (uint16_t)(2 + 2 + 2 + 4 + rep + k));
        pbuf_put(out, "JP", 2);
        pbuf_be16(out, 1);
        pbuf_be32(out, z);
        if (rep) pbuf_put(out, s, 8);
        pbuf_put(out, s + off, k);
        off += k;
    }
    return out->err;
}

static int remote_in(const uint8_t *start, size_t len, char *url, size_t cap);

int asset_remote_url(const asset *a, char *url, size_t cap)
{
    if (!cap) return 0;
    if (a->head.p && remote_in(a->head.p, a->head.len, url, cap)) return 1;
    return a->xmp.p && remote_in(a->xmp.p, a->xmp.len, url, cap);
}

/* The first dcterms:provenance http(s) URL in start[0..len). */
static int remote_in(const uint8_t *start, size_t len, char *url, size_t cap)
{
    static const char key[] = "dcterms:provenance";
    const uint8_t *p = start, *end = start + len;
    while ((p = memmem(p, (size_t)(end - p), key, sizeof key - 1))) {
        const uint8_t *q = p + sizeof key - 1;
        p = q;
        uint8_t close;
        /* attribute form: dcterms:provenance="URL"; element form:
         * <dcterms:provenance>URL</dcterms:provenance> */
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
        if (q < end && *q == '=') {
            q++;
            while (q < end && (*q == ' ' || *q == '\t')) q++;
            if (q >= end || (*q != '"' && *q != '\'')) continue;
            close = *q++;
        } else if (q < end && *q == '>') {
            q++;
            close = '<';
        } else {
            continue;
        }
        size_t n = 0;
        while (q + n < end && q[n] != close && n < 2048 && q[n] >= 0x20) n++;
        if (q + n >= end || q[n] != close || n < 8) continue;
        if (memcmp(q, "http://", 7) && memcmp(q, "https://", 8)) continue;
        if (n >= cap) n = cap - 1;
        memcpy(url, q, n);
        url[n] = 0;
        return 1;
    }
    return 0;
}
