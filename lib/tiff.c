/* tiff.c - the manifest store in TIFF and DNG: the C2PA tag 0xCD41 (type
 * UNDEFINED, count = the store's length) pointing at the store, whose bytes
 * alone are excluded from the data hash.  c2pa-rs reads the tag in the last
 * page's IFD, else in the first; prov reads it the same way.
 *
 * Signing appends, so no offset in the file moves: the file is copied as
 * it is, then a new copy of the last page's IFD (its entries, less an old
 * C2PA entry, plus the new one, in tag order; c2pa-rs writes the tag there
 * too) and the store; the link to that page (the header's, or the page
 * before's) then names the new IFD.  The old IFD (and an old store) stay
 * as unused bytes.  Classic TIFF and BigTIFF, either byte order. */
#include "media.h"

#include <stdlib.h>
#include <string.h>

#define C2PA_TAG 0xCD41
#define TYPE_UNDEFINED 7
#define TYPE_BYTE 1
#define DNG_VERSION_TAG 0xC612
#define XMP_TAG 700
#define TIFF_MAX_ENTRIES 4096 /* in one IFD */
#define TIFF_MAX_PAGES 1000   /* IFDs followed along the chain */

typedef struct tfile {
    int be, big;
    unsigned esz; /* entry size: 12, or 20 in BigTIFF */
} tfile;

