/* test_tst.c - trusted time (RFC 3161 tokens in C2PA signatures) and the
 * trust policy: a time-stamp authority run in-process with OpenSSL's TS
 * responder (what `openssl ts -reply` uses), so its clock can be set; a
 * signer whose certificate has expired; forged, foreign and untrusted
 * tokens; the trust configuration (anchors, allowed certificates, EKUs,
 * TSA anchors) and its file. */
#include "testutil.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prov.h"
#include "x509.h"

static prov_ctx *ctx;
static uint8_t *jpeg;
static size_t jpeg_len;
static time_t now;

/* ---- certificates ---------------------------------------------------- */

static EVP_PKEY *ec_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    return k;
}

static void ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for key, valid from now+nb to now+na seconds, issued by
 * issuer (NULL: self-signed).  eku: an extendedKeyUsage value or NULL. */
static X509 *cert(EVP_PKEY *key, const char *cn, EVP_PKEY *ikey, X509 *issuer, long nb, long na, int ca,
                  const char *ku, const char *eku)
{
    static long serial = 1000;
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"prov tests", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_NAME_free(n);
    X509_time_adj_ex(X509_getm_notBefore(x), 0, nb, &now);
    X509_time_adj_ex(X509_getm_notAfter(x), 0, na, &now);
    X509_set_pubkey(x, key);
    ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    ext(x, issuer, NID_key_usage, ku);
    ext(x, issuer, NID_subject_key_identifier, "hash");
    ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (eku) ext(x, issuer, NID_ext_key_usage, eku);
    assert_true(X509_sign(x, ikey ? ikey : key, EVP_PKEY_get_base_id(ikey ? ikey : key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) > 0);
    return x;
}

static char *pem_of(X509 *const *xs, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    for (size_t i = 0; i < n; i++) PEM_write_bio_X509(b, xs[i]);
    char *p;
    long len = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)len + 1);
    memcpy(out, p, (size_t)len);
    out[len] = 0;
    BIO_free(b);
    return out;
}

/* ---- an in-process time-stamp authority -------------------------------- */

typedef struct tsa {
    EVP_PKEY *key;
    X509 *cert, *root;
    time_t time;           /* the time it stamps */
    int imprint_other;     /* 1: stamp other bytes than asked (a token of another file) */
} tsa;

static TS_RESP_CTX *tsa_time_ctx;

static int time_cb(TS_RESP_CTX *c, void *data, long *sec, long *usec)
{
    (void)c;
    *sec = (long)((tsa *)data)->time;
    *usec = 0;
    return 1;
}

static ASN1_INTEGER *serial_cb(TS_RESP_CTX *c, void *data)
{
    (void)c, (void)data;
    static long n = 1;
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, n++);
    return s;
}

/* The prov_timestamp_fn: a TimeStampReq for msg, answered by the TS
 * responder, its token handed back. */
static int tsa_stamp(void *user, const uint8_t *msg, size_t msg_len, uint8_t **token, size_t *token_len)
{
    tsa *t = user;
    uint8_t h[32];
    if (t->imprint_other) {
        static const char other[] = "the signature of another file";
        SHA256((const uint8_t *)other, sizeof other, h);
    } else {
        SHA256(msg, msg_len, h);
    }
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    TS_MSG_IMPRINT_set_algo(mi, alg);
    TS_MSG_IMPRINT_set_msg(mi, h, 32);
    TS_REQ_set_version(req, 1);
    TS_REQ_set_msg_imprint(req, mi);
    TS_REQ_set_cert_req(req, 1);
    unsigned char *der = NULL;
    int dl = i2d_TS_REQ(req, &der);
    BIO *in = BIO_new_mem_buf(der, dl);
    TS_RESP_CTX *rc = TS_RESP_CTX_new();
    TS_RESP_CTX_set_signer_cert(rc, t->cert);
    TS_RESP_CTX_set_signer_key(rc, t->key);
    ASN1_OBJECT *pol = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
    TS_RESP_CTX_set_def_policy(rc, pol);
    TS_RESP_CTX_add_md(rc, EVP_sha256());
    TS_RESP_CTX_set_time_cb(rc, time_cb, t);
    TS_RESP_CTX_set_serial_cb(rc, serial_cb, NULL);
    STACK_OF(X509) *extra = sk_X509_new_null();
    sk_X509_push(extra, t->root);
    TS_RESP_CTX_set_certs(rc, extra);
    TS_RESP *resp = TS_RESP_create_response(rc, in);
    int ok = -1;
    PKCS7 *tok = resp ? TS_RESP_get_token(resp) : NULL;
    if (tok) {
        unsigned char *td = NULL;
        int tl = i2d_PKCS7(tok, &td);
        if (tl > 0 && (*token = malloc((size_t)tl))) {
            memcpy(*token, td, (size_t)tl);
            *token_len = (size_t)tl;
            ok = 0;
        }
        OPENSSL_free(td);
    }
    TS_RESP_free(resp);
    sk_X509_free(extra);
    ASN1_OBJECT_free(pol);
    TS_RESP_CTX_free(rc);
    BIO_free(in);
    OPENSSL_free(der);
    TS_REQ_free(req);
    TS_MSG_IMPRINT_free(mi);
    X509_ALGOR_free(alg);
    (void)tsa_time_ctx;
    return ok;
}

