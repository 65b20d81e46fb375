/* test_tlog.c - transparency-log formats: signed notes, keys, RFC 9162
 * proofs, checkpoints, tiles, cosignatures, tlog-proofs.
 *
 * Third-party vectors are read at test time from ../shared/fixtures/tlog/
 * (tu_fixture): the 196 transparency-dev/merkle proof probes, the
 * golang.org/x/mod signed-note vectors (signed-note-vectors.txt) and the
 * tessera test log with its key. */
#include "testutil.h"

#include "tlog.h"

#include <dirent.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(h), 2 * n);
    for (size_t i = 0; i < n; i++) {
        int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
        assert_true(a >= 0 && b >= 0);
        out[i] = (uint8_t)(a << 4 | b);
    }
}

static char *pbuf_str(pbuf *b) /* NUL-terminated view of a pbuf */
{
    assert_int_equal(b->err, 0);
    if (pbuf_reserve(b, 0)) fail();
    b->p[b->len] = 0;
    return (char *)b->p;
}

#define ASSERT_MEM(got, glen, want, wlen)                                       \
    do {                                                                        \
        if ((size_t)(glen) != (size_t)(wlen) || memcmp(got, want, wlen))        \
            fail_msg("bytes differ:\n got  [%.*s]\n want [%.*s]", (int)(glen), \
                     (const char *)(got), (int)(wlen), (const char *)(want));   \
    } while (0)

/* ---- signed-note-vectors.txt --------------------------------------------- */

static char *g_vec;  /* the whole file */

static void load_vectors(void)
{
    if (!g_vec) g_vec = (char *)tu_read(tu_fixture("tlog/signed-note-vectors.txt"), NULL);
}

/* The raw value of the nth line "field: ..." in record "== id" (up to the
 * end of the line), or NULL. */
static const char *vec_raw(const char *id, const char *field, int nth)
{
    load_vectors();
    char head[128];
    snprintf(head, sizeof head, "\n== %s", id);
    const char *r = g_vec;
    size_t hl = strlen(head);
    for (;;) {
        r = strstr(r, head);
        if (!r) fail_msg("no vector %s", id);
        if (r[hl] == '\n' || r[hl] == ' ') break;
        r += hl;
    }
    r += hl;
    const char *end = strstr(r, "\n== ");
    if (!end) end = r + strlen(r);
    size_t fl = strlen(field);
    for (const char *p = strchr(r, '\n'); p && p < end; p = strchr(p + 1, '\n')) {
        if (!strncmp(p + 1, field, fl) && p[1 + fl] == ':' && p[2 + fl] == ' ') {
            if (nth-- == 0) return p + 3 + fl;
        }
    }
    return NULL;
}

/* Decode the quoted string at q ("..." with \n \\ \" \xHH escapes) into a
 * malloc'd buffer; *n its length. */
static uint8_t *vec_unquote(const char *q, size_t *n)
{
    assert_true(q && *q == '"');
    size_t cap = strlen(q) + 1, len = 0;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    for (q++; *q != '"'; q++) {
        assert_true(*q && *q != '\n');
        if (*q != '\\') {
            out[len++] = (uint8_t)*q;
            continue;
        }
        q++;
        if (*q == 'n') out[len++] = '\n';
        else if (*q == '\\' || *q == '"') out[len++] = (uint8_t)*q;
        else if (*q == 'x') {
            int a = hexval(q[1]), b = hexval(q[2]);
            assert_true(a >= 0 && b >= 0);
            out[len++] = (uint8_t)(a << 4 | b);
            q += 2;
        } else fail_msg("bad escape in vector");
    }
    out[len] = 0;
    *n = len;
    return out;
}

/* A quoted field, decoded. */
static uint8_t *vec_bytes(const char *id, const char *field, size_t *n)
{
    const char *r = vec_raw(id, field, 0);
    if (!r) fail_msg("vector %s has no %s", id, field);
    return vec_unquote(r, n);
}

/* An unquoted field: the first word, in a static ring. */
static const char *vec_word(const char *id, const char *field, int nth)
{
    static char ring[8][512];
    static int k;
    const char *r = vec_raw(id, field, nth);
    if (!r) fail_msg("vector %s has no %s", id, field);
    char *o = ring[k++ & 7];
    size_t i = 0;
    while (r[i] && r[i] != '\n' && r[i] != ' ' && i < 511) {
        o[i] = r[i];
        i++;
    }
    o[i] = 0;
    return o;
}

/* "derived: <key> <sep> <value>" lines: the value after prefix. */
static const char *vec_derived(const char *id, const char *prefix)
{
    static char buf[512];
    for (int i = 0;; i++) {
        const char *r = vec_raw(id, "derived", i);
        if (!r) fail_msg("vector %s has no derived %s", id, prefix);
        if (!strncmp(r, prefix, strlen(prefix))) {
            r += strlen(prefix);
            size_t n = strcspn(r, " \n");
            assert_true(n < sizeof buf);
            memcpy(buf, r, n);
            buf[n] = 0;
            return buf;
        }
    }
}

static void vkey_of(const char *id, tlog_verifier *v)
{
    const char *k = vec_word(id, "vkey", 0);
    assert_int_equal(tlog_verifier_parse(v, k, strlen(k)), 0);
}

static void skey_of(const char *k, tlog_signer *s)
{
    assert_int_equal(tlog_signer_parse(s, k, strlen(k)), 0);
}

/* ---- base64 and text rules ------------------------------------------------ */

static void test_base64(void **st)
{
    (void)st;
    static const struct { const char *raw, *b64; } v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        pbuf b;
        pbuf_init(&b);
        tlog_b64_encode(&b, v[i].raw, strlen(v[i].raw));
        assert_string_equal(pbuf_str(&b), v[i].b64);
        pbuf_free(&b);
        uint8_t out[16];
        size_t n;
        assert_int_equal(tlog_b64_decode(v[i].b64, strlen(v[i].b64), out, sizeof out, &n), 0);
        ASSERT_MEM(out, n, v[i].raw, strlen(v[i].raw));
    }
    static const char *bad[] = {"Zg=", "Zg", "Zh==", "Zm9=", "Z===", "====", "Zg==Zg==",
                                "Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "Zm=v", "=Zm9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n;
        uint8_t out[16];
        if (tlog_b64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n) != PROV_EFORMAT)
            fail_msg("accepted bad base64 %s", bad[i]);
    }
    /* head-only decoding reports the full length */
    uint8_t head[2];
    size_t n;
    assert_int_equal(tlog_b64_decode("Zm9vYmFy", 8, head, 2, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(head, "fo", 2);
    assert_int_equal(tlog_b64_decode("Zm9vYmFy", 8, NULL, 0, &n), 0);
    assert_int_equal(n, 6);
}

static void test_text_rules(void **st)
{
    (void)st;
    assert_true(tlog_text_valid("a\nb\n", 4));
    assert_true(tlog_text_valid("\xe2\x80\x94 \x7f", 5)); /* DEL is not a C0 control */
    assert_false(tlog_text_valid("a\rb", 3));
    assert_false(tlog_text_valid("a\tb", 3));
    assert_false(tlog_text_valid("a\0b", 3));
    assert_false(tlog_text_valid("\xff", 1));
    assert_false(tlog_text_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(tlog_text_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(tlog_text_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(tlog_text_valid("\xe2\x80", 2));         /* truncated */
    assert_true(tlog_name_valid("example.com/log", 15));
    assert_true(tlog_name_valid("\xc3\xa9t\xc3\xa9", 6));
    assert_false(tlog_name_valid("", 0));
    assert_false(tlog_name_valid("a+b", 3));
    assert_false(tlog_name_valid("a b", 3));
    assert_false(tlog_name_valid("a\xc2\xa0" "b", 4));     /* NBSP */
    assert_false(tlog_name_valid("a\xe3\x80\x80" "b", 5)); /* ideographic space */
    assert_false(tlog_name_valid("a\xe2\x80\xa8" "b", 5)); /* line separator */
    assert_false(tlog_name_valid("a\x0b", 2));
    assert_false(tlog_name_valid("\xff", 1));
    uint64_t v;
    assert_int_equal(tlog_parse_u64("0", 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(tlog_parse_u64("18446744073709551615", 20, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(tlog_parse_u64("18446744073709551616", 20, &v), PROV_EFORMAT);
    assert_int_equal(tlog_parse_u64("01", 2, &v), PROV_EFORMAT);
    assert_int_equal(tlog_parse_u64("", 0, &v), PROV_EFORMAT);
    assert_int_equal(tlog_parse_u64("+1", 2, &v), PROV_EFORMAT);
    assert_int_equal(tlog_parse_u64("1 ", 2, &v), PROV_EFORMAT);
}

/* ---- signed notes: keys (vectors section 1) ------------------------------ */

static void test_note_keys(void **st)
{
    (void)st;
    tlog_verifier v;
    uint8_t want[32];
    vkey_of("key.peter.vkey", &v);
    assert_string_equal(v.name, "PeterNeumann");
    assert_int_equal(v.id, 0xc74f20a3);
    assert_int_equal(v.alg, TLOG_ALG_ED25519);
    unhex(vec_derived("key.peter.vkey", "ed25519_public_key_hex = "), want, 32);
    assert_memory_equal(v.pub, want, 32);
    /* formats back to the same string */
    pbuf b;
    pbuf_init(&b);
    tlog_verifier_format(&b, &v);
    assert_string_equal(pbuf_str(&b), vec_word("key.peter.vkey", "vkey", 0));
    pbuf_free(&b);

    tlog_signer s;
    skey_of(vec_word("key.peter.skey", "skey", 0), &s);
    assert_memory_equal(s.pub, v.pub, 32);
    assert_int_equal(s.id, v.id);
    unhex(vec_derived("key.peter.skey", "ed25519_seed_hex = "), want, 32);
    assert_memory_equal(s.seed, want, 32);
    pbuf_init(&b);
    assert_int_equal(tlog_signer_format(&b, &s), 0);
    assert_string_equal(pbuf_str(&b), vec_word("key.peter.skey", "skey", 0));
    pbuf_free(&b);
    tlog_signer_wipe(&s);

    tlog_verifier e;
    vkey_of("key.enoch.vkey", &e);
    assert_int_equal(e.id, 0xaf0cfe78);
    unhex(vec_derived("key.enoch.vkey", "ed25519_public_key_hex = "), want, 32);
    assert_memory_equal(e.pub, want, 32);
    /* the derived Enoch signer key: a zero seed */
    skey_of(vec_derived("key.enoch.skey", "skey: "), &s);
    assert_memory_equal(s.pub, e.pub, 32);
    uint8_t zero[32] = {0};
    assert_memory_equal(s.seed, zero, 32);
    tlog_signer_wipe(&s);

    const char *k = vec_word("key.bad.wrong_length", "vkey", 0);
    assert_int_equal(tlog_verifier_parse(&v, k, strlen(k)), PROV_EFORMAT);
    k = vec_word("key.bad.unknown_alg", "vkey", 0);
    assert_int_equal(tlog_verifier_parse(&v, k, strlen(k)), PROV_EUNSUPPORTED);

    /* C2SP example key */
    vkey_of("c2sp.example_foo", &v);
    assert_int_equal(v.id, 0x530d903a);
    unhex(vec_derived("c2sp.example_foo", "ed25519_public_key_hex = "), want, 32);
    assert_memory_equal(v.pub, want, 32);
}

/* The generated families: every proper substring, and every one-byte +1
 * change, of a good key must be rejected (note_test.go:31-76). */
static void mangle_all(const char *key, bool is_signer)
{
    size_t n = strlen(key);
    char *m = malloc(n + 1);
    assert_non_null(m);
    size_t tried = 0;
    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            if (i == 0 && j == n) continue;
            tlog_verifier v;
            tlog_signer s;
            int rc = is_signer ? tlog_signer_parse(&s, key + i, j - i)
                               : tlog_verifier_parse(&v, key + i, j - i);
            if (rc == 0) fail_msg("accepted substring [%zu:%zu] of %s", i, j, key);
            tried++;
        }
    for (size_t i = 0; i < n; i++) {
        memcpy(m, key, n + 1);
        m[i]++;
        tlog_verifier v;
        tlog_signer s;
        int rc = is_signer ? tlog_signer_parse(&s, m, n) : tlog_verifier_parse(&v, m, n);
        if (rc == 0) fail_msg("accepted %s", m);
        tried++;
    }
    free(m);
    assert_true(tried > n * n / 2);
}

static void test_note_keys_mangled(void **st)
{
    (void)st;
    mangle_all(vec_word("key.peter.vkey", "vkey", 0), false);
    mangle_all(vec_word("key.peter.skey", "skey", 0), true);
    /* and the good ones still pass */
    tlog_verifier v;
    vkey_of("key.peter.vkey", &v);
}

static void test_key_roundtrip(void **st)
{
    (void)st;
    for (int alg = 1; alg <= 4; alg += 3) {
        tlog_signer s, s2;
        assert_int_equal(tlog_keygen(&s, "example.com/registry", (uint8_t)alg), 0);
        pbuf b;
        pbuf_init(&b);
        assert_int_equal(tlog_signer_format(&b, &s), 0);
        assert_int_equal(tlog_signer_parse(&s2, (char *)b.p, b.len), 0);
        assert_memory_equal(s2.pub, s.pub, 32);
        assert_int_equal(s2.id, s.id);
        assert_int_equal(s2.alg, alg);
        pbuf_free(&b);
        tlog_verifier v, v2;
        tlog_signer_verifier(&s, &v);
        pbuf_init(&b);
        tlog_verifier_format(&b, &v);
        assert_int_equal(tlog_verifier_parse(&v2, (char *)b.p, b.len), 0);
        assert_memory_equal(&v2, &v, sizeof v);
        pbuf_free(&b);
        tlog_signer_wipe(&s);
        tlog_signer_wipe(&s2);
    }
    /* bad names and algorithms are refused */
    tlog_signer s;
    uint8_t seed[32] = {1};
    assert_int_equal(tlog_signer_from_seed(&s, "a b", 1, seed), PROV_EINVAL);
    assert_int_equal(tlog_signer_from_seed(&s, "a+b", 1, seed), PROV_EINVAL);
    assert_int_equal(tlog_signer_from_seed(&s, "", 1, seed), PROV_EINVAL);
    assert_int_equal(tlog_signer_from_seed(&s, "ab", 2, seed), PROV_EINVAL);
    char longname[TLOG_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(tlog_signer_from_seed(&s, longname, 1, seed), PROV_EINVAL);
    longname[TLOG_NAME_MAX] = 0;
    assert_int_equal(tlog_signer_from_seed(&s, longname, 1, seed), 0);
    tlog_signer_wipe(&s);
}

/* ---- signed notes: signing (vectors section 2) ------------------------- */

static void test_note_sign_vectors(void **st)
{
    (void)st;
    tlog_signer peter, enoch;
    skey_of(vec_word("key.peter.skey", "skey", 0), &peter);
    skey_of(vec_derived("key.enoch.skey", "skey: "), &enoch);
    size_t tl, wl, ll;
    uint8_t *text = vec_bytes("note.peter", "text", &tl);
    uint8_t *want = vec_bytes("note.peter", "expect_signed_note", &wl);
    uint8_t *line = vec_bytes("note.peter", "signature_line", &ll);

    pbuf b;
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&b, (char *)text, tl, NULL, 0, &peter, 1, 0, NULL), 0);
    ASSERT_MEM(b.p, b.len, want, wl);
    ASSERT_MEM(b.p + b.len - ll, ll, line, ll);
    pbuf_free(&b);

    /* add EnochRoot to the note: existing signatures first */
    tlog_verifier pv;
    vkey_of("key.peter.vkey", &pv);
    tlog_verifiers vs = {&pv, 1, NULL, NULL};
    tlog_note n;
    assert_int_equal(tlog_note_open(want, wl, &vs, &n, NULL), 0);
    size_t w2l;
    uint8_t *want2 = vec_bytes("note.peter_enoch", "expect_signed_note", &w2l);
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&b, n.text, n.text_len, n.sigs, n.nsigs, &enoch, 1, 0, NULL), 0);
    ASSERT_MEM(b.p, b.len, want2, w2l);
    pbuf_free(&b);

    /* sign.replace_existing: a kept signature by a signing key is dropped */
    tlog_sig bad = {"PeterNeumann", 12, 0xc74f20a3, "BADSIGN=", 8, NULL, 0};
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&b, (char *)text, tl, &bad, 1, &peter, 1, 0, NULL), 0);
    ASSERT_MEM(b.p, b.len, want, wl);
    pbuf_free(&b);

    /* errors */
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&b, "abc", 3, NULL, 0, &peter, 1, 0, NULL), PROV_EFORMAT);
    tlog_sig badname = {"a+b", 3, 0, "ABCD", 4, NULL, 0};
    assert_int_equal(tlog_note_sign(&b, (char *)text, tl, &badname, 1, NULL, 0, 0, NULL),
                     PROV_EFORMAT);
    tlog_sig badhash = {"PeterNeumann", 12, 0xc74f20a3, "BADHASH=", 8, NULL, 0};
    assert_int_equal(tlog_note_sign(&b, (char *)text, tl, &badhash, 1, NULL, 0, 0, NULL),
                     PROV_EFORMAT);
    tlog_signer badsigner = peter;
    strcpy(badsigner.name, "bad name");
    badsigner.name_len = 8;
    assert_int_equal(tlog_note_sign(&b, (char *)text, tl, NULL, 0, &badsigner, 1, 0, NULL),
                     PROV_EINVAL);
    /* nothing at all to sign with */
    assert_int_equal(tlog_note_sign(&b, (char *)text, tl, NULL, 0, NULL, 0, 0, NULL), PROV_EINVAL);
    assert_int_equal(b.len, 0); /* failures write nothing */
    pbuf_free(&b);

    free(text);
    free(want);
    free(want2);
    free(line);
    tlog_signer_wipe(&peter);
    tlog_signer_wipe(&enoch);
}