static uint16_t g16(const tfile *t, const uint8_t *p) { return t->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]); }
static uint32_t g32(const tfile *t, const uint8_t *p) { return t->be ? rd32(p) : rdle32(p); }
static uint64_t g64(const tfile *t, const uint8_t *p)
{
    return t->be ? (uint64_t)rd32(p) << 32 | rd32(p + 4) : (uint64_t)rdle32(p + 4) << 32 | rdle32(p);
}
static void p16(const tfile *t, uint8_t *p, uint16_t v)
{
    if (t->be) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
    else { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
}
static void p32(const tfile *t, uint8_t *p, uint32_t v) { if (t->be) wr32(p, v); else wrle32(p, v); }
static void p64(const tfile *t, uint8_t *p, uint64_t v)
{
    if (t->be) { wr32(p, (uint32_t)(v >> 32)); wr32(p + 4, (uint32_t)v); }
    else { wrle32(p, (uint32_t)v); wrle32(p + 4, (uint32_t)(v >> 32)); }
}

static int header(const uint8_t *h, tfile *t)
{
    if (h[0] == 'I' && h[1] == 'I') t->be = 0;
    else if (h[0] == 'M' && h[1] == 'M') t->be = 1;
    else return -1;
    uint16_t magic = g16(t, h + 2);
    if (magic == 42) { t->big = 0; t->esz = 12; return 0; }
    if (magic == 43 && g16(t, h + 4) == 8 && g16(t, h + 6) == 0) { t->big = 1; t->esz = 20; return 0; }
    return -1;
}

/* One IFD at off: its entry count, and where the next one is (0: none). */
static int ifd_at(prov_ctx *ctx, rdr *r, const tfile *t, uint64_t off, uint64_t *n, uint64_t *next, const char *what)
{
    uint8_t b[8];
    unsigned cn = t->big ? 8 : 2, nn = t->big ? 8 : 4;
    if (off < 8 || media_at(r, off, b, cn)) /* an odd offset breaks the spec, but libtiff takes it */
        return prov_seterr(ctx, PROV_EFORMAT, "%s: TIFF directory at offset %llu is outside the file", what,
                           (unsigned long long)off);
    *n = t->big ? g64(t, b) : g16(t, b);
    if (*n == 0 || *n > TIFF_MAX_ENTRIES)
        return prov_seterr(ctx, PROV_EFORMAT, "%s: TIFF directory with %llu entries", what, (unsigned long long)*n);
    if (media_at(r, off + cn + *n * t->esz, b, nn))
        return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated TIFF directory", what);
    *next = t->big ? g64(t, b) : g32(t, b);
    return 0;
}

/* The C2PA entry of the IFD at off, if any: its data's offset and length;
 * with xa, its XMP packet is kept there too. */
static int find_c2pa(prov_ctx *ctx, rdr *r, const tfile *t, uint64_t off, uint64_t n, uint64_t *doff, uint64_t *dlen,
                     int *dng, asset *xa, const char *what)
{
    unsigned cn = t->big ? 8 : 2;
    uint8_t e[20];
    for (uint64_t i = 0; i < n; i++) {
        if (media_at(r, off + cn + i * t->esz, e, t->esz)) return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated TIFF directory", what);
        uint16_t tag = g16(t, e);
        if (tag == DNG_VERSION_TAG && dng) *dng = 1;
        if (tag == XMP_TAG && xa) { /* XMP: BYTE or UNDEFINED, out of line */
            uint64_t c = t->big ? g64(t, e + 4) : g32(t, e + 4), o = t->big ? g64(t, e + 12) : g32(t, e + 8);
            if (c > (t->big ? 8u : 4u)) media_read_xmp(r, xa, o, c);
        }
        if (tag != C2PA_TAG) continue;
        if (g16(t, e + 2) != TYPE_UNDEFINED)
            return prov_seterr(ctx, PROV_EFORMAT, "%s: the C2PA TIFF entry is not of type UNDEFINED", what);
        *dlen = t->big ? g64(t, e + 4) : g32(t, e + 4);
        *doff = t->big ? g64(t, e + 12) : g32(t, e + 8);
        if (*dlen <= (t->big ? 8u : 4u)) return prov_seterr(ctx, PROV_EFORMAT, "%s: the C2PA TIFF entry is too short", what);
        return 1;
    }
    return 0;
}

int tiff_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what)
{
    uint8_t h[16];
    tfile t;
    if (media_at(r, 0, h, 8) || header(h, &t)) return prov_seterr(ctx, PROV_EFORMAT, "%s: malformed TIFF header", what);
    if (t.big && media_at(r, 0, h, 16)) return prov_seterr(ctx, PROV_EFORMAT, "%s: malformed BigTIFF header", what);
    uint64_t first = t.big ? g64(&t, h + 8) : g32(&t, h + 4);
    /* the page chain: bounded, and a loop ends it; ptr: where the last
     * page's offset is written (the header, or the page before's link) */
    uint64_t *seen = malloc(TIFF_MAX_PAGES * sizeof *seen), off = first, last = first, n = 0, next, nlast = 0;
    uint64_t ptr = t.big ? 8 : 4, lastptr = ptr;
    if (!seen) return PROV_ENOMEM;
    size_t np = 0;
    int rc = 0;
    unsigned cn = t.big ? 8 : 2;
    while (off) {
        for (size_t i = 0; i < np; i++)
            if (seen[i] == off) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: TIFF directories form a loop", what); break; }
        if (rc) break;
        if (np == TIFF_MAX_PAGES) { rc = prov_seterr(ctx, PROV_ELIMIT, "%s: over %u TIFF pages", what, TIFF_MAX_PAGES); break; }
        if ((rc = ifd_at(ctx, r, &t, off, &n, &next, what))) break;
        seen[np++] = last = off;
        nlast = n;
        lastptr = ptr;
        ptr = off + cn + n * t.esz;
        off = next;
    }
    free(seen);
    if (rc) return rc;
    uint64_t doff = 0, dlen = 0, n0, next0;
    int dng = 0, found;
    if ((rc = ifd_at(ctx, r, &t, first, &n0, &next0, what))) return rc;
    if ((found = find_c2pa(ctx, r, &t, first, n0, &doff, &dlen, &dng, a, what)) < 0) return found;
    if (last != first) { /* the last page's entry comes first, as c2pa-rs reads */
        uint64_t lo, ll;
        int f2;
        if ((f2 = find_c2pa(ctx, r, &t, last, nlast, &lo, &ll, NULL, NULL, what)) < 0) return f2;
        if (f2) { doff = lo; dlen = ll; found = 1; }
    }
    if (dng) a->format = FMT_DNG;
    if (found) {
        uint8_t z;
        if (dlen > PROV_MAX_STORE) return prov_seterr(ctx, PROV_ELIMIT, "%s: manifest store over %u bytes", what, PROV_MAX_STORE);
        if (doff + dlen < doff || media_at(r, doff + dlen - 1, &z, 1))
            return prov_seterr(ctx, PROV_EFORMAT, "%s: the C2PA TIFF entry points past the end of the file", what);
        if ((rc = media_read_store(ctx, r, a, doff, dlen, what))) return rc;
    }
    /* the writer's facts: the last page's IFD (its entries kept in aux),
     * which the new one replaces as c2pa-rs writes it, and the link to it */
    a->ver = t.be | t.big << 1;
    a->body = last;
    a->insert_at = lastptr;
    pbuf_free(&a->aux);
    pbuf_init(&a->aux);
    if (pbuf_reserve(&a->aux, (size_t)(nlast * t.esz))) return PROV_ENOMEM;
    if (media_at(r, last + cn, a->aux.p, (size_t)(nlast * t.esz)))
        return prov_seterr(ctx, PROV_EFORMAT, "%s: truncated TIFF directory", what);
    a->aux.len = (size_t)(nlast * t.esz);
    a->tail = 0; /* the last page links to none */
    /* the file's length (the new directory and store go after it), by
     * probing single bytes: ~2 log2(size) reads, not a pass over the file */
    uint64_t lo = 0, hi = 1u << 16; /* a byte at lo - 1 exists; none at hi - 1 */
    uint8_t z;
    while (media_at(r, hi - 1, &z, 1) == 0) {
        lo = hi;
        if (hi > (UINT64_C(1) << 50)) return prov_seterr(ctx, PROV_ELIMIT, "%s: TIFF over 1 PiB", what);
        hi <<= 1;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (media_at(r, mid - 1, &z, 1) == 0) lo = mid;
        else hi = mid;
    }
    uint64_t len = lo;
    a->end = len;
    return 0;
}