static void tsa_make(tsa *t, long nb, long na)
{
    memset(t, 0, sizeof *t);
    EVP_PKEY *rk = ec_key();
    t->root = cert(rk, "Test TSA Root", NULL, NULL, -400 * 86400L, 3650 * 86400L, 1, "critical,keyCertSign,cRLSign", NULL);
    t->key = ec_key();
    t->cert = cert(t->key, "Test TSA", rk, t->root, nb, na, 0, "critical,digitalSignature", "critical,timeStamping");
    EVP_PKEY_free(rk);
    t->time = now;
}

static void tsa_free(tsa *t)
{
    EVP_PKEY_free(t->key);
    X509_free(t->cert);
    X509_free(t->root);
}

/* ---- a signer ----------------------------------------------------------- */

typedef struct who {
    prov_key *key;
    prov_chain *chain;
    char *root_pem;
    X509 *root, *leaf;
} who;

/* A signer whose leaf is valid from now+nb to now+na; eku as given. */
static void who_make(who *w, long nb, long na, const char *eku)
{
    memset(w, 0, sizeof *w);
    EVP_PKEY *rk = ec_key();
    w->root = cert(rk, "Test Root", NULL, NULL, -400 * 86400L, 3650 * 86400L, 1, "critical,keyCertSign,cRLSign", NULL);
    assert_int_equal(prov_key_generate(&w->key), 0);
    EVP_PKEY *pk = prov_key_evp(w->key);
    w->leaf = cert(pk, "Test Signer", rk, w->root, nb, na, 0, "critical,digitalSignature", eku);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(rk);
    char *pem = pem_of(&w->leaf, 1);
    assert_int_equal(prov_chain_from_pem(ctx, pem, strlen(pem), &w->chain), 0);
    free(pem);
    w->root_pem = pem_of(&w->root, 1);
}

static void who_free(who *w)
{
    prov_key_free(w->key);
    prov_chain_free(w->chain);
    free(w->root_pem);
    X509_free(w->root);
    X509_free(w->leaf);
}

static uint8_t *sign_with(who *w, tsa *t, size_t *out_len)
{
    prov_sign_opts o = {0};
    o.no_soft_binding = 1;
    if (t) {
        o.timestamp = tsa_stamp;
        o.timestamp_user = t;
    }
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, w->key);
    prov_stream_mem(&si, jpeg, jpeg_len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(ctx, &o, &s, w->chain, &si, &so);
    if (rc) fail_msg("sign: %s: %s", prov_strerror(rc), prov_errmsg(ctx));
    *out_len = ob.len;
    return ob.data;
}

static prov_report *verify_mem(const uint8_t *p, size_t n, const prov_trust *t)
{
    prov_verify_opts vo = {.trust = t};
    prov_stream s;
    prov_stream_mem(&s, p, n);
    prov_report *r;
    assert_int_equal(prov_verify(ctx, &vo, &s, &r), 0);
    return r;
}

/* A trust with the signer's root, TSA anchors as given, no system bundle
 * (a test must not depend on the machine's CAs). */
static prov_trust *trust_of(who *w, tsa *t)
{
    prov_trust *tr;
    assert_int_equal(prov_trust_new(&tr), 0);
    prov_trust_system_tsa(tr, 0);
    if (w) assert_int_equal(prov_trust_add_pem(ctx, tr, w->root_pem, strlen(w->root_pem)), 0);
    if (t) {
        char *p = pem_of(&t->root, 1);
        assert_int_equal(prov_trust_add_tsa_pem(ctx, tr, p, strlen(p)), 0);
        free(p);
    }
    return tr;
}

