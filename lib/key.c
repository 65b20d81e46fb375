/* key.c - secret keys (Ed25519; ECDSA P-256 and P-384) and their files.
 *
 * Key file format (text, so it survives copy and paste):
 *
 *   -----BEGIN PROV ED25519 PRIVATE KEY-----
 *   base64 (RFC 4648, standard alphabet, padded), lines of 64 characters
 *   -----END PROV ED25519 PRIVATE KEY-----
 *
 * The base64 holds, integers big-endian:
 *
 *   header (97 bytes)
 *     8   magic "PROVKEY1"
 *     1   kind: 0 plain, 1 Argon2id + XChaCha20-Poly1305
 *     8   Argon2id opslimit   (0 when plain)
 *     8   Argon2id memlimit, bytes (0 when plain)
 *     16  Argon2id salt       (zero when plain)
 *     24  XChaCha20 nonce     (zero when plain)
 *     32  Ed25519 public key
 *   body
 *     plain:     the 32-byte seed
 *     encrypted: the seed sealed with crypto_aead_xchacha20poly1305_ietf
 *                (32 + 16-byte tag), key = Argon2id(passphrase, salt,
 *                opslimit, memlimit), additional data = the whole header.
 *
 * A NULL passphrase stores the key plain; any other string, even "",
 * seals it.  A passphrase given for a plain key is ignored on load.
 *
 * ECDSA keys (ES256, ES384) use the same layout under their own armor
 * lines ("PROV EC P-256 PRIVATE KEY", "PROV EC P-384 PRIVATE KEY") and
 * magics ("PROVKP25", "PROVKP38"): the 32-byte public key field holds the
 * SHA-256 of the key's SubjectPublicKeyInfo, and the body is the key as
 * PKCS#8 DER (at most EC_BODY_MAX bytes; sealed as above).  The signing
 * key then lives in OpenSSL's memory, not in libsodium's locked pages.
 *
 * The public key is in the clear so a tool can name the key without the
 * passphrase; it is authenticated (AD) and, on load, must match the seed.
 * The KDF parameters are stored so they can be raised later, and bounded
 * on load so a hostile file cannot make us allocate or spin without end.
 */
#include "x509.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EC_BODY_MAX 256
/* Each kind of key: its armor label, magic and plain body length (0:
 * variable, up to EC_BODY_MAX). */
static const struct kinddef {
    int alg;
    const char *label, *magic;
    size_t body;
} KINDS[] = {
    {PROV_ALG_ED25519, "PROV ED25519 PRIVATE KEY", "PROVKEY1", 32},
    {PROV_ALG_ES256, "PROV EC P-256 PRIVATE KEY", "PROVKP25", 0},
    {PROV_ALG_ES384, "PROV EC P-384 PRIVATE KEY", "PROVKP38", 0},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])
/* Offsets in the header. */
#define OFF_KIND 8
#define OFF_OPS 9
#define OFF_MEM 17
#define OFF_SALT 25
#define OFF_NONCE 41
#define OFF_PK 65
#define KEY_HDR 97
#define KEY_REC_MAX (KEY_HDR + EC_BODY_MAX + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define KEY_MAX_FILE (64u << 10)
#define KEY_MAX_OPS 64ull
#define KEY_MAX_MEM (1ull << 30)

enum { KIND_PLAIN = 0, KIND_SEALED = 1 };

/* Lives in sodium_malloc'd memory: guard pages, no swap (mlock), read-only
 * once made, zeroed by sodium_free. */
struct prov_key {
    int alg; /* PROV_ALG_* */
    uint8_t seed[crypto_sign_SEEDBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES]; /* Ed25519; ECDSA: SHA-256 of the SPKI */
    EVP_PKEY *evp;                          /* ECDSA only */
};

static const struct kinddef *kind_of(int alg)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (KINDS[i].alg == alg) return &KINDS[i];
    return NULL;
}

int prov_crypto_init(void)
{
    /* sodium_init is itself thread-safe and idempotent (libsodium >= 1.0.11). */
    return sodium_init() < 0 ? PROV_ECRYPTO : 0;
}