static void geometry(const asset *a, tfile *t)
{
    t->be = a->ver & 1;
    t->big = a->ver >> 1 & 1;
    t->esz = t->big ? 20 : 12;
}

/* The new first IFD's length, for n kept entries plus ours. */
static uint64_t ifd_len(const tfile *t, size_t kept)
{
    return t->big ? 8 + (uint64_t)(kept + 1) * 20 + 8 : 2 + (uint64_t)(kept + 1) * 12 + 4;
}

static size_t kept_entries(const asset *a, const tfile *t)
{
    size_t k = 0;
    for (size_t i = 0; i + t->esz <= a->aux.len; i += t->esz)
        if (g16(t, a->aux.p + i) != C2PA_TAG) k++;
    return k;
}

int tiff_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl)
{
    tfile t;
    geometry(a, &t);
    uint64_t pad = a->end & 1, at = a->end + pad;
    uint64_t il = ifd_len(&t, kept_entries(a, &t));
    pl->wrapped = il + n;
    pl->ex_off = il;
    pl->ex_len = n;
    if (!t.big && at + pl->wrapped > 0xFFFFFFFFu)
        return prov_seterr(ctx, PROV_ELIMIT, "the signed TIFF would pass 4 GiB (classic TIFF offsets are 32 bits)");
    /* the file as it is, but for the link to the last page, which now
     * names the new directory at the end */
    uint8_t v[8];
    unsigned vl = t.big ? 8 : 4;
    if (t.big) p64(&t, v, at);
    else p32(&t, v, (uint32_t)at);
    if (a->insert_at + vl > a->end) return prov_seterr(ctx, PROV_EFORMAT, "input: TIFF link outside the file");
    mp_copy(pl, 0, a->insert_at);
    mp_lit(pl, v, vl);
    mp_copy(pl, a->insert_at + vl, a->end - a->insert_at - vl);
    if (pad) mp_lit(pl, "", 1);
    mp_store(pl);
    return 0;
}

static void put_ours(pbuf *out, const tfile *t, uint16_t ours, uint16_t type, size_t n, uint64_t data)
{
    uint8_t e[20] = {0};
    p16(t, e, ours);
    p16(t, e + 2, type);
    if (t->big) { p64(t, e + 4, n); p64(t, e + 12, data); }
    else { p32(t, e + 4, (uint32_t)n); p32(t, e + 8, (uint32_t)data); }
    pbuf_put(out, e, t->esz);
}

/* The new IFD with the entry (tag ours, its n bytes after the IFD) in tag
 * order, an old C2PA entry left out; then the bytes. */
static int wrap_entry(const asset *a, uint16_t ours_tag, uint16_t type, const uint8_t *store, size_t n, pbuf *out)
{
    tfile t;
    geometry(a, &t);
    uint64_t at = a->end + (a->end & 1);
    size_t kept = kept_entries(a, &t);
    uint64_t data = at + ifd_len(&t, kept);
    uint8_t c[8];
    if (t.big) p64(&t, c, kept + 1);
    else p16(&t, c, (uint16_t)(kept + 1));
    pbuf_put(out, c, t.big ? 8 : 2);
    int ours = 0; /* the entries stay in tag order */
    for (size_t i = 0; i + t.esz <= a->aux.len; i += t.esz) {
        uint16_t tag = g16(&t, a->aux.p + i);
        if (tag == C2PA_TAG) continue;
        if (!ours && tag > ours_tag) {
            put_ours(out, &t, ours_tag, type, n, data);
            ours = 1;
        }
        pbuf_put(out, a->aux.p + i, t.esz);
    }
    if (!ours) put_ours(out, &t, ours_tag, type, n, data);
    if (t.big) p64(&t, c, a->tail);
    else p32(&t, c, (uint32_t)a->tail);
    pbuf_put(out, c, t.big ? 8 : 4);
    media_put_store(out, store, n);
    return out->err ? PROV_ENOMEM : 0;
}

int tiff_wrap(const asset *a, const uint8_t *store, size_t n, pbuf *out)
{
    return wrap_entry(a, C2PA_TAG, TYPE_UNDEFINED, store, n, out);
}

int tiff_wrap_xmp(const asset *a, const uint8_t *packet, size_t n, pbuf *out)
{
    return wrap_entry(a, XMP_TAG, TYPE_BYTE, packet, n, out);
}

int tiff_single_page(const asset *a)
{
    return a->insert_at == ((a->ver >> 1 & 1) ? 8u : 4u);
}
