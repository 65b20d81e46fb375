/* cbor.c - CBOR (RFC 8949) encoder, bounded decoder and JSON rendering.
 *
 * The decoder never trusts a count: a definite array may not claim more
 * items than bytes remain (a map not more than half), a string not more
 * bytes than remain, so nothing is allocated or looped over on the word of
 * the input.  cbor_parse() is one non-recursive O(n) pass with an explicit
 * stack; accessors re-check bounds against the cval span, so even a cval
 * made by hand cannot make them read outside it. */
#include "cbor.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ceiling on any max_depth (sizes the parser's stack: 16 bytes a level). */
#define CBOR_DEPTH_CEIL 256
/* Non-text map keys are rendered to JSON and then quoted; each level of a
 * key inside a key doubles the escaping, so container keys nested deeper
 * than this are elided as "<key>" (else 32 levels could render 2^32 bytes). */
#define CBOR_KEY_NEST 2

/* ------------------------------------------------------------------ */
/* Encoder                                                             */

static void put_head(pbuf *b, unsigned mt, uint64_t v)
{
    uint8_t t[9];
    size_t n;
    uint8_t m = (uint8_t)(mt << 5);
    if (v < 24) {
        t[0] = (uint8_t)(m | v);
        n = 1;
    } else if (v <= 0xff) {
        t[0] = m | 24;
        t[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffff) {
        t[0] = m | 25;
        t[1] = (uint8_t)(v >> 8);
        t[2] = (uint8_t)v;
        n = 3;
    } else if (v <= 0xffffffffu) {
        t[0] = m | 26;
        wr32(t + 1, (uint32_t)v);
        n = 5;
    } else {
        t[0] = m | 27;
        wr32(t + 1, (uint32_t)(v >> 32));
        wr32(t + 5, (uint32_t)v);
        n = 9;
    }
    pbuf_put(b, t, n);
}

void cbor_put_uint(pbuf *b, uint64_t v) { put_head(b, CBOR_UINT, v); }

void cbor_put_int(pbuf *b, int64_t v)
{
    if (v >= 0) put_head(b, CBOR_UINT, (uint64_t)v);
    else put_head(b, CBOR_NINT, ~(uint64_t)v); /* -1 - v */
}

void cbor_put_bytes(pbuf *b, const void *p, size_t n)
{
    put_head(b, CBOR_BYTES, n);
    pbuf_put(b, p, n);
}

void cbor_put_textn(pbuf *b, const char *s, size_t n)
{
    put_head(b, CBOR_TEXT, n);
    pbuf_put(b, s, n);
}

void cbor_put_text(pbuf *b, const char *s)
{
    if (!s) {
        if (!b->err) b->err = PROV_EINVAL;
        return;
    }
    cbor_put_textn(b, s, strlen(s));
}

void cbor_put_array(pbuf *b, uint64_t n) { put_head(b, CBOR_ARRAY, n); }
void cbor_put_map(pbuf *b, uint64_t n) { put_head(b, CBOR_MAP, n); }
void cbor_put_tag(pbuf *b, uint64_t tag) { put_head(b, CBOR_TAG, tag); }
void cbor_put_bool(pbuf *b, bool v) { pbuf_putc(b, v ? 0xf5 : 0xf4); }
void cbor_put_null(pbuf *b) { pbuf_putc(b, 0xf6); }

void cbor_put_double(pbuf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t sign = (uint32_t)(bits >> 63);
    int exp = (int)(bits >> 52 & 0x7ff);
    uint64_t mant = bits & ((UINT64_C(1) << 52) - 1);
    uint8_t t[9];

    if (exp == 0x7ff) { /* NaN (canonical, RFC 8949 4.2.2) or infinity */
        uint16_t h = mant ? 0x7e00 : (uint16_t)(sign << 15 | 0x7c00);
        t[0] = 0xf9, t[1] = (uint8_t)(h >> 8), t[2] = (uint8_t)h;
        pbuf_put(b, t, 3);
        return;
    }
    if (exp == 0 && mant == 0) { /* signed zero */
        t[0] = 0xf9, t[1] = (uint8_t)(sign << 7), t[2] = 0;
        pbuf_put(b, t, 3);
        return;
    }
    if (exp != 0) { /* double subnormals are below every f32 */
        int e = exp - 1023;
        uint64_t full = mant | UINT64_C(1) << 52;
        int h = -1;
        if (e >= -14 && e <= 15 && !(mant & ((UINT64_C(1) << 42) - 1)))
            h = (int)(sign << 15 | (uint32_t)(e + 15) << 10 | (uint32_t)(mant >> 42));
        else if (e >= -24 && e < -14 && !(full & ((UINT64_C(1) << (28 - e)) - 1)))
            h = (int)(sign << 15 | (uint32_t)(full >> (28 - e)));
        if (h >= 0) {
            t[0] = 0xf9, t[1] = (uint8_t)(h >> 8), t[2] = (uint8_t)h;
            pbuf_put(b, t, 3);
            return;
        }
        int64_t f = -1;
        if (e >= -126 && e <= 127 && !(mant & ((UINT64_C(1) << 29) - 1)))
            f = (int64_t)((uint64_t)sign << 31 | (uint64_t)(e + 127) << 23 | mant >> 29);
        else if (e >= -149 && e < -126 && !(full & ((UINT64_C(1) << (-97 - e)) - 1)))
            f = (int64_t)((uint64_t)sign << 31 | full >> (-97 - e));
        if (f >= 0) {
            t[0] = 0xfa;
            wr32(t + 1, (uint32_t)f);
            pbuf_put(b, t, 5);
            return;
        }
    }
    t[0] = 0xfb;
    wr32(t + 1, (uint32_t)(bits >> 32));
    wr32(t + 5, (uint32_t)bits);
    pbuf_put(b, t, 9);
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */

/* Read the head at p: *ib the initial byte, *arg its argument (0 for
 * additional info 31).  NULL if truncated or additional info is 28-30. */
static const uint8_t *rd_head(const uint8_t *p, const uint8_t *end, unsigned *ib,
                              uint64_t *arg)
{
    if (!p || p >= end) return NULL;
    unsigned c = *p++, ai = c & 31;
    *ib = c;
    if (ai < 24) {
        *arg = ai;
        return p;
    }
    if (ai == 31) {
        *arg = 0;
        return p;
    }
    if (ai > 27) return NULL;
    size_t n = (size_t)1 << (ai - 24);
    if ((size_t)(end - p) < n) return NULL;
    switch (n) {
    case 1: *arg = p[0]; break;
    case 2: *arg = rd16(p); break;
    case 4: *arg = rd32(p); break;
    default: *arg = rd64(p); break;
    }
    return p + n;
}

typedef struct frame {
    uint64_t left; /* definite: items still due; indefinite: items seen */
    uint8_t indef, map;
} frame;

/* Check that [p, end) begins with one well-formed item nested at most
 * max_depth (arrays, maps and tags) deep; *next gets the byte after it. */
static int scan(const uint8_t *p, const uint8_t *end, int max_depth, const uint8_t **next)
{
    frame st[CBOR_DEPTH_CEIL];
    int sp = 0;
    for (;;) {
        unsigned ib;
        uint64_t arg;
        p = rd_head(p, end, &ib, &arg);
        if (!p) return PROV_EFORMAT;
        unsigned mt = ib >> 5, ai = ib & 31;
        switch (mt) {
        case CBOR_UINT:
        case CBOR_NINT:
            if (ai == 31) return PROV_EFORMAT;
            break;
        case CBOR_BYTES:
        case CBOR_TEXT:
            if (ai != 31) {
                if (arg > (uint64_t)(end - p)) return PROV_EFORMAT;
                p += arg;
                break;
            }
            for (;;) { /* chunks: definite strings of the same type */
                unsigned cb;
                uint64_t n;
                p = rd_head(p, end, &cb, &n);
                if (!p) return PROV_EFORMAT;
                if (cb == 0xff) break;
                if (cb >> 5 != mt || (cb & 31) == 31 || n > (uint64_t)(end - p))
                    return PROV_EFORMAT;
                p += n;
            }
            break;
        case CBOR_ARRAY:
        case CBOR_MAP:
            if (sp >= max_depth) return PROV_ELIMIT;
            if (ai == 31) {
                st[sp++] = (frame){0, 1, mt == CBOR_MAP};
                continue;
            }
            if (mt == CBOR_MAP) {
                if (arg > (uint64_t)(end - p) / 2) return PROV_EFORMAT;
                arg *= 2;
            } else if (arg > (uint64_t)(end - p)) {
                return PROV_EFORMAT;
            }
            if (arg) {
                st[sp++] = (frame){arg, 0, 0};
                continue;
            }
            break;
        case CBOR_TAG:
            if (ai == 31) return PROV_EFORMAT;
            if (sp >= max_depth) return PROV_ELIMIT;
            st[sp++] = (frame){1, 0, 0};
            continue;
        default:
            if (ai == 24 && arg < 32) return PROV_EFORMAT; /* RFC 8949 3.3 */
            if (ai == 31) { /* break */
                if (!sp || !st[sp - 1].indef) return PROV_EFORMAT;
                if (st[sp - 1].map && (st[sp - 1].left & 1)) return PROV_EFORMAT;
                sp--;
            }
            break;
        }
        /* One item is complete: count it in the open containers. */
        for (;;) {
            if (!sp) {
                *next = p;
                return 0;
            }
            frame *f = &st[sp - 1];
            if (f->indef) {
                f->left++;
                break;
            }
            if (--f->left) break;
            sp--;
        }
    }
}

int cbor_parse(const uint8_t *p, size_t len, int max_depth, cval *out)
{
    if (!out) return PROV_EINVAL;
    out->p = NULL;
    out->len = 0;
    if (!p || !len) return PROV_EFORMAT;
    if (max_depth <= 0) max_depth = PROV_MAX_CBOR_DEPTH;
    if (max_depth > CBOR_DEPTH_CEIL) max_depth = CBOR_DEPTH_CEIL;
    const uint8_t *next;
    int rc = scan(p, p + len, max_depth, &next);
    if (rc) return rc;
    out->p = p;
    out->len = (size_t)(next - p);
    return 0;
}

/* The item starting at p, bounded by end; len 0 if not well formed. */
static cval item_at(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *next;
    if (!p || p >= end || scan(p, end, CBOR_DEPTH_CEIL, &next)) return (cval){NULL, 0};
    return (cval){p, (size_t)(next - p)};
}

static const uint8_t *vhead(cval v, unsigned *ib, uint64_t *arg)
{
    return v.p ? rd_head(v.p, v.p + v.len, ib, arg) : NULL;
}

int cbor_type(cval v) { return v.p && v.len ? v.p[0] >> 5 : PROV_EINVAL; }

bool cbor_is_null(cval v) { return v.p && v.len && (v.p[0] == 0xf6 || v.p[0] == 0xf7); }

int cbor_get_uint(cval v, uint64_t *out)
{
    unsigned ib;
    uint64_t a;
    if (!vhead(v, &ib, &a) || ib >> 5 != CBOR_UINT || (ib & 31) == 31) return PROV_EFORMAT;
    *out = a;
    return 0;
}

int cbor_get_int(cval v, int64_t *out)
{
    unsigned ib;
    uint64_t a;
    if (!vhead(v, &ib, &a) || ib >> 5 > CBOR_NINT || (ib & 31) == 31) return PROV_EFORMAT;
    if (a > (uint64_t)INT64_MAX) return PROV_ELIMIT;
    *out = ib >> 5 == CBOR_UINT ? (int64_t)a : -1 - (int64_t)a;
    return 0;
}

int cbor_get_bool(cval v, bool *out)
{
    if (!v.p || !v.len || (v.p[0] != 0xf4 && v.p[0] != 0xf5)) return PROV_EFORMAT;
    *out = v.p[0] == 0xf5;
    return 0;
}

static double half_to_double(uint32_t h)
{
    uint32_t e = h >> 10 & 31, m = h & 0x3ff, s = (h & 0x8000) << 16;
    float f;
    if (e == 0) {
        f = (float)m * 0x1p-24f;
        if (s) f = -f;
        return f;
    }
    uint32_t bits = e == 31 ? s | 0x7f800000u | m << 13 : s | (e + 112) << 23 | m << 13;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double float_bits(unsigned ai, uint64_t a)
{
    if (ai == 25) return half_to_double((uint32_t)a);
    if (ai == 26) {
        uint32_t u = (uint32_t)a;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &a, sizeof d);
    return d;
}

int cbor_get_double(cval v, double *out)
{
    unsigned ib;
    uint64_t a;
    if (!vhead(v, &ib, &a) || (ib & 31) == 31) return PROV_EFORMAT;
    switch (ib >> 5) {
    case CBOR_UINT: *out = (double)a; return 0;
    case CBOR_NINT: *out = -1.0 - (double)a; return 0;
    case CBOR_SIMPLE:
        if ((ib & 31) < 25 || (ib & 31) > 27) return PROV_EFORMAT;
        *out = float_bits(ib & 31, a);
        return 0;
    default: return PROV_EFORMAT;
    }
}

static int get_str(cval v, unsigned mt, const uint8_t **p, size_t *n)
{
    unsigned ib;
    uint64_t a;
    const uint8_t *body = vhead(v, &ib, &a);
    if (!body || ib >> 5 != mt) return PROV_EFORMAT;
    if ((ib & 31) == 31) return PROV_EUNSUPPORTED;
    if (a > (uint64_t)(v.p + v.len - body)) return PROV_EFORMAT;
    *p = body;
    *n = (size_t)a;
    return 0;
}

int cbor_get_bytes(cval v, const uint8_t **p, size_t *n) { return get_str(v, CBOR_BYTES, p, n); }

int cbor_get_text(cval v, const char **s, size_t *n)
{
    const uint8_t *p;
    int rc = get_str(v, CBOR_TEXT, &p, n);
    if (!rc) *s = (const char *)p;
    return rc;
}

/* Text item (definite or chunked) equal to s[0..n)? */
static bool text_eq_n(cval v, const char *s, size_t n)
{
    unsigned ib;
    uint64_t a;
    const uint8_t *p = vhead(v, &ib, &a);
    if (!p || ib >> 5 != CBOR_TEXT) return false;
    const uint8_t *end = v.p + v.len;
    if ((ib & 31) != 31)
        return a == n && a <= (uint64_t)(end - p) && (n == 0 || !memcmp(p, s, n));
    size_t off = 0;
    for (;;) {
        p = rd_head(p, end, &ib, &a);
        if (!p) return false;
        if (ib == 0xff) return off == n;
        if (ib >> 5 != CBOR_TEXT || (ib & 31) == 31 || a > (uint64_t)(end - p) ||
            a > n - off)
            return false;
        if (a && memcmp(p, s + off, (size_t)a)) return false;
        off += (size_t)a;
        p += a;
    }
}

bool cbor_text_eq(cval v, const char *s) { return s && text_eq_n(v, s, strlen(s)); }

int cbor_get_tag(cval v, uint64_t *tag, cval *inner)
{
    unsigned ib;
    uint64_t a;
    const uint8_t *body = vhead(v, &ib, &a);
    if (!body || ib >> 5 != CBOR_TAG || (ib & 31) == 31) return PROV_EFORMAT;
    cval in = item_at(body, v.p + v.len);
    if (!in.p) return PROV_EFORMAT;
    if (tag) *tag = a;
    if (inner) *inner = in;
    return 0;
}

cval cbor_untag(cval v)
{
    if (!v.p) return v;
    const uint8_t *p = v.p, *end = v.p + v.len, *body;
    unsigned ib;
    uint64_t a;
    bool tagged = false;
    while ((body = rd_head(p, end, &ib, &a)) && ib >> 5 == CBOR_TAG && (ib & 31) != 31) {
        p = body;
        tagged = true;
    }
    return tagged ? item_at(p, end) : v;
}

int cbor_iter_init(cval c, cbor_iter *it)
{
    unsigned ib;
    uint64_t n;
    const uint8_t *body = vhead(c, &ib, &n);
    it->p = it->end = NULL;
    it->left = 0;
    if (!body || (ib >> 5 != CBOR_ARRAY && ib >> 5 != CBOR_MAP)) return PROV_EFORMAT;
    const uint8_t *end = c.p + c.len;
    if ((ib & 31) == 31) {
        n = UINT64_MAX;
    } else if (ib >> 5 == CBOR_MAP) {
        if (n > (uint64_t)(end - body) / 2) return PROV_EFORMAT;
        n *= 2;
    } else if (n > (uint64_t)(end - body)) {
        return PROV_EFORMAT;
    }
    it->p = body;
    it->end = end;
    it->left = n;
    return 0;
}

int cbor_iter_next(cbor_iter *it, cval *item)
{
    if (!it->left || !it->p || it->p >= it->end) return 0;
    if (it->left == UINT64_MAX && *it->p == 0xff) {
        it->left = 0;
        return 0;
    }
    cval v = item_at(it->p, it->end);
    if (!v.p) {
        it->left = 0;
        return 0;
    }
    *item = v;
    it->p += v.len;
    if (it->left != UINT64_MAX) it->left--;
    return 1;
}

size_t cbor_count(cval c)
{
    cbor_iter it;
    if (cbor_iter_init(c, &it)) return 0;
    bool map = c.p[0] >> 5 == CBOR_MAP;
    if (it.left != UINT64_MAX) return (size_t)(map ? it.left / 2 : it.left);
    size_t k = 0;
    cval item;
    while (cbor_iter_next(&it, &item)) k++;
    return map ? k / 2 : k;
}

/* Lookup by text key (s != NULL) or integer key.  A key that appears twice
 * is an error, so no caller can be fooled by which copy it got. */
static int map_find(cval map, const char *s, int64_t ikey, cval *out)
{
    cbor_iter it;
    if (cbor_iter_init(map, &it) || map.p[0] >> 5 != CBOR_MAP) return PROV_EFORMAT;
    size_t n = s ? strlen(s) : 0;
    cval k, val, found = {NULL, 0};
    while (cbor_iter_next(&it, &k)) {
        if (!cbor_iter_next(&it, &val)) return PROV_EFORMAT;
        int64_t x;
        if (s ? !text_eq_n(k, s, n) : cbor_get_int(k, &x) || x != ikey) continue;
        if (found.p) return PROV_EFORMAT;
        found = val;
    }
    if (!found.p) return PROV_ENOTFOUND;
    if (out) *out = found;
    return 0;
}

int cbor_map_get(cval map, const char *key, cval *out)
{
    return key ? map_find(map, key, 0, out) : PROV_EINVAL;
}

int cbor_map_get_int(cval map, int64_t key, cval *out) { return map_find(map, NULL, key, out); }

/* ------------------------------------------------------------------ */
/* JSON rendering                                                      */

/* Length of the valid UTF-8 sequence at s (n > 0), 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    if (c < 0xc2) return 0;
    if (c < 0xe0) return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)) return 0;
        return 3;
    }
    if (c < 0xf5) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)) return 0;
        return 4;
    }
    return 0;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

/* Append s with each invalid byte replaced by U+FFFD. */
static void utf8_append(pbuf *b, const uint8_t *s, size_t n)
{
    size_t i = 0, run = 0;
    while (i < n) {
        size_t k = utf8_seq(s + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        pbuf_put(b, s + run, i - run);
        pbuf_put(b, "\xef\xbf\xbd", 3);
        run = ++i;
    }
    pbuf_put(b, s + run, n - run);
}

static void json_text(pbuf *out, const uint8_t *s, size_t n)
{
    if (utf8_valid(s, n)) {
        pbuf_json_str(out, n ? (const char *)s : "", n);
        return;
    }
    pbuf tmp;
    pbuf_init(&tmp);
    utf8_append(&tmp, s, n);
    if (tmp.err && !out->err) out->err = tmp.err;
    pbuf_json_str(out, tmp.p ? (const char *)tmp.p : "", tmp.len);
    pbuf_free(&tmp);
}

static void json_bytes(pbuf *out, const uint8_t *s, size_t n, uint64_t total, size_t maxb)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (total > maxb) {
        pbuf_printf(out, "\"<%" PRIu64 " bytes>\"", total);
        return;
    }
    pbuf_puts(out, "\"b64:");
    if (n && !pbuf_reserve(out, (n + 2) / 3 * 4)) {
        char *o = (char *)out->p + out->len;
        size_t i = 0;
        for (; i + 3 <= n; i += 3, o += 4) {
            uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
            o[0] = b64[v >> 18], o[1] = b64[v >> 12 & 63], o[2] = b64[v >> 6 & 63], o[3] = b64[v & 63];
        }
        if (i < n) {
            uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
            o[0] = b64[v >> 18], o[1] = b64[v >> 12 & 63];
            o[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
            o[3] = '=';
            o += 4;
        }
        out->len = (size_t)((uint8_t *)o - out->p);
        out->p[out->len] = 0;
    }
    pbuf_putc(out, '"');
}

static void json_double(pbuf *out, double d)
{
    if (isnan(d) || isinf(d)) {
        pbuf_puts(out, "null");
        return;
    }
    char s[48];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d) break;
    }
    bool frac = false;
    for (char *c = s; *c; c++) {
        if (*c == ',') *c = '.'; /* whatever the locale says */
        if (*c == '.' || *c == 'e') frac = true;
    }
    pbuf_puts(out, s);
    if (!frac) pbuf_puts(out, ".0");
}

/* A string item whose head (major type mt) has been read; *pp is past it. */
static int json_string(const uint8_t **pp, const uint8_t *end, unsigned mt, unsigned ai,
                       uint64_t len, pbuf *out, size_t maxb)
{
    const uint8_t *p = *pp;
    if (ai != 31) {
        if (len > (uint64_t)(end - p)) return PROV_EFORMAT;
        if (mt == CBOR_TEXT) json_text(out, p, (size_t)len);
        else json_bytes(out, p, (size_t)len, len, maxb);
        *pp = p + len;
        return 0;
    }
    /* Chunked: check the chunks and add up their lengths, then join them. */
    uint64_t total = 0;
    const uint8_t *q = p;
    for (;;) {
        unsigned cb;
        uint64_t n;
        q = rd_head(q, end, &cb, &n);
        if (!q) return PROV_EFORMAT;
        if (cb == 0xff) break;
        if (cb >> 5 != mt || (cb & 31) == 31 || n > (uint64_t)(end - q)) return PROV_EFORMAT;
        total += n; /* <= the input's size */
        q += n;
    }
    pbuf tmp;
    pbuf_init(&tmp);
    if (mt == CBOR_TEXT || total <= maxb) {
        for (;;) { /* chunks checked above; each is a string of its own */
            unsigned cb;
            uint64_t n;
            p = rd_head(p, end, &cb, &n);
            if (cb == 0xff) break;
            if (mt == CBOR_TEXT) utf8_append(&tmp, p, (size_t)n);
            else pbuf_put(&tmp, p, (size_t)n);
            p += n;
        }
    }
    if (tmp.err && !out->err) out->err = tmp.err;
    if (mt == CBOR_TEXT) pbuf_json_str(out, tmp.p ? (const char *)tmp.p : "", tmp.len);
    else json_bytes(out, tmp.p, tmp.len, total, maxb);
    pbuf_free(&tmp);
    *pp = q;
    return 0;
}

static int json_item(const uint8_t **pp, const uint8_t *end, pbuf *out, size_t maxb, int depth,
                     int keynest);

/* A map key: text (under any tags) as itself, else its JSON in quotes. */
static int json_key(const uint8_t **pp, const uint8_t *end, pbuf *out, size_t maxb, int depth,
                    int keynest)
{
    const uint8_t *q = *pp, *body;
    unsigned ib;
    uint64_t a;
    while ((body = rd_head(q, end, &ib, &a)) && ib >> 5 == CBOR_TAG && (ib & 31) != 31) {
        if (++depth > CBOR_DEPTH_CEIL) return PROV_ELIMIT;
        q = body;
    }
    if (!body) return PROV_EFORMAT;
    if (ib >> 5 == CBOR_TEXT) {
        *pp = q;
        return json_item(pp, end, out, maxb, depth, keynest);
    }
    if (keynest >= CBOR_KEY_NEST && (ib >> 5 == CBOR_ARRAY || ib >> 5 == CBOR_MAP)) {
        cval k = item_at(q, end);
        if (!k.p) return PROV_EFORMAT;
        pbuf_puts(out, "\"<key>\"");
        *pp = q + k.len;
        return 0;
    }
    pbuf tmp;
    pbuf_init(&tmp);
    *pp = q;
    int rc = json_item(pp, end, &tmp, maxb, depth, keynest + 1);
    if (!rc) rc = tmp.err;
    if (!rc) pbuf_json_str(out, tmp.p ? (const char *)tmp.p : "", tmp.len);
    pbuf_free(&tmp);
    return rc;
}

static int json_item(const uint8_t **pp, const uint8_t *end, pbuf *out, size_t maxb, int depth,
                     int keynest)
{
    unsigned ib;
    uint64_t a;
    const uint8_t *p = rd_head(*pp, end, &ib, &a);
    if (!p) return PROV_EFORMAT;
    unsigned mt = ib >> 5, ai = ib & 31;
    int rc = 0;
    switch (mt) {
    case CBOR_UINT:
        if (ai == 31) return PROV_EFORMAT;
        pbuf_printf(out, "%" PRIu64, a);
        break;
    case CBOR_NINT:
        if (ai == 31) return PROV_EFORMAT;
        if (a == UINT64_MAX) pbuf_puts(out, "-18446744073709551616");
        else pbuf_printf(out, "-%" PRIu64, a + 1);
        break;
    case CBOR_BYTES:
    case CBOR_TEXT:
        rc = json_string(&p, end, mt, ai, a, out, maxb);
        break;
    case CBOR_ARRAY:
    case CBOR_MAP: {
        if (depth >= CBOR_DEPTH_CEIL) return PROV_ELIMIT;
        bool indef = ai == 31;
        if (!indef && a > (uint64_t)(end - p) / (mt == CBOR_MAP ? 2 : 1)) return PROV_EFORMAT;
        pbuf_putc(out, mt == CBOR_ARRAY ? '[' : '{');
        for (uint64_t i = 0; indef || i < a; i++) {
            if (indef) {
                if (p >= end) return PROV_EFORMAT;
                if (*p == 0xff) {
                    p++;
                    break;
                }
            }
            if (i) pbuf_putc(out, ',');
            if (mt == CBOR_MAP) {
                rc = json_key(&p, end, out, maxb, depth + 1, keynest);
                if (rc) return rc;
                pbuf_putc(out, ':');
            }
            rc = json_item(&p, end, out, maxb, depth + 1, keynest);
            if (rc) return rc;
        }
        pbuf_putc(out, mt == CBOR_ARRAY ? ']' : '}');
        break;
    }
    case CBOR_TAG: /* rendered as the tagged item (tag 1: the epoch number) */
        if (ai == 31) return PROV_EFORMAT;
        if (depth >= CBOR_DEPTH_CEIL) return PROV_ELIMIT;
        rc = json_item(&p, end, out, maxb, depth + 1, keynest);
        break;
    default:
        switch (ai) {
        case 20: pbuf_puts(out, "false"); break;
        case 21: pbuf_puts(out, "true"); break;
        case 22:
        case 23: pbuf_puts(out, "null"); break;
        case 25:
        case 26:
        case 27: json_double(out, float_bits(ai, a)); break;
        case 31: return PROV_EFORMAT; /* break outside an indefinite item */
        default:
            if (ai == 24 && a < 32) return PROV_EFORMAT;
            pbuf_printf(out, "\"simple(%u)\"", (unsigned)a);
        }
    }
    *pp = p;
    return rc;
}

int cbor_to_json(cval v, pbuf *out, size_t max_bytes)
{
    if (!out) return PROV_EINVAL;
    if (out->err) return out->err;
    size_t start = out->len;
    const uint8_t *p = v.p;
    int rc = v.p ? json_item(&p, v.p + v.len, out, max_bytes, 0, 0) : PROV_EFORMAT;
    if (!rc) rc = out->err;
    if (rc && !out->err && out->p) { /* leave no half-written JSON behind */
        out->len = start;
        out->p[start] = 0;
    }
    return rc;
}