static int has_failure(const prov_report *r, const char *code)
{
    for (size_t i = 0; i < prov_report_code_count(r, PROV_CODE_FAILURE); i++)
        if (!strcmp(prov_report_code(r, PROV_CODE_FAILURE, i), code)) return 1;
    return 0;
}

static int has_kind(const prov_report *r, int kind, const char *code)
{
    for (size_t i = 0; i < prov_report_code_count(r, kind); i++)
        if (!strcmp(prov_report_code(r, kind, i), code)) return 1;
    return 0;
}

#define DAY 86400L

/* ---- the tests ---------------------------------------------------------- */

/* A valid certificate, a trusted TSA: the token verifies and is trusted. */
static void test_trusted_time(void **state)
{
    (void)state;
    who w;
    tsa t;
    who_make(&w, -DAY, 365 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&t, -10 * DAY, 3650 * DAY);
    size_t n;
    uint8_t *p = sign_with(&w, &t, &n);
    prov_trust *tr = trust_of(&w, &t);
    prov_report *r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_true(has_kind(r, PROV_CODE_SUCCESS, "timeStamp.trusted"));
    assert_true(has_kind(r, PROV_CODE_SUCCESS, "timeStamp.validated"));
    prov_report_free(r);
    /* the same file without the TSA among the anchors: the token is
     * reported untrusted; the certificate is valid now anyway */
    prov_trust *tr2 = trust_of(&w, NULL);
    r = verify_mem(p, n, tr2);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_true(has_kind(r, PROV_CODE_INFO, "timeStamp.untrusted"));
    prov_report_free(r);
    prov_trust_free(tr);
    prov_trust_free(tr2);
    free(p);
    who_free(&w);
    tsa_free(&t);
}

/* The certificate expired 10 days ago; a trusted TSA stamped it 20 days
 * ago, inside its validity: the signature still holds. */
static void test_expired_cert_trusted_time(void **state)
{
    (void)state;
    who w;
    tsa t;
    who_make(&w, -30 * DAY, -10 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&t, -100 * DAY, 3650 * DAY);
    t.time = now - 20 * DAY;
    size_t n;
    uint8_t *p = sign_with(&w, &t, &n);
    prov_trust *tr = trust_of(&w, &t);
    prov_report *r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    assert_false(has_failure(r, "signingCredential.expired"));
    assert_true(has_kind(r, PROV_CODE_SUCCESS, "claimSignature.insideValidity"));
    prov_report_free(r);
    /* without a time-stamp the same certificate is expired */
    free(p);
    p = sign_with(&w, NULL, &n);
    r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    assert_true(has_failure(r, "signingCredential.expired"));
    prov_report_free(r);
    prov_trust_free(tr);
    free(p);
    who_free(&w);
    tsa_free(&t);
}

/* A forged token: a self-made TSA dated inside the expired certificate's
 * validity.  It verifies cryptographically but chains to no TSA anchor:
 * timeStamp.untrusted, and the certificate is judged now: expired. */
static void test_forged_tsa(void **state)
{
    (void)state;
    who w;
    tsa forger, real;
    who_make(&w, -30 * DAY, -10 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&forger, -100 * DAY, 3650 * DAY);
    tsa_make(&real, -100 * DAY, 3650 * DAY);
    forger.time = now - 20 * DAY;
    size_t n;
    uint8_t *p = sign_with(&w, &forger, &n);
    prov_trust *tr = trust_of(&w, &real); /* a real TSA is trusted, not the forger */
    prov_report *r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    assert_true(has_failure(r, "signingCredential.expired"));
    assert_true(has_kind(r, PROV_CODE_INFO, "timeStamp.untrusted"));
    assert_false(has_kind(r, PROV_CODE_SUCCESS, "timeStamp.trusted"));
    prov_report_free(r);
    prov_trust_free(tr);
    /* the system bundle does not know a self-made TSA either */
    assert_int_equal(prov_trust_new(&tr), 0);
    assert_int_equal(prov_trust_add_pem(ctx, tr, w.root_pem, strlen(w.root_pem)), 0);
    r = verify_mem(p, n, tr);
    assert_true(has_failure(r, "signingCredential.expired"));
    prov_report_free(r);
    prov_trust_free(tr);
    free(p);
    who_free(&w);
    tsa_free(&forger);
    tsa_free(&real);
}

