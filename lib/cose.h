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
    int tst_version;   /* 1 sigTst (covers the claim), 2 sigTst2 (the signature) */
    size_t tst_count;  /* tokens listed (C2PA allows one) */
    const uint8_t *tst; /* the first RFC 3161 token, if any */
    size_t tst_len;
    const uint8_t *payload; /* an attached payload (has_payload) */
    size_t payload_len;
    int has_payload;
    int has_cty;            /* content type (label 3) present */
    const char *cty;        /* ... as text, when it is text */
    size_t cty_len;
} cose_sign1;

/* Parse a COSE_Sign1; *why says what is wrong on PROV_EFORMAT. */
PROV_HIDDEN int cose_parse(const uint8_t *p, size_t n, cose_sign1 *out, const char **why);
/* The same for a COSE_Sign1 whose key is not an X.509 chain (a DID's):
 * no x5chain is required nor read, no time-stamp either. */
PROV_HIDDEN int cose_parse_nochain(const uint8_t *p, size_t n, cose_sign1 *out, const char **why);
/* The bytes a signer signs: ["Signature1", protected, h'', payload]. */
PROV_HIDDEN void cose_tbs(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                          size_t payload_len, pbuf *out);
/* 0 valid, 1 does not verify, negative on error (unsupported alg, bad cert). */
PROV_HIDDEN int cose_verify(const cose_sign1 *c, const uint8_t *payload, size_t payload_len);
/* The bytes a time-stamp token's imprint covers (C2PA 15.8, as c2pa-rs
 * makes them): the COSE countersignature structure ["CounterSignature",
 * protected, h'', data] where data is the payload (v1, sigTst) or the
 * signature as a CBOR bstr (v2, sigTst2). */
PROV_HIDDEN void cose_tst_message(const cose_sign1 *c, int version, const uint8_t *payload, size_t payload_len,
                                  pbuf *out);
/* Write a COSE_Sign1 for payload, signed through signer. */
PROV_HIDDEN int cose_sign(const prov_signer *signer, const prov_chain *chain, const uint8_t *payload,
                          size_t payload_len, pbuf *out);
/* A COSE_Sign1 whose unprotected header carries an RFC 3161 token over the
 * signature (sigTst2) from ts, padded to exactly cose_sign_ts_len bytes.
 * PROV_ETIMESTAMP when ts fails, PROV_ELIMIT when the token does not fit
 * the reserve (*token_len then says how large it was). */
PROV_HIDDEN int cose_sign_ts(const prov_signer *signer, const prov_chain *chain, const uint8_t *payload,
                             size_t payload_len, prov_timestamp_fn ts, void *ts_user, size_t reserve, pbuf *out,
                             size_t *token_len);
PROV_HIDDEN size_t cose_sign_ts_len(const prov_signer *signer, const prov_chain *chain, size_t reserve);
/* Exact size cose_sign will produce (the store is laid out before signing). */
PROV_HIDDEN size_t cose_sign_len(const prov_signer *signer, const prov_chain *chain);
PROV_HIDDEN const char *cose_alg_name(int64_t alg);

#endif
