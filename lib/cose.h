/* cose.h - COSE_Sign1 (RFC 9052) as C2PA uses it: tag 18, detached
 * payload (the claim bytes), x5chain (label 33) with the signer's chain. */
#ifndef PROV_COSE_H
#define PROV_COSE_H

#include "cbor.h"

typedef struct cose_sign1 {
    int64_t alg;
    const uint8_t *prot; /* protected header bytes (a CBOR map) */
    size_t prot_len;
    const uint8_t *certs[PROV_MAX_CHAIN]; /* x5chain, leaf first (DER) */
    size_t cert_len[PROV_MAX_CHAIN];
    size_t ncerts;
    const uint8_t *sig;
    size_t sig_len;
    int has_timestamp; /* sigTst or sigTst2 present */
    const uint8_t *tst; /* the first RFC 3161 token, if any */
    size_t tst_len;
} cose_sign1;

/* Parse a COSE_Sign1; *why says what is wrong on PROV_EFORMAT. */
PROV_HIDDEN int cose_parse(const uint8_t *p, size_t n, cose_sign1 *out, const char **why);
/* The bytes a signer signs: ["Signature1", protected, h'', payload]. */
PROV_HIDDEN void cose_tbs(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                          size_t payload_len, pbuf *out);
/* 0 valid, 1 does not verify, negative on error (unsupported alg, bad cert). */
PROV_HIDDEN int cose_verify(const cose_sign1 *c, const uint8_t *payload, size_t payload_len);
/* Write a COSE_Sign1 for payload, signed through signer. */
PROV_HIDDEN int cose_sign(const prov_signer *signer, const prov_chain *chain, const uint8_t *payload,
                          size_t payload_len, pbuf *out);
/* Exact size cose_sign will produce (the store is laid out before signing). */
PROV_HIDDEN size_t cose_sign_len(const prov_signer *signer, const prov_chain *chain);
PROV_HIDDEN const char *cose_alg_name(int64_t alg);

#endif
