/* registry_key.c - the keys a registry names: Ed25519 (its 32 bytes) and
 * ECDSA P-256/P-384 (its SubjectPublicKeyInfo), their texts, IDs and note
 * signers.  Formats: registry.h and docs/registry.md. */
#include "registry.h"
#include "x509.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <string.h>

void reg_key_text(char out[53], const uint8_t pk[32])
{
    memcpy(out, "ed25519:", 8);
    sodium_bin2base64(out + 8, 45, pk, 32, sodium_base64_VARIANT_ORIGINAL);
}

void reg_key_id(char out[17], const uint8_t pk[32])
{
    uint8_t h[32];
    crypto_hash_sha256(h, pk, 32);
    sodium_bin2hex(out, 17, h, 8);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* lower case only: one text per key */
}

int reg_hex32(const char *s, size_t n, uint8_t out[32])
{
    if (n != 64) return PROV_EFORMAT;
    for (size_t i = 0; i < 32; i++) {
        int a = hexval((unsigned char)s[2 * i]), b = hexval((unsigned char)s[2 * i + 1]);
        if (a < 0 || b < 0) return PROV_EFORMAT;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return 0;
}

int reg_b64key(const char *s, size_t n, uint8_t pk[32])
{
    size_t got;
    if (n != 44 || tlog_b64_decode(s, n, pk, 32, &got) || got != 32) return PROV_EFORMAT;
    return 0;
}

/* ---- reg_pub ------------------------------------------------------------ */

void reg_pub_ed25519(reg_pub *k, const uint8_t pk[32])
{
    memset(k, 0, sizeof *k);
    k->alg = PROV_ALG_ED25519;
    memcpy(k->id, pk, 32);
}

int reg_pub_from_spki(reg_pub *k, const uint8_t *der, size_t len)
{
    memset(k, 0, sizeof *k);
    const unsigned char *p = der;
    EVP_PKEY *e = len && len <= 4096 ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
    if (!e || p != der + len) {
        EVP_PKEY_free(e);
        return PROV_EFORMAT;
    }
    int rc = PROV_EUNSUPPORTED;
    if (EVP_PKEY_get_base_id(e) == EVP_PKEY_ED25519) {
        uint8_t pk[32];
        size_t n = 32;
        if (EVP_PKEY_get_raw_public_key(e, pk, &n) == 1 && n == 32) reg_pub_ed25519(k, pk), rc = 0;
    } else if (EVP_PKEY_get_base_id(e) == EVP_PKEY_EC) {
        size_t n;
        int alg;
        rc = tlog_ecdsa_spki_canonical(der, len, k->spki, &n);
        if (!rc) rc = tlog_ecdsa_spki_check(k->spki, n, &alg);
        if (!rc) {
            k->alg = alg;
            k->spki_len = (uint8_t)n;
            tlog_ecdsa_key_hash(k->spki, n, k->id);
        }
    }
    EVP_PKEY_free(e);
    if (rc) memset(k, 0, sizeof *k);
    return rc;
}

int reg_pub_from_key(reg_pub *k, const prov_key *key)
{
    if (prov_key_alg(key) == PROV_ALG_ED25519) {
        uint8_t pk[32];
        prov_key_public(key, pk);
        reg_pub_ed25519(k, pk);
        return 0;
    }
    uint8_t *der = NULL;
    size_t len;
    int rc = prov_key_public_der(key, &der, &len);
    if (!rc) rc = reg_pub_from_spki(k, der, len);
    prov_free(der);
    return rc;
}

void reg_pub_text(char out[REG_KEYTEXT_MAX], const reg_pub *k)
{
    if (!reg_pub_is_ecdsa(k)) {
        reg_key_text(out, k->id);
        return;
    }
    memcpy(out, "ecdsa:", 6);
    sodium_bin2base64(out + 6, REG_KEYTEXT_MAX - 6, k->spki, k->spki_len, sodium_base64_VARIANT_ORIGINAL);
}

static int pem_pub(const char *s, size_t n, reg_pub *k)
{
    BIO *b = BIO_new_mem_buf(s, (int)n);
    EVP_PKEY *e = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int dl = e ? i2d_PUBKEY(e, &der) : 0;
    int rc = dl > 0 ? reg_pub_from_spki(k, der, (size_t)dl) : PROV_EFORMAT;
    OPENSSL_free(der);
    EVP_PKEY_free(e);
    BIO_free(b);
    return rc;
}

int reg_pub_parse(const char *s, size_t n, reg_pub *k)
{
    memset(k, 0, sizeof *k);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) n--;
    while (n && *s == ' ') s++, n--;
    if (n > 8 && (!memcmp(s, "ed25519:", 8) || !memcmp(s, "ed25519 ", 8))) {
        uint8_t pk[32];
        if (reg_b64key(s + 8, n - 8, pk)) return PROV_EFORMAT;
        reg_pub_ed25519(k, pk);
        return 0;
    }
    if (n > 6 && !memcmp(s, "ecdsa:", 6)) {
        uint8_t der[TLOG_SPKI_MAX];
        size_t got;
        int alg;
        if (n - 6 > 4 * ((TLOG_SPKI_MAX + 2) / 3) || tlog_b64_decode(s + 6, n - 6, der, sizeof der, &got) ||
            got > sizeof der || tlog_ecdsa_spki_check(der, got, &alg))
            return PROV_EFORMAT; /* only the canonical encoding names a key */
        k->alg = alg;
        k->spki_len = (uint8_t)got;
        memcpy(k->spki, der, got);
        tlog_ecdsa_key_hash(der, got, k->id);
        return 0;
    }
    if (n > 26 && !memcmp(s, "-----BEGIN PUBLIC KEY-----", 26) && n < 4096) return pem_pub(s, n, k);
    return PROV_EFORMAT;
}

