/* test_cbor.c - CBOR encoder, decoder, iterators, lookups and JSON. */
#include "testutil.h"

#include "cbor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_DIR "tests/vectors/cbor/"

/* ---- helpers ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode hex into a malloc'd buffer (never NULL, even for ""). */
static uint8_t *unhex(const char *h, size_t hl, size_t *n)
{
    assert_true(hl % 2 == 0);
    uint8_t *p = malloc(hl / 2 + 1);
    assert_non_null(p);
    for (size_t i = 0; i < hl / 2; i++) {
        int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
        assert_true(a >= 0 && b >= 0);
        p[i] = (uint8_t)(a << 4 | b);
    }
    *n = hl / 2;
    return p;
}

#define EXPECT_BYTES(buf, hex)                                           \
    do {                                                                 \
        size_t en_;                                                      \
        uint8_t *ex_ = unhex(hex, strlen(hex), &en_);                    \
        assert_int_equal((buf)->err, 0);                                 \
        if ((buf)->len != en_ || memcmp((buf)->p, ex_, en_)) {           \
            char got_[512] = "";                                         \
            for (size_t i_ = 0; i_ < (buf)->len && i_ < 250; i_++)      \
                sprintf(got_ + 2 * i_, "%02x", (buf)->p[i_]);            \
            fail_msg("encoded %s, expected %s", got_, hex);              \
        }                                                                \
        free(ex_);                                                       \
    } while (0)

static cval parse_hex(const char *hex, uint8_t **keep)
{
    size_t n;
    *keep = unhex(hex, strlen(hex), &n);
    cval v;
    assert_int_equal(cbor_parse(*keep, n, 0, &v), 0);
    assert_int_equal(v.len, n);
    return v;
}

static char *to_json(cval v, size_t max_bytes)
{
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(cbor_to_json(v, &b, max_bytes), 0);
    char *s = (char *)pbuf_take(&b, NULL);
    assert_non_null(s);
    return s;
}

static void expect_json(const char *hex, size_t max_bytes, const char *want)
{
    uint8_t *keep;
    cval v = parse_hex(hex, &keep);
    char *got = to_json(v, max_bytes);
    assert_string_equal(got, want);
    free(got);
    free(keep);
}

/* Write a parsed item back with the encoder (definite lengths only). */
static int reencode(cval v, pbuf *b)
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
    switch (cbor_type(v)) {
    case CBOR_UINT:
        assert_int_equal(cbor_get_uint(v, &u), 0);
        cbor_put_uint(b, u);
        return 0;
    case CBOR_NINT:
        if (cbor_get_int(v, &i)) return -1;
        cbor_put_int(b, i);
        return 0;
    case CBOR_BYTES:
        if (cbor_get_bytes(v, &bp, &n)) return -1;
        cbor_put_bytes(b, bp, n);
        return 0;
    case CBOR_TEXT:
        if (cbor_get_text(v, &sp, &n)) return -1;
        cbor_put_textn(b, sp, n);
        return 0;
    case CBOR_ARRAY:
    case CBOR_MAP:
        if (cbor_type(v) == CBOR_ARRAY) cbor_put_array(b, cbor_count(v));
        else cbor_put_map(b, cbor_count(v));
        assert_int_equal(cbor_iter_init(v, &it), 0);
        while (cbor_iter_next(&it, &item))
            if (reencode(item, b)) return -1;
        return 0;
    case CBOR_TAG:
        assert_int_equal(cbor_get_tag(v, &tag, &inner), 0);
        cbor_put_tag(b, tag);
        return reencode(inner, b);
    default:
        if (!cbor_get_bool(v, &bo)) cbor_put_bool(b, bo);
        else if (v.p[0] == 0xf6) cbor_put_null(b);
        else if (!cbor_get_double(v, &d)) cbor_put_double(b, d);
        else return -1;
        return 0;
    }
}

/* Split a line into tab-separated fields, in place. */
static int split_tabs(char *line, char **f, int max)
{
    int k = 0;
    f[k++] = line;
    for (char *c = line; *c && k < max; c++)
        if (*c == '\t') {
            *c = 0;
            f[k++] = c + 1;
        }
    return k;
}

/* ---- vectors ---- */

static void test_rfc8949_appendix_a(void **state)
{
    (void)state;
    char *text = (char *)tu_read(VEC_DIR "rfc8949-appendix-a.txt", NULL);
    int count = 0, same = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0]) continue;
        char *f[4];
        if (split_tabs(line, f, 4) != 4) fail_msg("bad vector line: %s", line);
        size_t n;
        uint8_t *p = unhex(f[1], strlen(f[1]), &n);
        cval v;
        int rc = cbor_parse(p, n, 0, &v);
        if (rc || v.len != n) fail_msg("%s (%s): parse rc %d len %zu", f[1], f[3], rc, v.len);
        pbuf b;
        pbuf_init(&b);
        assert_int_equal(cbor_to_json(v, &b, 16), 0);
        if (strcmp((char *)b.p, f[2]))
            fail_msg("%s (%s): json %s, expected %s", f[1], f[3], (char *)b.p, f[2]);
        pbuf_free(&b);
        if (f[0][0] == '=') {
            pbuf_init(&b);
            assert_int_equal(reencode(v, &b), 0);
            if (b.err || b.len != n || memcmp(b.p, p, n)) fail_msg("%s (%s): re-encoding differs", f[1], f[3]);
            pbuf_free(&b);
            same++;
        }
        /* every proper prefix is truncated */
        for (size_t k = 0; k < n; k++) {
            cval t;
            if (cbor_parse(p, k, 0, &t) != PROV_EFORMAT) fail_msg("%s: prefix %zu accepted", f[1], k);
        }
        free(p);
        count++;
    }
    free(text);
    assert_int_equal(count, 81);
    assert_true(same >= 60);
}

