/* tst.c - RFC 3161 time-stamp tokens carried in C2PA signatures (sigTst,
 * sigTst2).  A token's time replaces "now" when a certificate's validity
 * is judged, so it is believed only when everything checks (C2PA 2.2,
 * 15.8): it covers this signature, its CMS signature verifies, its TSA
 * chains to a TSA anchor with the timeStamping purpose, at its own time. */
#include "x509.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKEN (1u << 20)

const char *prov_tst_code(int result)
{
    switch (result) {
    case PROV_TST_TRUSTED: return "timeStamp.trusted";
    case PROV_TST_UNTRUSTED: return "timeStamp.untrusted";
    case PROV_TST_MISMATCH: return "timeStamp.mismatch";
    case PROV_TST_OUTSIDE: return "timeStamp.outsideValidity";
    default: return "timeStamp.malformed";
    }
}

/* The system CA bundle, loaded once on first need (a verifier that meets
 * no time-stamp never reads it). */
static X509_STORE *sys_store;
static pthread_once_t sys_once = PTHREAD_ONCE_INIT;

static void load_system(void)
{
    X509_STORE *st = X509_STORE_new();
    if (!st) return;
    const char *f = getenv(X509_get_default_cert_file_env());
    if (!f || !*f) f = X509_get_default_cert_file();
    if (X509_STORE_load_file(st, f) != 1) {
        X509_STORE_free(st);
        st = NULL;
    }
    ERR_clear_error();
    sys_store = st;
}

static int asn1_time(const ASN1_TIME *a, int64_t *out)
{
    struct tm tm;
    if (!a || !ASN1_TIME_to_tm(a, &tm)) return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* 1 when the TSA's chain reaches an anchor of st at time `at`, with the
 * time-stamping purpose on the leaf. */
static int chain_ok(X509_STORE *st, X509 *signer, STACK_OF(X509) *extra, int64_t at, char *why, size_t cap)
{
    if (!st) return 0;
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    int ok = 0;
    if (sctx && X509_STORE_CTX_init(sctx, st, signer, extra)) {
        X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(sctx);
        X509_VERIFY_PARAM_set_time(p, (time_t)at);
        X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
        X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_TIMESTAMP_SIGN);
        ok = X509_verify_cert(sctx) == 1;
        if (!ok && why && cap)
            snprintf(why, cap, "TSA certificate: %s",
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
    }
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return ok;
}

static PKCS7 *parse_token(const uint8_t *tok, size_t len)
{
    const unsigned char *p = tok;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (!p7) { /* older writers stored the whole TimeStampResp */
        p = tok;
        TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)len);
        PKCS7 *t = resp ? TS_RESP_get_token(resp) : NULL;
        p7 = t ? PKCS7_dup(t) : NULL;
        TS_RESP_free(resp);
    }
    ERR_clear_error();
    return p7;
}

