/* tst.c - RFC 3161 time-stamp tokens carried in C2PA signatures (sigTst,
 * sigTst2): the signing time a certificate's validity is judged at. */
#include "x509.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <string.h>
#include <time.h>

int prov_tst_time(const uint8_t *tok, size_t len, int64_t *when)
{
    const unsigned char *p = tok;
    if (len > (1u << 20)) return PROV_ELIMIT;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (!p7) { /* older writers stored the whole TimeStampResp */
        p = tok;
        TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)len);
        PKCS7 *t = resp ? TS_RESP_get_token(resp) : NULL;
        p7 = t ? PKCS7_dup(t) : NULL;
        TS_RESP_free(resp);
        ERR_clear_error();
    }
    if (!p7) return PROV_EFORMAT;
    int rc = PROV_EFORMAT;
    TS_TST_INFO *info = PKCS7_type_is_signed(p7) ? PKCS7_to_TS_TST_INFO(p7) : NULL;
    if (info) {
        /* the token must be signed by the certificate it carries */
        STACK_OF(X509) *certs = p7->d.sign->cert;
        X509_STORE *store = X509_STORE_new();
        BIO *out = BIO_new(BIO_s_mem());
        if (store && out && PKCS7_verify(p7, certs, store, NULL, out, PKCS7_NOVERIFY) == 1) {
            const ASN1_GENERALIZEDTIME *g = TS_TST_INFO_get_time(info);
            struct tm tm;
            if (g && ASN1_TIME_to_tm(g, &tm)) {
                *when = (int64_t)timegm(&tm);
                rc = 0;
            }
        } else {
            rc = 1; /* present but does not verify */
        }
        BIO_free(out);
        X509_STORE_free(store);
        TS_TST_INFO_free(info);
    }
    PKCS7_free(p7);
    ERR_clear_error();
    return rc;
}
