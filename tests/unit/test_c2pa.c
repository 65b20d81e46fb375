/* test_c2pa.c - signing and verifying JPEG and PNG through the library:
 * round trips, tampering, parents, streams, signer callbacks, limits, and
 * the shared fixtures' verdicts (tests/vectors/c2pa/fixtures.tsv). */
#include "testutil.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "x509.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prov.h"

static prov_ctx *ctx;
static tu_identity id;
static prov_key *key;
static prov_chain *chain;
static prov_trust *trust;
static uint8_t *jpeg, *png;
static size_t jpeg_len, png_len;

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx) || tu_identity_make(ctx, &id, "CN=Test Root,O=prov tests", "CN=Test Signer,O=prov tests"))
        return -1;
    key = id.key;
    chain = id.chain;
    trust = id.trust;
    jpeg = tu_read("samples/teapot.jpg", &jpeg_len);
    png = tu_read("samples/kodim01.png", &png_len);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_identity_free(&id);
    prov_ctx_free(ctx);
    free(jpeg);
    free(png);
    return 0;
}

/* Sign in memory; returns the signed bytes. */
static uint8_t *sign_mem(const uint8_t *in, size_t len, const prov_sign_opts *o, size_t *out_len)
{
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, key);
    prov_stream_mem(&si, in, len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(ctx, o, &s, chain, &si, &so);
    if (rc) fail_msg("sign: %s: %s", prov_strerror(rc), prov_errmsg(ctx));
    *out_len = ob.len;
    return ob.data;
}

static prov_report *verify_mem(const uint8_t *p, size_t n, int trusted)
{
    prov_stream s;
    prov_report *r = NULL;
    prov_verify_opts vo = {.trust = trusted ? trust : NULL};
    prov_stream_mem(&s, p, n);
    prov_verify(ctx, &vo, &s, &r);
    assert_non_null(r);
    return r;
}

static int state_of(const uint8_t *p, size_t n, int trusted)
{
    prov_report *r = verify_mem(p, n, trusted);
    int st = prov_report_state(r);
    prov_report_free(r);
    return st;
}

/* Number of C2PA stores in a JPEG (first APP11 segments with "c2pa"). */
static int count_jpeg_stores(const uint8_t *p, size_t n)
{
    int stores = 0;
    for (size_t i = 2; i + 4 <= n && p[i] == 0xFF && p[i + 1] != 0xDA;) {
        size_t L = (size_t)p[i + 2] << 8 | p[i + 3];
        if (p[i + 1] == 0xEB && L > 40 && !memcmp(p + i + 4, "JP", 2) && p[i + 11] == 1 && !memcmp(p + i + 28, "c2pa", 4))
            stores++;
        i += 2 + L;
    }
    return stores;
}

static void test_jpeg_round_trip(void **state)
{
    (void)state;
    size_t n;
    prov_sign_opts o = {.title = "teapot"};
    uint8_t *s = sign_mem(jpeg, jpeg_len, &o, &n);
    assert_true(n > jpeg_len);
    prov_report *r = verify_mem(s, n, 1);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_true(prov_report_has_code(r, "claimSignature.validated"));
    assert_true(prov_report_has_code(r, "assertion.dataHash.match"));
    assert_true(prov_report_has_code(r, "signingCredential.trusted"));
    assert_int_equal(prov_report_code_count(r, PROV_CODE_FAILURE), 0);
    size_t jl = prov_report_json(r, "x.jpg", NULL, 0);
    char *js = malloc(jl + 1);
    assert_int_equal(prov_report_json(r, "x.jpg", js, jl + 1), jl);
    assert_non_null(strstr(js, "\"state\":\"trusted\""));
    assert_non_null(strstr(js, "\"subject\":\"Test Signer\""));
    assert_non_null(strstr(js, "\"alg\":\"Ed25519\""));
    assert_non_null(strstr(js, "\"action\":\"c2pa.created\""));
    free(js);
    prov_report_free(r);
    /* without anchors: valid, the only failure being trust */
    r = verify_mem(s, n, 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_VALID);
    assert_int_equal(prov_report_code_count(r, PROV_CODE_FAILURE), 1);
    assert_string_equal(prov_report_code(r, PROV_CODE_FAILURE, 0), "signingCredential.untrusted");
    prov_report_free(r);
    /* the image data itself is untouched: output minus the store == input */
    assert_int_equal(count_jpeg_stores(s, n), 1);
    free(s);
}