/* A genuine token from the trusted TSA, but over other bytes (lifted from
 * another file): timeStamp.mismatch, judged now. */
static void test_token_of_another_file(void **state)
{
    (void)state;
    who w;
    tsa t;
    who_make(&w, -30 * DAY, -10 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&t, -100 * DAY, 3650 * DAY);
    t.time = now - 20 * DAY;
    t.imprint_other = 1;
    size_t n;
    uint8_t *p = sign_with(&w, &t, &n);
    prov_trust *tr = trust_of(&w, &t);
    prov_report *r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    assert_true(has_failure(r, "signingCredential.expired"));
    assert_true(has_kind(r, PROV_CODE_INFO, "timeStamp.mismatch"));
    prov_report_free(r);
    prov_trust_free(tr);
    free(p);
    who_free(&w);
    tsa_free(&t);
}

/* The TSA's own certificate was not valid at the time it claims. */
static void test_tsa_outside_validity(void **state)
{
    (void)state;
    who w;
    tsa t;
    who_make(&w, -30 * DAY, -10 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&t, -5 * DAY, 3650 * DAY); /* the TSA's certificate is 5 days old */
    t.time = now - 20 * DAY;
    size_t n;
    uint8_t *p = sign_with(&w, &t, &n);
    prov_trust *tr = trust_of(&w, &t);
    prov_report *r = verify_mem(p, n, tr);
    assert_true(has_failure(r, "signingCredential.expired"));
    assert_true(has_kind(r, PROV_CODE_INFO, "timeStamp.outsideValidity"));
    prov_report_free(r);
    prov_trust_free(tr);
    free(p);
    who_free(&w);
    tsa_free(&t);
}

/* A token larger than the room reserved fails the signing cleanly. */
static void test_token_too_large(void **state)
{
    (void)state;
    who w;
    tsa t;
    who_make(&w, -DAY, 365 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&t, -10 * DAY, 3650 * DAY);
    prov_sign_opts o = {0};
    o.no_soft_binding = 1;
    o.timestamp = tsa_stamp;
    o.timestamp_user = &t;
    o.timestamp_reserve = 64;
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, w.key);
    prov_stream_mem(&si, jpeg, jpeg_len);
    prov_stream_outbuf(&so, &ob);
    assert_int_equal(prov_sign(ctx, &o, &s, w.chain, &si, &so), PROV_ELIMIT);
    assert_non_null(strstr(prov_errmsg(ctx), "does not fit"));
    free(ob.data);
    who_free(&w);
    tsa_free(&t);
}

/* The allowed list, the EKU list and the configuration file. */
static void test_trust_policy(void **state)
{
    (void)state;
    who w;
    who_make(&w, -DAY, 365 * DAY, "1.3.6.1.4.1.62558.2.1"); /* C2PA claim signing only */
    size_t n;
    uint8_t *p = sign_with(&w, NULL, &n);
    /* the default EKUs accept the C2PA purpose */
    prov_trust *tr = trust_of(&w, NULL);
    prov_report *r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    /* an EKU list without it refuses the certificate */
    assert_int_equal(prov_trust_set_ekus(ctx, tr, "1.3.6.1.5.5.7.3.4, 1.3.6.1.5.5.7.3.36"), 0);
    r = verify_mem(p, n, tr);
    assert_true(has_failure(r, "signingCredential.invalid"));
    prov_report_free(r);
    assert_int_equal(prov_trust_set_ekus(ctx, tr, "1.2.3 not-an-oid"), PROV_EFORMAT);
    prov_trust_free(tr);
    /* no anchor, but the leaf on the allowed list: trusted as it is */
    char *leaf = pem_of(&w.leaf, 1);
    assert_int_equal(prov_trust_new(&tr), 0);
    r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_VALID);
    prov_report_free(r);
    assert_int_equal(prov_trust_add_allowed_pem(ctx, tr, leaf, strlen(leaf)), 0);
    r = verify_mem(p, n, tr);
    assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
    prov_report_free(r);
    prov_trust_free(tr);
    /* the same through a configuration file */
    tu_write(tu_path("roots.pem"), w.root_pem, strlen(w.root_pem));
    tu_write(tu_path("leaf.pem"), leaf, strlen(leaf));
    const char *conf = "# a test configuration\n"
                       "anchors = roots.pem\n"
                       "allowed = leaf.pem   # trusted as it is\n"
                       "ekus = 1.3.6.1.5.5.7.3.4 1.3.6.1.5.5.7.3.36\n"
                       "tsa_anchors = roots.pem\n"
                       "system_tsa = no\n";
    tu_write(tu_path("trust.conf"), conf, strlen(conf));
    assert_int_equal(prov_trust_new(&tr), 0);
    assert_int_equal(prov_trust_load_config(ctx, tr, tu_path("trust.conf")), 0);
    r = verify_mem(p, n, tr);
    assert_true(has_failure(r, "signingCredential.invalid")); /* the EKU list */
    prov_report_free(r);
    prov_trust_free(tr);
    /* errors name the file and line */
    const char *bad = "anchors = roots.pem\nfrobnicate = yes\n";
    tu_write(tu_path("bad.conf"), bad, strlen(bad));
    assert_int_equal(prov_trust_new(&tr), 0);
    assert_int_equal(prov_trust_load_config(ctx, tr, tu_path("bad.conf")), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "bad.conf:2"));
    prov_trust_free(tr);
    const char *missing = "tsa_anchors = nowhere.pem\n";
    tu_write(tu_path("missing.conf"), missing, strlen(missing));
    assert_int_equal(prov_trust_new(&tr), 0);
    assert_int_equal(prov_trust_load_config(ctx, tr, tu_path("missing.conf")), PROV_ENOTFOUND);
    prov_trust_free(tr);
    free(leaf);
    free(p);
    who_free(&w);
}

