/* cbor.h - CBOR (RFC 8949) encoder and bounded decoder.
 *
 * Encoder: appends to a pbuf; always the shortest head and definite
 * lengths (deterministic encoding, RFC 8949 section 4.2.1).  Map key order
 * is the caller's: write keys in the order wanted.
 *
 * Decoder: a cval is a span holding exactly one encoded item that
 * cbor_parse() has checked to be well formed, so accessors never read out
 * of bounds.  Depth is capped at PROV_MAX_CBOR_DEPTH; every count and
 * length is checked against the bytes that remain. */
#ifndef PROV_CBOR_H
#define PROV_CBOR_H

#include "internal.h"

enum {
    CBOR_UINT = 0, CBOR_NINT = 1, CBOR_BYTES = 2, CBOR_TEXT = 3,
    CBOR_ARRAY = 4, CBOR_MAP = 5, CBOR_TAG = 6, CBOR_SIMPLE = 7 /* and floats */
};

/* encoder */
PROV_HIDDEN void cbor_put_uint(pbuf *b, uint64_t v);
PROV_HIDDEN void cbor_put_int(pbuf *b, int64_t v);
PROV_HIDDEN void cbor_put_bytes(pbuf *b, const void *p, size_t n);
PROV_HIDDEN void cbor_put_text(pbuf *b, const char *s); /* NUL-terminated */
PROV_HIDDEN void cbor_put_textn(pbuf *b, const char *s, size_t n);
PROV_HIDDEN void cbor_put_array(pbuf *b, uint64_t n);
PROV_HIDDEN void cbor_put_map(pbuf *b, uint64_t n);
PROV_HIDDEN void cbor_put_tag(pbuf *b, uint64_t tag);
PROV_HIDDEN void cbor_put_bool(pbuf *b, bool v);
PROV_HIDDEN void cbor_put_null(pbuf *b);
PROV_HIDDEN void cbor_put_double(pbuf *b, double v); /* shortest exact float */

/* decoder */
typedef struct cval {
    const uint8_t *p;
    size_t len; /* bytes of this one item */
} cval;

/* Check that p[0..len) begins with one well-formed item (indefinite lengths
 * accepted, depth <= max_depth or PROV_MAX_CBOR_DEPTH when 0) and set *out to
 * it.  *out->len may be < len (trailing bytes are the caller's business).
 * Returns 0, PROV_EFORMAT or PROV_ELIMIT. */
PROV_HIDDEN int cbor_parse(const uint8_t *p, size_t len, int max_depth, cval *out);

PROV_HIDDEN int cbor_type(cval v);        /* CBOR_* major type */
PROV_HIDDEN bool cbor_is_null(cval v);    /* null or undefined */
PROV_HIDDEN int cbor_get_uint(cval v, uint64_t *out);
PROV_HIDDEN int cbor_get_int(cval v, int64_t *out); /* major 0 or 1, fits int64 */
PROV_HIDDEN int cbor_get_bool(cval v, bool *out);
PROV_HIDDEN int cbor_get_double(cval v, double *out); /* floats and ints */
/* Definite-length byte or text string: pointer into the item, no copy.
 * Indefinite strings give PROV_EUNSUPPORTED. */
PROV_HIDDEN int cbor_get_bytes(cval v, const uint8_t **p, size_t *n);
PROV_HIDDEN int cbor_get_text(cval v, const char **s, size_t *n);
/* Compare a text item with a NUL-terminated string. */
PROV_HIDDEN bool cbor_text_eq(cval v, const char *s);
/* Tag number and the tagged item. */
PROV_HIDDEN int cbor_get_tag(cval v, uint64_t *tag, cval *inner);
/* Skip any tags and return the innermost item. */
PROV_HIDDEN cval cbor_untag(cval v);

/* Iterate an array (or map: items alternate key, value).  Works for
 * definite and indefinite lengths. */
typedef struct cbor_iter {
    const uint8_t *p, *end;
    uint64_t left; /* items left; UINT64_MAX for indefinite */
} cbor_iter;
PROV_HIDDEN int cbor_iter_init(cval container, cbor_iter *it);
/* 1 and *item set, 0 at the end. */
PROV_HIDDEN int cbor_iter_next(cbor_iter *it, cval *item);
/* Number of items in an array (or pairs in a map). */
PROV_HIDDEN size_t cbor_count(cval container);

/* Map lookup by text key or by integer key.  0 if found, PROV_ENOTFOUND. */
PROV_HIDDEN int cbor_map_get(cval map, const char *key, cval *out);
PROV_HIDDEN int cbor_map_get_int(cval map, int64_t key, cval *out);

/* Render an item as JSON (for prov inspect): text keys as keys, other keys
 * as their JSON text in quotes; byte strings longer than max_bytes as
 * "<N bytes>", shorter ones as "b64:...".  Invalid UTF-8 is replaced. */
PROV_HIDDEN int cbor_to_json(cval v, pbuf *out, size_t max_bytes);

#endif
