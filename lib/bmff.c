/* bmff.c - ISO BMFF top-level layout, the C2PA box, offset patching and
 * the c2pa.hash.bmff flat hashes (v1, v2, v3). */
#include "bmff.h"
#include "pump.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

const uint8_t BMFF_C2PA_UUID[16] = {0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C,
                                    0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81};

#define T(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define MAX_DEPTH 16
#define MAX_RANGES 100000
#define PREFIX 4096 /* bytes of a top-level box read to test exclusion data */

int bmff_sniff(const uint8_t *p, size_t n)
{
    return n >= 12 && rd32(p + 4) == T('f', 't', 'y', 'p') && rd32(p) >= 8;
}

const char *bmff_mime(uint32_t brand)
{
    switch (brand) {
    case T('q', 't', ' ', ' '): return "video/quicktime";
    case T('h', 'e', 'i', 'c'): case T('h', 'e', 'i', 'x'): case T('h', 'e', 'v', 'c'):
    case T('h', 'e', 'i', 'm'): case T('h', 'e', 'i', 's'): case T('m', 'i', 'f', '1'):
    case T('m', 's', 'f', '1'): return "image/heic";
    case T('a', 'v', 'i', 'f'): case T('a', 'v', 'i', 's'): return "image/avif";
    case T('M', '4', 'A', ' '): return "audio/mp4";
    default: return "video/mp4";
    }
}

void bmff_free(bmff_file *f)
{
    free(f->top);
    memset(f, 0, sizeof *f);
    f->ftyp = f->c2pa = -1;
}

static int push(bmff_file *f, const bbox *b)
{
    if (f->ntop == f->cap) {
        if (f->cap >= BMFF_MAX_TOP) return PROV_ELIMIT;
        size_t cap = f->cap ? f->cap * 2 : 32;
        bbox *n = realloc(f->top, cap * sizeof *n);
        if (!n) return PROV_ENOMEM;
        f->top = n;
        f->cap = cap;
    }
    f->top[f->ntop++] = *b;
    return 0;
}

int bmff_scan(prov_ctx *ctx, rdr *r, bmff_file *f, const char *what)
{
    memset(f, 0, sizeof *f);
    f->ftyp = f->c2pa = -1;
    if (!r->s->seek) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s: BMFF files need a seekable input", what);
    uint64_t off = 0;
    int rc;
    for (;;) {
        uint8_t h[16 + 16 + 4 + 16];
        if (rdr_seek(r, off)) { rc = prov_seterr(ctx, PROV_EIO, "%s: seek failed", what); goto fail; }
        if ((rc = rdr_fill(r, sizeof h))) { prov_seterr(ctx, rc, "%s: read failed", what); goto fail; }
        size_t avail = r->end - r->pos;
        if (avail == 0) break; /* the end, on a box boundary */
        if (avail < 8) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: truncated box header at offset %llu", what, (unsigned long long)off); goto fail; }
        if (avail > sizeof h) avail = sizeof h;
        memcpy(h, r->buf + r->pos, avail);
        bbox b = {.off = off, .type = rd32(h + 4), .hdr = 8};
        uint64_t size = rd32(h);
        if (size == 1) {
            if (avail < 16) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: truncated box header at offset %llu", what, (unsigned long long)off); goto fail; }
            size = rd64(h + 8);
            b.hdr = 16;
        }
        if (b.type == T('u', 'u', 'i', 'd')) {
            if (avail < b.hdr + 16u) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: truncated uuid box at offset %llu", what, (unsigned long long)off); goto fail; }
            memcpy(b.uuid, h + b.hdr, 16);
            b.hdr += 16;
            if (!memcmp(b.uuid, BMFF_C2PA_UUID, 16) && avail >= b.hdr + 4u + 7) {
                const char *purpose = (const char *)h + b.hdr + 4;
                size_t left = avail - b.hdr - 4;
                if (left >= 9 && !memcmp(purpose, "manifest", 9)) b.purpose = 1;
                else if (!memcmp(purpose, "merkle", 7)) b.purpose = 2;
            }
        }
        if (size == 0) { /* to the end of the file: only the last box */
            b.size = 0;
            if ((rc = push(f, &b))) goto limit;
            f->size = 0; /* unknown until read */
            break;
        }
        if (size < b.hdr || size > UINT64_MAX - off) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s: box '%.4s' at offset %llu has size %llu", what, (const char *)h + 4,
                             (unsigned long long)off, (unsigned long long)size);
            goto fail;
        }
        b.size = size;
        if ((rc = push(f, &b))) goto limit;
        off += size;
    }
    if (f->ntop == 0) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: no boxes", what); goto fail; }
    /* the last box must really be there */
    bbox *last = &f->top[f->ntop - 1];
    if (last->size) {
        uint8_t byte;
        if (rdr_seek(r, last->off + last->size - 1) || rdr_read(r, &byte, 1)) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s: box '%.4s' at offset %llu runs past the end of the file", what,
                             (const char *)&(uint32_t){__builtin_bswap32(last->type)}, (unsigned long long)last->off);
            goto fail;
        }
        f->size = last->off + last->size;
    }
    for (size_t i = 0; i < f->ntop; i++) {
        if (f->top[i].type == T('f', 't', 'y', 'p') && f->ftyp < 0) f->ftyp = (long)i;
        if (f->top[i].purpose == 1) {
            if (f->c2pa >= 0) { rc = prov_seterr(ctx, PROV_EFORMAT, "%s: two C2PA manifest stores", what); goto fail; }
            f->c2pa = (long)i;
        }
    }
    if (f->ftyp >= 0) { /* media fragments have none */
        uint8_t br[4];
        const bbox *ft = &f->top[f->ftyp];
        if (ft->size >= ft->hdr + 4 && rdr_seek(r, ft->off + ft->hdr) == 0 && rdr_read(r, br, 4) == 0) f->brand = rd32(br);
    }
    return rdr_seek(r, 0) ? prov_seterr(ctx, PROV_EIO, "%s: seek failed", what) : 0;