static int key_from_seed(const uint8_t seed[32], prov_key **out)
{
    int rc = prov_crypto_init();
    if (rc) return rc;
    prov_key *k = sodium_malloc(sizeof *k);
    if (!k) return PROV_ENOMEM;
    memset(k, 0, sizeof *k);
    k->alg = PROV_ALG_ED25519;
    memcpy(k->seed, seed, 32);
    crypto_sign_seed_keypair(k->pk, k->sk, k->seed);
    sodium_mprotect_readonly(k);
    *out = k;
    return 0;
}

/* An ECDSA key around evp (taken): the SPKI hash as its public id. */
static int key_from_evp(EVP_PKEY *evp, int alg, prov_key **out)
{
    int rc = prov_crypto_init();
    if (rc) return rc;
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(evp, &spki);
    if (n <= 0) {
        EVP_PKEY_free(evp);
        return PROV_ECRYPTO;
    }
    prov_key *k = sodium_malloc(sizeof *k);
    if (!k) {
        OPENSSL_free(spki);
        EVP_PKEY_free(evp);
        return PROV_ENOMEM;
    }
    memset(k, 0, sizeof *k);
    k->alg = alg;
    k->evp = evp;
    crypto_hash_sha256(k->pk, spki, (unsigned long long)n);
    OPENSSL_free(spki);
    sodium_mprotect_readonly(k);
    *out = k;
    return 0;
}

static int ec_generate(int alg, prov_key **out)
{
    EVP_PKEY *evp = EVP_EC_gen(alg == PROV_ALG_ES384 ? "P-384" : "P-256");
    if (!evp) {
        ERR_clear_error();
        return PROV_ECRYPTO;
    }
    return key_from_evp(evp, alg, out);
}

int prov_key_generate_alg(int alg, prov_key **out)
{
    if (!out) return PROV_EINVAL;
    *out = NULL;
    if (alg == PROV_ALG_ES256 || alg == PROV_ALG_ES384) return ec_generate(alg, out);
    if (alg != PROV_ALG_ED25519) return PROV_EUNSUPPORTED;
    return prov_key_generate(out);
}

int prov_key_alg(const prov_key *key) { return key ? key->alg : 0; }

int prov_key_public_der(const prov_key *key, uint8_t **der, size_t *len)
{
    if (!key || !der || !len) return PROV_EINVAL;
    EVP_PKEY *e = key->evp ? key->evp : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->pk, 32);
    unsigned char *p = NULL;
    int n = e ? i2d_PUBKEY(e, &p) : 0;
    if (e != key->evp) EVP_PKEY_free(e);
    if (n <= 0) return ERR_clear_error(), PROV_ECRYPTO;
    *der = malloc((size_t)n);
    if (!*der) return OPENSSL_free(p), PROV_ENOMEM;
    memcpy(*der, p, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(p);
    return 0;
}

int prov_key_generate(prov_key **out)
{
    if (!out) return PROV_EINVAL;
    *out = NULL;
    int rc = prov_crypto_init();
    if (rc) return rc;
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    rc = key_from_seed(seed, out);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

void prov_key_public(const prov_key *key, uint8_t pk[32])
{
    if (key && pk) memcpy(pk, key->pk, 32);
}

void prov_key_free(prov_key *key)
{
    if (!key) return;
    EVP_PKEY_free(key->evp);
    sodium_free(key);
}

const uint8_t *prov_key_seed(const prov_key *k) { return k->seed; }

EVP_PKEY *prov_key_evp(const prov_key *k)
{
    if (k->evp) return EVP_PKEY_up_ref(k->evp) ? k->evp : NULL;
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, 32);
}

/* ECDSA through libcrypto: the DER signature re-encoded as COSE wants it,
 * r and s as fixed-size big-endian integers. */