static void test_thumbnail(void **state)
{
    (void)state;
    size_t n;
    prov_sign_opts o = {.thumbnail = 1};
    uint8_t *s = sign_mem(png, png_len, &o, &n);
    assert_int_equal(state_of(s, n, 1), PROV_STATE_TRUSTED);
    prov_stream st;
    char *js;
    prov_stream_mem(&st, s, n);
    assert_int_equal(prov_inspect(ctx, &st, &js), 0);
    assert_non_null(strstr(js, "\"label\":\"c2pa.thumbnail.claim\""));
    prov_free(js);
    /* the thumbnail is a JPEG whose longer side is 512 */
    const uint8_t *soi = NULL;
    for (size_t i = 0; i + 3 < n && !soi; i++)
        if (!memcmp(s + i, "bidb\xFF\xD8\xFF", 7)) soi = s + i + 4;
    assert_non_null(soi);
    free(s);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    size_t n;
    uint8_t *s = sign_mem(png, png_len, NULL, &n);
    assert_int_equal(state_of(s, n, 1), PROV_STATE_TRUSTED);
    assert_memory_equal(s + 33 + 4, "caBX", 4); /* right after IHDR */
    assert_memory_equal(s + 33 + n - png_len, png + 33, png_len - 33);
    free(s);
}

/* Any single byte changed outside the manifest makes the file invalid;
 * changed inside the manifest, it is invalid or unreadable, never valid. */
static void test_tamper_every_region(void **state)
{
    (void)state;
    size_t n;
    uint8_t *s = sign_mem(jpeg, jpeg_len, NULL, &n);
    size_t step = n / 97 + 1;
    int checked = 0;
    for (size_t i = 2; i < n; i += step) {
        uint8_t *c = malloc(n);
        memcpy(c, s, n);
        c[i] ^= 0x01;
        prov_report *r = verify_mem(c, n, 1);
        int st = prov_report_state(r);
        if (st == PROV_STATE_TRUSTED || st == PROV_STATE_VALID)
            fail_msg("byte %zu flipped but state %s", i, prov_state_name(st));
        prov_report_free(r);
        free(c);
        checked++;
    }
    assert_true(checked > 90);
    free(s);
}

static void test_truncated_never_valid(void **state)
{
    (void)state;
    size_t n;
    uint8_t *s = sign_mem(png, png_len, NULL, &n);
    for (size_t cut = 0; cut < n; cut += n / 61 + 1) {
        int st = state_of(s, cut, 1);
        assert_true(st != PROV_STATE_TRUSTED && st != PROV_STATE_VALID);
    }
    free(s);
}

