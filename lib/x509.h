/* x509.h - keys, certificates and trust anchors shared between modules
 * (key.c, cert.c, trust.c and the verifier); not installed. */
#ifndef PROV_X509_H
#define PROV_X509_H

#include "internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Bounds on PEM input (why: a certificate file is small; a hostile or
 * mistaken path must not make us read gigabytes). */
#define PROV_MAX_PEM_FILE (1u << 20) /* chain file */
#define PROV_MAX_TRUST_FILE (8u << 20) /* trust bundle */
#define PROV_MAX_ANCHORS 4096 /* certificates in one prov_trust */

/* Trust anchors and policy (trust.c). */
struct prov_trust {
    STACK_OF(X509) *anchors;     /* signers' anchors */
    X509_STORE *store;
    STACK_OF(X509) *tsa_anchors; /* time-stamp authorities' own anchors */
    X509_STORE *tsa_store;       /* tsa_anchors and anchors */
    int system_tsa;              /* also the system CA bundle for TSAs */
    char **ekus;                 /* a signer's allowed EKUs when ekus_set */
    size_t n_ekus;
    int ekus_set;
    uint8_t (*allowed)[32];      /* SHA-256 of end-entity certs trusted as is, sorted */
    size_t n_allowed;
};

/* 1 when the certificate is on t's allowed list (trusted as it is). */
PROV_HIDDEN int prov_trust_is_allowed(const prov_trust *t, const uint8_t *der, size_t len);

/* sodium_init() once; safe from any thread.  0 or PROV_ECRYPTO. */
PROV_HIDDEN int prov_crypto_init(void);

/* The key as an OpenSSL EVP_PKEY (Ed25519), for X509_sign.  Caller frees
 * with EVP_PKEY_free; NULL on failure. */
PROV_HIDDEN EVP_PKEY *prov_key_evp(const prov_key *k);
/* The 32-byte Ed25519 seed (read-only, lives as long as the key). */
PROV_HIDDEN const uint8_t *prov_key_seed(const prov_key *k);

/* Read a whole regular file of at most max bytes into a malloc'd,
 * NUL-terminated buffer.  Errors name the path on ctx: PROV_EIO,
 * PROV_ELIMIT (too big), PROV_ENOTFOUND (absent). */
PROV_HIDDEN int prov_read_file(prov_ctx *ctx, const char *path, size_t max, uint8_t **out,
                               size_t *out_len);

/* Call fn for each CERTIFICATE block in PEM text (other block types are
 * skipped), with the block's DER after checking that it parses as exactly
 * one certificate.  what names the input in errors.  Returns the count
 * (>= 1), PROV_EFORMAT when there is none or a block is malformed,
 * PROV_ELIMIT past max, or what fn returned if negative (fn returns 0 to
 * go on).  x is borrowed for the call (X509_up_ref to keep it). */
typedef int (*prov_cert_fn)(void *user, const uint8_t *der, size_t len, X509 *x);
PROV_HIDDEN int prov_pem_certs(prov_ctx *ctx, const char *what, const char *pem, size_t len,
                               size_t max, prov_cert_fn fn, void *user);

/* Parse DER that must hold exactly one certificate; NULL if not. */
PROV_HIDDEN X509 *prov_x509_parse(const uint8_t *der, size_t len);

/* CN and O of the subject, and the issuer's CN (its O when it has no CN),
 * as UTF-8 for reports; "" when absent, truncated to the capacities (which
 * may be 0 when the caller does not want a field).  0 or PROV_ECERT. */
PROV_HIDDEN int prov_x509_subject_summary(const uint8_t *der, size_t len, char *cn,
                                          size_t cn_cap, char *org, size_t org_cap,
                                          char *issuer_cn, size_t icap);

/* Verify a COSE signature (RFC 9053 encodings) over msg with the
 * certificate's public key.  cose_alg: -8 EdDSA (Ed25519, Ed448); -7/-35/-36
 * ECDSA P-256/384/521 with SHA-256/384/512, sig = raw r||s; -37/-38/-39
 * RSASSA-PSS with SHA-256/384/512, MGF1 same hash, salt = hash length.
 * Returns 0 valid, 1 signature invalid, PROV_EUNSUPPORTED for an unknown
 * alg or a key that does not match it, PROV_ECERT for a bad certificate. */