int reg_key_parse(const char *s, size_t n, uint8_t pk[32])
{
    reg_pub k;
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) n--;
    while (n && *s == ' ') s++, n--;
    if (n == 64) return reg_hex32(s, n, pk);
    int rc = reg_pub_parse(s, n, &k);
    if (!rc) memcpy(pk, k.id, 32);
    return rc;
}

int reg_handle_from_cert(const uint8_t *der, size_t len, reg_pub *k)
{
    X509 *x = prov_x509_parse(der, len);
    if (!x) return PROV_ECERT;
    unsigned char *spki = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    int rc = n > 0 ? reg_pub_from_spki(k, spki, (size_t)n) : PROV_ECERT;
    OPENSSL_free(spki);
    X509_free(x);
    return rc;
}

/* ---- note signers --------------------------------------------------------- */

/* Note key names may not hold '+', so hex: "ed25519:<hex key>" or
 * "ecdsa:<hex SHA-256 of the SPKI>" (the key itself is in the entry). */
void reg_sig_name(char out[REG_SIGNAME_MAX], const reg_pub *k)
{
    const char *pre = reg_pub_is_ecdsa(k) ? "ecdsa:" : "ed25519:";
    size_t pl = strlen(pre);
    memcpy(out, pre, pl);
    sodium_bin2hex(out + pl, 65, k->id, 32);
}

int reg_signer(tlog_signer *s, const prov_signer *ps, const reg_pub *k)
{
    char name[REG_SIGNAME_MAX];
    reg_sig_name(name, k);
    if (reg_pub_is_ecdsa(k)) return tlog_signer_external_ecdsa(s, name, k->spki, k->spki_len, ps);
    return tlog_signer_external(s, name, TLOG_ALG_ED25519, k->id, ps);
}

int reg_signer_from_key(tlog_signer *s, prov_signer *ps, const prov_key *key)
{
    reg_pub k;
    int rc = reg_pub_from_key(&k, key);
    if (rc) return rc;
    prov_signer_from_key(ps, key);
    return reg_signer(s, ps, &k);
}
