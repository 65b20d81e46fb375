/* pump.h - stream the rest of an input through a hash (and optionally to
 * an output).  With an output, reading, hashing and writing run on
 * separate threads so that the kernel's copies overlap the hashing
 * (SHA-256 is the floor). */
#ifndef PROV_PUMP_H
#define PROV_PUMP_H

#include "stream.h"

typedef void (*pump_hash_fn)(void *user, const uint8_t *p, size_t n);

/* Move up to limit bytes (UINT64_MAX: to the end) from r: every byte goes
 * to hash(); when out is not NULL it is also written there, in order.
 * *total gets the bytes moved (fewer than limit only at the end of the
 * input).  Returns 0, PROV_EIO (read failed: *where = 0; write failed:
 * *where = 1) or PROV_ENOMEM.  r can be read on afterwards. */
PROV_HIDDEN int pump(rdr *r, uint64_t limit, pump_hash_fn hash, void *hash_user, prov_stream *out,
                     uint64_t *total, int *where);

#endif