static int check(const prov_trust *t, int chain, const uint8_t *tok, size_t len, const uint8_t *msg,
                 size_t msg_len, int64_t *when, char *tsa, size_t tsa_cap, char *why, size_t why_cap)
{
    if (why && why_cap) why[0] = 0;
    if (tsa && tsa_cap) tsa[0] = 0;
#define WHY(...) (why && why_cap ? snprintf(why, why_cap, __VA_ARGS__) : 0)
    if (!tok || len == 0 || len > MAX_TOKEN) {
        WHY("time-stamp token empty or too large");
        return PROV_TST_MALFORMED;
    }
    PKCS7 *p7 = parse_token(tok, len);
    if (!p7) {
        WHY("time-stamp token does not parse");
        return PROV_TST_MALFORMED;
    }
    int rc = PROV_TST_MALFORMED;
    TS_TST_INFO *info = NULL;
    STACK_OF(X509) *signers = NULL;
    BIO *out = NULL;
    STACK_OF(PKCS7_SIGNER_INFO) *sis;
    if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !(info = PKCS7_to_TS_TST_INFO(p7)) ||
        !(sis = PKCS7_get_signer_info(p7)) || sk_PKCS7_SIGNER_INFO_num(sis) != 1) {
        WHY("not a time-stamp token with one signer");
        goto done;
    }
    STACK_OF(X509) *certs = p7->d.sign->cert;
    signers = PKCS7_get0_signers(p7, NULL, 0);
    X509 *signer = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
    if (!signer) {
        rc = PROV_TST_UNTRUSTED;
        WHY("time-stamp token does not carry its signer's certificate");
        goto done;
    }
    if (tsa && tsa_cap) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(signer), NID_commonName, tsa, (int)tsa_cap);
        ERR_clear_error();
    }
    /* the CMS signature (over the signed attributes, whose message digest
     * covers the TSTInfo) with the signer's own key; its chain is checked
     * below at the token's time */
    if (!(out = BIO_new(BIO_s_mem())) || PKCS7_verify(p7, certs, NULL, NULL, out, PKCS7_NOVERIFY) != 1) {
        rc = PROV_TST_UNTRUSTED;
        WHY("time-stamp signature does not verify");
        goto done;
    }
    int64_t at;
    if (asn1_time(TS_TST_INFO_get_time(info), &at)) {
        WHY("time-stamp has no readable time");
        goto done;
    }
    /* genTime is the token's time (RFC 3161 2.4.2); a CMS signingTime
     * attribute, when a TSA adds one, is not what it vouches for */
    int64_t margin = 0;
    const TS_ACCURACY *acc = TS_TST_INFO_get_accuracy(info);
    if (acc) {
        const ASN1_INTEGER *s = TS_ACCURACY_get_seconds(acc);
        long v = s ? ASN1_INTEGER_get(s) : 0;
        if (v > 0 && v < 86400) margin = v;
        if (TS_ACCURACY_get_millis(acc) || TS_ACCURACY_get_micros(acc)) margin++;
    }
    int64_t nb, na;
    if (asn1_time(X509_get0_notBefore(signer), &nb) || asn1_time(X509_get0_notAfter(signer), &na)) {
        WHY("TSA certificate has unreadable validity");
        goto done;
    }
    if (at < nb - margin || at > na + margin) {
        rc = PROV_TST_OUTSIDE;
        WHY("time-stamp outside its TSA certificate's validity");
        goto done;
    }
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(info);
    X509_ALGOR *alg = mi ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
    ASN1_OCTET_STRING *want = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
    const EVP_MD *md = alg ? EVP_get_digestbyobj(alg->algorithm) : NULL;
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;
    if (!md || !want) {
        rc = PROV_TST_UNTRUSTED;
        WHY("time-stamp imprint algorithm unknown");
        goto done;
    }
    if (!EVP_Digest(msg, msg_len, got, &got_len, md, NULL) || (int)got_len != ASN1_STRING_length(want) ||
        memcmp(got, ASN1_STRING_get0_data(want), got_len)) {
        rc = PROV_TST_MISMATCH;
        WHY("time-stamp covers other data than this signature");
        goto done;
    }
    /* the TSA: its own anchors and the signers' (the trust's), then the
     * system bundle */
    int ok = !chain || (t && chain_ok(t->tsa_store, signer, certs, at, why, why_cap));
    if (!ok && (!t || t->system_tsa)) {
        pthread_once(&sys_once, load_system);
        ok = chain_ok(sys_store, signer, certs, at, why, why_cap);
    }
    if (!ok) {
        rc = PROV_TST_UNTRUSTED;
        if (why && why_cap && !why[0]) WHY("time-stamp authority not trusted");
        goto done;
    }
    if (why && why_cap) why[0] = 0;
    *when = at;
    rc = PROV_TST_TRUSTED;
done:
    sk_X509_free(signers);
    BIO_free(out);
    TS_TST_INFO_free(info);
    PKCS7_free(p7);
    ERR_clear_error();
    return rc;
#undef WHY
}

int prov_tst_check(const prov_trust *t, const uint8_t *tok, size_t len, const uint8_t *msg, size_t msg_len,
                   int64_t *when, char *tsa, size_t tsa_cap, char *why, size_t why_cap)
{
    return check(t, 1, tok, len, msg, msg_len, when, tsa, tsa_cap, why, why_cap);
}

int prov_tst_check_nochain(const uint8_t *tok, size_t len, const uint8_t *msg, size_t msg_len, int64_t *when)
{
    return check(NULL, 0, tok, len, msg, msg_len, when, NULL, 0, NULL, 0);
}