static void test_resign_keeps_parent(void **state)
{
    (void)state;
    size_t n1, n2, n3;
    uint8_t *s1 = sign_mem(jpeg, jpeg_len, NULL, &n1);
    prov_sign_opts o = {.action = "c2pa.color_adjustments"};
    uint8_t *s2 = sign_mem(s1, n1, &o, &n2); /* signed input: its own parent */
    assert_int_equal(count_jpeg_stores(s2, n2), 1);
    prov_report *r = verify_mem(s2, n2, 1);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_true(prov_report_has_code(r, "ingredient.manifest.validated"));
    size_t jl = prov_report_json(r, NULL, NULL, 0);
    char *js = malloc(jl + 1);
    prov_report_json(r, NULL, js, jl + 1);
    assert_non_null(strstr(js, "\"manifests\":2"));
    assert_non_null(strstr(js, "\"action\":\"c2pa.opened\""));
    assert_non_null(strstr(js, "\"action\":\"c2pa.color_adjustments\""));
    assert_non_null(strstr(js, "\"relationship\":\"parentOf\""));
    free(js);
    prov_report_free(r);
    /* and a third generation, the parent given as a separate stream */
    prov_stream ps;
    prov_stream_mem(&ps, s2, n2);
    prov_sign_opts o3 = {.parent = &ps, .parent_title = "second", .action = "c2pa.cropped"};
    uint8_t *s3 = sign_mem(jpeg, jpeg_len, &o3, &n3);
    assert_int_equal(state_of(s3, n3, 1), PROV_STATE_TRUSTED);
    r = verify_mem(s3, n3, 1);
    jl = prov_report_json(r, NULL, NULL, 0);
    js = malloc(jl + 1);
    prov_report_json(r, NULL, js, jl + 1);
    assert_non_null(strstr(js, "\"manifests\":3"));
    free(js);
    prov_report_free(r);
    free(s1);
    free(s2);
    free(s3);
}

/* A store over 64,000 bytes is split over several APP11 segments. */
static void test_large_store_splits(void **state)
{
    (void)state;
    char *title = malloc(200001);
    memset(title, 'x', 200000);
    title[200000] = 0;
    prov_sign_opts o = {.title = title};
    size_t n;
    uint8_t *s = sign_mem(jpeg, jpeg_len, &o, &n);
    int segs = 0;
    for (size_t i = 2; i + 4 <= n && s[i] == 0xFF && s[i + 1] != 0xDA;) {
        size_t L = (size_t)s[i + 2] << 8 | s[i + 3];
        if (s[i + 1] == 0xEB) {
            segs++;
            assert_true(L - 2 - 8 <= 64000 + 8);
        }
        i += 2 + L;
    }
    assert_true(segs >= 4);
    assert_int_equal(state_of(s, n, 1), PROV_STATE_TRUSTED);
    free(title);
    free(s);
}

/* A secure element: the library only sees the callback. */
static int se_calls;
static int se_sign(void *user, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_len)
{
    se_calls++;
    return crypto_sign_detached(sig, NULL, msg, len, user) == 0 && sig_len == 64 ? 0 : -1;
}
static int se_fail(void *user, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_len)
{
    return -1;
}

/* prov_sign's status (the output discarded). */
static int sign_status(const uint8_t *in, size_t len, const prov_sign_opts *o)
{
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, key);
    prov_stream_mem(&si, in, len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(ctx, o, &s, chain, &si, &so);
    free(ob.data);
    return rc;
}

/* Ingredients placed into a file: a signed one and a plain one; their
 * bounds; a definition naming files the caller did not open. */