/* ---- verifier lookup (section 3) -------------------------------------- */

static void test_note_lookup(void **st)
{
    (void)st;
    tlog_verifier list[3];
    vkey_of("key.peter.vkey", &list[0]);
    vkey_of("key.enoch.vkey", &list[1]);
    vkey_of("key.enoch.vkey", &list[2]);
    tlog_verifiers vs = {list, 3, NULL, NULL};
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    const tlog_verifier *v;
    assert_int_equal(tlog_verifiers_find(&vs, "PeterNeumann", 12, 0xc74f20a3, &v, ctx), 0);
    assert_ptr_equal(v, &list[0]);
    assert_int_equal(tlog_verifiers_find(&vs, "PeterNeumann", 12, 0xc74f20a4, &v, ctx),
                     PROV_ENOTFOUND);
    assert_string_equal(prov_errmsg(ctx), "unknown key PeterNeumann+c74f20a4");
    assert_int_equal(tlog_verifiers_find(&vs, "PeterNeuman", 11, 0xc74f20a3, &v, ctx),
                     PROV_ENOTFOUND);
    assert_string_equal(prov_errmsg(ctx), "unknown key PeterNeuman+c74f20a3");
    assert_int_equal(tlog_verifiers_find(&vs, "EnochRoot", 9, 0xaf0cfe78, &v, ctx), PROV_EINVAL);
    assert_string_equal(prov_errmsg(ctx), "ambiguous key EnochRoot+af0cfe78");
    prov_ctx_free(ctx);
}

/* ---- opening notes (section 4) ------------------------------------------ */

static int open_vec(const char *id, const tlog_verifier *list, size_t n, tlog_note *out,
                    uint8_t **keep, prov_ctx *ctx)
{
    size_t ml;
    *keep = vec_bytes(id, "msg", &ml);
    tlog_verifiers vs = {list, n, NULL, NULL};
    return tlog_note_open(*keep, ml, &vs, out, ctx);
}

static void expect_sig(const tlog_sig *s, const char *name, uint32_t id, const char *b64,
                       bool verified)
{
    ASSERT_MEM(s->name, s->name_len, name, strlen(name));
    assert_int_equal(s->id, id);
    ASSERT_MEM(s->b64, s->b64_len, b64, strlen(b64));
    assert_int_equal(s->by != NULL, verified);
}

static int lookup_any(void *user, const char *name, size_t nl, uint32_t id,
                      const tlog_verifier **out)
{
    (void)name, (void)nl, (void)id;
    *out = user;
    return 0;
}

static void test_note_open_vectors(void **st)
{
    (void)st;
    static const char PB[] =
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
    static const char EB[] =
        "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=";
    static const char EB2[] =
        "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5nABCD2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=";
    tlog_verifier peter, enoch, pe[2], epe[3];
    vkey_of("key.peter.vkey", &peter);
    vkey_of("key.enoch.vkey", &enoch);
    pe[0] = peter, pe[1] = enoch;
    epe[0] = enoch, epe[1] = peter, epe[2] = enoch;
    size_t tl;
    uint8_t *T = vec_bytes("note.peter", "text", &tl);
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    tlog_note n;
    uint8_t *m;

    assert_int_equal(open_vec("open.one_verified_one_unknown", &peter, 1, &n, &m, ctx), 0);
    ASSERT_MEM(n.text, n.text_len, T, tl);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.nverified, 1);
    expect_sig(&n.sigs[0], "PeterNeumann", 0xc74f20a3, PB, true);
    expect_sig(&n.sigs[1], "EnochRoot", 0xaf0cfe78, EB, false);
    assert_ptr_equal(tlog_note_sig_by(&n, &peter), &n.sigs[0]);
    assert_null(tlog_note_sig_by(&n, &enoch));
    free(m);

    assert_int_equal(open_vec("open.both_verified", pe, 2, &n, &m, ctx), 0);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.nverified, 2);
    expect_sig(&n.sigs[0], "PeterNeumann", 0xc74f20a3, PB, true);
    expect_sig(&n.sigs[1], "EnochRoot", 0xaf0cfe78, EB, true);
    assert_int_equal(tlog_note_count_by(&n, pe, 2), 2);
    assert_int_equal(tlog_note_count_by(&n, epe, 3), 2); /* listed twice, counted once */
    free(m);

    /* no verifier: the note comes back all the same, with the error */
    assert_int_equal(open_vec("open.none_verified", NULL, 0, &n, &m, ctx), PROV_ENOTFOUND);
    assert_string_equal(prov_errmsg(ctx), "note has no verifiable signatures");
    assert_int_equal(n.nverified, 0);
    assert_int_equal(n.nsigs, 2);
    expect_sig(&n.sigs[0], "PeterNeumann", 0xc74f20a3, PB, false);
    expect_sig(&n.sigs[1], "EnochRoot", 0xaf0cfe78, EB, false);
    free(m);

    assert_int_equal(open_vec("open.duplicated_verifier_used", epe, 3, &n, &m, ctx), PROV_EINVAL);
    assert_string_equal(prov_errmsg(ctx), "ambiguous key EnochRoot+af0cfe78");
    free(m);
    assert_int_equal(open_vec("open.duplicated_verifier_unused", epe, 3, &n, &m, ctx), 0);
    free(m);

    /* 101 signature lines (duplicates count): over the limit, with or
     * without a verifier (Go calls it "malformed note"; we say ELIMIT) */
    size_t pl;
    uint8_t *PS = vec_bytes("note.peter", "signature_line", &pl);
    pbuf b;
    pbuf_init(&b);
    pbuf_put(&b, T, tl);
    pbuf_putc(&b, '\n');
    for (int i = 0; i < 101; i++) pbuf_put(&b, PS, pl);
    tlog_verifiers vs1 = {&peter, 1, NULL, NULL}, vs0 = {NULL, 0, NULL, NULL};
    assert_int_equal(tlog_note_open(b.p, b.len, &vs1, &n, ctx), PROV_ELIMIT);
    assert_int_equal(tlog_note_open(b.p, b.len, &vs0, &n, ctx), PROV_ELIMIT);
    /* exactly 100 is fine, and the repeats are dropped */
    assert_int_equal(tlog_note_open(b.p, b.len - pl, &vs1, &n, ctx), 0);
    assert_int_equal(n.nsigs, 1);
    pbuf_free(&b);
    free(PS);

    assert_int_equal(open_vec("open.invalid_signature", &peter, 1, &n, &m, ctx), TLOG_EVERIFY);
    assert_string_equal(prov_errmsg(ctx), "invalid signature for key PeterNeumann+c74f20a3");
    free(m);

    assert_int_equal(open_vec("open.duplicates_dropped", &peter, 1, &n, &m, ctx), 0);
    assert_int_equal(n.nverified, 1);
    assert_int_equal(n.nsigs, 3);
    expect_sig(&n.sigs[0], "PeterNeumann", 0xc74f20a3, PB, true);
    expect_sig(&n.sigs[1], "EnochRoot", 0xaf0cfe78, EB, false);
    expect_sig(&n.sigs[2], "EnochRoot", 0xaf0cfe78, EB2, false);
    free(m);

    for (int i = 1; i <= 7; i++) {
        char id[32];
        snprintf(id, sizeof id, "open.malformed.%d", i);
        int rc = open_vec(id, &peter, 1, &n, &m, ctx);
        if (rc != PROV_EFORMAT) fail_msg("%s: %d", id, rc);
        assert_null(n.text);
        free(m);
    }

    /* a lookup that hands back the wrong key is caught */
    tlog_verifiers any = {NULL, 0, lookup_any, &peter};
    size_t ml;
    m = vec_bytes("open.mismatched_verifier.name", "msg", &ml);
    assert_int_equal(tlog_note_open(m, ml, &any, &n, ctx), PROV_EINVAL);
    assert_string_equal(prov_errmsg(ctx), "verifier name or hash doesn't match signature");
    free(m);
    m = vec_bytes("open.mismatched_verifier.key_id", "msg", &ml);
    assert_int_equal(tlog_note_open(m, ml, &any, &n, ctx), PROV_EINVAL);
    free(m);

    /* the C2SP example */
    tlog_verifier foo;
    vkey_of("c2sp.example_foo", &foo);
    m = vec_bytes("c2sp.example_foo", "signed_note", &ml);
    tlog_verifiers vf = {&foo, 1, NULL, NULL};
    assert_int_equal(tlog_note_open(m, ml, &vf, &n, ctx), 0);
    ASSERT_MEM(n.text, n.text_len, "This is an example message.\n", 28);
    assert_int_equal(n.sigs[0].id, 0x530d903a);
    free(m);

    free(T);
    prov_ctx_free(ctx);
}

