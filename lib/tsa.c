/* tsa.c - an RFC 3161 time-stamp authority over HTTP(S): the request
 * (SHA-256 imprint, a random nonce, certReq), the response checked
 * (granted, our nonce, our imprint) before its token is handed back. */
#include "dl.h"
#include "x509.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ts.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (1u << 20)

typedef struct body {
    uint8_t *p;
    size_t n;
    int over;
} body;

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
    body *b = u;
    size_t n = sz * nm;
    if (b->n + n > MAX_RESPONSE) {
        b->over = 1;
        return 0;
    }
    uint8_t *p = realloc(b->p, b->n + n + 1);
    if (!p) return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    return n;
}

/* The DER TimeStampReq for msg; nonce gets the random nonce. */
static int make_request(const uint8_t *msg, size_t msg_len, ASN1_INTEGER **nonce, unsigned char **der, int *der_len)
{
    int rc = PROV_ECRYPTO;
    uint8_t h[32], nb[16];
    SHA256(msg, msg_len, h);
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    BIGNUM *bn = NULL;
    *nonce = NULL;
    *der = NULL;
    if (!req || !mi || !alg || RAND_bytes(nb, sizeof nb) != 1) goto out;
    nb[0] &= 0x7F; /* a positive INTEGER */
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) || !TS_MSG_IMPRINT_set_algo(mi, alg) ||
        !TS_MSG_IMPRINT_set_msg(mi, h, sizeof h) || !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) ||
        !TS_REQ_set_cert_req(req, 1) || !(bn = BN_bin2bn(nb, sizeof nb, NULL)) ||
        !(*nonce = BN_to_ASN1_INTEGER(bn, NULL)) || !TS_REQ_set_nonce(req, *nonce))
        goto out;
    *der_len = i2d_TS_REQ(req, der);
    rc = *der_len > 0 ? 0 : PROV_ECRYPTO;
out:
    BN_free(bn);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    ERR_clear_error();
    return rc;
}

/* The token of a granted response, if it answers our request. */
static int take_token(const uint8_t *resp, size_t n, const uint8_t *msg, size_t msg_len, const ASN1_INTEGER *nonce,
                      uint8_t **token, size_t *token_len)
{
    const unsigned char *p = resp;
    TS_RESP *r = d2i_TS_RESP(NULL, &p, (long)n);
    int rc = PROV_ETIMESTAMP;
    if (!r) goto out;
    long st = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(r)));
    PKCS7 *tok = TS_RESP_get_token(r);
    TS_TST_INFO *info = TS_RESP_get_tst_info(r);
    if ((st != 0 && st != 1) || !tok || !info) goto out; /* granted or grantedWithMods */
    const ASN1_INTEGER *rn = TS_TST_INFO_get_nonce(info);
    if (!rn || ASN1_INTEGER_cmp(rn, nonce)) goto out;
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(info);
    ASN1_OCTET_STRING *hm = TS_MSG_IMPRINT_get_msg(mi);
    uint8_t h[32];
    SHA256(msg, msg_len, h);
    if (OBJ_obj2nid(TS_MSG_IMPRINT_get_algo(mi)->algorithm) != NID_sha256 || ASN1_STRING_length(hm) != 32 ||
        memcmp(ASN1_STRING_get0_data(hm), h, 32))
        goto out;
    unsigned char *der = NULL;
    int dl = i2d_PKCS7(tok, &der);
    if (dl <= 0) goto out;
    *token = malloc((size_t)dl);
    if (*token) {
        memcpy(*token, der, (size_t)dl);
        *token_len = (size_t)dl;
        rc = 0;
    }
    OPENSSL_free(der);
out:
    TS_RESP_free(r);
    ERR_clear_error();
    return rc;
}

int prov_tsa_http(void *url, const uint8_t *msg, size_t msg_len, uint8_t **token, size_t *token_len)
{
    if (!url || !msg || !token || !token_len) return PROV_EINVAL;
    *token = NULL;
    *token_len = 0;
    char why[256];
    const struct prov_curl_api *c = prov_curl(why, sizeof why);
    if (!c) return PROV_EUNSUPPORTED;
    ASN1_INTEGER *nonce;
    unsigned char *req;
    int req_len;
    int rc = make_request(msg, msg_len, &nonce, &req, &req_len);
    if (rc) return rc;
    CURL *e = c->curl_easy_init();
    struct curl_slist *hdr = c->curl_slist_append(NULL, "Content-Type: application/timestamp-query");
    body b = {0};
    rc = PROV_ETIMESTAMP;
    if (e && hdr) {
        c->curl_easy_setopt(e, CURLOPT_URL, (const char *)url);
        c->curl_easy_setopt(e, CURLOPT_POSTFIELDS, req);
        c->curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req_len);
        c->curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
        c->curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        c->curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
        c->curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        c->curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
        c->curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        c->curl_easy_setopt(e, CURLOPT_USERAGENT, "prov-tsa/1");
        long code = 0;
        if (c->curl_easy_perform(e) == CURLE_OK && !b.over &&
            c->curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
            rc = take_token(b.p, b.n, msg, msg_len, nonce, token, token_len);
    }
    if (e) c->curl_easy_cleanup(e);
    if (hdr) c->curl_slist_free_all(hdr);
    free(b.p);
    OPENSSL_free(req);
    ASN1_INTEGER_free(nonce);
    return rc;
}