PROV_HIDDEN int prov_x509_pubkey_verify(const uint8_t *der, size_t len, int cose_alg,
                                        const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                                        size_t sig_len);

/* The C2PA signing-certificate profile for a leaf (C2PA 2.x, section
 * "Certificate Profile"; as c2pa-rs checks it).  at_time: Unix seconds, 0
 * means now.  Returns 0 ok, 1 fails the profile, 2 outside its validity at
 * at_time (why says expired or not yet valid), PROV_ECERT if unparseable.
 * The EKUs allowed are t's when it sets them (prov_trust_set_ekus), else
 * emailProtection, documentSigning and the C2PA and Microsoft C2PA signing
 * purposes.
 * why (may be NULL) gets a short English reason. */
PROV_HIDDEN int prov_x509_check_profile(const prov_trust *t, const uint8_t *der, size_t len,
                                        int64_t at_time, char *why, size_t why_cap);

/* Does the chain (leaf first, the rest untrusted intermediates) lead to one
 * of t's anchors at at_time (0: now)?  An anchor may be an intermediate.
 * Returns 0 trusted, 1 not trusted (why says why; also when t is NULL or
 * empty), PROV_ECERT for an unparseable certificate, PROV_ECRYPTO or
 * PROV_ENOMEM on failure. */
PROV_HIDDEN int prov_x509_chain_trusted(const prov_trust *t, const uint8_t *const *der,
                                        const size_t *len, size_t n, int64_t at_time, char *why,
                                        size_t why_cap);

/* The raw Ed25519 public key of a certificate: 0, or PROV_EUNSUPPORTED
 * (another key type) / PROV_ECERT. */
PROV_HIDDEN int prov_x509_ed25519_key(const uint8_t *der, size_t len, uint8_t pk[32]);

/* The anchors held by t (borrowed; never NULL for a valid t). */
PROV_HIDDEN STACK_OF(X509) *prov_trust_anchors(const prov_trust *t);

/* An RFC 3161 time-stamp token checked as C2PA 2.x (15.8) asks: it must
 * parse, its CMS signature must verify with the TSA's certificate, its
 * time must fall inside that certificate's validity, its message imprint
 * must be the hash of msg (the countersignature structure over this very
 * signature: cose_tst_message), and the TSA's chain must reach one of t's
 * TSA anchors (t NULL: the system bundle alone) at that time with the
 * timeStamping purpose (RFC 3161: the only EKU, critical).  Only then is
 * *when (Unix seconds) set and PROV_TST_TRUSTED returned; the other results
 * name what failed, and the time must not be used.  tsa (may be NULL) gets
 * the TSA's common name. */
enum {
    PROV_TST_TRUSTED = 0,
    PROV_TST_MALFORMED = 1, /* timeStamp.malformed */
    PROV_TST_UNTRUSTED = 2, /* timeStamp.untrusted: bad signature or chain */
    PROV_TST_MISMATCH = 3,  /* timeStamp.mismatch: covers other bytes */
    PROV_TST_OUTSIDE = 4    /* timeStamp.outsideValidity */
};
PROV_HIDDEN int prov_tst_check(const prov_trust *t, const uint8_t *tok, size_t len, const uint8_t *msg,
                               size_t msg_len, int64_t *when, char *tsa, size_t tsa_cap, char *why,
                               size_t why_cap);
/* The same without the TSA's chain: for a time that can only make a check
 * stricter (a credential's validity window), never to believe a signing
 * time. */
PROV_HIDDEN int prov_tst_check_nochain(const uint8_t *tok, size_t len, const uint8_t *msg, size_t msg_len,
                                       int64_t *when);
/* The status code of a prov_tst_check result. */
PROV_HIDDEN const char *prov_tst_code(int result);

#endif
