/* test_world.c - the rules that make prov read the world's C2PA files as
 * c2pa-rs does (tests/interop/world, issue "verification that agrees"),
 * each with a vector made here from a file prov signs or from bytes built
 * by hand: APP11 packets numbered from 0, stray bytes between JPEG
 * segments, a hashed-URI mismatch reported once, remote manifests, claims
 * without an algorithm, 2.x manifest labels, c2pa.hash.boxes, and CAWG
 * identity claims aggregation credentials. */
#include "testutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boxhash.h"
#include "cawg.h"
#include "cbor.h"
#include "cose.h"
#include "jumbf.h"
#include "report.h"
#include "store.h"
#include "hash.h"
#include "report.h"
#include "sign.h"
#include "verify_actions.h"

static prov_ctx *ctx;
static tu_identity id;
static uint8_t *jpeg;
static size_t jpeg_len;

static uint8_t *sign_mem(const uint8_t *in, size_t len, size_t *out_len)
{
    prov_sign_opts o = {0};
    o.no_soft_binding = 1;
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, id.key);
    prov_stream_mem(&si, in, len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(ctx, &o, &s, id.chain, &si, &so);
    if (rc) fail_msg("sign: %s: %s", prov_strerror(rc), prov_errmsg(ctx));
    *out_len = ob.len;
    return ob.data;
}

static prov_report *verify_mem(const uint8_t *p, size_t n)
{
    prov_verify_opts vo = {.trust = id.trust};
    prov_stream s;
    prov_stream_mem(&s, p, n);
    prov_report *r;
    assert_int_equal(prov_verify(ctx, &vo, &s, &r), 0);
    return r;
}

static uint8_t *find(uint8_t *p, size_t n, const void *needle, size_t k)
{
    return memmem(p, n, needle, k);
}

/* ---- JPEG framing ------------------------------------------------------ */

/* Bing and Microsoft Designer number their APP11 packets from 0. */
static void test_app11_from_zero(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = sign_mem(jpeg, jpeg_len, &n);
    uint8_t *jp = find(p, n, "\xFF\xEB", 2);
    assert_non_null(jp);
    assert_memory_equal(jp + 4, "JP", 2);
    assert_int_equal(jp[8] << 24 | jp[9] << 16 | jp[10] << 8 | jp[11], 1);
    jp[11] = 0; /* Z = 0: the packets' numbers are not signed */
    prov_report *r = verify_mem(p, n);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    free(p);
}

/* Stray bytes between segments (padding after Exif, as some cameras
 * leave): read past, as readers do, both unsigned and signed. */
static void test_stray_bytes(void **state)
{
    (void)state;
    /* after the APP0 segment, two zero bytes */
    size_t app0 = 4 + (size_t)(jpeg[4] << 8 | jpeg[5]);
    assert_int_equal(jpeg[2], 0xFF);
    size_t n = jpeg_len + 2;
    uint8_t *j = malloc(n);
    memcpy(j, jpeg, app0);
    j[app0] = j[app0 + 1] = 0;
    memcpy(j + app0 + 2, jpeg + app0, jpeg_len - app0);
    prov_report *r = verify_mem(j, n);
    assert_int_equal(prov_report_state(r), PROV_STATE_UNSIGNED);
    prov_report_free(r);
    size_t sn;
    uint8_t *s = sign_mem(j, n, &sn);
    r = verify_mem(s, sn);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    /* but a file of junk is no JPEG: a clear error, quickly */
    uint8_t junk[200000];
    memset(junk, 0x11, sizeof junk);
    junk[0] = 0xFF, junk[1] = 0xD8;
    prov_stream st;
    prov_stream_mem(&st, junk, sizeof junk);
    prov_verify_opts vo = {0};
    assert_true(prov_verify(ctx, &vo, &st, &r) < 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_ERROR);
    prov_report_free(r);
    free(s);
    free(j);
}

/* ---- the manifest ------------------------------------------------------- */

/* An assertion changed after signing: its hashed URI fails, once, and it
 * is not also called undeclared. */
