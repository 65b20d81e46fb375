/* note_ecdsa.c - ECDSA signature lines in signed notes (C2SP signed-note
 * type 0x02, as transparency-dev/witness signs them): the key is a DER
 * SubjectPublicKeyInfo on P-256 or P-384, its key ID the first four bytes
 * of SHA-256(SPKI), the signature ASN.1 DER over the text hashed with
 * SHA-256 (P-256) or SHA-384 (P-384: the hash the same key signs C2PA
 * claims with, so a token signs a note as it signs a manifest). */
#include "tlog.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <string.h>

/* The one encoding of each curve's SubjectPublicKeyInfo (named curve,
 * uncompressed point): a fixed head, 0x04, then x and y.  Checking the
 * bytes against it is exact and spares OpenSSL's DER decoders, which
 * cost more than the signature check itself. */
static const uint8_t P256_HEAD[26] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                                      0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t P384_HEAD[23] = {0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
                                      0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00};

/* The key of a canonical SPKI, its point checked to be on the curve
 * (OpenSSL refuses one that is not); NULL when it is not one. */
static EVP_PKEY *key_of(const uint8_t *spki, size_t len, int *alg)
{
    const char *group;
    size_t head;
    if (len == 91 && !memcmp(spki, P256_HEAD, sizeof P256_HEAD)) group = "prime256v1", head = 26, *alg = PROV_ALG_ES256;
    else if (len == 120 && !memcmp(spki, P384_HEAD, sizeof P384_HEAD)) group = "secp384r1", head = 23, *alg = PROV_ALG_ES384;
    else return NULL;
    if (spki[head] != 0x04) return NULL;
    OSSL_PARAM params[3] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
                            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)(spki + head),
                                                              len - head),
                            OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    if (!c || EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) k = NULL;
    EVP_PKEY_CTX_free(c);
    return k;
}

int tlog_ecdsa_spki_check(const uint8_t *spki, size_t len, int *prov_alg)
{
    if (!spki || len == 0 || len > TLOG_SPKI_MAX) return PROV_EFORMAT;
    int alg = 0;
    EVP_PKEY *k = key_of(spki, len, &alg);
    if (!k) {
        /* not one of ours: say whether it is another kind of key */
        const unsigned char *p = spki;
        EVP_PKEY *o = d2i_PUBKEY(NULL, &p, (long)len);
        int rc = o && p == spki + len && EVP_PKEY_get_base_id(o) != EVP_PKEY_EC ? PROV_EUNSUPPORTED : PROV_EFORMAT;
        EVP_PKEY_free(o);
        return rc;
    }
    EVP_PKEY_free(k);
    if (prov_alg) *prov_alg = alg;
    return 0;
}

int tlog_ecdsa_spki_canonical(const uint8_t *spki, size_t len, uint8_t *out, size_t *out_len)
{
    const unsigned char *p = spki;
    EVP_PKEY *k = len && len <= 4096 ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
    int rc = PROV_EFORMAT;
    if (!k || p != spki + len) goto out;
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC) {
        rc = PROV_EUNSUPPORTED;
        goto out;
    }
    /* a compressed point re-encodes compressed unless told otherwise */
    if (!EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed")) goto out;
    unsigned char *re = NULL;
    int n = i2d_PUBKEY(k, &re);
    if (n > 0 && (size_t)n <= TLOG_SPKI_MAX) {
        memcpy(out, re, (size_t)n);
        *out_len = (size_t)n;
        rc = tlog_ecdsa_spki_check(out, *out_len, NULL);
    }
    OPENSSL_free(re);
out:
    EVP_PKEY_free(k);
    return rc;
}

/* DER INTEGER of a big-endian unsigned value */
static size_t der_int(uint8_t *o, const uint8_t *v, size_t n)
{
    while (n > 1 && !v[0]) v++, n--;
    size_t pad = v[0] & 0x80 ? 1 : 0;
    o[0] = 0x02;
    o[1] = (uint8_t)(n + pad);
    o[2] = 0;
    memcpy(o + 2 + pad, v, n);
    return 2 + pad + n;
}

int tlog_ecdsa_der_from_raw(const uint8_t *rs, size_t n, uint8_t *out, size_t *out_len)
{
    if (n != 64 && n != 96) return PROV_EINVAL;
    uint8_t body[2 * (2 + 1 + 48)];
    size_t bl = der_int(body, rs, n / 2);
    bl += der_int(body + bl, rs + n / 2, n / 2);
    out[0] = 0x30, out[1] = (uint8_t)bl; /* at most 102: short form */
    memcpy(out + 2, body, bl);
    *out_len = bl + 2;
    return 0;
}

int tlog_ecdsa_verify(const uint8_t *spki, size_t spki_len, const char *text, size_t len,
                      const uint8_t *sig, size_t sig_len)
{
    int alg = 0;
    if (sig_len < 8 || sig_len > TLOG_ECDSA_SIG_MAX) return TLOG_EVERIFY;
    EVP_PKEY *k = key_of(spki, spki_len, &alg);
    if (!k) return TLOG_EVERIFY;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    /* OpenSSL re-encodes the signature and refuses one that is not
     * strict DER, so a signature has one form */
    int ok = md &&
             EVP_DigestVerifyInit(md, NULL, alg == PROV_ALG_ES256 ? EVP_sha256() : EVP_sha384(), NULL, k) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)text, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return ok ? 0 : TLOG_EVERIFY;
}

void tlog_ecdsa_key_hash(const uint8_t *spki, size_t len, uint8_t out[32])
{
    crypto_hash_sha256(out, spki, len);
}
