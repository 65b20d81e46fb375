/* trust.c - trust anchors, chain validation and COSE signature checks with
 * a certificate's public key. */
#include "x509.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The anchors are kept twice: as a list (to enumerate them) and in an
 * X509_STORE built as they are added, so that verifying many files does
 * not rebuild it; OpenSSL locks the store for concurrent lookups.
 * Time-stamp authorities are checked against their own store, which holds
 * the TSA anchors and the signing anchors (a root the user trusts for
 * signers is trusted for its TSAs too), and, unless turned off, the
 * system's CA bundle (trust_tsa.c). */
int prov_trust_new(prov_trust **out)
{
    if (!out) return PROV_EINVAL;
    prov_trust *t = calloc(1, sizeof *t);
    if (!t || !(t->anchors = sk_X509_new_null()) || !(t->store = X509_STORE_new()) ||
        !(t->tsa_anchors = sk_X509_new_null()) || !(t->tsa_store = X509_STORE_new())) {
        prov_trust_free(t);
        *out = NULL;
        return PROV_ENOMEM;
    }
    t->system_tsa = 1;
    *out = t;
    return 0;
}

void prov_trust_free(prov_trust *t)
{
    if (!t) return;
    sk_X509_pop_free(t->anchors, X509_free);
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->tsa_anchors, X509_free);
    X509_STORE_free(t->tsa_store);
    for (size_t i = 0; i < t->n_ekus; i++) free(t->ekus[i]);
    free(t->ekus);
    free(t->allowed);
    free(t);
}

STACK_OF(X509) *prov_trust_anchors(const prov_trust *t) { return t->anchors; }

static int collect(void *user, const uint8_t *der, size_t len, X509 *x)
{
    (void)der, (void)len;
    if (!sk_X509_push(user, x)) return PROV_ENOMEM;
    X509_up_ref(x);
    return 0;
}

/* X509_STORE_add_cert refuses a duplicate only in old OpenSSL; either way
 * a certificate already there is not an error. */
static int store_add(X509_STORE *st, X509 *x)
{
    if (X509_STORE_add_cert(st, x)) return 1;
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    return ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE;
}

/* All or nothing: the certificates are collected first and added only
 * when the whole PEM parsed.  tsa: to the time-stamp authorities only. */
static int add_pem(prov_ctx *ctx, prov_trust *t, const char *what, const char *pem, size_t len, int tsa)
{
    STACK_OF(X509) *tmp = sk_X509_new_null();
    if (!tmp) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    STACK_OF(X509) *list = tsa ? t->tsa_anchors : t->anchors;
    size_t room = PROV_MAX_ANCHORS - (size_t)sk_X509_num(list);
    int rc = prov_pem_certs(ctx, what, pem, len, room, collect, tmp);
    for (int i = 0; rc >= 0 && i < sk_X509_num(tmp); i++) {
        X509 *x = sk_X509_value(tmp, i);
        if ((!tsa && !store_add(t->store, x)) || !store_add(t->tsa_store, x) || !sk_X509_push(list, x))
            rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        else
            X509_up_ref(x);
    }
    sk_X509_pop_free(tmp, X509_free);
    ERR_clear_error();
    return rc < 0 ? rc : 0;
}

int prov_trust_add_pem(prov_ctx *ctx, prov_trust *t, const char *pem, size_t len)
{
    if (!t || !pem) return prov_seterr(ctx, PROV_EINVAL, "prov_trust_add_pem: NULL argument");
    return add_pem(ctx, t, "trust anchors", pem, len, 0);
}

int prov_trust_add_tsa_pem(prov_ctx *ctx, prov_trust *t, const char *pem, size_t len)
{
    if (!t || !pem) return prov_seterr(ctx, PROV_EINVAL, "prov_trust_add_tsa_pem: NULL argument");
    return add_pem(ctx, t, "time-stamp authority anchors", pem, len, 1);
}

int prov_trust_add_pem_file(prov_ctx *ctx, prov_trust *t, const char *path)
{
    if (!t || !path)
        return prov_seterr(ctx, PROV_EINVAL, "prov_trust_add_pem_file: NULL argument");
    uint8_t *txt;
    size_t len;
    int rc = prov_read_file(ctx, path, PROV_MAX_TRUST_FILE, &txt, &len);
    if (rc) return rc;
    rc = add_pem(ctx, t, path, (const char *)txt, len, 0);
    free(txt);
    return rc;
}

int prov_trust_add_tsa_pem_file(prov_ctx *ctx, prov_trust *t, const char *path)
{
    if (!t || !path)
        return prov_seterr(ctx, PROV_EINVAL, "prov_trust_add_tsa_pem_file: NULL argument");
    uint8_t *txt;
    size_t len;
    int rc = prov_read_file(ctx, path, PROV_MAX_TRUST_FILE, &txt, &len);
    if (rc) return rc;
    rc = add_pem(ctx, t, path, (const char *)txt, len, 1);
    free(txt);
    return rc;
}

void prov_trust_system_tsa(prov_trust *t, int on)
{
    if (t) t->system_tsa = on != 0;
}