static void test_malformed_vectors(void **state)
{
    (void)state;
    char *text = (char *)tu_read(VEC_DIR "malformed.txt", NULL);
    int count = 0, fails = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0]) continue;
        char *f[3];
        if (split_tabs(line, f, 3) != 3) fail_msg("bad vector line: %s", line);
        int want = 0;
        if (!strcmp(f[0], "EFORMAT")) want = PROV_EFORMAT;
        else if (!strcmp(f[0], "ELIMIT")) want = PROV_ELIMIT;
        else if (!strcmp(f[0], "ok")) want = 0;
        else fail_msg("bad expectation %s", f[0]);
        size_t n;
        uint8_t *p = unhex(f[1], strlen(f[1]), &n);
        cval v = {(const uint8_t *)"x", 1};
        int rc = cbor_parse(p, n, 0, &v);
        if (rc != want) fail_msg("%s (%s): got %d, expected %s", f[1], f[2], rc, f[0]);
        if (want) {
            assert_null(v.p);
            fails++;
            /* the accessors refuse a hand-made span of it, without reading past it */
            cval h = {p, n};
            pbuf b;
            pbuf_init(&b);
            cbor_iter it;
            cval item;
            if (!cbor_iter_init(h, &it))
                while (cbor_iter_next(&it, &item)) assert_true(item.p + item.len <= p + n);
            (void)cbor_count(h);
            (void)cbor_map_get(h, "a", &item);
            (void)cbor_to_json(h, &b, 8);
            (void)cbor_untag(h);
            pbuf_free(&b);
        } else {
            assert_true(v.len >= 1 && v.len <= n);
            char *j = to_json(v, 8);
            free(j);
        }
        free(p);
        count++;
    }
    free(text);
    assert_true(count >= 120);
    assert_true(fails >= 100);
}

/* ---- encoder ---- */