static int key_sign_ec(void *user, const uint8_t *msg, size_t msg_len, uint8_t *sig, size_t sig_len)
{
    const prov_key *k = user;
    size_t half = k && k->alg == PROV_ALG_ES384 ? 48 : 32;
    if (!k || !k->evp || !sig || sig_len != 2 * half) return PROV_EINVAL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[160];
    size_t dlen = sizeof der;
    int rc = PROV_ECRYPTO;
    ECDSA_SIG *es = NULL;
    if (md && EVP_DigestSignInit(md, NULL, half == 48 ? EVP_sha384() : EVP_sha256(), NULL, k->evp) == 1 &&
        EVP_DigestSign(md, der, &dlen, msg, msg_len) == 1) {
        const unsigned char *p = der;
        es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
        const BIGNUM *r, *s;
        if (es) {
            ECDSA_SIG_get0(es, &r, &s);
            if (BN_bn2binpad(r, sig, (int)half) == (int)half && BN_bn2binpad(s, sig + half, (int)half) == (int)half)
                rc = 0;
        }
    }
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

static int key_sign(void *user, const uint8_t *msg, size_t msg_len, uint8_t *sig,
                    size_t sig_len)
{
    const prov_key *k = user;
    if (!k || !sig || sig_len != crypto_sign_BYTES) return PROV_EINVAL;
    return crypto_sign_detached(sig, NULL, msg, msg_len, k->sk) ? PROV_ECRYPTO : 0;
}

void prov_signer_from_key(prov_signer *s, const prov_key *key)
{
    if (!s) return;
    if (key && key->evp) {
        s->alg = key->alg;
        s->sig_len = key->alg == PROV_ALG_ES384 ? 96 : 64;
        s->sign = key_sign_ec;
        s->user = (void *)key;
        return;
    }
    s->alg = PROV_ALG_ED25519;
    s->sig_len = crypto_sign_BYTES;
    s->sign = key_sign;
    s->user = (void *)key; /* the callback only reads it */
}

/* ---- encoding ------------------------------------------------------ */

static void put64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)(v >> 32));
    wr32(p + 4, (uint32_t)v);
}

/* Argon2id key for the AEAD.  The derived key sits in locked memory. */
static int derive(prov_ctx *ctx, const char *path, uint8_t *key, const char *pass,
                  const uint8_t *salt, uint64_t ops, uint64_t mem)
{
    if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, pass, strlen(pass),
                      salt, ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13))
        return prov_seterr(ctx, PROV_ENOMEM, "%s: Argon2id failed (out of memory?)", path);
    return 0;
}

