/* fuzz_cbor.c - libFuzzer harness for the CBOR decoder.
 *
 * Parses the input, walks the whole tree with the iterators and every
 * accessor, looks keys up, renders JSON (checked to be valid JSON and
 * valid UTF-8), and writes the tree back with the encoder: the copy must
 * parse and, where the writer could copy every item exactly, render the
 * same JSON.  Any broken invariant aborts. */
#include "cbor.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                  \
    do {                          \
        if (!(c)) abort();        \
    } while (0)

static bool within(cval in, cval outer)
{
    return in.p && in.p >= outer.p && in.len <= outer.len &&
           (size_t)(in.p - outer.p) <= outer.len - in.len;
}

/* ---- a strict JSON checker ---- */

static const uint8_t *js_ws(const uint8_t *p, const uint8_t *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static const uint8_t *js_value(const uint8_t *p, const uint8_t *e, int depth);

static const uint8_t *js_string(const uint8_t *p, const uint8_t *e)
{
    if (p >= e || *p++ != '"') return NULL;
    while (p < e) {
        uint8_t c = *p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= e) return NULL;
            if (*p == 'u') {
                if (e - p < 5) return NULL;
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) return NULL;
                p += 5;
            } else if (strchr("\"\\/bfnrt", *p) && *p) {
                p++;
            } else {
                return NULL;
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        /* strict UTF-8 */
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4 || (size_t)(e - p) < n) return NULL;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80) return NULL;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
            (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
            return NULL;
        p += n;
    }
    return NULL;
}

static const uint8_t *js_number(const uint8_t *p, const uint8_t *e)
{
    if (p < e && *p == '-') p++;
    if (p >= e || *p < '0' || *p > '9') return NULL;
    if (*p == '0') p++;
    else
        while (p < e && *p >= '0' && *p <= '9') p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    return p;
}

static const uint8_t *js_value(const uint8_t *p, const uint8_t *e, int depth)
{
    if (depth > 2000) return NULL;
    p = js_ws(p, e);
    if (p >= e) return NULL;
    switch (*p) {
    case '"': return js_string(p, e);
    case '[':
    case '{': {
        uint8_t close = *p == '[' ? ']' : '}';
        bool obj = *p == '{';
        p = js_ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (obj) {
                p = js_string(js_ws(p, e), e);
                if (!p) return NULL;
                p = js_ws(p, e);
                if (p >= e || *p++ != ':') return NULL;
            }
            p = js_value(p, e, depth + 1);
            if (!p) return NULL;
            p = js_ws(p, e);
            if (p >= e) return NULL;
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
        }
    }
    case 't': return (size_t)(e - p) >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
    case 'f': return (size_t)(e - p) >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
    case 'n': return (size_t)(e - p) >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
    default: return js_number(p, e);
    }
}

static void check_json(const pbuf *b)
{
    CHECK(!b->err && b->p && b->len);
    CHECK(memchr(b->p, 0, b->len) == NULL);
    const uint8_t *e = b->p + b->len;
    const uint8_t *p = js_value(b->p, e, 0);
    CHECK(p && js_ws(p, e) == e);
}

/* ---- walk ---- */