static void test_encode_shortest_heads(void **state)
{
    (void)state;
    static const struct { uint64_t v; const char *hex; } u[] = {
        {0, "00"}, {23, "17"}, {24, "1818"}, {255, "18ff"}, {256, "190100"},
        {65535, "19ffff"}, {65536, "1a00010000"}, {0xffffffff, "1affffffff"},
        {0x100000000, "1b0000000100000000"}, {UINT64_MAX, "1bffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        pbuf b;
        pbuf_init(&b);
        cbor_put_uint(&b, u[i].v);
        EXPECT_BYTES(&b, u[i].hex);
        pbuf_free(&b);
    }
    static const struct { int64_t v; const char *hex; } s[] = {
        {-1, "20"}, {-24, "37"}, {-25, "3818"}, {-256, "38ff"}, {-257, "390100"},
        {-65537, "3a00010000"}, {INT64_MIN, "3b7fffffffffffffff"},
        {INT64_MAX, "1b7fffffffffffffff"}, {5, "05"},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        pbuf b;
        pbuf_init(&b);
        cbor_put_int(&b, s[i].v);
        EXPECT_BYTES(&b, s[i].hex);
        pbuf_free(&b);
    }
    pbuf b;
    pbuf_init(&b);
    cbor_put_bytes(&b, "\x01\x02", 2);
    cbor_put_text(&b, "IETF");
    cbor_put_textn(&b, "abc", 0);
    cbor_put_bytes(&b, NULL, 0);
    cbor_put_array(&b, 24);
    cbor_put_map(&b, 1000);
    cbor_put_tag(&b, 18);
    cbor_put_tag(&b, 24);
    cbor_put_bool(&b, true);
    cbor_put_bool(&b, false);
    cbor_put_null(&b);
    EXPECT_BYTES(&b, "420102" "6449455446" "60" "40" "9818" "b903e8" "d2" "d818" "f5" "f4" "f6");
    pbuf_free(&b);

    char big[300];
    memset(big, 'x', sizeof big);
    pbuf_init(&b);
    cbor_put_textn(&b, big, 300);
    assert_int_equal(b.len, 303);
    assert_memory_equal(b.p, "\x79\x01\x2c", 3);
    pbuf_free(&b);

    pbuf_init(&b); /* a NULL string is an error, and errors are sticky */
    cbor_put_text(&b, NULL);
    cbor_put_uint(&b, 1);
    assert_int_equal(b.err, PROV_EINVAL);
    assert_int_equal(b.len, 0);
    pbuf_free(&b);
}

static void test_encode_double_shortest(void **state)
{
    (void)state;
    static const struct { double v; const char *hex; } d[] = {
        {0.0, "f90000"}, {-0.0, "f98000"}, {1.0, "f93c00"}, {1.5, "f93e00"},
        {-4.0, "f9c400"}, {65504.0, "f97bff"}, {65505.0, "fa477fe100"},
        {65520.0, "fa477ff000"}, {100000.0, "fa47c35000"}, {1.1, "fb3ff199999999999a"},
        {0x1p-24, "f90001"}, {0x1p-14, "f90400"}, {0x3p-24, "f90003"},
        {0x1.ff8p-15, "f903ff"}, {0x1p-25, "fa33000000"}, {0x1p-126, "fa00800000"},
        {0x1p-149, "fa00000001"}, {0x1.8p-148, "fa00000003"}, {0x1p-150, "fb3690000000000000"},
        {0x1.fffffep127, "fa7f7fffff"}, {0x1p128, "fb47f0000000000000"},
        {3.4028234663852886e+38, "fa7f7fffff"}, {1.0e300, "fb7e37e43c8800759c"},
        {0.1f, "fa3dcccccd"}, {0.1, "fb3fb999999999999a"}, {-0x1p-1074, "fb8000000000000001"},
        {1363896240.5, "fb41d452d9ec200000"}, {16777216.0, "fa4b800000"},
        {16777217.0, "fb4170000010000000"}, {-65504.0, "f9fbff"},
        {INFINITY, "f97c00"}, {-INFINITY, "f9fc00"}, {NAN, "f97e00"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        pbuf b;
        pbuf_init(&b);
        cbor_put_double(&b, d[i].v);
        EXPECT_BYTES(&b, d[i].hex);
        /* and back: the same value (bits, for signed zero) */
        cval v;
        double r;
        assert_int_equal(cbor_parse(b.p, b.len, 0, &v), 0);
        assert_int_equal(cbor_get_double(v, &r), 0);
        if (isnan(d[i].v)) assert_true(isnan(r));
        else assert_memory_equal(&r, &d[i].v, sizeof r);
        pbuf_free(&b);
    }
    /* every half-precision value decodes and re-encodes to itself */
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint8_t in[3] = {0xf9, (uint8_t)(h >> 8), (uint8_t)h};
        cval v;
        double r;
        assert_int_equal(cbor_parse(in, 3, 0, &v), 0);
        assert_int_equal(cbor_get_double(v, &r), 0);
        pbuf b;
        pbuf_init(&b);
        cbor_put_double(&b, r);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) assert_memory_equal(b.p, "\xf9\x7e\x00", 3);
        else assert_memory_equal(b.p, in, 3);
        assert_int_equal(b.len, 3);
        pbuf_free(&b);
    }
}

/* ---- round trip ---- */