/* The binary key record (header + body) for key, sealed if pass. */
static int encode(prov_ctx *ctx, const char *path, const prov_key *k, const char *pass,
                  uint8_t *rec, size_t *rec_len)
{
    const struct kinddef *kd = kind_of(k->alg);
    if (!kd) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s: unknown key algorithm", path);
    memset(rec, 0, KEY_HDR);
    memcpy(rec, kd->magic, 8);
    memcpy(rec + OFF_PK, k->pk, 32);
    /* the secret: the Ed25519 seed, or the ECDSA key as PKCS#8 */
    uint8_t body[EC_BODY_MAX];
    size_t blen = 32;
    if (k->evp) {
        unsigned char *p = NULL;
        int n = i2d_PrivateKey(k->evp, &p);
        if (n <= 0 || n > EC_BODY_MAX) {
            if (p) OPENSSL_clear_free(p, (size_t)(n > 0 ? n : 0));
            ERR_clear_error();
            return prov_seterr(ctx, PROV_ECRYPTO, "%s: cannot encode the key", path);
        }
        memcpy(body, p, (size_t)n);
        OPENSSL_clear_free(p, (size_t)n);
        blen = (size_t)n;
    } else {
        memcpy(body, k->seed, 32);
    }
    if (!pass) {
        rec[OFF_KIND] = KIND_PLAIN;
        memcpy(rec + KEY_HDR, body, blen);
        *rec_len = KEY_HDR + blen;
        sodium_memzero(body, sizeof body);
        return 0;
    }
    rec[OFF_KIND] = KIND_SEALED;
    put64(rec + OFF_OPS, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    put64(rec + OFF_MEM, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    randombytes_buf(rec + OFF_SALT, crypto_pwhash_SALTBYTES);
    randombytes_buf(rec + OFF_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    uint8_t *aead_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (!aead_key) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    int rc = derive(ctx, path, aead_key, pass, rec + OFF_SALT,
                    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    if (!rc) {
        unsigned long long clen;
        crypto_aead_xchacha20poly1305_ietf_encrypt(rec + KEY_HDR, &clen, body, blen, rec, KEY_HDR, NULL,
                                                   rec + OFF_NONCE, aead_key);
        *rec_len = KEY_HDR + (size_t)clen;
    }
    sodium_free(aead_key);
    sodium_memzero(body, sizeof body);
    return rc;
}

/* The record as the PEM-like text (the caller frees it with free()). */
static char *armor(const char *label, const uint8_t *rec, size_t rec_len)
{
    char KEY_BEGIN[64], KEY_END[64];
    snprintf(KEY_BEGIN, sizeof KEY_BEGIN, "-----BEGIN %s-----", label);
    snprintf(KEY_END, sizeof KEY_END, "-----END %s-----", label);
    size_t b64_cap = sodium_base64_ENCODED_LEN(rec_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64_cap);
    size_t cap = sizeof KEY_BEGIN + sizeof KEY_END + b64_cap + b64_cap / 64 + 8;
    char *txt = malloc(cap);
    if (!b64 || !txt) {
        free(b64);
        free(txt);
        return NULL;
    }
    sodium_bin2base64(b64, b64_cap, rec, rec_len, sodium_base64_VARIANT_ORIGINAL);
    size_t n = (size_t)sprintf(txt, "%s\n", KEY_BEGIN);
    for (size_t i = 0, len = strlen(b64); i < len; i += 64)
        n += (size_t)sprintf(txt + n, "%.64s\n", b64 + i);
    sprintf(txt + n, "%s\n", KEY_END);
    sodium_memzero(b64, b64_cap);
    free(b64);
    return txt;
}

/* ---- decoding ------------------------------------------------------ */

/* Decode the text of a key file into rec (at most KEY_REC_MAX bytes)
 * and check the header.  The KDF bounds are checked here so that
 * prov_key_file_encrypted also refuses a hostile file. */
static int unarmor(prov_ctx *ctx, const char *path, const char *txt, uint8_t *rec,
                   size_t *rec_len, const struct kinddef **kdp)
{
    const struct kinddef *kd = NULL;
    const char *b = NULL, *e = NULL;
    char KEY_BEGIN[64], KEY_END[64];
    for (size_t i = 0; i < NKINDS && !kd; i++) {
        snprintf(KEY_BEGIN, sizeof KEY_BEGIN, "-----BEGIN %s-----", KINDS[i].label);
        snprintf(KEY_END, sizeof KEY_END, "-----END %s-----", KINDS[i].label);
        b = strstr(txt, KEY_BEGIN);
        e = b ? strstr(b, KEY_END) : NULL;
        if (b && e) kd = &KINDS[i];
    }
    if (!kd) return prov_seterr(ctx, PROV_EFORMAT, "%s: not a prov key file", path);
    *kdp = kd;
    b += strlen(KEY_BEGIN);
    const char *end;
    if (sodium_base642bin(rec, KEY_REC_MAX, b, (size_t)(e - b), " \t\r\n", rec_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) ||
        end != e)
        return prov_seterr(ctx, PROV_EFORMAT, "%s: bad base64 in key file", path);
    if (*rec_len < KEY_HDR || memcmp(rec, kd->magic, 8))
        return prov_seterr(ctx, PROV_EFORMAT, "%s: not a prov key (bad magic)", path);
    size_t body = *rec_len - KEY_HDR;
    if (rec[OFF_KIND] == KIND_PLAIN) {
        /* The unused KDF fields must be zero, so that every byte of a
         * plain record is checked and corruption never goes unnoticed. */
        static const uint8_t zero[56];
        if ((kd->body ? body != kd->body : (body < 1 || body > EC_BODY_MAX)) ||
            memcmp(rec + OFF_OPS, zero, sizeof zero))
            return prov_seterr(ctx, PROV_EFORMAT, "%s: corrupt key file", path);
        return 0;
    }
    if (rec[OFF_KIND] != KIND_SEALED)
        return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s: unknown key kind %u", path,
                           rec[OFF_KIND]);
    size_t tag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (kd->body ? body != kd->body + tag : (body <= tag || body > EC_BODY_MAX + tag))
        return prov_seterr(ctx, PROV_EFORMAT, "%s: bad key length", path);
    uint64_t ops = rd64(rec + OFF_OPS), mem = rd64(rec + OFF_MEM);
    if (ops > KEY_MAX_OPS || mem > KEY_MAX_MEM)
        return prov_seterr(ctx, PROV_ELIMIT,
                           "%s: key-file KDF parameters too large (opslimit %llu, "
                           "memlimit %llu)",
                           path, (unsigned long long)ops, (unsigned long long)mem);
    if (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN)
        return prov_seterr(ctx, PROV_EFORMAT, "%s: key-file KDF parameters too small", path);
    return 0;
}

static int read_record(prov_ctx *ctx, const char *path, uint8_t *rec, size_t *rec_len,
                       const struct kinddef **kd)
{
    uint8_t *txt;
    size_t len;
    int rc = prov_read_file(ctx, path, KEY_MAX_FILE, &txt, &len);
    if (rc) return rc;
    if (memchr(txt, 0, len))
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s: not a prov key file", path);
    else
        rc = unarmor(ctx, path, (const char *)txt, rec, rec_len, kd);
    sodium_memzero(txt, len);
    free(txt);
    return rc;
}

int prov_key_file_encrypted(const char *path)
{
    if (!path) return PROV_EINVAL;
    uint8_t rec[KEY_REC_MAX] = {0};
    size_t n;
    const struct kinddef *kd;
    int rc = read_record(NULL, path, rec, &n, &kd);
    int sealed = rec[OFF_KIND] == KIND_SEALED;
    sodium_memzero(rec, sizeof rec);
    return rc ? rc : sealed;
}

int prov_key_load(prov_ctx *ctx, const char *path, const char *passphrase, prov_key **out)
{
    if (!path || !out) return prov_seterr(ctx, PROV_EINVAL, "prov_key_load: NULL argument");
    *out = NULL;
    int rc = prov_crypto_init();
    if (rc) return prov_seterr(ctx, rc, "libsodium failed to initialise");
    uint8_t rec[KEY_REC_MAX], body[EC_BODY_MAX];
    size_t n, blen = 0;
    const struct kinddef *kd = NULL;
    rc = read_record(ctx, path, rec, &n, &kd);
    if (rc) goto out;
    if (rec[OFF_KIND] == KIND_PLAIN) {
        blen = n - KEY_HDR;
        memcpy(body, rec + KEY_HDR, blen);
    } else if (!passphrase) {
        rc = prov_seterr(ctx, PROV_EPASSPHRASE, "%s: key is encrypted; a passphrase is needed",
                         path);
        goto out;
    } else {
        uint8_t *aead_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
        if (!aead_key) {
            rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
            goto out;
        }
        unsigned long long ml = 0;
        rc = derive(ctx, path, aead_key, passphrase, rec + OFF_SALT, rd64(rec + OFF_OPS),
                    rd64(rec + OFF_MEM));
        if (!rc && crypto_aead_xchacha20poly1305_ietf_decrypt(body, &ml, NULL, rec + KEY_HDR,
                                                              n - KEY_HDR, rec, KEY_HDR,
                                                              rec + OFF_NONCE, aead_key))
            rc = prov_seterr(ctx, PROV_EPASSPHRASE, "%s: wrong passphrase or corrupt key file",
                             path);
        sodium_free(aead_key);
        blen = (size_t)ml;
        if (rc) goto out;
    }
    if (kd->alg == PROV_ALG_ED25519) {
        rc = key_from_seed(body, out);
    } else {
        const unsigned char *p = body;
        EVP_PKEY *evp = d2i_AutoPrivateKey(NULL, &p, (long)blen);
        int ok = evp && p == body + blen && EVP_PKEY_is_a(evp, "EC") &&
                 EVP_PKEY_get_bits(evp) == (kd->alg == PROV_ALG_ES384 ? 384 : 256);
        /* The encoding carries the public point beside the scalar: check
         * that they belong together (a damaged scalar would otherwise sign
         * with a key whose certificate names another). */
        EVP_PKEY_CTX *pc = ok ? EVP_PKEY_CTX_new_from_pkey(NULL, evp, NULL) : NULL;
        ok = ok && pc && EVP_PKEY_pairwise_check(pc) == 1;
        EVP_PKEY_CTX_free(pc);
        ERR_clear_error();
        if (!ok) {
            EVP_PKEY_free(evp);
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s: corrupt key file (not a %s key)", path, kd->label);
            goto out;
        }
        rc = key_from_evp(evp, kd->alg, out);
    }
    if (rc) {
        prov_seterr(ctx, rc, "out of memory");
        goto out;
    }
    if (sodium_memcmp((*out)->pk, rec + OFF_PK, 32)) {
        /* A damaged plain file (a sealed one authenticates the public key
         * as additional data, so only a forged one gets here). */
        prov_key_free(*out);
        *out = NULL;
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s: corrupt key file (public key mismatch)", path);
    }
out:
    sodium_memzero(rec, sizeof rec);
    sodium_memzero(body, sizeof body);
    return rc;
}

/* ---- saving -------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Put tmp at path without ever replacing a file there.  link() fails with
 * EEXIST atomically, which rename() cannot do portably; filesystems
 * without hard links fall back to check-then-rename. */
static int place(prov_ctx *ctx, const char *tmp, const char *path)
{
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return 0;
    }
    int e = errno;
    if (e == EEXIST)
        return prov_seterr(ctx, PROV_EEXIST, "%s: file exists; not replacing it", path);
    if (e == EPERM || e == ENOTSUP || e == ENOSYS || e == EMLINK) {
        struct stat st;
        if (lstat(path, &st) == 0)
            return prov_seterr(ctx, PROV_EEXIST, "%s: file exists; not replacing it", path);
        if (rename(tmp, path) == 0) return 0;
        e = errno;
    }
    return prov_seterr(ctx, PROV_EIO, "%s: %s", path, strerror(e));
}

static void sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: the key is already written and named */
        close(fd);
    }
}

