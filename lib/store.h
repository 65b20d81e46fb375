/* store.h - a C2PA manifest store parsed from its JUMBF bytes.  Every
 * pointer points into the store's bytes, which must outlive the model. */
#ifndef PROV_STORE_H
#define PROV_STORE_H

#include "cbor.h"
#include "jumbf.h"

typedef struct c2pa_assertion {
    const char *label;
    jsuper sb;
} c2pa_assertion;

/* an assertion label, for lookups by binary search */
typedef struct c2pa_label {
    const char *s;
    uint32_t n, i; /* length, index into assertions */
} c2pa_label;

typedef struct c2pa_manifest {
    const char *label;
    jsuper sb;
    int is_update;
    c2pa_assertion *assertions;
    size_t n_assertions;
    c2pa_label *by_label; /* the assertions sorted by label (then index): a
                             claim's thousands of references resolve in
                             O(log n) each, not by a scan */
    int claim_version;        /* 1 or 2; 0 when the claim is missing */
    jsuper claim_sb;
    const uint8_t *claim_bytes; /* CBOR content of the claim box */
    size_t claim_len;
    cval claim;               /* the claim map */
    jsuper sig_sb;
    const uint8_t *sig_bytes; /* COSE_Sign1 */
    size_t sig_len;
    const char *problem;      /* why the manifest is malformed, or NULL */
    int prerelease;           /* a pre-1.0 draft (JSON claim) */
} c2pa_manifest;

typedef struct c2pa_store {
    jsuper sb;
    c2pa_manifest *m;
    size_t n;
} c2pa_store;

/* Parse a store.  A manifest that is malformed inside is kept with
 * `problem` set (the verifier reports it); a store whose boxes do not nest
 * is an error. */
PROV_HIDDEN int store_parse(prov_ctx *ctx, const uint8_t *p, size_t len, c2pa_store *out);
PROV_HIDDEN void store_free(c2pa_store *s);
PROV_HIDDEN c2pa_manifest *store_find(c2pa_store *s, const char *label);
PROV_HIDDEN c2pa_assertion *manifest_assertion(c2pa_manifest *m, const char *label);
/* The same for a label that is not NUL-terminated (n bytes); O(log n). */
PROV_HIDDEN c2pa_assertion *manifest_assertion_n(c2pa_manifest *m, const char *label, size_t n);

/* Resolve a JUMBF URI ("self#jumbf=...", absolute "/c2pa/<m>/..." or
 * relative to manifest `cur`) to a superbox.  Sets *in_manifest to the
 * manifest the box belongs to. */
PROV_HIDDEN int store_resolve(c2pa_store *s, c2pa_manifest *cur, const char *uri, size_t uri_len,
                              const jsuper **out, c2pa_manifest **in_manifest);

/* SHA-256 of a superbox without its header (what hashed URIs cover);
 * computed once per box of the model. */
PROV_HIDDEN void jsuper_hash(const jsuper *s, uint8_t out[32]);

#endif
