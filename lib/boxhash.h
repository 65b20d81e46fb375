/* boxhash.h - the c2pa.hash.boxes hard binding for JPEG (C2PA 2.x 9.2.4,
 * "box hash"): the file is cut into its segments ("SOI", "APP0", "C2PA"
 * for the manifest store's APP11 segments, "SOS" with its entropy-coded
 * data, "EOI", ...), and the assertion lists runs of consecutive segment
 * names, each with the hash of the bytes they span (the C2PA run
 * excluded).  The file is fed through once, in any chunks. */
#ifndef PROV_BOXHASH_H
#define PROV_BOXHASH_H

#include "cbor.h"
#include "hash.h"

#define BOXHASH_MAX_ENTRIES 4096
#define BOXHASH_MAX_NAMES 65536

typedef struct boxhash boxhash;

/* Parse the assertion (its CBOR map).  0, PROV_EFORMAT (why says what),
 * PROV_ELIMIT or PROV_ENOMEM. */
PROV_HIDDEN int boxhash_new(cval assertion, boxhash **out, const char **why);
PROV_HIDDEN void boxhash_feed(boxhash *b, const uint8_t *p, size_t n);
/* After the whole file: 0 every run's hash matches, 1 not (why says which
 * and how), negative on an internal error. */
PROV_HIDDEN int boxhash_final(boxhash *b, char *why, size_t cap);
PROV_HIDDEN void boxhash_free(boxhash *b);

#endif