static void test_hashed_uri_once(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = sign_mem(jpeg, jpeg_len, &n);
    uint8_t *a = find(p, n, "c2pa.created", 12);
    assert_non_null(a);
    a[5] = 'X'; /* inside the actions assertion's CBOR */
    prov_report *r = verify_mem(p, n);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    assert_true(prov_report_has_code(r, "assertion.hashedURI.mismatch"));
    assert_false(prov_report_has_code(r, "assertion.undeclared"));
    prov_report_free(r);
    free(p);
}

/* A claim with no hash algorithm cannot be validated at all: error. */
static void test_claim_without_alg(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = sign_mem(jpeg, jpeg_len, &n);
    /* the claim's "alg" key (text of length 3: 0x63 'a' 'l' 'g') renamed:
     * the last one in the store (assertions and hashed URIs come first) */
    uint8_t *a = NULL;
    for (uint8_t *q = p; (q = find(q, n - (size_t)(q - p), "\x63" "alg" "\x66" "sha256", 11)); q++) a = q;
    assert_non_null(a);
    memcpy(a + 1, "alx", 3);
    prov_verify_opts vo = {.trust = id.trust};
    prov_stream st;
    prov_stream_mem(&st, p, n);
    prov_report *r;
    assert_int_equal(prov_verify(ctx, &vo, &st, &r), PROV_EFORMAT);
    assert_int_equal(prov_report_state(r), PROV_STATE_ERROR);
    assert_non_null(strstr(prov_errmsg(ctx), "no hash algorithm"));
    prov_report_free(r);
    free(p);
}

/* 2.x manifest labels: urn:c2pa:<uuid>[:<generator>[:<version>[_<reason>]]]. */
static void test_manifest_labels(void **state)
{
    (void)state;
    assert_true(manifest_label_ok("urn:c2pa:0d8f0a6c-2a3b-4c5d-8e9f-0123456789ab"));
    assert_true(manifest_label_ok("urn:c2pa:0d8f0a6c-2a3b-4c5d-8e9f-0123456789ab:acme"));
    assert_true(manifest_label_ok("urn:c2pa:0d8f0a6c-2a3b-4c5d-8e9f-0123456789ab:acme:2_1"));
    assert_true(manifest_label_ok("urn:uuid:0d8f0a6c-2a3b-4c5d-8e9f-0123456789ab"));
    assert_true(manifest_label_ok("adobe:urn:uuid:0d8f0a6c-2a3b-4c5d-8e9f-0123456789ab"));
    assert_false(manifest_label_ok("urn:c2pa::0d8f0a6c-2a3b-4c5d-8e9f-0123456789ab")); /* a 36-char "generator" */
    assert_false(manifest_label_ok("urn:c2pz:0d8f0a6c"));
    assert_false(manifest_label_ok("urn:c2pa:x:acme corp"));
    assert_false(manifest_label_ok("urn:c2pa:x:acme:v2"));
    assert_false(manifest_label_ok("urn:c2pa:x:a:1:extra"));
    assert_false(manifest_label_ok("c2pa"));
    /* in a file: every copy of the label changed to another namespace */
    size_t n;
    uint8_t *p = sign_mem(jpeg, jpeg_len, &n);
    for (uint8_t *q = p; (q = find(q, n - (size_t)(q - p), "urn:c2pa:", 9)); q += 9) q[7] = 'z';
    prov_report *r = verify_mem(p, n);
    assert_true(prov_report_has_code(r, "claim.malformed"));
    prov_report_free(r);
    free(p);
}