/* ---- end-entity certificates trusted as they are ------------------- */

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

static int collect_allowed(void *user, const uint8_t *der, size_t len, X509 *x)
{
    (void)x;
    prov_trust *t = user;
    if (t->n_allowed == PROV_MAX_ANCHORS) return PROV_ELIMIT;
    uint8_t(*p)[32] = realloc(t->allowed, (t->n_allowed + 1) * sizeof *p);
    if (!p) return PROV_ENOMEM;
    t->allowed = p;
    SHA256(der, len, t->allowed[t->n_allowed++]);
    return 0;
}

int prov_trust_add_allowed_pem(prov_ctx *ctx, prov_trust *t, const char *pem, size_t len)
{
    if (!t || !pem) return prov_seterr(ctx, PROV_EINVAL, "prov_trust_add_allowed_pem: NULL argument");
    size_t n0 = t->n_allowed;
    int rc = prov_pem_certs(ctx, "allowed certificates", pem, len, PROV_MAX_ANCHORS, collect_allowed, t);
    if (rc < 0) {
        t->n_allowed = n0;
        return rc == PROV_ELIMIT ? prov_seterr(ctx, rc, "more than %d allowed certificates", PROV_MAX_ANCHORS)
                                 : rc;
    }
    qsort(t->allowed, t->n_allowed, 32, cmp32);
    return 0;
}

int prov_trust_is_allowed(const prov_trust *t, const uint8_t *der, size_t len)
{
    if (!t || !t->n_allowed) return 0;
    uint8_t h[32];
    SHA256(der, len, h);
    return bsearch(h, t->allowed, t->n_allowed, 32, cmp32) != NULL;
}

/* ---- extended key usages a signer may carry ------------------------ */

int prov_trust_set_ekus(prov_ctx *ctx, prov_trust *t, const char *oids)
{
    if (!t || !oids) return prov_seterr(ctx, PROV_EINVAL, "prov_trust_set_ekus: NULL argument");
    char **list = NULL;
    size_t n = 0;
    const char *p = oids;
    int rc = 0;
    while (*p && !rc) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n' || *p == '\r') p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t' && *e != ',' && *e != '\n' && *e != '\r') e++;
        if (e == p) break;
        size_t k = (size_t)(e - p);
        char oid[128];
        if (k >= sizeof oid || n == 64) { rc = prov_seterr(ctx, PROV_ELIMIT, "EKU list too long"); break; }
        memcpy(oid, p, k);
        oid[k] = 0;
        ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
        ASN1_OBJECT_free(o);
        ERR_clear_error();
        if (!o) { rc = prov_seterr(ctx, PROV_EFORMAT, "not an OID in dotted form: %s", oid); break; }
        char **nl = realloc(list, (n + 1) * sizeof *nl);
        if (!nl || !(nl[n] = strdup(oid))) {
            if (nl) list = nl;
            rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
            break;
        }
        list = nl;
        n++;
        p = e;
    }
    if (rc) {
        for (size_t i = 0; i < n; i++) free(list[i]);
        free(list);
        return rc;
    }
    for (size_t i = 0; i < t->n_ekus; i++) free(t->ekus[i]);
    free(t->ekus);
    t->ekus = list;
    t->n_ekus = n;
    t->ekus_set = 1;
    return 0;
}

int prov_x509_chain_trusted(const prov_trust *t, const uint8_t *const *der, const size_t *len,
                            size_t n, int64_t at_time, char *why, size_t why_cap)
{
    if (why && why_cap) why[0] = 0;
    if (!der || !len || n == 0 || n > PROV_MAX_CHAIN) return PROV_EINVAL;
    if (t && prov_trust_is_allowed(t, der[0], len[0])) return 0;
    if (!t || sk_X509_num(t->anchors) == 0) {
        if (why && why_cap) snprintf(why, why_cap, "no trust anchors");
        return 1;
    }
    int rc = PROV_ENOMEM;
    X509 *leaf = NULL;
    X509_STORE_CTX *sctx = NULL;
    STACK_OF(X509) *rest = sk_X509_new_null();
    if (!rest) goto out;
    if (!(leaf = prov_x509_parse(der[0], len[0]))) {
        rc = PROV_ECERT;
        goto out;
    }
    for (size_t i = 1; i < n; i++) {
        X509 *x = prov_x509_parse(der[i], len[i]);
        if (!x) {
            rc = PROV_ECERT;
            goto out;
        }
        if (!sk_X509_push(rest, x)) {
            X509_free(x);
            goto out;
        }
    }
    if (!(sctx = X509_STORE_CTX_new()) || !X509_STORE_CTX_init(sctx, t->store, leaf, rest))
        goto out;
    X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_time(p, at_time ? (time_t)at_time : time(NULL));
    /* An anchor may be an intermediate (as c2pa-rs allows); the chain need
     * not reach a self-signed root. */
    X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
    int ok = X509_verify_cert(sctx);
    if (ok == 1) {
        rc = 0;
    } else if (ok == 0) {
        int err = X509_STORE_CTX_get_error(sctx);
        if (why && why_cap)
            snprintf(why, why_cap, "%s (at chain depth %d)", X509_verify_cert_error_string(err),
                     X509_STORE_CTX_get_error_depth(sctx));
        rc = 1;
    } else {
        rc = PROV_ECRYPTO;
    }
out:
    X509_STORE_CTX_free(sctx);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    ERR_clear_error();
    return rc;
}