static void test_ingredients(void **state)
{
    (void)state;
    size_t sl, ol;
    uint8_t *signed_jpeg = sign_mem(jpeg, jpeg_len, NULL, &sl);
    prov_stream a, b;
    prov_stream_mem(&a, signed_jpeg, sl);
    prov_stream_mem(&b, png, png_len);
    prov_ingredient ing[2] = {{&a, "photo.jpg"}, {&b, NULL}};
    prov_sign_opts o = {.ingredients = ing, .ningredients = 2};
    uint8_t *out = sign_mem(png, png_len, &o, &ol);
    prov_report *r = verify_mem(out, ol, 1);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    char *js = malloc(1 << 20);
    assert_true(prov_report_json(r, "x", js, 1 << 20) > 0);
    assert_non_null(strstr(js, "\"title\":\"photo.jpg\",\"format\":\"image/jpeg\",\"relationship\":\"componentOf\""));
    assert_non_null(strstr(js, "\"title\":\"ingredient\",\"format\":\"image/png\",\"relationship\":\"componentOf\""));
    assert_non_null(strstr(js, "\"action\":\"c2pa.placed\""));
    free(js);
    prov_report_free(r);
    free(out);
    /* more than 16 */
    prov_ingredient many[17];
    for (int i = 0; i < 17; i++) many[i] = (prov_ingredient){&b, "x"};
    o.ingredients = many;
    o.ningredients = 17;
    assert_int_equal(sign_status(png, png_len, &o), PROV_ELIMIT);
    /* an ingredient that is not media */
    static const uint8_t junk[64] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    prov_stream j;
    prov_stream_mem(&j, junk, sizeof junk);
    prov_ingredient bad = {&j, "junk.png"};
    o.ingredients = &bad;
    o.ningredients = 1;
    assert_true(sign_status(png, png_len, &o) < 0);
    assert_non_null(strstr(prov_errmsg(ctx), "ingredient junk.png"));
    /* a definition that names files, without them */
    static const char def[] = "{\"ingredient_paths\":[\"a.jpg\",\"b.png\"]}";
    prov_sign_opts od = {.definition = def};
    assert_int_equal(sign_status(png, png_len, &od), PROV_EINVAL);
    char **paths;
    size_t n;
    assert_int_equal(prov_definition_ingredient_paths(ctx, def, 0, &paths, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(paths[1], "b.png");
    prov_definition_paths_free(paths, n);
    assert_int_equal(prov_definition_ingredient_paths(ctx, "{}", 0, &paths, &n), 0);
    assert_int_equal(n, 0);
    assert_null(paths);
    assert_int_equal(prov_definition_ingredient_paths(ctx, "[1]", 0, &paths, &n), PROV_EINVAL);
    free(signed_jpeg);
}

static void test_signer_callback(void **state)
{
    (void)state;
    se_calls = 0;
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_stream_mem(&si, jpeg, jpeg_len);
    prov_stream_outbuf(&so, &ob);
    /* a signer that fails: the call fails and says so */
    prov_signer bad = {PROV_ALG_ED25519, 64, se_fail, NULL};
    assert_int_equal(prov_sign(ctx, NULL, &bad, chain, &si, &so), PROV_ESIGNER);
    free(ob.data);
    /* a working external signer with its own libsodium key while the
     * certificate is for `key`: the signature is checked against the chain
     * before the manifest is written, so the call fails */
    uint8_t other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    prov_signer ext = {PROV_ALG_ED25519, 64, se_sign, other_sk};
    memset(&ob, 0, sizeof ob);
    prov_stream_mem(&si, jpeg, jpeg_len);
    prov_stream_outbuf(&so, &ob);
    assert_int_equal(prov_sign(ctx, NULL, &ext, chain, &si, &so), PROV_ECERT);
    assert_int_equal(se_calls, 1);
    assert_non_null(strstr(prov_errmsg(ctx), "chain is for another key"));
    free(ob.data);
}

/* A secure element holding a P-256 key: it signs a SHA-256 digest and the
 * callback re-encodes its DER signature as r||s (include/prov.h). */
static int se_es256(void *user, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_len)
{
    uint8_t digest[32], der[80];
    size_t dlen = sizeof der;
    SHA256(msg, len, digest);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new((EVP_PKEY *)user, NULL);
    int ok = pc && sig_len == 64 && EVP_PKEY_sign_init(pc) == 1 &&
             EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 && EVP_PKEY_sign(pc, der, &dlen, digest, 32) == 1;
    EVP_PKEY_CTX_free(pc);
    const unsigned char *p = der;
    ECDSA_SIG *es = ok ? d2i_ECDSA_SIG(NULL, &p, (long)dlen) : NULL;
    const BIGNUM *r, *s;
    if (es) ECDSA_SIG_get0(es, &r, &s);
    ok = es && BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    se_calls++;
    return ok ? 0 : -1;
}

static void test_es256_secure_element(void **state)
{
    (void)state;
    prov_key *se;
    assert_int_equal(prov_key_generate_alg(PROV_ALG_ES256, &se), 0);
    uint8_t *root, *leaf;
    size_t rl, ll;
    char *pem;
    prov_chain *c;
    assert_int_equal(prov_cert_make_root(ctx, id.ca_key, "CN=SE Root", 30, &root, &rl), 0);
    assert_int_equal(prov_cert_make_leaf_for(ctx, id.ca_key, root, rl, se, "CN=Camera SE", 30, &leaf, &ll), 0);
    assert_int_equal(prov_cert_to_pem(leaf, ll, &pem), 0);
    assert_int_equal(prov_chain_from_pem(ctx, pem, strlen(pem), &c), 0);
    EVP_PKEY *ek = prov_key_evp(se); /* stands for the key inside the element */
    prov_signer s = {PROV_ALG_ES256, 64, se_es256, ek};
    se_calls = 0;
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_stream_mem(&si, jpeg, jpeg_len);
    prov_stream_outbuf(&so, &ob);
    assert_int_equal(prov_sign(ctx, NULL, &s, c, &si, &so), 0);
    assert_int_equal(se_calls, 1);
    prov_report *r = verify_mem(ob.data, ob.len, 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_VALID);
    assert_true(prov_report_has_code(r, "claimSignature.validated"));
    assert_false(prov_report_has_code(r, "claimSignature.mismatch"));
    prov_report_free(r);
    free(ob.data);
    EVP_PKEY_free(ek);
    prov_chain_free(c);
    prov_free(pem);
    prov_free(leaf);
    prov_free(root);
    prov_key_free(se);
}

/* A pipe: read callback only, no seek. */
struct pipe { const uint8_t *p; size_t n, pos; };
static long pipe_read(void *u, void *buf, size_t len)
{
    struct pipe *p = u;
    size_t k = p->n - p->pos < len ? p->n - p->pos : len;
    if (k > 1000) k = 1000; /* short reads, as a socket gives */
    memcpy(buf, p->p + p->pos, k);
    p->pos += k;
    return (long)k;
}

static void test_streams(void **state)
{
    (void)state;
    struct pipe pp = {jpeg, jpeg_len, 0};
    prov_stream si = {pipe_read, NULL, NULL, &pp, {0}}, so;
    prov_outbuf ob = {0};
    prov_stream_outbuf(&so, &ob);
    prov_signer s;
    prov_signer_from_key(&s, key);
    assert_int_equal(prov_sign(ctx, NULL, &s, chain, &si, &so), 0);
    /* verify from a pipe too */
    struct pipe vp = {ob.data, ob.len, 0};
    prov_stream vs = {pipe_read, NULL, NULL, &vp, {0}};
    prov_report *r = NULL;
    prov_verify_opts vo = {.trust = trust};
    assert_int_equal(prov_verify(ctx, &vo, &vs, &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    /* re-signing a signed pipe needs seeking: a clear error */
    struct pipe rp = {ob.data, ob.len, 0};
    prov_stream rs = {pipe_read, NULL, NULL, &rp, {0}};
    prov_outbuf ob2 = {0};
    prov_stream_outbuf(&so, &ob2);
    assert_int_equal(prov_sign(ctx, NULL, &s, chain, &rs, &so), PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "seekable"));
    free(ob.data);
    free(ob2.data);
}

static void sha(const char *path, uint8_t out[32])
{
    size_t n;
    uint8_t *p = tu_read(path, &n);
    SHA256(p, n, out);
    free(p);
}

static void test_files_atomic(void **state)
{
    (void)state;
    const char *in = tu_path("in.jpg"), *out = tu_path("out.jpg");
    tu_write(in, jpeg, jpeg_len);
    uint8_t before[32], after[32];
    sha(in, before);
    prov_signer s;
    prov_signer_from_key(&s, key);
    assert_int_equal(prov_sign_file(ctx, NULL, &s, chain, in, out), 0);
    sha(in, after);
    assert_memory_equal(before, after, 32); /* input never changed */
    prov_report *r;
    prov_verify_opts vo = {.trust = trust};
    assert_int_equal(prov_verify_file(ctx, &vo, out, &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    /* a failing sign leaves no output and no temporary file */
    const char *bad = tu_path("notimage.jpg"), *out2 = tu_path("out2.jpg");
    tu_write(bad, "hello, not an image", 19);
    assert_int_equal(prov_sign_file(ctx, NULL, &s, chain, bad, out2), PROV_EUNSUPPORTED);
    assert_int_equal(access(out2, F_OK), -1);
    assert_int_equal(tu_sh("ls %s | grep -c out2 >/dev/null", tu_tmpdir()), 1);
    /* in place: atomic replace, the file is then signed */
    assert_int_equal(prov_sign_file(ctx, NULL, &s, chain, in, in), 0);
    assert_int_equal(prov_verify_file(ctx, &vo, in, &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
}

/* Hostile and odd inputs: a clear error, never a crash. */
static void test_hostile(void **state)
{
    (void)state;
    prov_report *r;
    prov_stream s;
    /* not an image */
    prov_stream_mem(&s, "%PDF-1.7", 8);
    assert_int_equal(prov_verify(ctx, NULL, &s, &r), PROV_EUNSUPPORTED);
    assert_int_equal(prov_report_state(r), PROV_STATE_ERROR);
    prov_report_free(r);
    /* a bare manifest store (no image around it) */
    size_t n;
    uint8_t *signed_png = sign_mem(png, png_len, NULL, &n);
    uint32_t store_len = (uint32_t)signed_png[33] << 24 | signed_png[34] << 16 | signed_png[35] << 8 | signed_png[36];
    prov_stream_mem(&s, signed_png + 41, store_len);
    assert_true(prov_verify(ctx, NULL, &s, &r) < 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_ERROR);
    prov_report_free(r);
    /* a caBX chunk whose length says 4 GiB - 1 */
    uint8_t *c = malloc(n);
    memcpy(c, signed_png, n);
    c[33] = c[34] = c[35] = c[36] = 0xFF;
    assert_true(state_of(c, n, 0) == PROV_STATE_ERROR);
    /* a JUMBF superbox whose LBox runs past its chunk */
    memcpy(c, signed_png, n);
    c[41] = 0x7F;
    int st = state_of(c, n, 0);
    assert_true(st == PROV_STATE_INVALID || st == PROV_STATE_ERROR);
    /* XLBox of 2^64-1 */
    memcpy(c, signed_png, n);
    c[41] = c[42] = c[43] = 0;
    c[44] = 1;
    st = state_of(c, n, 0);
    assert_true(st == PROV_STATE_INVALID || st == PROV_STATE_ERROR);
    free(c);
    free(signed_png);
    /* a JPEG whose segment length runs past the end */
    uint8_t j[] = {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0, 'E', 'x'};
    prov_stream_mem(&s, j, sizeof j);
    assert_true(prov_verify(ctx, NULL, &s, &r) < 0);
    assert_non_null(strstr(prov_errmsg(ctx), "truncated"));
    prov_report_free(r);
}

/* Bodies over 1 MiB go through the threaded read/hash/write pipeline:
 * files, memory and short-read pipes must all give the same result. */
static void test_large_body(void **state)
{
    (void)state;
    size_t big_len = jpeg_len + (9u << 20) + 12345;
    uint8_t *big = malloc(big_len);
    memcpy(big, jpeg, jpeg_len);
    for (size_t i = jpeg_len; i < big_len; i++) big[i] = (uint8_t)(i * 2654435761u >> 24); /* after EOI */
    const char *in = tu_path("big.jpg"), *out = tu_path("big-signed.jpg");
    tu_write(in, big, big_len);
    prov_signer s;
    prov_signer_from_key(&s, key);
    assert_int_equal(prov_sign_file(ctx, NULL, &s, chain, in, out), 0);
    prov_report *r;
    prov_verify_opts vo = {.trust = trust};
    assert_int_equal(prov_verify_file(ctx, &vo, out, &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    size_t n;
    uint8_t *sgn = tu_read(out, &n);
    assert_int_equal(state_of(sgn, n, 1), PROV_STATE_TRUSTED);
    /* the tail survives byte for byte */
    assert_memory_equal(sgn + n - (big_len - jpeg_len), big + jpeg_len, big_len - jpeg_len);
    struct pipe vp = {sgn, n, 0};
    prov_stream vs = {pipe_read, NULL, NULL, &vp, {0}};
    assert_int_equal(prov_verify(ctx, &vo, &vs, &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    /* one byte changed near the end is caught */
    sgn[n - 7] ^= 0x20;
    assert_int_equal(state_of(sgn, n, 1), PROV_STATE_INVALID);
    free(sgn);
    free(big);
}

static void split(char *line, char **f, int nf)
{
    for (int i = 0; i < nf; i++) {
        f[i] = line;
        line = line ? strchr(line, '\t') : NULL;
        if (line) *line++ = 0;
    }
}

static void test_fixture_verdicts(void **state)
{
    (void)state;
    size_t n;
    char *tsv = (char *)tu_read("tests/vectors/c2pa/fixtures.tsv", &n);
    prov_trust *bundle;
    assert_int_equal(prov_trust_new(&bundle), 0);
    assert_int_equal(prov_trust_add_pem_file(ctx, bundle, tu_fixture("c2pa/certs/trust/test_cert_root_bundle.pem")), 0);
    int rows = 0, bad = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *f[4];
        split(line, f, 4);
        assert_non_null(f[3]);
        prov_verify_opts vo = {.trust = strcmp(f[1], "yes") == 0 ? bundle : NULL};
        prov_report *r;
        char path[512];
        snprintf(path, sizeof path, "c2pa/%s", f[0]);
        prov_verify_file(ctx, &vo, tu_fixture(path), &r);
        char got[1024] = "";
        size_t k = prov_report_code_count(r, PROV_CODE_FAILURE);
        /* sorted join */
        const char *codes[64];
        for (size_t i = 0; i < k && i < 64; i++) codes[i] = prov_report_code(r, PROV_CODE_FAILURE, i);
        for (size_t i = 0; i < k; i++)
            for (size_t j2 = i + 1; j2 < k; j2++)
                if (strcmp(codes[i], codes[j2]) > 0) { const char *t = codes[i]; codes[i] = codes[j2]; codes[j2] = t; }
        for (size_t i = 0; i < k; i++) {
            if (i) strcat(got, ",");
            strcat(got, codes[i]);
        }
        if (!k) strcpy(got, "-");
        const char *st = prov_state_name(prov_report_state(r));
        if (strcmp(st, f[2]) || strcmp(got, f[3])) {
            print_error("%s anchors=%s: want %s [%s], got %s [%s]\n", f[0], f[1], f[2], f[3], st, got);
            bad++;
        }
        prov_report_free(r);
        rows++;
    }
    assert_int_equal(rows, 22);
    assert_int_equal(bad, 0);
    prov_trust_free(bundle);
    free(tsv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_round_trip),   cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_thumbnail),
        cmocka_unit_test(test_tamper_every_region), cmocka_unit_test(test_truncated_never_valid),
        cmocka_unit_test(test_resign_keeps_parent), cmocka_unit_test(test_large_store_splits),
        cmocka_unit_test(test_signer_callback),
        cmocka_unit_test(test_es256_secure_element),   cmocka_unit_test(test_streams),
        cmocka_unit_test(test_ingredients),
        cmocka_unit_test(test_files_atomic),      cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_large_body),        cmocka_unit_test(test_fixture_verdicts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