limit:
    prov_seterr(ctx, rc, "%s: more than %u top-level boxes", what, BMFF_MAX_TOP);
fail:
    bmff_free(f);
    return rc;
}

int bmff_load(prov_ctx *ctx, rdr *r, const bbox *b, pbuf *out, const char *what)
{
    if (b->size == 0 || b->size > BMFF_MAX_META)
        return prov_seterr(ctx, PROV_ELIMIT, "%s: box '%c%c%c%c' is too large to read (%llu bytes)", what, b->type >> 24,
                           b->type >> 16 & 0xff, b->type >> 8 & 0xff, b->type & 0xff, (unsigned long long)b->size);
    out->len = 0;
    if (pbuf_reserve(out, (size_t)b->size)) return PROV_ENOMEM;
    if (rdr_seek(r, b->off) || rdr_read(r, out->p, (size_t)b->size))
        return prov_seterr(ctx, PROV_EIO, "%s: read failed", what);
    out->len = (size_t)b->size;
    return 0;
}

int bmff_read_store(prov_ctx *ctx, rdr *r, const bmff_file *f, pbuf *store, const char *what)
{
    const bbox *b = &f->top[f->c2pa];
    uint64_t skip = b->hdr + 4 + 9 + 8;
    if (b->size < skip + 8 || b->size - skip > PROV_MAX_STORE)
        return prov_seterr(ctx, b->size < skip + 8 ? PROV_EFORMAT : PROV_ELIMIT, "%s: C2PA box of %llu bytes", what,
                           (unsigned long long)b->size);
    size_t n = (size_t)(b->size - skip);
    store->len = 0;
    if (pbuf_reserve(store, n)) return PROV_ENOMEM;
    if (rdr_seek(r, b->off + skip) || rdr_read(r, store->p, n)) return prov_seterr(ctx, PROV_EIO, "%s: read failed", what);
    /* trailing zero padding is allowed after the store's superbox */
    uint32_t lbox = rd32(store->p);
    store->len = lbox >= 8 && lbox <= n ? lbox : n;
    return 0;
}

void bmff_put_manifest_box(pbuf *b, const uint8_t *store, size_t len, size_t box_size)
{
    size_t start = b->len;
    pbuf_be32(b, (uint32_t)box_size);
    pbuf_be32(b, T('u', 'u', 'i', 'd'));
    pbuf_put(b, BMFF_C2PA_UUID, 16);
    pbuf_be32(b, 0);
    pbuf_put(b, "manifest", 9);
    pbuf_be32(b, 0);
    pbuf_be32(b, 0);
    pbuf_put(b, store, len);
    while (!b->err && b->len - start < box_size) pbuf_putc(b, 0);
}

/* ---------------------------------------------------------------- patching */

uint64_t bmff_shift_apply(const bmff_shift *s, uint64_t off)
{
    uint64_t n = off;
    if (off >= s->cut_end && s->cut_end > s->cut_start) n -= s->cut_end - s->cut_start;
    if (off >= s->at) n += s->add;
    return n;
}