/* ---- COSE signatures ----------------------------------------------- */

/* 1 if the EC key is on the curve COSE pairs with the algorithm. */
static int ec_curve_is(EVP_PKEY *pk, int want)
{
    char g[64];
    size_t glen;
    if (!EVP_PKEY_get_group_name(pk, g, sizeof g, &glen)) return 0;
    int nid = OBJ_txt2nid(g);
    if (nid == NID_undef) nid = EC_curve_nist2nid(g);
    return nid == want;
}

/* COSE carries ECDSA as fixed-width r||s; OpenSSL wants DER. */
static unsigned char *ecdsa_der(const uint8_t *sig, size_t half, int *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    unsigned char *der = NULL;
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* owned by es now */
        *der_len = i2d_ECDSA_SIG(es, &der);
        if (*der_len <= 0) der = NULL;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

/* EVP verification: 0 valid, 1 invalid, PROV_EUNSUPPORTED if the key
 * cannot be used this way.  pss: set RSASSA-PSS parameters. */
static int evp_verify(EVP_PKEY *pk, const EVP_MD *md, int pss, const uint8_t *msg,
                      size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc = PROV_ENOMEM;
    if (!m) return rc;
    rc = PROV_EUNSUPPORTED;
    if (EVP_DigestVerifyInit(m, &pctx, md, NULL, pk) != 1) goto out;
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
        goto out;
    rc = EVP_DigestVerify(m, sig, sig_len, msg, msg_len) == 1 ? 0 : 1;
out:
    EVP_MD_CTX_free(m);
    return rc;
}

int prov_x509_pubkey_verify(const uint8_t *der, size_t len, int cose_alg, const uint8_t *msg,
                            size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    if ((!msg && msg_len) || (!sig && sig_len)) return PROV_EINVAL;
    X509 *x = prov_x509_parse(der, len);
    if (!x) return PROV_ECERT;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    int type = pk ? EVP_PKEY_get_base_id(pk) : EVP_PKEY_NONE;
    int rc = PROV_EUNSUPPORTED;
    if (!pk) {
        rc = PROV_ECERT;
    } else if (cose_alg == PROV_ALG_ED25519 && type == EVP_PKEY_ED25519) {
        /* libsodium straight from the raw key: faster than EVP for the
         * common case, and it rejects non-canonical signatures. */
        uint8_t raw[32];
        size_t rl = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(pk, raw, &rl) != 1 || rl != 32)
            rc = PROV_ECERT;
        else if (prov_crypto_init())
            rc = PROV_ECRYPTO;
        else
            rc = sig_len == 64 && !crypto_sign_verify_detached(sig, msg, msg_len, raw) ? 0 : 1;
    } else if (cose_alg == PROV_ALG_ED25519 && type == EVP_PKEY_ED448) {
        rc = sig_len == 114 ? evp_verify(pk, NULL, 0, msg, msg_len, sig, sig_len) : 1;
    } else if (cose_alg == PROV_ALG_ES256 || cose_alg == PROV_ALG_ES384 ||
               cose_alg == PROV_ALG_ES512) {
        int curve = cose_alg == PROV_ALG_ES256   ? NID_X9_62_prime256v1
                    : cose_alg == PROV_ALG_ES384 ? NID_secp384r1
                                                 : NID_secp521r1;
        size_t half = cose_alg == PROV_ALG_ES256 ? 32 : cose_alg == PROV_ALG_ES384 ? 48 : 66;
        const EVP_MD *md = cose_alg == PROV_ALG_ES256   ? EVP_sha256()
                           : cose_alg == PROV_ALG_ES384 ? EVP_sha384()
                                                        : EVP_sha512();
        if (type == EVP_PKEY_EC && ec_curve_is(pk, curve)) {
            rc = 1;
            int dl = 0;
            unsigned char *d = sig_len == 2 * half ? ecdsa_der(sig, half, &dl) : NULL;
            if (d) rc = evp_verify(pk, md, 0, msg, msg_len, d, (size_t)dl);
            OPENSSL_free(d);
        }
    } else if (cose_alg == PROV_ALG_PS256 || cose_alg == PROV_ALG_PS384 ||
               cose_alg == PROV_ALG_PS512) {
        const EVP_MD *md = cose_alg == PROV_ALG_PS256   ? EVP_sha256()
                           : cose_alg == PROV_ALG_PS384 ? EVP_sha384()
                                                        : EVP_sha512();
        if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS)
            rc = evp_verify(pk, md, 1, msg, msg_len, sig, sig_len);
    }
    X509_free(x);
    ERR_clear_error();
    return rc;
}