static void test_note_open_edges(void **st)
{
    (void)st;
    tlog_signer s;
    uint8_t seed[32] = {7};
    assert_int_equal(tlog_signer_from_seed(&s, "example.com/k", 1, seed), 0);
    tlog_verifier v;
    tlog_signer_verifier(&s, &v);
    tlog_verifiers vs = {&v, 1, NULL, NULL};
    tlog_note n;
    pbuf b;

    /* text with blank lines: the split is at the last blank line */
    static const char txt[] = "a\n\nb\n\n\nc\n";
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&b, txt, sizeof txt - 1, NULL, 0, &s, 1, 0, NULL), 0);
    assert_int_equal(tlog_note_open(b.p, b.len, &vs, &n, NULL), 0);
    ASSERT_MEM(n.text, n.text_len, txt, sizeof txt - 1);
    /* a tampered byte of the text fails */
    b.p[0] = 'A';
    assert_int_equal(tlog_note_open(b.p, b.len, &vs, &n, NULL), TLOG_EVERIFY);
    pbuf_free(&b);

    /* a text that is only "\n" */
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&b, "\n", 1, NULL, 0, &s, 1, 0, NULL), 0);
    assert_int_equal(tlog_note_open(b.p, b.len, &vs, &n, NULL), 0);
    assert_int_equal(n.text_len, 1);
    pbuf_free(&b);

    /* malformed signature lines */
    static const char *bad[] = {
        "t\n\n\xe2\x80\x94 k\n",                /* no base64 */
        "t\n\n\xe2\x80\x94 k \n",               /* empty base64 */
        "t\n\n\xe2\x80\x94 k AAAA\n",           /* 3 bytes: less than id + 1 */
        "t\n\n\xe2\x80\x94 k AAAAAAA=\n",       /* 5 bytes is the minimum: ok below */
        "t\n\n\xe2\x80\x94  AAAAAAA=\n",        /* empty name */
        "t\n\n\xe2\x80\x94 k AAAAAAA= \n",      /* trailing space */
        "t\n\n- k AAAAAAA=\n",                  /* not an em dash */
        "t\n\n\xe2\x80\x94k AAAAAAA=\n",        /* no space after the dash */
        "t\n\n\n",                              /* empty signature line */
        "t\n\n\xe2\x80\x94 k AAAAAAA=\n\n",     /* blank line after the signatures */
        "t\n\n\xe2\x80\x94 k AAAAAAA=\r\n",     /* CR */
        "\n\xe2\x80\x94 k AAAAAAA=\n",          /* no text line at all: split at 0? */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = tlog_note_open((const uint8_t *)bad[i], strlen(bad[i]), &vs, &n, NULL);
        if (i == 3) {
            if (rc != PROV_ENOTFOUND) fail_msg("case %zu: %d", i, rc); /* unknown key */
            continue;
        }
        if (rc != PROV_EFORMAT) fail_msg("case %zu: %d", i, rc);
    }
    /* a known key with a short signature is an invalid signature, not malformed */
    pbuf_init(&b);
    uint8_t raw[5];
    wr32(raw, v.id);
    raw[4] = 0;
    pbuf_puts(&b, "t\n\n\xe2\x80\x94 example.com/k ");
    tlog_b64_encode(&b, raw, 5);
    pbuf_putc(&b, '\n');
    assert_int_equal(tlog_note_open(b.p, b.len, &vs, &n, NULL), TLOG_EVERIFY);
    pbuf_free(&b);
    /* too large */
    uint8_t *big = calloc(1, TLOG_NOTE_MAX + 1);
    assert_int_equal(tlog_note_open(big, TLOG_NOTE_MAX + 1, &vs, &n, NULL), PROV_ELIMIT);
    free(big);
    tlog_signer_wipe(&s);
}

/* An external signer (a prov_signer callback) signs like the seed. */
static int ext_sign(void *user, const uint8_t *msg, size_t len, uint8_t *sig, size_t sl)
{
    const tlog_signer *s = user;
    assert_int_equal(sl, 64);
    return crypto_sign_detached(sig, NULL, msg, len, s->sk) ? -1 : 0;
}

static void test_external_signer(void **st)
{
    (void)st;
    tlog_signer s, x;
    uint8_t seed[32] = {9};
    assert_int_equal(tlog_signer_from_seed(&s, "example.com/hsm", 1, seed), 0);
    prov_signer ps = {PROV_ALG_ED25519, 64, ext_sign, &s};
    assert_int_equal(tlog_signer_external(&x, "example.com/hsm", 1, s.pub, &ps), 0);
    assert_int_equal(x.id, s.id);
    pbuf a, b;
    pbuf_init(&a);
    pbuf_init(&b);
    assert_int_equal(tlog_note_sign(&a, "hello\n", 6, NULL, 0, &s, 1, 0, NULL), 0);
    assert_int_equal(tlog_note_sign(&b, "hello\n", 6, NULL, 0, &x, 1, 0, NULL), 0);
    ASSERT_MEM(a.p, a.len, b.p, b.len);
    assert_int_equal(tlog_signer_format(&b, &x), PROV_EINVAL); /* no seed to write */
    pbuf_free(&a);
    pbuf_free(&b);
    prov_signer wrong = {PROV_ALG_ES256, 64, ext_sign, &s};
    assert_int_equal(tlog_signer_external(&x, "example.com/hsm", 1, s.pub, &wrong), PROV_EINVAL);
    tlog_signer_wipe(&s);
}

/* ---- RFC 9162 vectors (transparency-dev/merkle testdata) ----------------- */

/* Minimal JSON access for the probe files (flat objects). */
static const char *js_field(const char *js, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\"", key);
    const char *p = strstr(js, k);
    if (!p) return NULL;
    p = strchr(p + strlen(k), ':');
    assert_non_null(p);
    p++;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

static uint64_t js_u64(const char *js, const char *key)
{
    const char *p = js_field(js, key);
    assert_non_null(p);
    return strtoull(p, NULL, 10);
}

static bool js_bool(const char *js, const char *key)
{
    const char *p = js_field(js, key);
    assert_non_null(p);
    return !strncmp(p, "true", 4);
}

/* Decode a base64 JSON string at p into out (zero-padded to 32 bytes;
 * longer values are cut, marked by *len > 32).  Returns after the string. */
static const char *js_b64_at(const char *p, uint8_t out[32], size_t *len)
{
    assert_true(*p == '"');
    const char *e = strchr(p + 1, '"');
    assert_non_null(e);
    uint8_t tmp[128];
    memset(out, 0, 32);
    assert_int_equal(tlog_b64_decode(p + 1, (size_t)(e - p - 1), tmp, sizeof tmp, len), 0);
    assert_true(*len <= sizeof tmp);
    memcpy(out, tmp, *len < 32 ? *len : 32);
    return e + 1;
}

static size_t js_b64(const char *js, const char *key, uint8_t out[32])
{
    size_t len;
    js_b64_at(js_field(js, key), out, &len);
    return len;
}

static size_t js_proof(const char *js, uint8_t *proof, size_t max)
{
    const char *p = js_field(js, "proof");
    assert_non_null(p);
    if (!strncmp(p, "null", 4)) return 0;
    assert_true(*p == '[');
    size_t n = 0;
    for (p++;;) {
        while (*p == ' ' || *p == '\n' || *p == ',' || *p == '\r' || *p == '\t') p++;
        if (*p == ']') break;
        assert_true(n < max);
        size_t len;
        p = js_b64_at(p, proof + 32 * n, &len);
        n++;
    }
    return n;
}

typedef struct vec_stats {
    int total, ok, bad_expect, type_rejects;
    char ok_names[16][512];
} vec_stats;

/* One probe.  Hashes are 32-byte values in our API, so the JSON values
 * are put into that type: roots and proof hashes of another length (the
 * vectors' placeholders: empty, 9 or 12 bytes) are zero-padded, which
 * keeps equality between two given values and can never equal a computed
 * SHA-256; the proof keeps its element count.  The leaf hash is the one
 * value the reference verifier requires to be exactly 32 bytes, so a
 * probe with another leaf length is rejected at this type boundary. */
static void run_probe(const char *path, const char *rel, vec_stats *vs)
{
    char *js = (char *)tu_read(path, NULL);
    bool want_err = js_bool(js, "wantErr");
    uint8_t proof[80 * 32];
    size_t n = js_proof(js, proof, 80);
    int rc;
    if (strstr(rel, "inclusion/")) {
        uint8_t root[32], leaf[32];
        js_b64(js, "root", root);
        size_t ll = js_b64(js, "leafHash", leaf);
        if (ll != 32) {
            rc = PROV_EFORMAT;
            vs->type_rejects++;
        } else {
            rc = tlog_verify_inclusion(js_u64(js, "leafIdx"), js_u64(js, "treeSize"), leaf,
                                       proof, n, root);
        }
    } else {
        uint8_t r1[32], r2[32];
        js_b64(js, "root1", r1);
        js_b64(js, "root2", r2);
        rc = tlog_verify_consistency(js_u64(js, "size1"), js_u64(js, "size2"), proof, n, r1, r2);
    }
    vs->total++;
    if ((rc != 0) != want_err) {
        vs->bad_expect++;
        print_error("probe %s: rc %d, wantErr %d\n", rel, rc, want_err);
    }
    if (rc == 0 && vs->ok < 16) snprintf(vs->ok_names[vs->ok], sizeof vs->ok_names[0], "%s", rel);
    if (rc == 0) vs->ok++;
    free(js);
}

static void walk_probes(const char *dir, const char *rel, vec_stats *vs)
{
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[1024], r[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) run_probe(p, r, vs);
        else walk_probes(p, r, vs);
    }
    closedir(d);
}

static void test_merkle_vectors(void **st)
{
    (void)st;
    vec_stats vs;
    memset(&vs, 0, sizeof vs);
    char base[600];
    snprintf(base, sizeof base, "%s", tu_fixture("tlog/merkle/testdata"));
    walk_probes(base, "", &vs);
    printf("merkle vectors: %d probes, %d verify, %d fail as expected "
           "(%d by the 32-byte leaf type), %d unexpected\n",
           vs.total, vs.ok, vs.total - vs.ok, vs.type_rejects, vs.bad_expect);
    assert_int_equal(vs.total, 196);
    assert_int_equal(vs.bad_expect, 0);
    assert_int_equal(vs.ok, 12);
    /* exactly the ten happy paths and the two named edge cases */
    for (int i = 0; i < vs.ok; i++) {
        const char *nm = vs.ok_names[i];
        assert_true(strstr(nm, "/happy-path.json") ||
                    !strcmp(nm, "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json") ||
                    !strcmp(nm, "inclusion/single-entry/matching-root-and-leaf.json"));
    }
}