static int is_container(uint32_t t)
{
    switch (t) {
    case T('m', 'o', 'o', 'v'): case T('t', 'r', 'a', 'k'): case T('m', 'd', 'i', 'a'): case T('m', 'i', 'n', 'f'):
    case T('s', 't', 'b', 'l'): case T('m', 'o', 'o', 'f'): case T('t', 'r', 'a', 'f'): case T('m', 'v', 'e', 'x'):
    case T('m', 'f', 'r', 'a'): case T('d', 'i', 'n', 'f'): case T('e', 'd', 't', 's'): case T('u', 'd', 't', 'a'):
    case T('t', 'r', 'e', 'f'): case T('m', 'e', 't', 'a'): case T('s', 'c', 'h', 'i'):
        return 1;
    default: return 0;
    }
}

/* A child box inside [p, end): 0 and *b set, or PROV_EFORMAT. */
typedef struct cbox {
    uint32_t type;
    uint8_t *p;   /* box start */
    size_t size;  /* whole box */
    size_t hdr;
} cbox;

static int child(uint8_t *p, uint8_t *end, cbox *b)
{
    size_t avail = (size_t)(end - p);
    if (avail < 8) return PROV_EFORMAT;
    uint64_t size = rd32(p);
    b->hdr = 8;
    if (size == 1) {
        if (avail < 16) return PROV_EFORMAT;
        size = rd64(p + 8);
        b->hdr = 16;
    } else if (size == 0) {
        size = avail;
    }
    if (size < b->hdr || size > avail) return PROV_EFORMAT;
    b->type = rd32(p + 4);
    b->p = p;
    b->size = (size_t)size;
    if (b->type == T('u', 'u', 'i', 'd')) {
        if (size < b->hdr + 16) return PROV_EFORMAT;
        b->hdr += 16;
    }
    return 0;
}