/* Hostile tokens straight to the checker: never a crash, never trusted. */
static void test_hostile_tokens(void **state)
{
    (void)state;
    who w;
    tsa t;
    who_make(&w, -DAY, 365 * DAY, "1.3.6.1.5.5.7.3.36");
    tsa_make(&t, -10 * DAY, 3650 * DAY);
    uint8_t *tok;
    size_t tl;
    const uint8_t msg[] = "message";
    assert_int_equal(tsa_stamp(&t, msg, sizeof msg, &tok, &tl), 0);
    prov_trust *tr = trust_of(NULL, &t);
    int64_t when;
    assert_int_equal(prov_tst_check(tr, tok, tl, msg, sizeof msg, &when, NULL, 0, NULL, 0), PROV_TST_TRUSTED);
    assert_true(when >= now - 5 && when <= now + 5);
    int64_t t0 = when;
    int still = 0;
    for (size_t i = 0; i < tl; i++) { /* every single-byte change */
        uint8_t *c = malloc(tl);
        memcpy(c, tok, tl);
        c[i] ^= 0x01;
        int64_t w2 = 0;
        if (prov_tst_check(tr, c, tl, msg, sizeof msg, &w2, NULL, 0, NULL, 0) == PROV_TST_TRUSTED) {
            /* a flip in bytes nothing relies on (the copy of the root the
             * token carries, which the anchor replaces) may keep it
             * trusted; the time it proves may never change */
            assert_true(w2 == t0);
            still++;
        }
        free(c);
    }
    print_message("single-byte flips still trusted (bytes nothing relies on): %d of %zu\n", still, tl);
    for (size_t k = 0; k < tl; k += 7) /* every truncation */
        assert_int_not_equal(prov_tst_check(tr, tok, k, msg, sizeof msg, &when, NULL, 0, NULL, 0), PROV_TST_TRUSTED);
    /* the right token for other bytes */
    assert_int_equal(prov_tst_check(tr, tok, tl, msg, sizeof msg - 1, &when, NULL, 0, NULL, 0), PROV_TST_MISMATCH);
    free(tok);
    prov_trust_free(tr);
    who_free(&w);
    tsa_free(&t);
}

static int setup(void **state)
{
    (void)state;
    now = time(NULL);
    jpeg = tu_read("samples/teapot.jpg", &jpeg_len);
    return prov_ctx_new(&ctx);
}

static int teardown(void **state)
{
    (void)state;
    free(jpeg);
    prov_ctx_free(ctx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_time),
        cmocka_unit_test(test_expired_cert_trusted_time),
        cmocka_unit_test(test_forged_tsa),
        cmocka_unit_test(test_token_of_another_file),
        cmocka_unit_test(test_tsa_outside_validity),
        cmocka_unit_test(test_token_too_large),
        cmocka_unit_test(test_trust_policy),
        cmocka_unit_test(test_hostile_tokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