/* A file that only points to its manifest (XMP dcterms:provenance). */
static void test_remote_manifest(void **state)
{
    (void)state;
    static const char xmp[] =
        "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
        "xmlns:dcterms=\"http://purl.org/dc/terms/\" "
        "dcterms:provenance=\"https://manifests.example.com/m/urn-c2pa-1234.c2pa\"/></rdf:RDF></x:xmpmeta>";
    size_t xl = sizeof xmp - 1, n = jpeg_len + 4 + xl;
    uint8_t *j = malloc(n);
    memcpy(j, jpeg, 2);
    j[2] = 0xFF, j[3] = 0xE1, j[4] = (uint8_t)((xl + 2) >> 8), j[5] = (uint8_t)(xl + 2);
    memcpy(j + 6, xmp, xl);
    memcpy(j + 6 + xl, jpeg + 2, jpeg_len - 2);
    prov_report *r = verify_mem(j, n);
    assert_int_equal(prov_report_state(r), PROV_STATE_REMOTE);
    assert_string_equal(prov_report_remote_url(r), "https://manifests.example.com/m/urn-c2pa-1234.c2pa");
    char buf[4096];
    assert_true(prov_report_json(r, "x.jpg", buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"state\":\"remote\""));
    assert_non_null(strstr(buf, "\"remote_manifest\":\"https://manifests.example.com/m/urn-c2pa-1234.c2pa\""));
    prov_report_free(r);
    /* a reference that is no http(s) URL is no reference */
    uint8_t *u = find(j, n, "https://manifests", 17);
    memcpy(u, "file:///", 8);
    r = verify_mem(j, n);
    assert_int_equal(prov_report_state(r), PROV_STATE_UNSIGNED);
    prov_report_free(r);
    free(j);
}

/* ---- ingredients --------------------------------------------------------- */

static uint8_t *sign_as(tu_identity *who, const uint8_t *in, size_t len, size_t *out_len)
{
    prov_sign_opts o = {0};
    o.no_soft_binding = 1;
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, who->key);
    prov_stream_mem(&si, in, len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(ctx, &o, &s, who->chain, &si, &so);
    if (rc) fail_msg("sign: %s: %s", prov_strerror(rc), prov_errmsg(ctx));
    *out_len = ob.len;
    return ob.data;
}

static prov_report *verify_with(const uint8_t *p, size_t n, const prov_trust *t)
{
    prov_verify_opts vo = {.trust = t};
    prov_stream s;
    prov_stream_mem(&s, p, n);
    prov_report *r;
    assert_int_equal(prov_verify(ctx, &vo, &s, &r), 0);
    return r;
}

/* A parent signed by someone the verifier does not trust, edited and
 * re-signed by someone it does: the parent's untrusted signer was already
 * recorded in the ingredient when it was taken in, so it is no news (a
 * delta, C2PA 15.11); what changed since still is. */
static void test_ingredient_deltas(void **state)
{
    (void)state;
    tu_identity a;
    assert_int_equal(tu_identity_make(ctx, &a, "CN=Other Root,O=prov tests", "CN=Other Signer,O=prov tests"), 0);
    size_t pn, cn;
    uint8_t *parent = sign_as(&a, jpeg, jpeg_len, &pn);
    uint8_t *child = sign_as(&id, parent, pn, &cn);
    prov_report *r = verify_with(child, cn, id.trust);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_true(prov_report_has_code(r, "ingredient.manifest.validated"));
    prov_report_free(r);
    r = verify_with(child, cn, NULL);
    assert_int_equal(prov_report_state(r), PROV_STATE_VALID);
    prov_report_free(r);
    /* the parent's manifest changed inside the child: news */
    uint8_t *t = malloc(cn);
    memcpy(t, child, cn);
    uint8_t *q = find(t, cn, "Other Signer", 12);
    assert_non_null(q);
    q[0] = 'o';
    r = verify_with(t, cn, id.trust);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    assert_true(prov_report_has_code(r, "ingredient.manifest.mismatch"));
    prov_report_free(r);
    free(t);
    free(parent);
    free(child);
    tu_identity_free(&a);
}

/* C2PA 1.0-1.2 writers hashed the ingredient's claim, not its manifest
 * box (all of Adobe's 2022 test files): accepted, as c2pa-rs does. */