static uint64_t rdn(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static int wrn(uint8_t *p, unsigned n, uint64_t v)
{
    if (n < 8 && v >> (8 * n)) return PROV_ELIMIT;
    for (unsigned i = n; i-- > 0; v >>= 8) p[i] = (uint8_t)v;
    return 0;
}

typedef struct patcher {
    const bmff_shift *s;
    char *why;
    size_t why_cap;
} patcher;

static int bad(patcher *pt, int rc, const char *what)
{
    if (pt->why) snprintf(pt->why, pt->why_cap, "%s", what);
    return rc;
}

/* Shift n-byte big-endian offsets at p, count of them, stride apart. */
static int shift_field(patcher *pt, uint8_t *p, unsigned n)
{
    return wrn(p, n, bmff_shift_apply(pt->s, rdn(p, n))) ? bad(pt, PROV_ELIMIT, "an offset no longer fits its field") : 0;
}

static int patch_chunk_offsets(patcher *pt, uint8_t *d, size_t n, unsigned width)
{
    if (n < 8) return bad(pt, PROV_EFORMAT, "chunk offset box too short");
    uint64_t count = rd32(d + 4);
    if (count > (n - 8) / width) return bad(pt, PROV_EFORMAT, "chunk offset count runs past its box");
    for (uint64_t i = 0; i < count; i++)
        if (shift_field(pt, d + 8 + i * width, width)) return PROV_ELIMIT;
    return 0;
}

static int patch_iloc(patcher *pt, uint8_t *d, size_t n)
{
    if (n < 8) return bad(pt, PROV_EFORMAT, "iloc too short");
    unsigned ver = d[0];
    if (ver > 2) return bad(pt, PROV_EFORMAT, "iloc version");
    unsigned osz = d[4] >> 4, lsz = d[4] & 15, bsz = d[5] >> 4, isz = ver ? d[5] & 15 : 0;
    if ((osz != 0 && osz != 4 && osz != 8) || (lsz != 0 && lsz != 4 && lsz != 8) || (bsz != 0 && bsz != 4 && bsz != 8) ||
        (isz != 0 && isz != 4 && isz != 8))
        return bad(pt, PROV_EFORMAT, "iloc field size");
    size_t i = 6;
    uint64_t items;
    if (ver < 2) { if (i + 2 > n) goto trunc; items = rd16(d + i); i += 2; }
    else { if (i + 4 > n) goto trunc; items = rd32(d + i); i += 4; }
    for (uint64_t k = 0; k < items; k++) {
        size_t idsz = ver < 2 ? 2 : 4;
        if (i + idsz > n) goto trunc;
        i += idsz;
        unsigned method = 0;
        if (ver) { if (i + 2 > n) goto trunc; method = d[i + 1] & 15; i += 2; }
        if (i + 2 + bsz + 2 > n) goto trunc;
        unsigned dref = rd16(d + i);
        i += 2;
        uint8_t *base = d + i;
        uint64_t base_off = rdn(base, bsz);
        i += bsz;
        unsigned extents = rd16(d + i);
        i += 2;
        int patch = method == 0 && dref == 0;
        if (patch && bsz && base_off && shift_field(pt, base, bsz)) return PROV_ELIMIT;
        for (unsigned e = 0; e < extents; e++) {
            if (i + isz + osz + lsz > n) goto trunc;
            i += isz;
            if (patch && !(bsz && base_off) && osz && rdn(d + i, osz) && shift_field(pt, d + i, osz)) return PROV_ELIMIT;
            i += osz + lsz;
        }
    }
    return 0;
trunc:
    return bad(pt, PROV_EFORMAT, "iloc runs past its box");
}

static int patch_tfra(patcher *pt, uint8_t *d, size_t n)
{
    if (n < 16) return bad(pt, PROV_EFORMAT, "tfra too short");
    unsigned ver = d[0], w = ver == 1 ? 8 : 4;
    uint32_t sizes = rd32(d + 8);
    unsigned extra = ((sizes >> 4 & 3) + 1) + ((sizes >> 2 & 3) + 1) + ((sizes & 3) + 1);
    uint64_t count = rd32(d + 12), stride = 2 * w + extra;
    if (count > (n - 16) / stride) return bad(pt, PROV_EFORMAT, "tfra entries run past its box");
    for (uint64_t k = 0; k < count; k++)
        if (shift_field(pt, d + 16 + k * stride + w, w)) return PROV_ELIMIT;
    return 0;
}

static int patch_saio(patcher *pt, uint8_t *d, size_t n)
{
    if (n < 8) return bad(pt, PROV_EFORMAT, "saio too short");
    unsigned ver = d[0], w = ver ? 8 : 4;
    size_t i = 4 + ((d[3] & 1) ? 8 : 0);
    if (i + 4 > n) return bad(pt, PROV_EFORMAT, "saio too short");
    uint64_t count = rd32(d + i);
    i += 4;
    if (count > (n - i) / w) return bad(pt, PROV_EFORMAT, "saio entries run past its box");
    for (uint64_t k = 0; k < count; k++)
        if (shift_field(pt, d + i + k * w, w)) return PROV_ELIMIT;
    return 0;
}

static int patch_walk(patcher *pt, uint8_t *p, uint8_t *end, int depth, int in_moof)
{
    if (depth > MAX_DEPTH) return bad(pt, PROV_ELIMIT, "boxes nested too deep");
    while (p < end) {
        cbox b;
        if (child(p, end, &b)) return bad(pt, PROV_EFORMAT, "a box runs past its parent");
        uint8_t *d = b.p + b.hdr;
        size_t n = b.size - b.hdr;
        int rc = 0;
        switch (b.type) {
        case T('s', 't', 'c', 'o'): rc = patch_chunk_offsets(pt, d, n, 4); break;
        case T('c', 'o', '6', '4'): rc = patch_chunk_offsets(pt, d, n, 8); break;
        case T('i', 'l', 'o', 'c'): rc = patch_iloc(pt, d, n); break;
        case T('t', 'f', 'r', 'a'): rc = patch_tfra(pt, d, n); break;
        case T('t', 'f', 'h', 'd'):
            if (n >= 16 && (d[3] & 1)) rc = shift_field(pt, d + 8, 8);
            break;
        case T('s', 'a', 'i', 'o'):
            if (!in_moof) rc = patch_saio(pt, d, n); /* in a moof, relative to its base */
            break;
        default:
            if (is_container(b.type)) {
                size_t skip = b.type == T('m', 'e', 't', 'a') ? 4 : 0; /* meta is a FullBox */
                if (n < skip) return bad(pt, PROV_EFORMAT, "meta too short");
                rc = patch_walk(pt, d + skip, d + n, depth + 1, in_moof || b.type == T('m', 'o', 'o', 'f'));
            }
        }
        if (rc) return rc;
        p += b.size;
    }
    return 0;
}

int bmff_patch(uint8_t *box, size_t len, const bmff_shift *s, char *why, size_t why_cap)
{
    patcher pt = {s, why, why_cap};
    return patch_walk(&pt, box, box + len, 0, 0);
}

/* ---------------------------------------------------------------- hashing */

#define MAX_PATH 12

typedef struct excl {
    uint32_t path[MAX_PATH];
    size_t depth;
    cval map;
    int has_length, has_version, has_flags, exact;
    uint64_t length, version;
    uint8_t flags[3];
} excl;

typedef struct hctx {
    prov_ctx *ctx;
    xrange *ranges;
    size_t nranges;
    int err;
} hctx;

static int add_range(hctx *h, uint64_t start, uint64_t len)
{
    if (!len) return 0;
    if (h->nranges == MAX_RANGES) return h->err = PROV_ELIMIT;
    h->ranges[h->nranges++] = (xrange){start, len};
    return 0;
}

/* Does a box (bytes at p, n of them known, full size size, header hdr)
 * meet the exclusion's conditions? */
static int meets(const excl *e, const uint8_t *p, size_t n, uint64_t size, size_t hdr, uint32_t type)
{
    if (e->has_length && e->length != size) return 0;
    if (e->has_version || e->has_flags) {
        if (n < hdr + 4) return 0;
        if (e->has_version && p[hdr] != e->version) return 0;
        if (e->has_flags) {
            const uint8_t *f = p + hdr + 1;
            for (int i = 0; i < 3; i++) {
                if (e->exact ? f[i] != e->flags[i] : (e->flags[i] | f[i]) != e->flags[i]) return 0;
            }
        }
    }
    cval data, item;
    cbor_iter it;
    if (cbor_map_get(e->map, "data", &data) == 0 && !cbor_is_null(data)) {
        if (cbor_iter_init(data, &it)) return 0;
        while (cbor_iter_next(&it, &item)) {
            cval o, v;
            uint64_t off;
            const uint8_t *val;
            size_t vl;
            if (cbor_map_get(item, "offset", &o) || cbor_get_uint(o, &off) || cbor_map_get(item, "value", &v) ||
                cbor_get_bytes(v, &val, &vl))
                return 0;
            if (off > n || vl > n - off || memcmp(p + off, val, vl)) return 0;
        }
    }
    (void)type;
    return 1;
}

/* The byte ranges an exclusion removes from a matching box at file offset
 * off: its subsets, or the whole box.  Returns 1 for a whole-box match. */
static int exclude_box(hctx *h, const excl *e, uint64_t off, uint64_t size)
{
    cval sub, item;
    cbor_iter it;
    if (cbor_map_get(e->map, "subset", &sub) == 0 && !cbor_is_null(sub)) {
        if (cbor_iter_init(sub, &it)) return h->err = PROV_EFORMAT, 0;
        while (cbor_iter_next(&it, &item)) {
            cval o, l;
            uint64_t so, sl;
            if (cbor_map_get(item, "offset", &o) || cbor_get_uint(o, &so) || cbor_map_get(item, "length", &l) ||
                cbor_get_uint(l, &sl))
                return h->err = PROV_EFORMAT, 0;
            if (so > size) continue;
            uint64_t len = sl == 0 ? size - so : (sl < size - so ? sl : size - so);
            add_range(h, off + so, len);
        }
        return 0;
    }
    add_range(h, off, size);
    return 1;
}

static void match_nested(hctx *h, const excl *e, size_t level, uint8_t *p, uint8_t *end, uint64_t file_off, int depth)
{
    if (depth > MAX_DEPTH) return;
    while (p < end) {
        cbox b;
        if (child(p, end, &b)) return;
        if (b.type == e->path[level]) {
            uint64_t at = file_off;
            if (level + 1 == e->depth) {
                if (meets(e, b.p, b.size, b.size, b.hdr, b.type)) exclude_box(h, e, at, b.size);
            } else if (is_container(b.type)) {
                size_t skip = b.type == T('m', 'e', 't', 'a') ? 4 : 0;
                if (b.size >= b.hdr + skip)
                    match_nested(h, e, level + 1, b.p + b.hdr + skip, b.p + b.size, at + b.hdr + skip, depth + 1);
            }
        }
        file_off += b.size;
        p += b.size;
    }
}

static int parse_excl(cval m, excl *e)
{
    memset(e, 0, sizeof *e);
    e->map = m;
    e->exact = 1;
    cval v;
    const char *x;
    size_t xl;
    if (cbor_type(m) != CBOR_MAP || cbor_map_get(m, "xpath", &v) || cbor_get_text(v, &x, &xl)) return PROV_EFORMAT;
    /* "/a/b/c": four-character codes (an index like [1] is not supported) */
    size_t i = 0;
    while (i < xl) {
        if (x[i] != '/' || e->depth == MAX_PATH) return PROV_EFORMAT;
        i++;
        size_t j = i;
        while (j < xl && x[j] != '/') j++;
        if (j - i != 4) return PROV_EFORMAT;
        e->path[e->depth++] = T(x[i], x[i + 1], x[i + 2], x[i + 3]);
        i = j;
    }
    if (!e->depth) return PROV_EFORMAT;
    if (cbor_map_get(m, "length", &v) == 0 && !cbor_is_null(v)) {
        if (cbor_get_uint(v, &e->length)) return PROV_EFORMAT;
        e->has_length = 1;
    }
    if (cbor_map_get(m, "version", &v) == 0 && !cbor_is_null(v)) {
        if (cbor_get_uint(v, &e->version)) return PROV_EFORMAT;
        e->has_version = 1;
    }
    if (cbor_map_get(m, "flags", &v) == 0 && !cbor_is_null(v)) {
        const uint8_t *f;
        size_t fl;
        if (cbor_get_bytes(v, &f, &fl) || fl != 3) return PROV_EFORMAT;
        memcpy(e->flags, f, 3);
        e->has_flags = 1;
    }
    if (cbor_map_get(m, "exact", &v) == 0 && !cbor_is_null(v)) {
        bool b;
        if (cbor_get_bool(v, &b)) return PROV_EFORMAT;
        e->exact = b;
    }
    return 0;
}

/* The three exclusions every writer uses; anything else is "additional". */
static int mandatory(const excl *e)
{
    cval d, s;
    int has_data = cbor_map_get(e->map, "data", &d) == 0 && !cbor_is_null(d);
    int has_sub = cbor_map_get(e->map, "subset", &s) == 0 && !cbor_is_null(s);
    if (e->depth != 1 || has_sub || e->has_length || e->has_version || e->has_flags) return 0;
    if (e->path[0] == T('f', 't', 'y', 'p') || e->path[0] == T('m', 'f', 'r', 'a')) return !has_data;
    if (e->path[0] != T('u', 'u', 'i', 'd') || !has_data || cbor_count(d) != 1) return 0;
    cbor_iter it;
    cval item, o, v;
    uint64_t off;
    const uint8_t *val;
    size_t vl;
    cbor_iter_init(d, &it);
    cbor_iter_next(&it, &item);
    return cbor_map_get(item, "offset", &o) == 0 && cbor_get_uint(o, &off) == 0 && off == 8 &&
           cbor_map_get(item, "value", &v) == 0 && cbor_get_bytes(v, &val, &vl) == 0 && vl == 16 &&
           memcmp(val, BMFF_C2PA_UUID, 16) == 0;
}

typedef struct feeder {
    xhash x;
    const uint64_t *marks;
    size_t nmarks, next;
} feeder;

/* Feed file bytes in order, putting each marked box offset (u64 BE) into
 * the hash just before the box's first byte. */
static void feed(void *u, const uint8_t *p, size_t n)
{
    feeder *f = u;
    while (n || (f->next < f->nmarks && f->marks[f->next] == f->x.off)) {
        while (f->next < f->nmarks && f->marks[f->next] == f->x.off) {
            uint8_t be[8];
            wr32(be, (uint32_t)(f->x.off >> 32));
            wr32(be + 4, (uint32_t)f->x.off);
            EVP_DigestUpdate(f->x.md, be, 8);
            f->next++;
        }
        if (!n) break;
        size_t k = n;
        if (f->next < f->nmarks && f->marks[f->next] - f->x.off < k) k = (size_t)(f->marks[f->next] - f->x.off);
        xhash_feed(&f->x, p, k);
        p += k;
        n -= k;
    }
}

static int cmp_range(const void *a, const void *b)
{
    const xrange *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int bmff_hash(prov_ctx *ctx, rdr *r, const bmff_file *f, cval a, int version, uint8_t *out, size_t *out_len, int *extra)
{
    cval list, item, v;
    cbor_iter it;
    char alg[16] = "sha256";
    *extra = 0;
    if (cbor_map_get(a, "alg", &v) == 0 && !cbor_is_null(v)) {
        const char *s;
        size_t sl;
        if (cbor_get_text(v, &s, &sl) || sl >= sizeof alg) return PROV_EFORMAT;
        memcpy(alg, s, sl);
        alg[sl] = 0;
    }
    if (cbor_map_get(a, "exclusions", &list) || cbor_iter_init(list, &it)) return PROV_EFORMAT;
    hctx h = {ctx, malloc(MAX_RANGES * sizeof(xrange)), 0, 0};
    char *whole = calloc(f->ntop, 1);
    uint64_t *marks = malloc((f->ntop + 1) * sizeof *marks);
    pbuf box;
    pbuf_init(&box);
    int rc = 0;
    if (!h.ranges || !whole || !marks) { rc = PROV_ENOMEM; goto out; }
    size_t nex = 0;
    while (cbor_iter_next(&it, &item)) {
        excl e;
        if (++nex > PROV_MAX_EXCLUSIONS) { rc = PROV_ELIMIT; goto out; }
        if ((rc = parse_excl(item, &e))) goto out;
        if (!mandatory(&e)) *extra = 1;
        for (size_t i = 0; i < f->ntop; i++) {
            const bbox *b = &f->top[i];
            if (b->type != e.path[0]) continue;
            uint64_t size = b->size ? b->size : UINT64_MAX - b->off;
            if (e.depth == 1) {
                uint8_t pre[PREFIX];
                size_t n = size < PREFIX ? (size_t)size : PREFIX;
                if (rdr_seek(r, b->off) || rdr_fill(r, n)) { rc = PROV_EIO; goto out; }
                if (r->end - r->pos < n) n = r->end - r->pos;
                memcpy(pre, r->buf + r->pos, n);
                if (meets(&e, pre, n, size, b->hdr, b->type) && exclude_box(&h, &e, b->off, size)) whole[i] = 1;
            } else if (is_container(b->type) && b->size && b->size <= BMFF_MAX_META) {
                if ((rc = bmff_load(ctx, r, b, &box, "input"))) goto out;
                size_t skip = b->hdr + (b->type == T('m', 'e', 't', 'a') ? 4 : 0);
                if (box.len >= skip) match_nested(&h, &e, 1, box.p + skip, box.p + box.len, b->off + skip, 0);
            }
            if (h.err) { rc = h.err; goto out; }
        }
    }
    /* sorted, overlaps merged */
    qsort(h.ranges, h.nranges, sizeof *h.ranges, cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < h.nranges; i++) {
        if (m && h.ranges[i].start <= h.ranges[m - 1].start + h.ranges[m - 1].len) {
            uint64_t end = h.ranges[i].start + h.ranges[i].len, pend = h.ranges[m - 1].start + h.ranges[m - 1].len;
            if (end > pend) h.ranges[m - 1].len = end - h.ranges[m - 1].start;
        } else {
            h.ranges[m++] = h.ranges[i];
        }
    }
    size_t nm = 0;
    if (version >= 2)
        for (size_t i = 0; i < f->ntop; i++)
            if (!whole[i]) marks[nm++] = f->top[i].off;
    feeder fd = {.marks = marks, .nmarks = nm};
    if ((rc = xhash_init(&fd.x, alg, h.ranges, m))) goto out;
    if (rdr_seek(r, 0)) { rc = PROV_EIO; xhash_free(&fd.x); goto out; }
    uint64_t total;
    int where;
    rc = pump(r, UINT64_MAX, feed, &fd, NULL, &total, &where);
    *out_len = xhash_final(&fd.x, out);
    xhash_free(&fd.x);
out:
    pbuf_free(&box);
    free(h.ranges);
    free(whole);
    free(marks);
    return rc;
}

/* ---------------------------------------------------------------- fragments */

int bmff_fragment_info(prov_ctx *ctx, rdr *r, const bmff_file *f, pbuf *box, bmff_frag *out)
{
    memset(out, 0, sizeof *out);
    const bbox *mb = NULL;
    for (size_t i = 0; i < f->ntop; i++)
        if (f->top[i].purpose == 2) {
            if (mb) return prov_seterr(ctx, PROV_EFORMAT, "fragment: two C2PA merkle boxes");
            mb = &f->top[i];
        }
    if (!mb) return prov_seterr(ctx, PROV_ENOTFOUND, "fragment: no C2PA merkle box");
    if (mb->size > (1u << 20)) return prov_seterr(ctx, PROV_ELIMIT, "fragment: merkle box too large");
    int rc = bmff_load(ctx, r, mb, box, "fragment");
    if (rc) return rc;
    size_t skip = mb->hdr + 4 + 7, n = box->len;
    if (n <= skip) return prov_seterr(ctx, PROV_EFORMAT, "fragment: merkle box too short");
    cval m, v;
    if (cbor_parse(box->p + skip, n - skip, 0, &m) || cbor_type(m) != CBOR_MAP ||
        cbor_map_get(m, "uniqueId", &v) || cbor_get_uint(v, &out->unique_id) || cbor_map_get(m, "localId", &v) ||
        cbor_get_uint(v, &out->local_id) || cbor_map_get(m, "location", &v) || cbor_get_uint(v, &out->location))
        return prov_seterr(ctx, PROV_EFORMAT, "fragment: merkle box malformed");
    for (size_t i = skip + m.len; i < n; i++) /* only zero padding may follow */
        if (box->p[i]) return prov_seterr(ctx, PROV_EFORMAT, "fragment: bytes after the merkle map");
    if (cbor_map_get(m, "hashes", &v) == 0 && !cbor_is_null(v)) {
        if (cbor_type(v) != CBOR_ARRAY) return prov_seterr(ctx, PROV_EFORMAT, "fragment: merkle proof malformed");
        out->proof = v;
        out->has_proof = 1;
    }
    return 0;
}

static void node(const uint8_t *l, const uint8_t *r, uint8_t out[32])
{
    uint8_t b[64];
    memcpy(b, l, 32);
    memcpy(b + 32, r, 32);
    sha256(b, 64, out);
}

int bmff_merkle_check(cval map, const bmff_frag *fr, const uint8_t leaf[32])
{
    cval v, row;
    uint64_t count;
    if (cbor_map_get(map, "count", &v) || cbor_get_uint(v, &count) || count == 0 || count > (1ull << 40) ||
        cbor_map_get(map, "hashes", &row) || cbor_type(row) != CBOR_ARRAY)
        return PROV_EFORMAT;
    if (cbor_map_get(map, "alg", &v) == 0 && !cbor_is_null(v) && !cbor_text_eq(v, "sha256")) return PROV_EFORMAT;
    if (fr->location >= count) return 1;
    size_t rowlen = cbor_count(row);
    uint8_t h[32];
    memcpy(h, leaf, 32);
    uint64_t idx = fr->location, w = count;
    cbor_iter pit;
    int have_proof = fr->has_proof && cbor_iter_init(fr->proof, &pit) == 0;
    /* climb from the leaves to the stored row; an odd last node moves up
     * unchanged */
    for (int guard = 0; w != rowlen && guard < 64; guard++) {
        uint64_t sib = idx ^ 1;
        if (sib < w) {
            cval pv;
            const uint8_t *ph;
            size_t pl;
            if (!have_proof || !cbor_iter_next(&pit, &pv) || cbor_get_bytes(pv, &ph, &pl) || pl != 32) return 1;
            if (idx & 1) node(ph, h, h);
            else node(h, ph, h);
        }
        idx /= 2;
        w = (w + 1) / 2;
        if (w == 1 && rowlen != 1) return 1;
    }
    if (w != rowlen) return 1;
    cbor_iter it;
    cval e;
    const uint8_t *want;
    size_t wl;
    cbor_iter_init(row, &it);
    for (uint64_t i = 0; cbor_iter_next(&it, &e); i++)
        if (i == idx) return cbor_get_bytes(e, &want, &wl) || wl != 32 || memcmp(want, h, 32) ? 1 : 0;
    return 1;
}

const uint8_t BMFF_XMP_UUID[16] = {0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8,
                                   0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac};
#define XMP_UUID BMFF_XMP_UUID

int bmff_has_xmp(const bmff_file *f)
{
    for (size_t i = 0; i < f->ntop; i++)
        if (f->top[i].type == T('u', 'u', 'i', 'd') && !memcmp(f->top[i].uuid, XMP_UUID, 16)) return 1;
    return 0;
}

void bmff_read_xmp(rdr *r, const bmff_file *f, pbuf *out)
{
    for (size_t i = 0; i < f->ntop; i++) {
        const bbox *b = &f->top[i];
        if (b->type != T('u', 'u', 'i', 'd') || memcmp(b->uuid, XMP_UUID, 16) || b->size <= b->hdr ||
            b->size - b->hdr > (1u << 20))
            continue;
        size_t n = (size_t)(b->size - b->hdr);
        if (pbuf_reserve(out, n) || rdr_seek(r, b->off + b->hdr) || rdr_read(r, out->p, n)) return;
        out->len = n;
        return;
    }
}