static void test_roundtrip(void **state)
{
    (void)state;
    pbuf b;
    pbuf_init(&b);
    cbor_put_tag(&b, 18); /* COSE_Sign1-like */
    cbor_put_array(&b, 4);
    cbor_put_bytes(&b, "\xa1\x01\x26", 3);
    cbor_put_map(&b, 3);
    cbor_put_int(&b, 33);
    cbor_put_array(&b, 2);
    cbor_put_bytes(&b, "cert1", 5);
    cbor_put_bytes(&b, "cert2", 5);
    cbor_put_text(&b, "pad");
    cbor_put_bytes(&b, "\0\0\0", 3);
    cbor_put_int(&b, -7);
    cbor_put_map(&b, 6);
    cbor_put_text(&b, "u");
    cbor_put_uint(&b, UINT64_MAX);
    cbor_put_text(&b, "min");
    cbor_put_int(&b, INT64_MIN);
    cbor_put_text(&b, "max");
    cbor_put_int(&b, INT64_MAX);
    cbor_put_text(&b, "f");
    cbor_put_double(&b, 2.5);
    cbor_put_text(&b, "ok");
    cbor_put_bool(&b, true);
    cbor_put_text(&b, "none");
    cbor_put_null(&b);
    cbor_put_null(&b);
    cbor_put_bytes(&b, "sig", 3);
    assert_int_equal(b.err, 0);

    cval top, arr, prot, hdr, x5, sig, payload, m, x;
    assert_int_equal(cbor_parse(b.p, b.len, 0, &top), 0);
    assert_int_equal(top.len, b.len);
    assert_int_equal(cbor_type(top), CBOR_TAG);
    uint64_t tag, u;
    int64_t i;
    double d;
    bool bo;
    assert_int_equal(cbor_get_tag(top, &tag, &arr), 0);
    assert_int_equal(tag, 18);
    assert_ptr_equal(arr.p, top.p + 1);
    assert_int_equal(arr.len, top.len - 1);
    assert_int_equal(cbor_untag(top).len, arr.len);
    assert_int_equal(cbor_type(arr), CBOR_ARRAY);
    assert_int_equal(cbor_count(arr), 4);

    cbor_iter it;
    assert_int_equal(cbor_iter_init(arr, &it), 0);
    assert_int_equal(cbor_iter_next(&it, &prot), 1);
    assert_int_equal(cbor_iter_next(&it, &hdr), 1);
    assert_int_equal(cbor_iter_next(&it, &payload), 1);
    assert_int_equal(cbor_iter_next(&it, &sig), 1);
    assert_int_equal(cbor_iter_next(&it, &x), 0);
    assert_int_equal(cbor_iter_next(&it, &x), 0);
    assert_ptr_equal(sig.p + sig.len, b.p + b.len);

    const uint8_t *bp;
    size_t n;
    assert_int_equal(cbor_get_bytes(prot, &bp, &n), 0);
    assert_int_equal(n, 3);
    cval pm;
    assert_int_equal(cbor_parse(bp, n, 0, &pm), 0);
    assert_int_equal(cbor_map_get_int(pm, 1, &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_int_equal(i, -7);

    assert_int_equal(cbor_count(hdr), 3);
    assert_int_equal(cbor_map_get_int(hdr, 33, &x5), 0);
    assert_int_equal(cbor_count(x5), 2);
    assert_int_equal(cbor_map_get(hdr, "pad", &x), 0);
    assert_int_equal(cbor_get_bytes(x, &bp, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cbor_map_get_int(hdr, -7, &m), 0);
    assert_int_equal(cbor_count(m), 6);

    assert_int_equal(cbor_map_get(m, "u", &x), 0);
    assert_int_equal(cbor_get_uint(x, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(cbor_get_int(x, &i), PROV_ELIMIT);
    assert_int_equal(cbor_map_get(m, "min", &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(cbor_get_uint(x, &u), PROV_EFORMAT);
    assert_int_equal(cbor_get_double(x, &d), 0);
    assert_true(d == -0x1p63);
    assert_int_equal(cbor_map_get(m, "max", &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_true(i == INT64_MAX);
    assert_int_equal(cbor_map_get(m, "f", &x), 0);
    assert_int_equal(x.len, 3); /* 2.5 fits in a half */
    assert_int_equal(cbor_get_double(x, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(cbor_get_int(x, &i), PROV_EFORMAT);
    assert_int_equal(cbor_map_get(m, "ok", &x), 0);
    assert_int_equal(cbor_get_bool(x, &bo), 0);
    assert_true(bo);
    assert_false(cbor_is_null(x));
    assert_int_equal(cbor_map_get(m, "none", &x), 0);
    assert_true(cbor_is_null(x));
    assert_int_equal(cbor_get_bool(x, &bo), PROV_EFORMAT);
    assert_true(cbor_is_null(payload));

    assert_int_equal(cbor_get_bytes(sig, &bp, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(bp, "sig", 3);

    /* the tree re-encodes to the same bytes */
    pbuf r;
    pbuf_init(&r);
    assert_int_equal(reencode(top, &r), 0);
    assert_int_equal(r.len, b.len);
    assert_memory_equal(r.p, b.p, b.len);
    pbuf_free(&r);
    pbuf_free(&b);
}

/* ---- lookups ---- */

static void test_map_lookup(void **state)
{
    (void)state;
    uint8_t *keep;
    /* {"alg": -7, 1: "one", -1: "m1", "": 0, h'01': 9, 100000: 5, "al": 2} */
    cval m = parse_hex("a7" "63616c6726" "01636f6e65" "20626d31" "6000" "410109" "1a000186a005" "62616c02",
                       &keep);
    cval x;
    int64_t i;
    assert_int_equal(cbor_map_get(m, "alg", &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_int_equal(i, -7);
    assert_int_equal(cbor_map_get(m, "al", &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_int_equal(i, 2);
    assert_int_equal(cbor_map_get(m, "", &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_int_equal(i, 0);
    assert_int_equal(cbor_map_get(m, "a", &x), PROV_ENOTFOUND);
    assert_int_equal(cbor_map_get(m, "algo", &x), PROV_ENOTFOUND);
    assert_int_equal(cbor_map_get(m, "one", &x), PROV_ENOTFOUND); /* values are not keys */
    assert_int_equal(cbor_map_get(m, NULL, &x), PROV_EINVAL);
    assert_int_equal(cbor_map_get_int(m, 1, &x), 0);
    assert_true(cbor_text_eq(x, "one"));
    assert_false(cbor_text_eq(x, "on"));
    assert_false(cbor_text_eq(x, "ones"));
    assert_false(cbor_text_eq(x, NULL));
    assert_int_equal(cbor_map_get_int(m, -1, &x), 0);
    assert_true(cbor_text_eq(x, "m1"));
    assert_int_equal(cbor_map_get_int(m, 100000, &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_int_equal(i, 5);
    assert_int_equal(cbor_map_get_int(m, 2, &x), PROV_ENOTFOUND);
    assert_int_equal(cbor_map_get_int(m, 0, NULL), PROV_ENOTFOUND);
    assert_int_equal(cbor_map_get_int(m, 1, NULL), 0);
    free(keep);

    /* a key that appears twice is refused, not resolved either way */
    cval d = parse_hex("a3616101616202616103", &keep);
    assert_int_equal(cbor_map_get(d, "a", &x), PROV_EFORMAT);
    assert_int_equal(cbor_map_get(d, "b", &x), 0);
    free(keep);
    d = parse_hex("a3010a1801140214", &keep); /* 1 and non-shortest 1 */
    assert_int_equal(cbor_map_get_int(d, 1, &x), PROV_EFORMAT);
    assert_int_equal(cbor_map_get_int(d, 2, &x), 0);
    free(keep);
    d = parse_hex("a2616101" "7f6161ff02", &keep); /* "a" and (_ "a") */
    assert_int_equal(cbor_map_get(d, "a", &x), PROV_EFORMAT);
    free(keep);

    /* indefinite map, chunked text key */
    d = parse_hex("bf" "7f62616c6167ff" "26" "0102" "ff", &keep);
    assert_int_equal(cbor_map_get(d, "alg", &x), 0);
    assert_int_equal(cbor_get_int(x, &i), 0);
    assert_int_equal(i, -7);
    assert_int_equal(cbor_map_get_int(d, 1, &x), 0);
    assert_int_equal(cbor_map_get(d, "al", &x), PROV_ENOTFOUND);
    assert_int_equal(cbor_count(d), 2);
    free(keep);

    /* not a map */
    d = parse_hex("820102", &keep);
    assert_int_equal(cbor_map_get(d, "a", &x), PROV_EFORMAT);
    assert_int_equal(cbor_map_get_int(d, 1, &x), PROV_EFORMAT);
    free(keep);
    d = parse_hex("d818a0", &keep); /* a tagged map: untag first */
    assert_int_equal(cbor_map_get(d, "a", &x), PROV_EFORMAT);
    assert_int_equal(cbor_map_get(cbor_untag(d), "a", &x), PROV_ENOTFOUND);
    free(keep);
}

/* ---- indefinite lengths, iterators, tags ---- */

static void test_indefinite(void **state)
{
    (void)state;
    uint8_t *keep;
    cval v = parse_hex("9f018202039f0405ffff", &keep);
    assert_int_equal(cbor_type(v), CBOR_ARRAY);
    assert_int_equal(cbor_count(v), 3);
    cbor_iter it;
    cval item, sub;
    int64_t want[] = {1, 0, 0}, k = 0, i;
    assert_int_equal(cbor_iter_init(v, &it), 0);
    assert_true(it.left == UINT64_MAX);
    while (cbor_iter_next(&it, &item)) {
        if (k == 0) {
            assert_int_equal(cbor_get_int(item, &i), 0);
            assert_int_equal(i, want[0]);
        } else {
            assert_int_equal(cbor_type(item), CBOR_ARRAY);
            assert_int_equal(cbor_count(item), 2);
        }
        k++;
    }
    assert_int_equal(k, 3);
    assert_int_equal(cbor_iter_next(&it, &item), 0);
    free(keep);

    /* indefinite strings: accessors say unsupported, JSON joins them */
    v = parse_hex("7f657374726561646d696e67ff", &keep);
    const char *s;
    size_t n;
    assert_int_equal(cbor_get_text(v, &s, &n), PROV_EUNSUPPORTED);
    assert_true(cbor_text_eq(v, "streaming"));
    assert_false(cbor_text_eq(v, "stream"));
    assert_false(cbor_text_eq(v, "streamingX"));
    assert_false(cbor_text_eq(v, "strea"));
    free(keep);
    v = parse_hex("5f42010243030405ff", &keep);
    const uint8_t *bp;
    assert_int_equal(cbor_get_bytes(v, &bp, &n), PROV_EUNSUPPORTED);
    assert_int_equal(cbor_get_text(v, &s, &n), PROV_EFORMAT);
    free(keep);
    v = parse_hex("7fff", &keep);
    assert_true(cbor_text_eq(v, ""));
    free(keep);

    /* an indefinite map alternates key, value */
    v = parse_hex("bf6346756ef563416d7421ff", &keep);
    assert_int_equal(cbor_count(v), 2);
    assert_int_equal(cbor_iter_init(v, &it), 0);
    assert_int_equal(cbor_iter_next(&it, &item), 1);
    assert_true(cbor_text_eq(item, "Fun"));
    assert_int_equal(cbor_iter_next(&it, &item), 1);
    bool bo;
    assert_int_equal(cbor_get_bool(item, &bo), 0);
    assert_true(bo);
    assert_int_equal(cbor_iter_next(&it, &item), 1);
    assert_true(cbor_text_eq(item, "Amt"));
    assert_int_equal(cbor_iter_next(&it, &sub), 1);
    assert_int_equal(cbor_get_int(sub, &i), 0);
    assert_int_equal(i, -2);
    assert_int_equal(cbor_iter_next(&it, &item), 0);
    free(keep);

    v = parse_hex("9fff", &keep);
    assert_int_equal(cbor_count(v), 0);
    assert_int_equal(cbor_iter_init(v, &it), 0);
    assert_int_equal(cbor_iter_next(&it, &item), 0);
    free(keep);
}

static void test_iterators(void **state)
{
    (void)state;
    uint8_t *keep;
    cval v = parse_hex("98190102030405060708090a0b0c0d0e0f101112131415161718181819", &keep);
    cbor_iter it;
    cval item;
    uint64_t u, k = 0;
    assert_int_equal(cbor_count(v), 25);
    assert_int_equal(cbor_iter_init(v, &it), 0);
    while (cbor_iter_next(&it, &item)) {
        assert_int_equal(cbor_get_uint(item, &u), 0);
        assert_int_equal(u, ++k);
    }
    assert_int_equal(k, 25);
    free(keep);

    v = parse_hex("a26161016162820203", &keep);
    assert_int_equal(cbor_count(v), 2);
    assert_int_equal(cbor_iter_init(v, &it), 0);
    assert_int_equal(it.left, 4);
    const char *expect_keys[] = {"a", "b"};
    for (int j = 0; j < 2; j++) {
        assert_int_equal(cbor_iter_next(&it, &item), 1);
        assert_true(cbor_text_eq(item, expect_keys[j]));
        assert_int_equal(cbor_iter_next(&it, &item), 1);
    }
    assert_int_equal(cbor_type(item), CBOR_ARRAY);
    assert_int_equal(cbor_iter_next(&it, &item), 0);
    free(keep);

    v = parse_hex("80", &keep);
    assert_int_equal(cbor_count(v), 0);
    assert_int_equal(cbor_iter_init(v, &it), 0);
    assert_int_equal(cbor_iter_next(&it, &item), 0);
    free(keep);

    /* not containers */
    v = parse_hex("6161", &keep);
    assert_int_equal(cbor_iter_init(v, &it), PROV_EFORMAT);
    assert_int_equal(cbor_iter_next(&it, &item), 0);
    assert_int_equal(cbor_count(v), 0);
    free(keep);
    cval empty = {NULL, 0};
    assert_int_equal(cbor_iter_init(empty, &it), PROV_EFORMAT);
    assert_int_equal(cbor_type(empty), PROV_EINVAL);
    assert_false(cbor_is_null(empty));
    assert_int_equal(cbor_count(empty), 0);

    /* a hand-made span that cuts an array short stops early, safely */
    static const uint8_t cut[] = {0x83, 0x01, 0x02, 0x03};
    cval h = {cut, 3}; /* claims more items than bytes remain */
    assert_int_equal(cbor_iter_init(h, &it), PROV_EFORMAT);
    static const uint8_t cut2[] = {0x82, 0x01, 0x19, 0x01, 0x00};
    h = (cval){cut2, 4};
    assert_int_equal(cbor_iter_init(h, &it), 0);
    k = 0;
    while (cbor_iter_next(&it, &item)) k++;
    assert_int_equal(k, 1);
    cval lie = {(const uint8_t *)"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9};
    assert_int_equal(cbor_iter_init(lie, &it), PROV_EFORMAT);
    assert_int_equal(cbor_count(lie), 0);
    cval lies = {(const uint8_t *)"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", 9};
    const uint8_t *bp;
    size_t n;
    assert_int_equal(cbor_get_bytes(lies, &bp, &n), PROV_EFORMAT);
}

static void test_tags(void **state)
{
    (void)state;
    uint8_t *keep;
    cval v = parse_hex("c11a514b67b0", &keep);
    uint64_t tag, u;
    cval inner;
    assert_int_equal(cbor_type(v), CBOR_TAG);
    assert_int_equal(cbor_get_tag(v, &tag, &inner), 0);
    assert_int_equal(tag, 1);
    assert_int_equal(cbor_get_uint(inner, &u), 0);
    assert_int_equal(u, 1363896240);
    assert_int_equal(cbor_get_uint(v, &u), PROV_EFORMAT);
    free(keep);

    /* nested tags: 55799(24(h'a0')) */
    v = parse_hex("d9d9f7d81841a0", &keep);
    assert_int_equal(cbor_get_tag(v, &tag, &inner), 0);
    assert_int_equal(tag, 55799);
    assert_int_equal(cbor_get_tag(inner, &tag, &inner), 0);
    assert_int_equal(tag, 24);
    assert_int_equal(cbor_type(inner), CBOR_BYTES);
    cval un = cbor_untag(v);
    assert_ptr_equal(un.p, inner.p);
    assert_int_equal(un.len, 2);
    free(keep);

    v = parse_hex("0a", &keep);
    assert_int_equal(cbor_get_tag(v, &tag, &inner), PROV_EFORMAT);
    un = cbor_untag(v);
    assert_ptr_equal(un.p, v.p);
    assert_int_equal(un.len, 1);
    free(keep);

}

/* ---- depth ---- */

static void test_depth_limits(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint8_t *p = malloc(N + 1);
    assert_non_null(p);
    cval v;
    for (int d = 0; d <= 40; d++) { /* d nested arrays around a 0 */
        memset(p, 0x81, (size_t)d);
        p[d] = 0;
        int want = d <= PROV_MAX_CBOR_DEPTH ? 0 : PROV_ELIMIT;
        assert_int_equal(cbor_parse(p, (size_t)d + 1, 0, &v), want);
        assert_int_equal(cbor_parse(p, (size_t)d + 1, 5, &v), d <= 5 ? 0 : PROV_ELIMIT);
        assert_int_equal(cbor_parse(p, (size_t)d + 1, -3, &v), want);
        assert_int_equal(cbor_parse(p, (size_t)d + 1, 1000, &v), 0); /* ceiling is 256 */
    }
    memset(p, 0x81, N);
    p[N] = 0;
    assert_int_equal(cbor_parse(p, N + 1, 0, &v), PROV_ELIMIT);
    assert_int_equal(cbor_parse(p, N + 1, 1 << 30, &v), PROV_ELIMIT);
    memset(p, 0x9f, N);
    assert_int_equal(cbor_parse(p, N, 0, &v), PROV_ELIMIT);
    memset(p, 0xc6, N); /* tags count */
    p[N] = 0;
    assert_int_equal(cbor_parse(p, N + 1, 0, &v), PROV_ELIMIT);
    assert_int_equal(cbor_parse(p + N - 32, 33, 0, &v), 0);
    assert_int_equal(cbor_parse(p + N - 33, 34, 0, &v), PROV_ELIMIT);

    /* deep but allowed items render, walk and untag */
    assert_int_equal(cbor_parse(p + N - 200, 201, 256, &v), 0);
    assert_int_equal(cbor_untag(v).len, 1);
    memset(p, 0x81, 256);
    p[256] = 0;
    assert_int_equal(cbor_parse(p, 257, 256, &v), 0);
    char *j = to_json(v, 0);
    assert_int_equal(strlen(j), 2 * 256 + 1);
    free(j);
    cval x = v, item;
    cbor_iter it;
    int levels = 0;
    while (cbor_type(x) == CBOR_ARRAY) {
        assert_int_equal(cbor_iter_init(x, &it), 0);
        assert_int_equal(cbor_iter_next(&it, &item), 1);
        x = item;
        levels++;
    }
    assert_int_equal(levels, 256);
    free(p);

    /* empty, NULL */
    assert_int_equal(cbor_parse((const uint8_t *)"", 0, 0, &v), PROV_EFORMAT);
    assert_int_equal(cbor_parse(NULL, 5, 0, &v), PROV_EFORMAT);
    assert_int_equal(cbor_parse((const uint8_t *)"\0", 1, 0, NULL), PROV_EINVAL);
}

/* ---- accessors refuse the wrong type ---- */

static void test_accessor_types(void **state)
{
    (void)state;
    uint8_t *keep;
    cval v = parse_hex("6161", &keep);
    uint64_t u;
    int64_t i;
    bool bo;
    double d;
    const uint8_t *bp;
    const char *s;
    size_t n;
    assert_int_equal(cbor_type(v), CBOR_TEXT);
    assert_int_equal(cbor_get_uint(v, &u), PROV_EFORMAT);
    assert_int_equal(cbor_get_int(v, &i), PROV_EFORMAT);
    assert_int_equal(cbor_get_bool(v, &bo), PROV_EFORMAT);
    assert_int_equal(cbor_get_double(v, &d), PROV_EFORMAT);
    assert_int_equal(cbor_get_bytes(v, &bp, &n), PROV_EFORMAT);
    assert_int_equal(cbor_get_text(v, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0], 'a');
    assert_ptr_equal(s, (const char *)v.p + 1);
    free(keep);

    v = parse_hex("3bffffffffffffffff", &keep);
    assert_int_equal(cbor_type(v), CBOR_NINT);
    assert_int_equal(cbor_get_int(v, &i), PROV_ELIMIT);
    assert_int_equal(cbor_get_double(v, &d), 0);
    assert_true(d == -0x1p64);
    free(keep);
    v = parse_hex("3b7fffffffffffffff", &keep);
    assert_int_equal(cbor_get_int(v, &i), 0);
    assert_true(i == INT64_MIN);
    free(keep);
    v = parse_hex("1b8000000000000000", &keep);
    assert_int_equal(cbor_get_int(v, &i), PROV_ELIMIT);
    assert_int_equal(cbor_get_uint(v, &u), 0);
    free(keep);

    v = parse_hex("f7", &keep);
    assert_true(cbor_is_null(v));
    assert_int_equal(cbor_type(v), CBOR_SIMPLE);
    assert_int_equal(cbor_get_double(v, &d), PROV_EFORMAT);
    free(keep);
    v = parse_hex("f4", &keep);
    assert_int_equal(cbor_get_bool(v, &bo), 0);
    assert_false(bo);
    assert_false(cbor_is_null(v));
    free(keep);
    v = parse_hex("fa47c35000", &keep);
    assert_int_equal(cbor_get_double(v, &d), 0);
    assert_true(d == 100000.0);
    free(keep);
    v = parse_hex("f97c00", &keep);
    assert_int_equal(cbor_get_double(v, &d), 0);
    assert_true(isinf(d) && d > 0);
    free(keep);
    v = parse_hex("1a000f4240", &keep);
    assert_int_equal(cbor_get_double(v, &d), 0);
    assert_true(d == 1000000.0);
    free(keep);
    v = parse_hex("40", &keep);
    assert_int_equal(cbor_get_bytes(v, &bp, &n), 0);
    assert_int_equal(n, 0);
    free(keep);
}

/* ---- JSON ---- */

static void test_to_json(void **state)
{
    (void)state;
    /* COSE-ish header: int keys, bytes short and long, nested */
    expect_json("a30126" "1821824301020344deadbeef" "6378357682f6f5", 3,
                "{\"1\":-7,\"33\":[\"b64:AQID\",\"<4 bytes>\"],\"x5v\":[null,true]}");
    expect_json("4401020304", 3, "\"<4 bytes>\"");
    expect_json("4401020304", 4, "\"b64:AQIDBA==\"");
    expect_json("4401020304", 0, "\"<4 bytes>\"");
    expect_json("40", 0, "\"b64:\"");
    expect_json("5f42010243030405ff", 4, "\"<5 bytes>\"");
    expect_json("5fff", 0, "\"b64:\"");
    /* non-text keys: their JSON, quoted */
    expect_json("a3f50182010202416104", 8,
                "{\"true\":1,\"[1,2]\":2,\"\\\"b64:YQ==\\\"\":4}");
    expect_json("a1a1616101f6", 8, "{\"{\\\"a\\\":1}\":null}");
    expect_json("a1c1626b6b01", 8, "{\"kk\":1}"); /* tagged text key */
    /* keys in keys in keys are elided */
    expect_json("a1a1a1a10102030405", 8, "{\"{\\\"{\\\\\\\"<key>\\\\\\\":3}\\\":4}\":5}");
    /* escapes and UTF-8 */
    expect_json("6b0a22095c7f01c3a9e282ac", 8, "\"\\n\\\"\\t\\\\\\u007f\\u0001é€\"");
    expect_json("64ff61c328", 8, "\"\xef\xbf\xbd" "a\xef\xbf\xbd(\"");
    expect_json("63eda080", 8, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
    expect_json("62c0af", 8, "\"\xef\xbf\xbd\xef\xbf\xbd\"");                /* overlong */
    expect_json("64f4908080", 8, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* > U+10FFFF */
    expect_json("7f61c361a9ff", 8, "\"\xef\xbf\xbd\xef\xbf\xbd\""); /* split across chunks */
    expect_json("7f62c3a961a9ff", 8, "\"é\xef\xbf\xbd\"");
    expect_json("64f09f9880", 8, "\"\xf0\x9f\x98\x80\"");
    /* numbers */
    expect_json("3b7fffffffffffffff", 8, "-9223372036854775808");
    expect_json("fb3fb999999999999a", 8, "0.1");
    expect_json("fa3dcccccd", 8, "0.10000000149011612");
    expect_json("fb8000000000000000", 8, "-0.0");
    expect_json("fb4415af1d78b58c40", 8, "1e+20");
    expect_json("fb0000000000000001", 8, "4.94065645841247e-324");
    expect_json("fb7ff8000000000001", 8, "null");
    expect_json("f8ff", 8, "\"simple(255)\"");
    expect_json("f820", 8, "\"simple(32)\"");
    /* tags render as their content, epoch times stay numbers */
    expect_json("c11a514b67b0", 8, "1363896240");
    expect_json("d28443a10126a0f643010203", 8, "[\"b64:oQEm\",{},null,\"b64:AQID\"]");
    expect_json("bf61619f01ff6162a0ff", 8, "{\"a\":[1],\"b\":{}}");

    /* output is appended, and a failure leaves the buffer as it was */
    pbuf b;
    pbuf_init(&b);
    pbuf_puts(&b, "x=");
    static const uint8_t bad[] = {0x82, 0x01};
    cval h = {bad, sizeof bad};
    assert_int_equal(cbor_to_json(h, &b, 8), PROV_EFORMAT);
    assert_string_equal((char *)b.p, "x=");
    static const uint8_t good[] = {0x82, 0x01, 0x61, 0x7a};
    h = (cval){good, sizeof good};
    assert_int_equal(cbor_to_json(h, &b, 8), 0);
    assert_string_equal((char *)b.p, "x=[1,\"z\"]");
    assert_int_equal(cbor_to_json((cval){NULL, 0}, &b, 8), PROV_EFORMAT);
    assert_int_equal(cbor_to_json(h, NULL, 8), PROV_EINVAL);
    pbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8949_appendix_a),
        cmocka_unit_test(test_malformed_vectors),
        cmocka_unit_test(test_encode_shortest_heads),
        cmocka_unit_test(test_encode_double_shortest),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_map_lookup),
        cmocka_unit_test(test_indefinite),
        cmocka_unit_test(test_iterators),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_depth_limits),
        cmocka_unit_test(test_accessor_types),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