static void test_legacy_ingredient_hash(void **state)
{
    (void)state;
    size_t pn, cn;
    uint8_t *parent = sign_mem(jpeg, jpeg_len, &pn);
    prov_test_legacy_ingredient = 1;
    uint8_t *child = sign_mem(parent, pn, &cn);
    prov_test_legacy_ingredient = 0;
    assert_non_null(find(child, cn, "c2pa_manifest", 13));
    prov_report *r = verify_mem(child, cn);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_false(prov_report_has_code(r, "ingredient.manifest.mismatch"));
    prov_report_free(r);
    free(parent);
    free(child);
}

/* ---- c2pa.hash.boxes ---------------------------------------------------- */

/* The segments of a JPEG by a plain walk (independent of boxhash.c). */
typedef struct seg { const char *name; size_t start, len; } seg;

static size_t walk(const uint8_t *p, size_t n, seg *out)
{
    size_t k = 0, i = 0;
    static char names[64][8];
    while (i + 1 < n && k < 64) {
        uint8_t m = p[i + 1];
        size_t len;
        const char *nm = "?";
        if (m == 0xD8) { nm = "SOI"; len = 2; }
        else if (m == 0xD9) { nm = "EOI"; len = 2; }
        else {
            len = 2 + (size_t)(p[i + 2] << 8 | p[i + 3]);
            if (m >= 0xE0 && m <= 0xEF) { snprintf(names[k], 8, "APP%d", m - 0xE0); nm = names[k]; }
            else if (m == 0xDB) nm = "DQT";
            else if (m == 0xC4) nm = "DHT";
            else if (m == 0xC0) nm = "SOF0";
            else if (m == 0xC2) nm = "SOF2";
            else if (m == 0xDD) nm = "DRI";
            else if (m == 0xFE) nm = "COM";
            else if (m == 0xDA) {
                nm = "SOS";
                size_t j = i + len;
                while (j + 1 < n && !(p[j] == 0xFF && p[j + 1] != 0 && (p[j + 1] < 0xD0 || p[j + 1] > 0xD7))) j++;
                len = j - i;
            } else fail_msg("unexpected marker %02x", m);
        }
        out[k++] = (seg){nm, i, len};
        i += len;
    }
    return k;
}

/* The assertion for runs of segments [from, to) each, hashed here. */
static void box_assertion(const uint8_t *p, const seg *s, const size_t (*runs)[2], size_t nruns, pbuf *b)
{
    cbor_put_map(b, 2);
    cbor_put_text(b, "alg");
    cbor_put_text(b, "sha256");
    cbor_put_text(b, "boxes");
    cbor_put_array(b, nruns);
    for (size_t r = 0; r < nruns; r++) {
        size_t a = runs[r][0], z = runs[r][1];
        cbor_put_map(b, 3);
        cbor_put_text(b, "names");
        cbor_put_array(b, z - a);
        for (size_t i = a; i < z; i++) cbor_put_text(b, s[i].name);
        uint8_t h[32];
        sha256(p + s[a].start, s[z - 1].start + s[z - 1].len - s[a].start, h);
        cbor_put_text(b, "hash");
        cbor_put_bytes(b, h, 32);
        cbor_put_text(b, "pad");
        cbor_put_bytes(b, "", 0);
    }
}

static int run_boxes(const uint8_t *p, size_t n, const pbuf *a, size_t chunk)
{
    cval m;
    assert_int_equal(cbor_parse(a->p, a->len, 0, &m), 0);
    boxhash *b;
    const char *why;
    assert_int_equal(boxhash_new(m, &b, &why), 0);
    for (size_t i = 0; i < n; i += chunk) boxhash_feed(b, p + i, n - i < chunk ? n - i : chunk);
    char reason[160];
    int rc = boxhash_final(b, reason, sizeof reason);
    boxhash_free(b);
    return rc;
}