/* ---- Merkle: generation against verification ----------------------------- */

/* MTH over leaf hashes by the RFC's recursive definition, hashed with
 * libsodium's SHA-256 (independent of the library's EVP path). */
static void naive_mth(const uint8_t *leaves, uint64_t n, uint8_t out[32])
{
    if (n == 0) {
        crypto_hash_sha256(out, (const uint8_t *)"", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves, 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    uint8_t m[65];
    m[0] = 1;
    naive_mth(leaves, k, m + 1);
    naive_mth(leaves + 32 * k, n - k, m + 33);
    crypto_hash_sha256(out, m, 65);
}

static void build(tlog_memtree *t, uint8_t **leaves, uint64_t n)
{
    tlog_memtree_init(t);
    *leaves = malloc(32 * (n ? n : 1));
    for (uint64_t i = 0; i < n; i++) {
        char e[32];
        int l = snprintf(e, sizeof e, "entry %llu", (unsigned long long)i);
        tlog_leaf_hash(e, (size_t)l, *leaves + 32 * i);
        assert_int_equal(tlog_memtree_append(t, *leaves + 32 * i), 0);
    }
}

static void test_merkle_generate(void **st)
{
    (void)st;
    uint8_t h[32], e[32];
    /* known answers: empty tree, RFC 6962 leaf of "" */
    tlog_empty_root(e);
    uint8_t want[32];
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    assert_memory_equal(e, want, 32);
    tlog_leaf_hash("", 0, h);
    unhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, 32);
    assert_memory_equal(h, want, 32);

    const uint64_t N = 70;
    tlog_memtree t;
    uint8_t *leaves;
    build(&t, &leaves, N);
    tlog_hashsrc src = tlog_memtree_hashsrc(&t);
    uint8_t roots[71][32];
    for (uint64_t n = 0; n <= N; n++) {
        uint8_t r[32];
        naive_mth(leaves, n, roots[n]);
        assert_int_equal(tlog_tree_hash(&src, n, r), 0);
        assert_memory_equal(r, roots[n], 32);
    }
    uint8_t proof[TLOG_MAX_PROOF * 32];
    size_t np;
    size_t checked = 0;
    for (uint64_t n = 1; n <= N; n++) {
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(tlog_prove_inclusion(&src, i, n, proof, &np), 0);
            assert_int_equal(np, tlog_inclusion_len(i, n));
            assert_int_equal(tlog_verify_inclusion(i, n, leaves + 32 * i, proof, np, roots[n]), 0);
            /* any flipped bit, or another index, fails */
            if (np) {
                proof[(i * 7) % (np * 32)] ^= 1;
                assert_int_equal(tlog_verify_inclusion(i, n, leaves + 32 * i, proof, np, roots[n]),
                                 TLOG_EVERIFY);
                proof[(i * 7) % (np * 32)] ^= 1;
            }
            if (n > 1)
                assert_int_not_equal(
                    tlog_verify_inclusion((i + 1) % n, n, leaves + 32 * i, proof, np, roots[n]), 0);
            checked++;
        }
        for (uint64_t m = 1; m <= n; m++) {
            assert_int_equal(tlog_prove_consistency(&src, m, n, proof, &np), 0);
            assert_int_equal(np, tlog_consistency_len(m, n));
            assert_int_equal(tlog_verify_consistency(m, n, proof, np, roots[m], roots[n]), 0);
            if (np) {
                proof[np * 32 - 1] ^= 0x80;
                assert_int_not_equal(tlog_verify_consistency(m, n, proof, np, roots[m], roots[n]), 0);
                proof[np * 32 - 1] ^= 0x80;
            }
            if (m < n)
                assert_int_not_equal(
                    tlog_verify_consistency(m, n, proof, np, roots[m], roots[m]), 0);
            checked++;
        }
    }
    assert_int_equal(tlog_prove_inclusion(&src, N, N, proof, &np), PROV_EINVAL);
    assert_int_equal(tlog_prove_consistency(&src, 0, N, proof, &np), PROV_EINVAL);
    assert_int_equal(tlog_prove_consistency(&src, 5, 4, proof, &np), PROV_EINVAL);
    /* asking for more than the source has is an error, not a crash */
    assert_int_equal(tlog_tree_hash(&src, N + 1, h), PROV_ENOTFOUND);
    print_message("merkle generate/verify: %zu proofs checked\n", checked);
    free(leaves);
    tlog_memtree_free(&t);

    /* proof lengths at the top of the range */
    assert_int_equal(tlog_inclusion_len(0, UINT64_MAX), 64);
    assert_int_equal(tlog_inclusion_len(UINT64_MAX - 1, UINT64_MAX), 63);
    assert_true(tlog_consistency_len(3, UINT64_MAX) <= TLOG_MAX_PROOF);
    assert_true(tlog_consistency_len(((uint64_t)1 << 63) - 1, UINT64_MAX) <= TLOG_MAX_PROOF);
}

/* A virtual tree of any size: the first and last 256 leaves are distinct
 * ("v<i>"), all leaves in between equal ("c"), so every complete subtree
 * hash is cheap to compute exactly (a constant subtree of level l has the
 * same hash everywhere) and the tree is a real Merkle tree. */
typedef struct virt {
    uint64_t n;
    uint8_t E[64][32]; /* hash of a constant subtree of level l */
} virt;

static void virt_leaf(uint64_t i, uint8_t out[32])
{
    char m[32];
    int l = snprintf(m, sizeof m, "v%llu", (unsigned long long)i);
    tlog_leaf_hash(m, (size_t)l, out);
}

static int virt_get(void *user, unsigned level, uint64_t index, uint8_t out[32])
{
    const virt *v = user;
    uint64_t s = index << level, last = s + (((uint64_t)1 << level) - 1);
    if (level >= 64 || last >= v->n) return PROV_ENOTFOUND;
    if (v->n >= 512 && s >= 256 && last < v->n - 256) {
        memcpy(out, v->E[level], 32);
        return 0;
    }
    if (level == 0) {
        virt_leaf(s, out);
        return 0;
    }
    uint8_t l[32], r[32];
    virt_get(user, level - 1, 2 * index, l);
    virt_get(user, level - 1, 2 * index + 1, r);
    tlog_node_hash(l, r, out);
    return 0;
}

static void test_merkle_large_sizes(void **st)
{
    (void)st;
    static const uint64_t sizes[] = {1, 2, 3, 255, 256, 257, 70000, (uint64_t)1 << 40,
                                     ((uint64_t)1 << 40) + 12345, (uint64_t)1 << 63,
                                     UINT64_MAX - 1, UINT64_MAX};
    virt *v = malloc(sizeof *v);
    tlog_leaf_hash("c", 1, v->E[0]);
    for (int l = 1; l < 64; l++) tlog_node_hash(v->E[l - 1], v->E[l - 1], v->E[l]);
    tlog_hashsrc src = {virt_get, v};
    uint8_t proof[TLOG_MAX_PROOF * 32], root[32], leaf[32], r1[32];
    size_t np, maxc = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        uint64_t n = sizes[k];
        v->n = n;
        assert_int_equal(tlog_tree_hash(&src, n, root), 0);
        uint64_t idx[] = {0, 100, n / 2, n - 300, n - 2, n - 1};
        for (int j = 0; j < 6; j++) {
            uint64_t i = idx[j];
            if (i >= n) continue;
            assert_int_equal(virt_get(v, 0, i, leaf), 0);
            assert_int_equal(tlog_prove_inclusion(&src, i, n, proof, &np), 0);
            assert_int_equal(np, tlog_inclusion_len(i, n));
            assert_int_equal(tlog_verify_inclusion(i, n, leaf, proof, np, root), 0);
            uint64_t m = i + 1;
            assert_int_equal(tlog_tree_hash(&src, m, r1), 0);
            assert_int_equal(tlog_prove_consistency(&src, m, n, proof, &np), 0);
            assert_int_equal(np, tlog_consistency_len(m, n));
            assert_true(np <= TLOG_MAX_PROOF);
            if (np > maxc) maxc = np;
            assert_int_equal(tlog_verify_consistency(m, n, proof, np, r1, root), 0);
        }
    }
    print_message("large trees: proofs up to 2^64 - 1 leaves verify (longest consistency "
                  "proof %zu hashes)\n", maxc);
    free(v);
}

static void test_memtree(void **st)
{
    (void)st;
    tlog_memtree t;
    uint8_t *leaves;
    build(&t, &leaves, 1000);
    assert_int_equal(t.size, 1000);
    uint8_t r[32], w[32];
    tlog_hashsrc src = tlog_memtree_hashsrc(&t);
    assert_int_equal(tlog_tree_hash(&src, 1000, r), 0);
    naive_mth(leaves, 1000, w);
    assert_memory_equal(r, w, 32);
    /* level 8 holds the hashes of the full level-0 tiles */
    assert_int_equal(tlog_tile_hash(t.lv[0] + 32 * 256, TLOG_TILE_BYTES, r), 0);
    assert_memory_equal(r, t.lv[8] + 32, 32);
    free(leaves);
    tlog_memtree_free(&t);
}

/* ---- checkpoints ---------------------------------------------------------- */