static void walk(cval v, int depth, int *steps)
{
    CHECK(depth <= 256 && v.p && v.len);
    if (++*steps > 200000) return; /* keep each input quick */
    uint64_t u, tag;
    int64_t i;
    bool bo;
    double d;
    const uint8_t *bp;
    const char *sp;
    size_t n;
    cval inner, item, x;
    int t = cbor_type(v);
    CHECK(t >= 0 && t <= 7);
    (void)cbor_is_null(v);
    if (!cbor_get_uint(v, &u)) CHECK(t == CBOR_UINT);
    int ri = cbor_get_int(v, &i);
    CHECK(ri == 0 || ri == PROV_EFORMAT || ri == PROV_ELIMIT);
    if (!ri) CHECK(t <= CBOR_NINT && (t == CBOR_UINT) == (i >= 0));
    if (!cbor_get_bool(v, &bo)) CHECK(t == CBOR_SIMPLE && v.len == 1);
    if (!cbor_get_double(v, &d)) CHECK(t <= CBOR_NINT || t == CBOR_SIMPLE);
    if (!cbor_get_bytes(v, &bp, &n)) {
        CHECK(t == CBOR_BYTES && bp >= v.p && bp + n == v.p + v.len);
    }
    if (!cbor_get_text(v, &sp, &n)) {
        CHECK(t == CBOR_TEXT && (const uint8_t *)sp + n == v.p + v.len);
        char key[64];
        if (n < sizeof key && !memchr(sp, 0, n)) {
            memcpy(key, sp, n);
            key[n] = 0;
            CHECK(cbor_text_eq(v, key));
        }
    }
    (void)cbor_text_eq(v, "");
    (void)cbor_text_eq(v, "alg");
    cval un = cbor_untag(v);
    if (!cbor_get_tag(v, &tag, &inner)) {
        CHECK(t == CBOR_TAG && within(inner, v) && inner.p + inner.len == v.p + v.len);
        CHECK(within(un, inner));
        walk(inner, depth + 1, steps);
    } else {
        CHECK(un.p == v.p && un.len == v.len);
    }
    cbor_iter it;
    if (cbor_iter_init(v, &it)) {
        CHECK(t != CBOR_ARRAY && t != CBOR_MAP);
        CHECK(cbor_count(v) == 0);
        return;
    }
    CHECK(t == CBOR_ARRAY || t == CBOR_MAP);
    size_t k = 0;
    const uint8_t *prev = NULL;
    while (cbor_iter_next(&it, &item)) {
        CHECK(within(item, v));
        CHECK(!prev || item.p >= prev);
        prev = item.p + item.len;
        if (t == CBOR_MAP && !(k & 1) && k < 128) { /* lookups are O(map) */
            /* look each key up; duplicates give EFORMAT, else the value follows */
            int rc = 1;
            if (!cbor_get_text(item, &sp, &n) && n < 64 && !memchr(sp, 0, n)) {
                char key[64];
                memcpy(key, sp, n);
                key[n] = 0;
                rc = cbor_map_get(v, key, &x);
            } else if (!cbor_get_int(item, &i)) {
                rc = cbor_map_get_int(v, i, &x);
            }
            CHECK(rc == 0 || rc == PROV_EFORMAT || rc == 1);
            if (rc == 0) CHECK(within(x, v) && x.p == item.p + item.len);
        }
        walk(item, depth + 1, steps);
        k++;
    }
    size_t c = cbor_count(v);
    CHECK(t == CBOR_MAP ? k == 2 * c : k == c);
    if (t == CBOR_MAP) {
        int rc = cbor_map_get(v, "alg", &x);
        CHECK(rc == 0 || rc == PROV_ENOTFOUND || rc == PROV_EFORMAT);
        rc = cbor_map_get_int(v, 1, &x);
        CHECK(rc == 0 || rc == PROV_ENOTFOUND || rc == PROV_EFORMAT);
        rc = cbor_map_get_int(v, -1, NULL);
        CHECK(rc == 0 || rc == PROV_ENOTFOUND || rc == PROV_EFORMAT);
    } else {
        CHECK(cbor_map_get(v, "a", &x) == PROV_EFORMAT);
    }
}

/* Write v back with the encoder.  *exact is cleared where the copy may
 * render differently (chunked text: chunks are checked one by one). */