int prov_key_save(prov_ctx *ctx, const prov_key *key, const char *path, const char *passphrase)
{
    if (!key || !path || !*path)
        return prov_seterr(ctx, PROV_EINVAL, "prov_key_save: NULL argument");
    struct stat st;
    /* Early, friendly refusal before spending time on Argon2id; place()
     * makes the final check atomically. */
    if (lstat(path, &st) == 0)
        return prov_seterr(ctx, PROV_EEXIST, "%s: file exists; not replacing it", path);
    int rc = prov_crypto_init();
    if (rc) return prov_seterr(ctx, rc, "libsodium failed to initialise");

    uint8_t rec[KEY_REC_MAX];
    size_t rec_len = 0;
    rc = encode(ctx, path, key, passphrase, rec, &rec_len);
    char *txt = rc ? NULL : armor(kind_of(key->alg)->label, rec, rec_len);
    sodium_memzero(rec, sizeof rec);
    if (rc) return rc;
    if (!txt) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    size_t txt_len = strlen(txt);

    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    int fd = -1, created = 0;
    if (!tmp) {
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        goto out;
    }
    uint8_t rnd[8];
    randombytes_buf(rnd, sizeof rnd);
    char hex[17];
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(tmp, tlen, "%s.%s.tmp", path, hex);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = prov_seterr(ctx, PROV_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    created = 1;
    if (fchmod(fd, 0600) || write_all(fd, txt, txt_len) || fsync(fd)) {
        rc = prov_seterr(ctx, PROV_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr) {
        rc = prov_seterr(ctx, PROV_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = place(ctx, tmp, path);
    if (!rc) sync_dir(path);
out:
    if (fd >= 0) close(fd);
    if (rc && created) unlink(tmp);
    free(tmp);
    sodium_memzero(txt, txt_len);
    free(txt);
    return rc;
}
