/* fuzz_boxhash.c - libFuzzer harness for c2pa.hash.boxes (lib/boxhash.c).
 *
 * The input: two bytes (big-endian) give the length of a box hash
 * assertion (CBOR) that follows, a third the chunk size less one; the
 * remainder is a JPEG-ish file fed in chunks of that size.  The segmenter and the run matching must never
 * crash, hang or read out of bounds; a malformed assertion is refused. */
#include "boxhash.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t alen = (size_t)data[0] << 8 | data[1], chunk = (size_t)data[2] + 1;
    data += 3, size -= 3;
    if (alen > size) alen = size;
    cval m;
    if (cbor_parse(data, alen, 0, &m)) return 0;
    boxhash *b = NULL;
    const char *why = NULL;
    int rc = boxhash_new(m, &b, &why);
    if (rc) {
        CHECK(rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOMEM);
        CHECK(rc == PROV_ENOMEM || (why && *why));
        CHECK(b == NULL);
        return 0;
    }
    const uint8_t *f = data + alen;
    size_t fn = size - alen;
    for (size_t i = 0; i < fn; i += chunk) boxhash_feed(b, f + i, fn - i < chunk ? fn - i : chunk);
    char reason[160];
    rc = boxhash_final(b, reason, sizeof reason);
    CHECK(rc == 0 || rc == 1);
    boxhash_free(b);
    return 0;
}