static void test_checkpoint_parse(void **st)
{
    (void)st;
    tlog_checkpoint cp;
    static const char good[] = "example.com/behind-the-sofa\n20852163\n"
                               "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_int_equal(tlog_checkpoint_parse(good, sizeof good - 1, &cp, NULL), 0);
    ASSERT_MEM(cp.origin, cp.origin_len, "example.com/behind-the-sofa", 27);
    assert_int_equal(cp.size, 20852163);
    assert_int_equal(cp.ext_len, 0);
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(tlog_checkpoint_format(&b, cp.origin, cp.origin_len, cp.size, cp.root, NULL, 0), 0);
    ASSERT_MEM(b.p, b.len, good, sizeof good - 1);
    pbuf_free(&b);

    static const char ext[] = "o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nx y\n\xc3\xa9\n";
    assert_int_equal(tlog_checkpoint_parse(ext, sizeof ext - 1, &cp, NULL), 0);
    ASSERT_MEM(cp.ext, cp.ext_len, "x y\n\xc3\xa9\n", 7);
    assert_int_equal(cp.size, 0);
    pbuf_init(&b);
    assert_int_equal(tlog_checkpoint_format(&b, "o", 1, 0, cp.root, cp.ext, cp.ext_len), 0);
    ASSERT_MEM(b.p, b.len, ext, sizeof ext - 1);
    pbuf_free(&b);

    static const char *bad[] = {
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",   /* empty origin */
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  /* leading zero */
        "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n0x1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",      /* 31 bytes */
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",   /* non-canonical */
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",     /* no final newline */
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n", /* empty extension */
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\na\n\nb\n",
        "o\n1\n",
        "o\tx\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  /* control char */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (tlog_checkpoint_parse(bad[i], strlen(bad[i]), &cp, NULL) != PROV_EFORMAT)
            fail_msg("accepted bad checkpoint %zu", i);
    static const char maxsize[] =
        "o\n18446744073709551615\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_int_equal(tlog_checkpoint_parse(maxsize, sizeof maxsize - 1, &cp, NULL), 0);
    assert_true(cp.size == UINT64_MAX);

    uint8_t root[32] = {0};
    pbuf_init(&b);
    assert_int_equal(tlog_checkpoint_format(&b, "", 0, 1, root, NULL, 0), PROV_EINVAL);
    assert_int_equal(tlog_checkpoint_format(&b, "a\nb", 3, 1, root, NULL, 0), PROV_EINVAL);
    assert_int_equal(tlog_checkpoint_format(&b, "a", 1, 1, root, "x", 1), PROV_EINVAL);
    assert_int_equal(tlog_checkpoint_format(&b, "a", 1, 1, root, "\n", 1), PROV_EINVAL);
    assert_int_equal(tlog_checkpoint_format(&b, "a", 1, 1, root, "x\n\ny\n", 5), PROV_EINVAL);
    pbuf_free(&b);
}

/* Section 5 of the vectors: sumdb's "go.sum database tree" note text is a
 * checkpoint whose origin is that string. */
static void test_checkpoint_gosum_vectors(void **st)
{
    (void)st;
    uint8_t h[32], want[32];
    tlog_leaf_hash("hello world", 11, h);
    unhex(vec_derived("tlog.record_hash", "hex = "), want, 32);
    assert_memory_equal(h, want, 32);
    size_t wl;
    uint8_t *tree = vec_bytes("tlog.format_tree", "expect", &wl);
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(tlog_checkpoint_format(&b, "go.sum database tree", 20, 123456789012ull, h, NULL, 0), 0);
    ASSERT_MEM(b.p, b.len, tree, wl);
    pbuf_free(&b);
    tlog_checkpoint cp;
    size_t il;
    uint8_t *in = vec_bytes("tlog.parse_tree.good", "input", &il);
    assert_int_equal(tlog_checkpoint_parse((char *)in, il, &cp, NULL), 0);
    assert_true(cp.size == 123456789012ull);
    assert_memory_equal(cp.root, h, 32);
    /* trailing "JOE\n" lines are extension lines to us; a bare "JOE" (no
     * newline) is not note text, which sumdb's lax ParseTree ignores */
    pbuf_init(&b);
    pbuf_put(&b, in, il);
    for (int i = 0; i < 1000; i++) pbuf_puts(&b, "JOE\n");
    assert_int_equal(tlog_checkpoint_parse((char *)b.p, b.len, &cp, NULL), 0);
    assert_int_equal(cp.ext_len, 4000);
    pbuf_puts(&b, "JOE");
    assert_int_equal(tlog_checkpoint_parse((char *)b.p, b.len, &cp, NULL), PROV_EFORMAT);
    pbuf_free(&b);
    free(in);
    for (int i = 1; i <= 3; i++) {
        char id[40];
        snprintf(id, sizeof id, "tlog.parse_tree.bad.%d", i);
        in = vec_bytes(id, "input", &il);
        int rc = tlog_checkpoint_parse((char *)in, il, &cp, NULL);
        if (i == 1) { /* well formed, but not the go.sum origin */
            assert_int_equal(rc, 0);
            assert_false(cp.origin_len == 20 && !memcmp(cp.origin, "go.sum database tree", 20));
        } else {
            assert_int_equal(rc, PROV_EFORMAT);
        }
        free(in);
    }
    free(tree);
}

static void test_checkpoint_sign_open(void **st)
{
    (void)st;
    tlog_signer log, w1, other;
    assert_int_equal(tlog_keygen(&log, "example.com/registry", TLOG_ALG_ED25519), 0);
    assert_int_equal(tlog_keygen(&w1, "witness.example/w1", TLOG_ALG_COSIG), 0);
    assert_int_equal(tlog_keygen(&other, "example.com/registry", TLOG_ALG_ED25519), 0);
    tlog_verifier lv, wv, ov;
    tlog_signer_verifier(&log, &lv);
    tlog_signer_verifier(&w1, &wv);
    tlog_signer_verifier(&other, &ov);
    uint8_t root[32];
    tlog_leaf_hash("x", 1, root);
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(tlog_checkpoint_sign(&b, &log, "example.com/registry", 42, root, "ext line\n", 9, NULL), 0);
    tlog_note n;
    tlog_checkpoint cp;
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    assert_int_equal(tlog_checkpoint_open(b.p, b.len, "example.com/registry", &lv, NULL, 0, &n, &cp, ctx), 0);
    assert_int_equal(cp.size, 42);
    assert_memory_equal(cp.root, root, 32);
    ASSERT_MEM(cp.ext, cp.ext_len, "ext line\n", 9);
    /* another origin, another key, a witness-only note */
    assert_int_equal(tlog_checkpoint_open(b.p, b.len, "example.com/other", &lv, NULL, 0, &n, &cp, ctx), TLOG_EVERIFY);
    assert_int_equal(tlog_checkpoint_open(b.p, b.len, "example.com/registry", &ov, NULL, 0, &n, &cp, ctx), PROV_ENOTFOUND);
    assert_int_equal(tlog_checkpoint_open(b.p, b.len, "example.com/registry", &wv, NULL, 0, &n, &cp, ctx), PROV_EINVAL);

    /* add a cosignature line and open with the witness */
    pbuf c;
    pbuf_init(&c);
    pbuf_put(&c, b.p, b.len);
    assert_int_equal(tlog_checkpoint_open(b.p, b.len, "example.com/registry", &lv, NULL, 0, &n, &cp, ctx), 0);
    assert_int_equal(tlog_cosig_line(&c, &w1, 1700000000, n.text, n.text_len), 0);
    assert_int_equal(tlog_checkpoint_open(c.p, c.len, "example.com/registry", &lv, &wv, 1, &n, &cp, ctx), 0);
    const tlog_sig *ws = tlog_note_sig_by(&n, &wv);
    assert_non_null(ws);
    assert_int_equal(ws->time, 1700000000);
    assert_int_equal(tlog_note_count_by(&n, &wv, 1), 1);
    /* the witness line is ignored without the witness key */
    assert_int_equal(tlog_checkpoint_open(c.p, c.len, "example.com/registry", &lv, NULL, 0, &n, &cp, ctx), 0);
    assert_int_equal(n.nverified, 1);
    assert_int_equal(n.nsigs, 2);
    /* signed only by the witness: not enough */
    pbuf wo;
    pbuf_init(&wo);
    assert_int_equal(tlog_note_sign(&wo, n.text, n.text_len, NULL, 0, &w1, 1, 1700000000, NULL), 0);
    assert_int_equal(tlog_checkpoint_open(wo.p, wo.len, "example.com/registry", &lv, &wv, 1, &n, &cp, ctx), PROV_ENOTFOUND);
    pbuf_free(&wo);
    pbuf_free(&c);
    pbuf_free(&b);
    prov_ctx_free(ctx);
    tlog_signer_wipe(&log);
    tlog_signer_wipe(&w1);
    tlog_signer_wipe(&other);
}

/* ---- cosignatures --------------------------------------------------------- */

static void test_cosig(void **st)
{
    (void)st;
    static const char body[] = "example.com/behind-the-sofa\n20852163\n"
                               "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    pbuf m;
    pbuf_init(&m);
    assert_int_equal(tlog_cosig_message(&m, 1679315147, body, sizeof body - 1), 0);
    static const char want[] = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n"
                               "20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    ASSERT_MEM(m.p, m.len, want, sizeof want - 1);

    uint8_t seed[32] = {4, 2};
    tlog_signer ed, co;
    assert_int_equal(tlog_signer_from_seed(&ed, "witness.example.com/w1", TLOG_ALG_ED25519, seed), 0);
    tlog_signer_as_cosigner(&ed, &co);
    assert_int_equal(co.alg, TLOG_ALG_COSIG);
    assert_int_not_equal(co.id, ed.id);
    uint8_t pubraw[32];
    memcpy(pubraw, ed.pub, 32);
    assert_int_equal(co.id, tlog_key_id("witness.example.com/w1", 22, 0x04, pubraw, 32));

    uint8_t sig[72];
    assert_int_equal(tlog_cosig_sign(&co, 1679315147, body, sizeof body - 1, sig), 0);
    assert_int_equal(rd64(sig), 1679315147);
    /* independent check: Ed25519 over the message built by hand */
    assert_int_equal(crypto_sign_verify_detached(sig + 8, (const uint8_t *)want, sizeof want - 1, co.pub), 0);
    /* deterministic: the same bytes as signing the message directly */
    uint8_t direct[64];
    assert_int_equal(crypto_sign_detached(direct, NULL, (const uint8_t *)want, sizeof want - 1, co.sk), 0);
    assert_memory_equal(direct, sig + 8, 64);

    tlog_verifier v, vplain;
    tlog_signer_verifier(&co, &v);
    tlog_signer_verifier(&ed, &vplain);
    uint64_t t;
    assert_int_equal(tlog_cosig_verify(&v, body, sizeof body - 1, sig, 72, &t), 0);
    assert_int_equal(t, 1679315147);
    tlog_verifier vconv;
    tlog_verifier_as_cosigner(&vplain, &vconv);
    assert_memory_equal(&vconv, &v, sizeof v);
    /* wrong time, wrong text, wrong type of key, wrong length */
    sig[7] ^= 1;
    assert_int_equal(tlog_cosig_verify(&v, body, sizeof body - 1, sig, 72, &t), TLOG_EVERIFY);
    sig[7] ^= 1;
    assert_int_equal(tlog_cosig_verify(&v, body, sizeof body - 2, sig, 72, &t), TLOG_EVERIFY);
    assert_int_equal(tlog_cosig_verify(&vplain, body, sizeof body - 1, sig, 72, &t), TLOG_EVERIFY);
    assert_int_equal(tlog_cosig_verify(&v, body, sizeof body - 1, sig, 71, &t), TLOG_EVERIFY);
    /* a cosignature is not a plain note signature, nor the reverse */
    assert_int_equal(tlog_sig_check(&vplain, body, sizeof body - 1, sig + 8, 64, NULL), TLOG_EVERIFY);
    /* limits: time <= 2^63 - 1; only checkpoints are cosigned; alg 0x04 only */
    assert_int_equal(tlog_cosig_sign(&co, (uint64_t)INT64_MAX + 1, body, sizeof body - 1, sig), PROV_EINVAL);
    assert_int_equal(tlog_cosig_sign(&co, (uint64_t)INT64_MAX, body, sizeof body - 1, sig), 0);
    assert_int_equal(tlog_cosig_verify(&v, body, sizeof body - 1, sig, 72, &t), 0);
    assert_true(t == (uint64_t)INT64_MAX);
    assert_int_equal(tlog_cosig_sign(&co, 1, "hello\n", 6, sig), PROV_EFORMAT);
    assert_int_equal(tlog_cosig_sign(&ed, 1, body, sizeof body - 1, sig), PROV_EINVAL);
    assert_int_equal(tlog_cosig_message(&m, (uint64_t)INT64_MAX + 1, body, 3), PROV_EINVAL);

    /* the witness reply line, appended to a note, opens */
    pbuf line;
    pbuf_init(&line);
    assert_int_equal(tlog_cosig_line(&line, &co, 1679315147, body, sizeof body - 1), 0);
    char *ls = pbuf_str(&line);
    assert_true(!strncmp(ls, "\xe2\x80\x94 witness.example.com/w1 ", 26));
    pbuf note;
    pbuf_init(&note);
    pbuf_put(&note, body, sizeof body - 1);
    pbuf_putc(&note, '\n');
    pbuf_put(&note, line.p, line.len);
    tlog_verifiers vs = {&v, 1, NULL, NULL};
    tlog_note n;
    assert_int_equal(tlog_note_open(note.p, note.len, &vs, &n, NULL), 0);
    assert_int_equal(n.sigs[0].time, 1679315147);
    /* through tlog_note_sign with a cosigner and `now` */
    pbuf s2;
    pbuf_init(&s2);
    assert_int_equal(tlog_note_sign(&s2, body, sizeof body - 1, NULL, 0, &co, 1, 1679315147, NULL), 0);
    ASSERT_MEM(s2.p, s2.len, note.p, note.len);
    pbuf_free(&s2);
    pbuf_free(&note);
    pbuf_free(&line);
    pbuf_free(&m);
    tlog_signer_wipe(&ed);
    tlog_signer_wipe(&co);
}

/* ---- tiles ------------------------------------------------------------- */

static void test_tile_paths(void **st)
{
    (void)st;
    static const struct { int level; uint64_t index; unsigned width; const char *path; } v[] = {
        {0, 0, 256, "tile/0/000"},
        {0, 1234067, 256, "tile/0/x001/x234/067"},
        {1, 5, 17, "tile/1/005.p/17"},
        {63, 999, 256, "tile/63/999"},
        {0, 1000, 1, "tile/0/x001/000.p/1"},
        {TLOG_ENTRIES, 0, 15, "tile/entries/000.p/15"},
        {TLOG_ENTRIES, 272, 256, "tile/entries/272"},
        {2, UINT64_MAX, 255, "tile/2/x018/x446/x744/x073/x709/x551/615.p/255"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        tlog_tile t = {v[i].level, v[i].index, v[i].width}, p;
        char buf[TLOG_TILE_PATH_MAX];
        int n = tlog_tile_path(buf, sizeof buf, &t);
        assert_int_equal(n, (int)strlen(v[i].path));
        assert_string_equal(buf, v[i].path);
        assert_int_equal(tlog_tile_parse_path(v[i].path, strlen(v[i].path), &p), 0);
        assert_true(p.level == t.level && p.index == t.index && p.width == t.width);
    }
    static const char *bad[] = {
        "tile/0/x000/005", "tile/00/000", "tile/64/000", "tile/0/1", "tile/0/0000",
        "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/007", "tile/0/x001",
        "tile/0/001/002", "tile/0/000.p/", "tile/0/000.p", "tile/0/000/", "tile/-1/000",
        "tile/entry/000", "tile/0/x019/x446/x744/x073/x709/x551/615", "tile//000",
        "tiles/0/000", "tile/0/x1/000", "/tile/0/000", "tile/0/000.p/1/", "tile/0/X001/000",
        "tile/0/x001/x002/x003/x004/x005/x006/x007/008", "", "tile/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tlog_tile p;
        if (tlog_tile_parse_path(bad[i], strlen(bad[i]), &p) != PROV_EFORMAT)
            fail_msg("accepted bad path %s", bad[i]);
    }
    tlog_tile t = {0, 0, 0};
    char buf[TLOG_TILE_PATH_MAX];
    assert_int_equal(tlog_tile_path(buf, sizeof buf, &t), PROV_EINVAL);
    t.width = 257;
    assert_int_equal(tlog_tile_path(buf, sizeof buf, &t), PROV_EINVAL);
    t = (tlog_tile){64, 0, 1};
    assert_int_equal(tlog_tile_path(buf, sizeof buf, &t), PROV_EINVAL);
    t = (tlog_tile){0, 1234067, 256};
    assert_int_equal(tlog_tile_path(buf, 20, &t), PROV_EINVAL); /* needs 21 */
    assert_int_equal(tlog_tile_path(buf, 21, &t), 20);

    /* the spec's example: a tree of 70,000 */
    assert_int_equal(tlog_tile_width(0, 272, 70000), 256);
    assert_int_equal(tlog_tile_width(0, 273, 70000), 112);
    assert_int_equal(tlog_tile_width(0, 274, 70000), 0);
    assert_int_equal(tlog_tile_width(TLOG_ENTRIES, 273, 70000), 112);
    assert_int_equal(tlog_tile_width(1, 0, 70000), 256);
    assert_int_equal(tlog_tile_width(1, 1, 70000), 17);
    assert_int_equal(tlog_tile_width(2, 0, 70000), 1);
    assert_int_equal(tlog_tile_width(3, 0, 70000), 0);
    /* and of 256 */
    assert_int_equal(tlog_tile_width(0, 0, 256), 256);
    assert_int_equal(tlog_tile_width(0, 1, 256), 0);
    assert_int_equal(tlog_tile_width(1, 0, 256), 1);
    assert_int_equal(tlog_tile_width(0, 0, 0), 0);
    assert_int_equal(tlog_tile_width(7, 0, UINT64_MAX), 255);
    assert_int_equal(tlog_tile_width(8, 0, UINT64_MAX), 0);
    assert_int_equal(tlog_tile_for(8, 272, 70000, &t), 0);
    assert_true(t.level == 1 && t.index == 1 && t.width == 17);
    assert_int_equal(tlog_tile_for(8, 273, 70000, &t), PROV_ENOTFOUND);
    assert_int_equal(tlog_tile_for(3, 0, 70000, &t), PROV_EINVAL);
}

static void test_bundles(void **st)
{
    (void)st;
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(tlog_bundle_put(&b, "one", 3), 0);
    assert_int_equal(tlog_bundle_put(&b, "", 0), 0);
    uint8_t *big = calloc(1, 65536);
    assert_int_equal(tlog_bundle_put(&b, big, 65535), 0);
    assert_int_equal(tlog_bundle_put(&b, big, 65536), PROV_ELIMIT);
    free(big);
    assert_int_equal(b.len, 5 + 2 + 2 + 65535);
    assert_memory_equal(b.p, "\x00\x03one\x00\x00\xff\xff", 9);
    tlog_bundle_iter it;
    tlog_bundle_iter_init(&it, b.p, b.len);
    const uint8_t *e;
    size_t el;
    assert_int_equal(tlog_bundle_next(&it, &e, &el), 1);
    ASSERT_MEM(e, el, "one", 3);
    assert_int_equal(tlog_bundle_next(&it, &e, &el), 1);
    assert_int_equal(el, 0);
    assert_int_equal(tlog_bundle_next(&it, &e, &el), 1);
    assert_int_equal(el, 65535);
    assert_int_equal(tlog_bundle_next(&it, &e, &el), 0);
    uint8_t hs[3 * 32], h[32];
    assert_int_equal(tlog_bundle_hashes(b.p, b.len, 3, hs), 0);
    tlog_leaf_hash("", 0, h);
    assert_memory_equal(hs + 32, h, 32);
    assert_int_equal(tlog_bundle_hashes(b.p, b.len, 2, hs), PROV_EFORMAT); /* too many */
    assert_int_equal(tlog_bundle_hashes(b.p, b.len, 4, NULL), PROV_EFORMAT); /* too few */
    assert_int_equal(tlog_bundle_hashes(b.p, b.len - 1, 3, NULL), PROV_EFORMAT); /* truncated */
    assert_int_equal(tlog_bundle_hashes(b.p, 1, 1, NULL), PROV_EFORMAT);
    assert_int_equal(tlog_bundle_hashes(b.p, 0, 1, NULL), PROV_EFORMAT);
    pbuf_free(&b);
}

/* Serve a memtree's hash tiles as files, as a static-file log would. */
typedef struct memlog {
    const tlog_memtree *t;
    uint64_t size;     /* the published tree: tiles exist for this size */
    bool drop_partial; /* pretend partial tiles were deleted */
    size_t trunc;      /* serve tiles this many bytes short (a broken server) */
    int reads;
} memlog;

static int memlog_read(void *user, const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    memlog *m = user;
    tlog_tile t;
    m->reads++;
    *len = 0;
    if (tlog_tile_parse_path(path, strlen(path), &t) || t.level == TLOG_ENTRIES)
        return PROV_ENOTFOUND;
    unsigned w = tlog_tile_width(t.level, t.index, m->size);
    if (w == 0 || t.width > w || (t.width < 256 && m->drop_partial && w == 256))
        return PROV_ENOTFOUND;
    size_t n = (size_t)t.width * 32;
    if (n > cap) return PROV_ELIMIT;
    memcpy(buf, m->t->lv[8 * t.level] + (size_t)t.index * TLOG_TILE_BYTES, n);
    *len = n - (m->trunc < n ? m->trunc : n);
    return 0;
}

static void test_tilesrc(void **st)
{
    (void)st;
    tlog_memtree t;
    uint8_t *leaves;
    build(&t, &leaves, 70300);
    tlog_hashsrc ms = tlog_memtree_hashsrc(&t);
    static const uint64_t sizes[] = {1, 255, 256, 257, 65536, 65537, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        uint64_t n = sizes[k];
        memlog ml = {&t, n, false, 0, 0};
        tlog_tilesrc *ts;
        assert_int_equal(tlog_tilesrc_new(&ts, memlog_read, &ml, n), 0);
        tlog_hashsrc hs = tlog_tilesrc_hashsrc(ts);
        uint8_t r1[32], r2[32];
        assert_int_equal(tlog_tree_hash(&hs, n, r1), 0);
        assert_int_equal(tlog_tree_hash(&ms, n, r2), 0);
        assert_memory_equal(r1, r2, 32);
        uint8_t p1[TLOG_MAX_PROOF * 32], p2[TLOG_MAX_PROOF * 32];
        size_t n1, n2;
        uint64_t idx[] = {0, n / 2, n - 1, n > 300 ? n - 300 : 0};
        for (int j = 0; j < 4; j++) {
            assert_int_equal(tlog_prove_inclusion(&hs, idx[j], n, p1, &n1), 0);
            assert_int_equal(tlog_prove_inclusion(&ms, idx[j], n, p2, &n2), 0);
            ASSERT_MEM(p1, n1 * 32, p2, n2 * 32);
            assert_int_equal(tlog_verify_inclusion(idx[j], n, leaves + 32 * idx[j], p1, n1, r1), 0);
            uint64_t m = idx[j] + 1;
            assert_int_equal(tlog_prove_consistency(&hs, m, n, p1, &n1), 0);
            assert_int_equal(tlog_prove_consistency(&ms, m, n, p2, &n2), 0);
            ASSERT_MEM(p1, n1 * 32, p2, n2 * 32);
        }
        /* a handful of tiles cover all that */
        assert_true(tlog_tilesrc_reads(ts) <= 48);
        tlog_tilesrc_free(ts);
    }
    /* partial tiles gone: the full tiles of the grown tree serve */
    memlog ml = {&t, 70300, true, 0, 0};
    tlog_tilesrc *ts;
    assert_int_equal(tlog_tilesrc_new(&ts, memlog_read, &ml, 70000), 0);
    tlog_hashsrc hs = tlog_tilesrc_hashsrc(ts);
    uint8_t r1[32], r2[32];
    assert_int_equal(tlog_tree_hash(&hs, 70000, r1), 0);
    assert_int_equal(tlog_tree_hash(&ms, 70000, r2), 0);
    assert_memory_equal(r1, r2, 32);
    tlog_tilesrc_free(ts);
    /* a log that lacks the tiles its size implies */
    ml = (memlog){&t, 300, false, 0, 0};
    assert_int_equal(tlog_tilesrc_new(&ts, memlog_read, &ml, 301), 0); /* asks for .p/45 */
    hs = tlog_tilesrc_hashsrc(ts);
    assert_int_equal(tlog_tree_hash(&hs, 301, r1), PROV_ENOTFOUND);
    assert_int_equal(tlog_tree_hash(&hs, 302, r1), PROV_ENOTFOUND); /* beyond the size */
    tlog_tilesrc_free(ts);
    /* a tile of the wrong length for its path */
    ml = (memlog){&t, 300, false, 32, 0};
    assert_int_equal(tlog_tilesrc_new(&ts, memlog_read, &ml, 300), 0);
    hs = tlog_tilesrc_hashsrc(ts);
    assert_int_equal(tlog_tree_hash(&hs, 300, r1), PROV_EFORMAT);
    tlog_tilesrc_free(ts);
    free(leaves);
    tlog_memtree_free(&t);
}

/* ---- the tessera log ---------------------------------------------------- */

static const char *g_entries[15] = {"one", "two", "three", "four", "five",
                                    "six", "seven", "eit", "nain", "ten",
                                    "ileven", "twelf", "threeten", "fourten", "fivten"};

static const char *tessera_dir(void)
{
    static char d[600];
    snprintf(d, sizeof d, "%s", tu_fixture("tlog/tessera/testdata/log"));
    return d;
}

static void tessera_key(tlog_verifier *v)
{
    char *txt = (char *)tu_read(tu_fixture("tlog/tessera/verifier-key.txt"), NULL);
    const char *k = strstr(txt, "\nvkey: ");
    assert_non_null(k);
    k += 7;
    assert_int_equal(tlog_verifier_parse(v, k, strcspn(k, "\n")), 0);
    free(txt);
}

static void test_tessera_log(void **st)
{
    (void)st;
    tlog_verifier key;
    tessera_key(&key);
    assert_string_equal(key.name, "example.com/log/testdata");
    assert_int_equal(key.id, 0x33d7b496);
    const char *dir = tessera_dir();
    const char *origin = "example.com/log/testdata";
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);

    /* every checkpoint opens with the key; checkpoint == checkpoint.15 */
    uint8_t roots[16][32];
    uint8_t *files[16];
    size_t flen[16];
    tlog_note n;
    tlog_checkpoint cp;
    for (int s = 0; s <= 15; s++) {
        char name[64];
        snprintf(name, sizeof name, "checkpoint.%d", s);
        uint8_t buf[4096];
        assert_int_equal(tlog_dir_read((void *)dir, name, buf, sizeof buf, &flen[s]), 0);
        files[s] = malloc(flen[s]);
        memcpy(files[s], buf, flen[s]);
        int rc = tlog_checkpoint_open(files[s], flen[s], origin, &key, NULL, 0, &n, &cp, ctx);
        if (rc) fail_msg("%s: %s", name, prov_errmsg(ctx));
        assert_int_equal(cp.size, s);
        assert_int_equal(cp.ext_len, 0);
        memcpy(roots[s], cp.root, 32);
    }
    uint8_t cur[4096];
    size_t curlen;
    assert_int_equal(tlog_dir_read((void *)dir, "checkpoint", cur, sizeof cur, &curlen), 0);
    ASSERT_MEM(cur, curlen, files[15], flen[15]);
    /* the empty tree's root */
    uint8_t h[32];
    tlog_empty_root(h);
    assert_memory_equal(roots[0], h, 32);

    /* re-signing with the published test signer key reproduces each
     * checkpoint byte for byte (Ed25519 is deterministic) */
    char *kt = (char *)tu_read(tu_fixture("tlog/tessera/verifier-key.txt"), NULL);
    const char *sk = strstr(kt, "\nskey: ");
    assert_non_null(sk);
    sk += 7;
    tlog_signer signer;
    assert_int_equal(tlog_signer_parse(&signer, sk, strcspn(sk, "\n")), 0);
    free(kt);
    for (int s = 0; s <= 15; s++) {
        pbuf b;
        pbuf_init(&b);
        assert_int_equal(tlog_checkpoint_sign(&b, &signer, origin, (uint64_t)s, roots[s], NULL, 0, NULL), 0);
        ASSERT_MEM(b.p, b.len, files[s], flen[s]);
        pbuf_free(&b);
    }
    tlog_signer_wipe(&signer);

    /* the entry bundles and level-0 tiles of every width */
    uint8_t bundle15[1024];
    size_t b15;
    assert_int_equal(tlog_dir_read((void *)dir, "tile/entries/000.p/15", bundle15, sizeof bundle15, &b15), 0);
    for (unsigned w = 1; w <= 15; w++) {
        char path[TLOG_TILE_PATH_MAX];
        tlog_tile t = {TLOG_ENTRIES, 0, w};
        assert_true(tlog_tile_path(path, sizeof path, &t) > 0);
        uint8_t bundle[1024], tile[TLOG_TILE_BYTES], hashes[15 * 32];
        size_t bl, tl;
        assert_int_equal(tlog_dir_read((void *)dir, path, bundle, sizeof bundle, &bl), 0);
        assert_int_equal(tlog_bundle_hashes(bundle, bl, w, hashes), 0);
        assert_true(bl <= b15 && !memcmp(bundle, bundle15, bl)); /* a prefix */
        t.level = 0;
        assert_true(tlog_tile_path(path, sizeof path, &t) > 0);
        assert_int_equal(tlog_dir_read((void *)dir, path, tile, sizeof tile, &tl), 0);
        ASSERT_MEM(tile, tl, hashes, 32 * (size_t)w);
        /* the root of the first w entries, from the level-0 tile alone */
        assert_int_equal(tlog_tile_hash(tile, tl, h), 0);
        assert_memory_equal(h, roots[w], 32);
    }
    /* the entries are the documented strings */
    tlog_bundle_iter it;
    tlog_bundle_iter_init(&it, bundle15, b15);
    const uint8_t *e;
    size_t el;
    for (int i = 0; i < 15; i++) {
        assert_int_equal(tlog_bundle_next(&it, &e, &el), 1);
        ASSERT_MEM(e, el, g_entries[i], strlen(g_entries[i]));
    }
    assert_int_equal(tlog_bundle_next(&it, &e, &el), 0);

    /* for every tree size: root from tiles, every entry's inclusion proof
     * built from tiles, and consistency with every smaller size */
    size_t nincl = 0, ncons = 0;
    for (uint64_t s = 1; s <= 15; s++) {
        tlog_tilesrc *ts;
        assert_int_equal(tlog_tilesrc_new(&ts, tlog_dir_read, (void *)dir, s), 0);
        tlog_hashsrc hs = tlog_tilesrc_hashsrc(ts);
        assert_int_equal(tlog_tree_hash(&hs, s, h), 0);
        assert_memory_equal(h, roots[s], 32);
        uint8_t proof[TLOG_MAX_PROOF * 32];
        size_t np;
        for (uint64_t i = 0; i < s; i++) {
            uint8_t leaf[32];
            tlog_leaf_hash(g_entries[i], strlen(g_entries[i]), leaf);
            assert_int_equal(tlog_prove_inclusion(&hs, i, s, proof, &np), 0);
            assert_int_equal(tlog_verify_inclusion(i, s, leaf, proof, np, roots[s]), 0);
            nincl++;
        }
        for (uint64_t m = 1; m <= s; m++) {
            assert_int_equal(tlog_prove_consistency(&hs, m, s, proof, &np), 0);
            assert_int_equal(tlog_verify_consistency(m, s, proof, np, roots[m], roots[s]), 0);
            if (m < s)
                assert_int_not_equal(tlog_verify_consistency(m, s, proof, np, roots[m], roots[s - 1]), 0);
            ncons++;
        }
        assert_int_equal(tlog_tilesrc_reads(ts), 1); /* one partial tile serves it all */
        tlog_tilesrc_free(ts);
    }
    print_message("tessera log: 16 checkpoints verified and re-signed byte-exact, %zu inclusion "
                  "and %zu consistency proofs from tiles verified\n", nincl, ncons);
    for (int s = 0; s <= 15; s++) free(files[s]);
    prov_ctx_free(ctx);
}

static void test_tessera_tamper(void **st)
{
    (void)st;
    tlog_verifier key;
    tessera_key(&key);
    uint8_t buf[4096];
    size_t len;
    assert_int_equal(tlog_dir_read((void *)tessera_dir(), "checkpoint", buf, sizeof buf, &len), 0);
    tlog_note n;
    tlog_checkpoint cp;
    /* change the size: the signature fails */
    uint8_t *p = memchr(buf, '\n', len);
    p[2] = '6'; /* "15" -> "16" */
    assert_int_equal(tlog_checkpoint_open(buf, len, "example.com/log/testdata", &key, NULL, 0, &n, &cp, NULL), TLOG_EVERIFY);
    p[2] = '5';
    assert_int_equal(tlog_checkpoint_open(buf, len, "example.com/log/testdata", &key, NULL, 0, &n, &cp, NULL), 0);
    /* the wrong key id on the line: an unknown key, so no verified signature */
    tlog_verifier other = key;
    other.id ^= 1;
    assert_int_equal(tlog_checkpoint_open(buf, len, "example.com/log/testdata", &other, NULL, 0, &n, &cp, NULL), PROV_ENOTFOUND);
    assert_int_equal(tlog_dir_read((void *)tessera_dir(), "tile/0/999", buf, sizeof buf, &len), PROV_ENOTFOUND);
    assert_int_equal(tlog_dir_read((void *)tessera_dir(), "checkpoint", buf, 10, &len), PROV_ELIMIT);
    assert_int_equal(tlog_dir_read((void *)tessera_dir(), "../x", buf, 10, &len), PROV_EINVAL);
}

/* ---- tlog-proof ------------------------------------------------------------ */

static void test_tlog_proof(void **st)
{
    (void)st;
    tlog_signer log, w;
    uint8_t s1[32] = {1}, s2[32] = {2};
    assert_int_equal(tlog_signer_from_seed(&log, "example.com/registry", TLOG_ALG_ED25519, s1), 0);
    assert_int_equal(tlog_signer_from_seed(&w, "witness.example/w", TLOG_ALG_COSIG, s2), 0);
    tlog_verifier lv, wv;
    tlog_signer_verifier(&log, &lv);
    tlog_signer_verifier(&w, &wv);
    tlog_memtree t;
    uint8_t *leaves;
    build(&t, &leaves, 1000);
    tlog_hashsrc src = tlog_memtree_hashsrc(&t);
    uint8_t root[32];
    assert_int_equal(tlog_tree_hash(&src, 1000, root), 0);
    pbuf cpb;
    pbuf_init(&cpb);
    assert_int_equal(tlog_checkpoint_sign(&cpb, &log, "example.com/registry", 1000, root, NULL, 0, NULL), 0);
    /* cosigned by the witness */
    tlog_note n;
    tlog_checkpoint cp;
    assert_int_equal(tlog_checkpoint_open(cpb.p, cpb.len, "example.com/registry", &lv, NULL, 0, &n, &cp, NULL), 0);
    pbuf signed_cp;
    pbuf_init(&signed_cp);
    assert_int_equal(tlog_note_sign(&signed_cp, n.text, n.text_len, n.sigs, n.nsigs, &w, 1, 1700000001, NULL), 0);

    uint8_t proof[TLOG_MAX_PROOF * 32];
    size_t np;
    assert_int_equal(tlog_prove_inclusion(&src, 733, 1000, proof, &np), 0);
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(tlog_proof_format(&b, 733, proof, np, true, (const uint8_t *)"ctx", 3,
                                       signed_cp.p, signed_cp.len), 0);
    /* the exact text */
    pbuf want;
    pbuf_init(&want);
    pbuf_puts(&want, "c2sp.org/tlog-proof@v1\nextra Y3R4\nindex 733\n");
    for (size_t i = 0; i < np; i++) {
        tlog_b64_encode(&want, proof + 32 * i, 32);
        pbuf_putc(&want, '\n');
    }
    pbuf_putc(&want, '\n');
    pbuf_put(&want, signed_cp.p, signed_cp.len);
    ASSERT_MEM(b.p, b.len, want.p, want.len);
    pbuf_free(&want);

    tlog_proof pr;
    assert_int_equal(tlog_proof_parse(b.p, b.len, &pr, NULL), 0);
    assert_int_equal(pr.index, 733);
    assert_true(pr.has_extra);
    ASSERT_MEM(pr.extra, pr.extra_len, "Y3R4", 4);
    assert_int_equal(pr.nproof, np);
    assert_memory_equal(pr.proof, proof, np * 32);
    ASSERT_MEM(pr.checkpoint, pr.checkpoint_len, signed_cp.p, signed_cp.len);
    /* formats back to the same bytes */
    uint8_t extra[8];
    size_t xl;
    assert_int_equal(tlog_b64_decode(pr.extra, pr.extra_len, extra, sizeof extra, &xl), 0);
    pbuf b2;
    pbuf_init(&b2);
    assert_int_equal(tlog_proof_format(&b2, pr.index, pr.proof[0], pr.nproof, pr.has_extra, extra,
                                       xl, pr.checkpoint, pr.checkpoint_len), 0);
    ASSERT_MEM(b2.p, b2.len, b.p, b.len);
    pbuf_free(&b2);

    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    assert_int_equal(tlog_proof_verify(b.p, b.len, leaves + 32 * 733, "example.com/registry", &lv,
                                       &wv, 1, &pr, &n, &cp, ctx), 0);
    assert_int_equal(tlog_note_count_by(&n, &wv, 1), 1);
    assert_int_equal(cp.size, 1000);
    /* another leaf, another origin, another key */
    assert_int_equal(tlog_proof_verify(b.p, b.len, leaves + 32 * 734, "example.com/registry", &lv,
                                       NULL, 0, NULL, NULL, NULL, ctx), TLOG_EVERIFY);
    assert_int_equal(tlog_proof_verify(b.p, b.len, leaves + 32 * 733, "example.com/x", &lv,
                                       NULL, 0, NULL, NULL, NULL, ctx), TLOG_EVERIFY);
    tlog_verifier ov;
    tlog_signer_verifier(&log, &ov);
    ov.pub[0] ^= 1; /* same name and ID, another key: its signature fails */
    assert_int_equal(tlog_proof_verify(b.p, b.len, leaves + 32 * 733, "example.com/registry", &ov,
                                       NULL, 0, NULL, NULL, NULL, ctx), TLOG_EVERIFY);
    /* a witness's cosignature never stands in for the log's signature */
    assert_int_equal(tlog_proof_verify(b.p, b.len, leaves + 32 * 733, "example.com/registry", &wv,
                                       NULL, 0, NULL, NULL, NULL, ctx), PROV_EINVAL);

    /* no extra, the empty proof of a one-entry tree */
    pbuf one;
    pbuf_init(&one);
    assert_int_equal(tlog_checkpoint_sign(&one, &log, "example.com/registry", 1, leaves, NULL, 0, NULL), 0);
    pbuf_free(&b);
    pbuf_init(&b);
    assert_int_equal(tlog_proof_format(&b, 0, NULL, 0, false, NULL, 0, one.p, one.len), 0);
    static const char head0[] = "c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/registry\n1\n";
    assert_true(!strncmp((char *)b.p, head0, sizeof head0 - 1));
    assert_int_equal(tlog_proof_verify(b.p, b.len, leaves, "example.com/registry", &lv, NULL, 0,
                                       &pr, NULL, NULL, ctx), 0);
    assert_false(pr.has_extra);
    assert_int_equal(pr.nproof, 0);
    pbuf_free(&one);

    /* malformed proofs */
    static const char *bad[] = {
        "c2sp.org/tlog-proof@v2\nindex 0\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        "c2sp.org/tlog-proof@v1\nindex \n\nx",
        "c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\nx",
        "c2sp.org/tlog-proof@v1\nextra Zg==\nextra Zg==\nindex 0\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 0\n",
        "c2sp.org/tlog-proof@v1\nindex 0\n\n",
        "c2sp.org/tlog-proof@v1\r\nindex 0\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 0",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (tlog_proof_parse((const uint8_t *)bad[i], strlen(bad[i]), &pr, NULL) != PROV_EFORMAT)
            fail_msg("accepted bad tlog-proof %zu", i);
    /* 65 hashes is more than any inclusion proof */
    pbuf_free(&b);
    pbuf_init(&b);
    pbuf_puts(&b, "c2sp.org/tlog-proof@v1\nindex 0\n");
    for (int i = 0; i < 65; i++) pbuf_puts(&b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    pbuf_puts(&b, "\nx");
    assert_int_equal(tlog_proof_parse(b.p, b.len, &pr, NULL), PROV_ELIMIT);
    pbuf_free(&b);

    prov_ctx_free(ctx);
    pbuf_free(&signed_cp);
    pbuf_free(&cpb);
    free(leaves);
    tlog_memtree_free(&t);
    tlog_signer_wipe(&log);
    tlog_signer_wipe(&w);
}

/* ---- speed sanity (printed, not a pass/fail threshold) ------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void test_speed_inclusion(void **st)
{
    (void)st;
    const uint64_t N = 100000;
    tlog_memtree t;
    uint8_t *leaves;
    build(&t, &leaves, N);
    tlog_hashsrc src = tlog_memtree_hashsrc(&t);
    uint8_t root[32];
    assert_int_equal(tlog_tree_hash(&src, N, root), 0);
    uint8_t *proofs = malloc(N * 17 * 32);
    uint8_t *lens = malloc(N);
    assert_non_null(proofs);
    double t0 = now_s();
    for (uint64_t i = 0; i < N; i++) {
        size_t np;
        uint8_t p[TLOG_MAX_PROOF * 32];
        assert_int_equal(tlog_prove_inclusion(&src, i, N, p, &np), 0);
        assert_true(np <= 17);
        memcpy(proofs + i * 17 * 32, p, np * 32);
        lens[i] = (uint8_t)np;
    }
    double t1 = now_s();
    size_t bad = 0;
    for (uint64_t i = 0; i < N; i++)
        bad += tlog_verify_inclusion(i, N, leaves + 32 * i, proofs + i * 17 * 32, lens[i], root) != 0;
    double t2 = now_s();
    assert_int_equal(bad, 0);
    print_message("speed: %llu inclusion proofs (tree of %llu, ~17 hashes each): "
                  "generated %.0f/s, verified %.0f/s\n",
                  (unsigned long long)N, (unsigned long long)N, N / (t1 - t0), N / (t2 - t1));
    free(proofs);
    free(lens);
    free(leaves);
    tlog_memtree_free(&t);
}


/* ---- ECDSA signature lines (signed-note type 0x02) ---------------------- */

/* An ECDSA key's note signer and verifier: P-256 and P-384 keys sign a
 * note that verifies, with the key ID the spec names (the first 4 bytes
 * of SHA-256 of the DER SPKI); a changed text, a signature by another
 * key, a non-DER signature, a compressed or foreign key and a signer of
 * the wrong algorithm are refused. */
static void test_ecdsa_note(void **st)
{
    (void)st;
    static const char text[] = "example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    int algs[2] = {PROV_ALG_ES256, PROV_ALG_ES384};
    for (int a = 0; a < 2; a++) {
        prov_key *k, *other;
        assert_int_equal(prov_key_generate_alg(algs[a], &k), 0);
        assert_int_equal(prov_key_generate_alg(algs[a], &other), 0);
        uint8_t *spki, *ospki;
        size_t sl, osl;
        assert_int_equal(prov_key_public_der(k, &spki, &sl), 0);
        assert_int_equal(prov_key_public_der(other, &ospki, &osl), 0);
        int alg = 0;
        assert_int_equal(tlog_ecdsa_spki_check(spki, sl, &alg), 0);
        assert_int_equal(alg, algs[a]);
        prov_signer ps, ops;
        prov_signer_from_key(&ps, k);
        prov_signer_from_key(&ops, other);
        tlog_signer s, os;
        assert_int_equal(tlog_signer_external_ecdsa(&s, "cam.example/key", spki, sl, &ps), 0);
        /* a signer that signs with another key's algorithm */
        prov_key *wrong;
        prov_signer wps;
        assert_int_equal(prov_key_generate_alg(a ? PROV_ALG_ES256 : PROV_ALG_ES384, &wrong), 0);
        prov_signer_from_key(&wps, wrong);
        assert_int_equal(tlog_signer_external_ecdsa(&os, "cam.example/key", spki, sl, &wps), PROV_EINVAL);
        prov_key_free(wrong);
        uint8_t h[32];
        crypto_hash_sha256(h, spki, sl);
        assert_int_equal(s.id, (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]);
        pbuf note;
        pbuf_init(&note);
        assert_int_equal(tlog_note_sign(&note, text, sizeof text - 1, NULL, 0, &s, 1, 0, NULL), 0);
        tlog_verifier v, ov;
        assert_int_equal(tlog_verifier_init_ecdsa(&v, "cam.example/key", spki, sl), 0);
        assert_int_equal(v.id, s.id);
        tlog_verifiers vs = {.list = &v, .n = 1};
        tlog_note *n = malloc(sizeof *n);
        assert_int_equal(tlog_note_open(note.p, note.len, &vs, n, NULL), 0);
        assert_int_equal(n->nverified, 1);
        /* each signature is fresh (ECDSA is randomised), both verify */
        pbuf note2;
        pbuf_init(&note2);
        assert_int_equal(tlog_note_sign(&note2, text, sizeof text - 1, NULL, 0, &s, 1, 0, NULL), 0);
        assert_int_equal(tlog_note_open(note2.p, note2.len, &vs, n, NULL), 0);
        /* a changed text */
        uint8_t *bad = malloc(note.len);
        memcpy(bad, note.p, note.len);
        bad[16] ^= 1; /* the tree size */
        assert_int_equal(tlog_note_open(bad, note.len, &vs, n, NULL), TLOG_EVERIFY);
        free(bad);
        /* another key under the same name: its ID differs, so it is an
         * unknown key; with the other key's ID forced, a bad signature */
        assert_int_equal(tlog_verifier_init_ecdsa(&ov, "cam.example/key", ospki, osl), 0);
        tlog_verifiers ovs = {.list = &ov, .n = 1};
        assert_int_equal(tlog_note_open(note.p, note.len, &ovs, n, NULL), PROV_ENOTFOUND);
        ov.id = v.id;
        assert_int_equal(tlog_note_open(note.p, note.len, &ovs, n, NULL), TLOG_EVERIFY);
        /* the raw signature: DER verifies; the same r, s in a longer
         * (non-DER) INTEGER does not */
        uint8_t sig[TLOG_RAWSIG_MAX + 8];
        size_t siglen;
        assert_int_equal(tlog_sig_make(&s, 0, text, sizeof text - 1, sig, &siglen), 0);
        assert_true(siglen >= 8 && siglen <= TLOG_ECDSA_SIG_MAX && sig[0] == 0x30);
        assert_int_equal(tlog_sig_check(&v, text, sizeof text - 1, sig, siglen, NULL), 0);
        uint8_t loose[TLOG_RAWSIG_MAX + 8];
        size_t rl = sig[3]; /* r's length */
        loose[0] = 0x30, loose[1] = (uint8_t)(sig[1] + 1), loose[2] = 0x02, loose[3] = (uint8_t)(rl + 1), loose[4] = 0;
        memcpy(loose + 5, sig + 4, siglen - 4);
        assert_int_equal(tlog_sig_check(&v, text, sizeof text - 1, loose, siglen + 1, NULL), TLOG_EVERIFY);
        assert_int_equal(tlog_sig_check(&v, text, sizeof text - 1, sig, siglen - 1, NULL), TLOG_EVERIFY);
        assert_int_equal(tlog_sig_check(&v, text, sizeof text - 1, sig, 3, NULL), TLOG_EVERIFY);
        /* r || s straight (COSE's form) is not a note signature */
        uint8_t rs[96];
        assert_int_equal(ps.sign(ps.user, (const uint8_t *)text, sizeof text - 1, rs, ps.sig_len), 0);
        assert_int_equal(tlog_sig_check(&v, text, sizeof text - 1, rs, ps.sig_len, NULL), TLOG_EVERIFY);
        /* keys: the compressed form names the same key but is not the one
         * text: refused as given, accepted once made canonical */
        EVP_PKEY *e = NULL;
        const unsigned char *pp = spki;
        e = d2i_PUBKEY(NULL, &pp, (long)sl);
        assert_non_null(e);
        assert_int_equal(EVP_PKEY_set_utf8_string_param(e, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
        unsigned char *cder = NULL;
        int cl = i2d_PUBKEY(e, &cder);
        assert_true(cl > 0 && (size_t)cl < sl);
        assert_int_equal(tlog_ecdsa_spki_check(cder, (size_t)cl, NULL), PROV_EFORMAT);
        assert_int_equal(tlog_verifier_init_ecdsa(&ov, "x", cder, (size_t)cl), PROV_EFORMAT);
        uint8_t canon[TLOG_SPKI_MAX];
        size_t canl;
        assert_int_equal(tlog_ecdsa_spki_canonical(cder, (size_t)cl, canon, &canl), 0);
        assert_int_equal(canl, sl);
        assert_memory_equal(canon, spki, sl);
        OPENSSL_free(cder);
        EVP_PKEY_free(e);
        /* a truncated key */
        assert_int_equal(tlog_ecdsa_spki_check(spki, sl - 1, NULL), PROV_EFORMAT);
        free(n);
        pbuf_free(&note), pbuf_free(&note2);
        prov_free(spki), prov_free(ospki);
        prov_key_free(k), prov_key_free(other);
    }
    /* an Ed25519 key and a P-521 key are not ECDSA note keys here */
    prov_key *ed;
    uint8_t *der;
    size_t dl;
    assert_int_equal(prov_key_generate(&ed), 0);
    assert_int_equal(prov_key_public_der(ed, &der, &dl), 0);
    assert_int_equal(tlog_ecdsa_spki_check(der, dl, NULL), PROV_EUNSUPPORTED);
    prov_free(der), prov_key_free(ed);
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    assert_non_null(p521);
    unsigned char *pd = NULL;
    int pl = i2d_PUBKEY(p521, &pd);
    assert_true(pl > 0);
    assert_int_equal(tlog_ecdsa_spki_check(pd, (size_t)pl, NULL), PROV_EFORMAT); /* longer than any key we hold */
    uint8_t canon[TLOG_SPKI_MAX];
    size_t canl;
    assert_int_not_equal(tlog_ecdsa_spki_canonical(pd, (size_t)pl, canon, &canl), 0);
    OPENSSL_free(pd);
    EVP_PKEY_free(p521);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_text_rules),
        cmocka_unit_test(test_note_keys),
        cmocka_unit_test(test_note_keys_mangled),
        cmocka_unit_test(test_key_roundtrip),
        cmocka_unit_test(test_note_sign_vectors),
        cmocka_unit_test(test_note_lookup),
        cmocka_unit_test(test_note_open_vectors),
        cmocka_unit_test(test_note_open_edges),
        cmocka_unit_test(test_external_signer),
        cmocka_unit_test(test_merkle_vectors),
        cmocka_unit_test(test_merkle_generate),
        cmocka_unit_test(test_merkle_large_sizes),
        cmocka_unit_test(test_memtree),
        cmocka_unit_test(test_checkpoint_parse),
        cmocka_unit_test(test_checkpoint_gosum_vectors),
        cmocka_unit_test(test_checkpoint_sign_open),
        cmocka_unit_test(test_cosig),
        cmocka_unit_test(test_tile_paths),
        cmocka_unit_test(test_bundles),
        cmocka_unit_test(test_tilesrc),
        cmocka_unit_test(test_tessera_log),
        cmocka_unit_test(test_tessera_tamper),
        cmocka_unit_test(test_tlog_proof),
        cmocka_unit_test(test_speed_inclusion),
        cmocka_unit_test(test_ecdsa_note),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_vec);
    return rc;
}