static void copy(cval v, pbuf *b, bool *exact)
{
    uint64_t u, tag;
    int64_t i;
    double d;
    bool bo;
    const uint8_t *bp;
    const char *sp;
    size_t n;
    cval inner, item;
    cbor_iter it;
    pbuf tmp;
    switch (cbor_type(v)) {
    case CBOR_UINT:
        CHECK(!cbor_get_uint(v, &u));
        cbor_put_uint(b, u);
        return;
    case CBOR_NINT:
        if (cbor_get_int(v, &i)) {
            *exact = false;
            i = INT64_MIN;
        }
        cbor_put_int(b, i);
        return;
    case CBOR_BYTES:
    case CBOR_TEXT:
        if (cbor_type(v) == CBOR_BYTES ? !cbor_get_bytes(v, &bp, &n)
                                       : !cbor_get_text(v, &sp, &n)) {
            if (cbor_type(v) == CBOR_BYTES) cbor_put_bytes(b, bp, n);
            else cbor_put_textn(b, sp, n);
            return;
        }
        /* chunked: join the chunks */
        pbuf_init(&tmp);
        CHECK(cbor_iter_init(v, &it) == PROV_EFORMAT); /* not a container */
        {
            const uint8_t *p = v.p + 1, *e = v.p + v.len;
            while (p < e && *p != 0xff) {
                cval ch = {p, (size_t)(e - p)};
                if (cbor_type(v) == CBOR_BYTES) CHECK(!cbor_get_bytes(ch, &bp, &n));
                else {
                    CHECK(!cbor_get_text(ch, &sp, &n));
                    bp = (const uint8_t *)sp;
                }
                pbuf_put(&tmp, bp, n);
                p = bp + n;
            }
            CHECK(p + 1 == e);
        }
        if (cbor_type(v) == CBOR_BYTES) cbor_put_bytes(b, tmp.p, tmp.len);
        else cbor_put_textn(b, (const char *)tmp.p, tmp.len);
        if (cbor_type(v) == CBOR_TEXT) *exact = false;
        pbuf_free(&tmp);
        return;
    case CBOR_ARRAY:
    case CBOR_MAP:
        if (cbor_type(v) == CBOR_ARRAY) cbor_put_array(b, cbor_count(v));
        else cbor_put_map(b, cbor_count(v));
        CHECK(!cbor_iter_init(v, &it));
        while (cbor_iter_next(&it, &item)) copy(item, b, exact);
        return;
    case CBOR_TAG:
        CHECK(!cbor_get_tag(v, &tag, &inner));
        cbor_put_tag(b, tag);
        copy(inner, b, exact);
        return;
    default:
        if (!cbor_get_bool(v, &bo)) {
            cbor_put_bool(b, bo);
        } else if (cbor_is_null(v)) {
            cbor_put_null(b);
        } else if (!cbor_get_double(v, &d)) {
            cbor_put_double(b, d); /* NaN payloads go, but NaN renders null anyway */
        } else {
            cbor_put_null(b);
            *exact = false; /* simple(n) */
        }
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cval v;
    int rc = cbor_parse(data, size, 0, &v);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT);

    /* a smaller depth limit fails only with ELIMIT, a larger never newly fails */
    cval w;
    int r3 = cbor_parse(data, size, 3, &w);
    if (rc == 0) CHECK(r3 == 0 || r3 == PROV_ELIMIT);
    if (r3 == 0) CHECK(rc == 0 && w.len == v.len);
    int r256 = cbor_parse(data, size, 256, &w);
    if (rc == 0) CHECK(r256 == 0 && w.len == v.len);
    if (rc == PROV_EFORMAT) CHECK(r256 == PROV_EFORMAT);

    /* accessors and JSON on the raw span never read outside it */
    pbuf j;
    pbuf_init(&j);
    cval raw = {size ? data : NULL, size};
    cbor_iter it;
    cval item;
    if (!cbor_iter_init(raw, &it))
        for (int k = 0; k < 1000 && cbor_iter_next(&it, &item); k++) CHECK(within(item, raw));
    (void)cbor_count(raw);
    (void)cbor_map_get(raw, "a", &item);
    (void)cbor_untag(raw);
    if (cbor_to_json(raw, &j, 8) == 0) check_json(&j);
    pbuf_free(&j);

    if (rc) {
        CHECK(v.p == NULL && v.len == 0);
        return 0;
    }
    CHECK(v.p == data && v.len >= 1 && v.len <= size);

    int steps = 0;
    walk(v, 0, &steps);

    pbuf_init(&j);
    CHECK(cbor_to_json(v, &j, 8) == 0);
    check_json(&j);

    /* copy with the encoder; the copy is well formed, and a fixed point */
    pbuf c;
    pbuf_init(&c);
    bool exact = true;
    copy(v, &c, &exact);
    CHECK(!c.err);
    cval cv;
    CHECK(cbor_parse(c.p, c.len, 256, &cv) == 0 && cv.len == c.len);
    pbuf j2;
    pbuf_init(&j2);
    CHECK(cbor_to_json(cv, &j2, 8) == 0);
    if (exact) CHECK(j2.len == j.len && !memcmp(j2.p, j.p, j.len));
    pbuf c2;
    pbuf_init(&c2);
    bool ex2 = true;
    copy(cv, &c2, &ex2);
    CHECK(!c2.err && c2.len == c.len && !memcmp(c2.p, c.p, c.len));
    pbuf_free(&c2);
    pbuf_free(&j2);
    pbuf_free(&c);
    pbuf_free(&j);
    return 0;
}
