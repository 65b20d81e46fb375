/* hash.h - SHA-2 through libcrypto's EVP (SHA-NI where the CPU has it),
 * and a hasher that skips excluded byte ranges of a stream. */
#ifndef PROV_HASH_H
#define PROV_HASH_H

#include "internal.h"

PROV_HIDDEN void sha256(const void *p, size_t n, uint8_t out[32]);

/* "sha256" | "sha384" | "sha512" -> digest length, 0 if unknown. */
PROV_HIDDEN size_t hash_alg_len(const char *alg, size_t n);

typedef struct xrange {
    uint64_t start, len;
} xrange;

/* Hashes the bytes of a stream fed in order, skipping the excluded ranges
 * (sorted, non-overlapping: xhash_init sorts and checks them). */
typedef struct xhash {
    void *md; /* EVP_MD_CTX */
    const xrange *ex;
    size_t nex, next;
    uint64_t off;
} xhash;

PROV_HIDDEN int xhash_init(xhash *h, const char *alg, xrange *ex, size_t nex);
PROV_HIDDEN void xhash_feed(xhash *h, const uint8_t *p, size_t n);
/* Writes the digest; returns its length (0 on failure). */
PROV_HIDDEN size_t xhash_final(xhash *h, uint8_t *out);
PROV_HIDDEN void xhash_free(xhash *h);

#endif