static void test_box_hash(void **state)
{
    (void)state;
    seg s[64];
    size_t k = walk(jpeg, jpeg_len, s);
    assert_true(k >= 6);
    assert_string_equal(s[0].name, "SOI");
    assert_string_equal(s[k - 1].name, "EOI");
    /* one run per segment, and a few segments per run */
    size_t one[64][2], few[3][2] = {{0, 2}, {2, k - 1}, {k - 1, k}};
    for (size_t i = 0; i < k; i++) one[i][0] = i, one[i][1] = i + 1;
    pbuf a1, a2;
    pbuf_init(&a1);
    pbuf_init(&a2);
    box_assertion(jpeg, s, one, k, &a1);
    box_assertion(jpeg, s, few, 3, &a2);
    size_t chunks[] = {1, 7, 4096, 1 << 20};
    for (size_t c = 0; c < 4; c++) {
        assert_int_equal(run_boxes(jpeg, jpeg_len, &a1, chunks[c]), 0);
        assert_int_equal(run_boxes(jpeg, jpeg_len, &a2, chunks[c]), 0);
    }
    /* one changed byte of image data, of a header, or a cut file: mismatch */
    uint8_t *t = malloc(jpeg_len);
    memcpy(t, jpeg, jpeg_len);
    t[jpeg_len - 100] ^= 0x04;
    assert_int_equal(run_boxes(t, jpeg_len, &a1, 4096), 1);
    memcpy(t, jpeg, jpeg_len);
    t[s[1].start + 6] ^= 0x01;
    assert_int_equal(run_boxes(t, jpeg_len, &a2, 4096), 1);
    assert_int_equal(run_boxes(jpeg, jpeg_len - 50, &a1, 4096), 1);
    /* the segments in another order than the assertion lists them */
    size_t swapped[2][2] = {{1, 2}, {0, 1}};
    pbuf a3;
    pbuf_init(&a3);
    box_assertion(jpeg, s, swapped, 2, &a3);
    assert_int_equal(run_boxes(jpeg, jpeg_len, &a3, 4096), 1);
    free(t);
    pbuf_free(&a1);
    pbuf_free(&a2);
    pbuf_free(&a3);
}

/* ---- CAWG identity claims aggregation ---------------------------------- */

typedef struct ica {
    uint8_t pk[32], sk[64];
    char did[320];
} ica;

static void ica_make(ica *c)
{
    crypto_sign_keypair(c->pk, c->sk);
    char x[64], jwk[160], b64[256];
    sodium_bin2base64(x, sizeof x, c->pk, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(jwk, sizeof jwk, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", x);
    sodium_bin2base64(b64, sizeof b64, (const uint8_t *)jwk, strlen(jwk), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(c->did, sizeof c->did, "did:jwk:%s", b64);
}

/* A signer_payload (CBOR) naming one assertion with hash h. */
static void signer_payload(pbuf *b, const uint8_t h[32])
{
    cbor_put_map(b, 2);
    cbor_put_text(b, "referenced_assertions");
    cbor_put_array(b, 1);
    cbor_put_map(b, 2);
    cbor_put_text(b, "url");
    cbor_put_text(b, "self#jumbf=c2pa.assertions/c2pa.hash.data");
    cbor_put_text(b, "hash");
    cbor_put_bytes(b, h, 32);
    cbor_put_text(b, "sig_type");
    cbor_put_text(b, "cawg.identity_claims_aggregation");
}

/* The credential (VC JSON) and its COSE_Sign1 by issuer c. */
static void credential(pbuf *out, const ica *c, const char *issuer, const char *cty, const char *valid_from,
                       const char *valid_until, const uint8_t h[32], int break_sig)
{
    char hb[64], vc[4096];
    sodium_bin2base64(hb, sizeof hb, h, 32, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(vc, sizeof vc,
                     "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\",\"https://cawg.io/identity/1.1/ica/context/\"],"
                     "\"type\":[\"VerifiableCredential\",\"IdentityClaimsAggregationCredential\"],"
                     "\"issuer\":\"%s\",%s%s%s%s%s%s"
                     "\"credentialSubject\":{\"verifiedIdentities\":[{\"type\":\"cawg.social_media\",\"username\":\"jane\","
                     "\"verifiedAt\":\"2025-01-02T03:04:05Z\",\"provider\":{\"id\":\"https://example.com\",\"name\":\"Example\"}}],"
                     "\"c2paAsset\":{\"referenced_assertions\":[{\"url\":\"self#jumbf=c2pa.assertions/c2pa.hash.data\","
                     "\"hash\":\"%s\"}],\"sig_type\":\"cawg.identity_claims_aggregation\"}}}",
                     issuer, valid_from ? "\"validFrom\":\"" : "", valid_from ? valid_from : "", valid_from ? "\"," : "",
                     valid_until ? "\"validUntil\":\"" : "", valid_until ? valid_until : "", valid_until ? "\"," : "", hb);
    pbuf prot, tbs;
    pbuf_init(&prot);
    pbuf_init(&tbs);
    cbor_put_map(&prot, cty ? 2 : 1);
    cbor_put_int(&prot, 1);
    cbor_put_int(&prot, -8);
    if (cty) {
        cbor_put_int(&prot, 3);
        cbor_put_text(&prot, cty);
    }
    cose_tbs(prot.p, prot.len, (const uint8_t *)vc, (size_t)n, &tbs);
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, tbs.p, tbs.len, c->sk);
    if (break_sig) sig[0] ^= 1;
    cbor_put_tag(out, 18);
    cbor_put_array(out, 4);
    cbor_put_bytes(out, prot.p, prot.len);
    cbor_put_map(out, 0);
    cbor_put_bytes(out, vc, (size_t)n);
    cbor_put_bytes(out, sig, 64);
    pbuf_free(&prot);
    pbuf_free(&tbs);
}

/* The ICA check of credential cred against signer_payload sp: the
 * report's failure codes, comma-joined. */
static void ica_codes(const pbuf *cred, const pbuf *sp, char *out, size_t cap)
{
    cval v;
    assert_int_equal(cbor_parse(sp->p, sp->len, 0, &v), 0);
    prov_report *r = report_new();
    cawg_check_ica(cred->p, cred->len, v, r, 0, "m");
    out[0] = 0;
    for (size_t i = 0; i < prov_report_code_count(r, PROV_CODE_FAILURE); i++) {
        if (i) strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, prov_report_code(r, PROV_CODE_FAILURE, i), cap - strlen(out) - 1);
    }
    if (prov_report_has_code(r, "cawg.ica.credential_valid")) strncat(out, "+valid", cap - strlen(out) - 1);
    prov_report_free(r);
}

static void test_ica(void **state)
{
    (void)state;
    ica c, other;
    ica_make(&c);
    ica_make(&other);
    uint8_t h[32], h2[32];
    memset(h, 0x5A, 32);
    memset(h2, 0x5B, 32);
    pbuf sp, sp2;
    pbuf_init(&sp);
    pbuf_init(&sp2);
    signer_payload(&sp, h);
    signer_payload(&sp2, h2);
    char got[512];
    struct {
        const char *name, *issuer, *cty, *from, *until;
        const ica *key;
        int break_sig, other_payload;
        const char *want;
    } cases[] = {
        /* everything checks, but no ICA issuer is trusted by default */
        {"sound", c.did, "application/vc", "2025-01-01T00:00:00Z", NULL, &c, 0, 0, ""},
        {"signed by another key", c.did, "application/vc", "2025-01-01T00:00:00Z", NULL, &other, 0, 0,
         "cawg.ica.signature_mismatch"},
        {"a flipped signature", c.did, "application/vc", "2025-01-01T00:00:00Z", NULL, &c, 1, 0,
         "cawg.ica.signature_mismatch"},
        {"no content type", c.did, NULL, "2025-01-01T00:00:00Z", NULL, &c, 0, 0, "cawg.ica.invalid_content_type"},
        {"wrong content type", c.did, "application/json", "2025-01-01T00:00:00Z", NULL, &c, 0, 0,
         "cawg.ica.invalid_content_type"},
        {"did:web (its document is on the web)", "did:web:example.com", "application/vc", "2025-01-01T00:00:00Z", NULL,
         &c, 0, 0, "cawg.ica.did_unavailable"},
        {"an unsupported DID method", "did:foo:bar", "application/vc", "2025-01-01T00:00:00Z", NULL, &c, 0, 0,
         "cawg.ica.invalid_issuer"},
        {"no validFrom", c.did, "application/vc", NULL, NULL, &c, 0, 0, "cawg.ica.valid_from.missing"},
        {"validFrom in the future", c.did, "application/vc", "2999-01-01T00:00:00Z", NULL, &c, 0, 0,
         "cawg.ica.valid_from.invalid"},
        {"validUntil past", c.did, "application/vc", "2025-01-01T00:00:00Z", "2025-06-01T00:00:00+02:00", &c, 0, 0,
         "cawg.ica.valid_until.invalid"},
        {"another signer_payload", c.did, "application/vc", "2025-01-01T00:00:00Z", NULL, &c, 0, 1,
         "cawg.ica.signer_payload.mismatch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pbuf cred;
        pbuf_init(&cred);
        credential(&cred, cases[i].key, cases[i].issuer, cases[i].cty, cases[i].from, cases[i].until, h,
                   cases[i].break_sig);
        ica_codes(&cred, cases[i].other_payload ? &sp2 : &sp, got, sizeof got);
        if (strcmp(got, cases[i].want)) fail_msg("%s: got [%s], want [%s]", cases[i].name, got, cases[i].want);
        pbuf_free(&cred);
    }
    /* not COSE, not EdDSA, not JSON */
    pbuf junk;
    pbuf_init(&junk);
    cbor_put_text(&junk, "junk");
    ica_codes(&junk, &sp, got, sizeof got);
    assert_string_equal(got, "cawg.ica.invalid_cose_sign1");
    pbuf_free(&junk);
    pbuf_free(&sp);
    pbuf_free(&sp2);
}

/* RFC 3339 times as credentials write them. */
static void test_rfc3339(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(cawg_rfc3339("2025-01-02T03:04:05Z", 20, &t), 0);
    assert_true(t == 1735787045);
    assert_int_equal(cawg_rfc3339("2025-01-02T04:04:05.123+01:00", 29, &t), 0);
    assert_true(t == 1735787045);
    assert_int_equal(cawg_rfc3339("2025-01-02T03:04:05", 19, &t), -1);
    assert_int_equal(cawg_rfc3339("2025-13-02T03:04:05Z", 20, &t), -1);
    assert_int_equal(cawg_rfc3339("2025-01-02T03:04:05Zjunk", 24, &t), -1);
}

static int setup(void **state)
{
    (void)state;
    jpeg = tu_read("samples/teapot.jpg", &jpeg_len);
    if (prov_ctx_new(&ctx)) return -1;
    return tu_identity_make(ctx, &id, "CN=World Root,O=prov tests", "CN=World Signer,O=prov tests");
}

static int teardown(void **state)
{
    (void)state;
    tu_identity_free(&id);
    prov_ctx_free(ctx);
    free(jpeg);
    return 0;
}

/* A manifest of 10,000 assertions with long labels and a claim that
 * references every one: references resolve by binary search over the
 * labels, so verifying it is linear-ish (it took ~10 s when each
 * reference scanned every label with strlen).  The bound is loose (a
 * quadratic run is 20x over it); the count of matches proves the work. */
static void test_many_assertions(void **state)
{
    (void)state;
    enum { N = 10000 };
    pbuf b, claim;
    pbuf_init(&b), pbuf_init(&claim);
    char lab[512];
    size_t st = jumbf_open_super(&b, C2PA_STORE, "c2pa");
    size_t ms = jumbf_open_super(&b, C2PA_MANIFEST, "urn:c2pa:00000000-0000-4000-8000-000000000001");
    size_t as = jumbf_open_super(&b, C2PA_ASSERTIONS, "c2pa.assertions");
    uint8_t (*hashes)[32] = malloc(N * 32);
    for (int i = 0; i < N; i++) {
        snprintf(lab, sizeof lab, "org.example.a-very-long-assertion-label-that-goes-on-and-on-%0150d", i);
        size_t a = jumbf_open_super(&b, C2PA_CBOR, lab);
        size_t c = jumbf_open(&b, BOX_CBOR);
        cbor_put_map(&b, 1);
        cbor_put_text(&b, "i");
        cbor_put_uint(&b, (uint64_t)i);
        jumbf_close(&b, c);
        jumbf_close(&b, a);
    }
    jumbf_close(&b, as);
    /* hashes of the assertion boxes as the verifier computes them */
    {
        c2pa_store tmp;
        pbuf t;
        pbuf_init(&t);
        pbuf_put(&t, b.p, b.len);
        jumbf_close(&t, ms), jumbf_close(&t, st);
        /* (parse just the assertion store: a store needs a claim to be
         * complete, but assertions parse without) */
        assert_int_equal(store_parse(NULL, t.p, t.len, &tmp), 0);
        assert_int_equal(tmp.m[0].n_assertions, N);
        for (int i = 0; i < N; i++) jsuper_hash(&tmp.m[0].assertions[i].sb, hashes[i]);
        store_free(&tmp);
        pbuf_free(&t);
    }
    cbor_put_map(&claim, 4);
    cbor_put_text(&claim, "alg");
    cbor_put_text(&claim, "sha256");
    cbor_put_text(&claim, "instanceID");
    cbor_put_text(&claim, "xmp:iid:1");
    cbor_put_text(&claim, "claim_generator_info");
    cbor_put_map(&claim, 1);
    cbor_put_text(&claim, "name");
    cbor_put_text(&claim, "hostile");
    cbor_put_text(&claim, "created_assertions");
    cbor_put_array(&claim, N);
    for (int i = 0; i < N; i++) {
        snprintf(lab, sizeof lab, "self#jumbf=c2pa.assertions/org.example.a-very-long-assertion-label-that-goes-on-and-on-%0150d", i);
        cbor_put_map(&claim, 2);
        cbor_put_text(&claim, "url");
        cbor_put_text(&claim, lab);
        cbor_put_text(&claim, "hash");
        cbor_put_bytes(&claim, hashes[i], 32);
    }
    size_t cs = jumbf_open_super(&b, C2PA_CLAIM, "c2pa.claim.v2");
    size_t cc = jumbf_open(&b, BOX_CBOR);
    pbuf_put(&b, claim.p, claim.len);
    jumbf_close(&b, cc);
    jumbf_close(&b, cs);
    size_t ss = jumbf_open_super(&b, C2PA_SIGNATURE, "c2pa.signature");
    size_t sc = jumbf_open(&b, BOX_CBOR);
    cbor_put_tag(&b, 18);
    cbor_put_array(&b, 0);
    jumbf_close(&b, sc);
    jumbf_close(&b, ss);
    jumbf_close(&b, ms);
    jumbf_close(&b, st);
    assert_false(b.err);
    prov_ctx *vctx;
    prov_ctx_new(&vctx);
    prov_report *r = report_new();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    verify_store(vctx, NULL, b.p, b.len, r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("10,000 assertions, 10,000 references: %.3f s\n", secs);
    /* every reference resolved and matched; none undeclared */
    assert_true(prov_report_has_code(r, "assertion.hashedURI.match"));
    assert_false(prov_report_has_code(r, "assertion.undeclared"));
    assert_false(prov_report_has_code(r, "assertion.missing"));
    assert_true(secs < 2.0);
    prov_report_free(r);
    prov_ctx_free(vctx);
    free(hashes);
    pbuf_free(&b), pbuf_free(&claim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app11_from_zero),  cmocka_unit_test(test_stray_bytes),
        cmocka_unit_test(test_hashed_uri_once),  cmocka_unit_test(test_claim_without_alg),
        cmocka_unit_test(test_manifest_labels),  cmocka_unit_test(test_remote_manifest),
        cmocka_unit_test(test_box_hash),         cmocka_unit_test(test_ica),
        cmocka_unit_test(test_ingredient_deltas), cmocka_unit_test(test_legacy_ingredient_hash),
        cmocka_unit_test(test_rfc3339),           cmocka_unit_test(test_many_assertions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
