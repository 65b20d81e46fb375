/* fuzz_weights.c - libFuzzer harness for the detector's weights loader
 * (PROVNPR1 files).  The CRC trailer is recomputed over the input first,
 * so mutations reach the header, metadata and tensor parsing instead of
 * stopping at the checksum.  Opening must fail with a message or succeed;
 * a detector that opens must score a small image. */
#include "prov.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static prov_ctx *ctx;
    if (!ctx && prov_ctx_new(&ctx)) abort();
    if (size > (8u << 20)) return 0;
    uint8_t *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    if (size >= 28) {
        uint32_t crc = (uint32_t)crc32(0L, p, (uInt)(size - 4));
        for (int i = 0; i < 4; i++) p[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    prov_detector *d = NULL;
    int rc = prov_detector_open_mem(ctx, p, size, &d);
    if (rc == 0) {
        static uint8_t img[64 * 64 * 3];
        prov_detector_result r;
        CHECK(prov_detector_set_threads(d, 1) == 0);
        CHECK(prov_detector_score_rgb(ctx, d, img, 64, 64, 64 * 3, &r) == 0);
        prov_detector_free(d);
    } else {
        CHECK(d == NULL);
        CHECK(prov_errmsg(ctx)[0]);
    }
    free(p);
    return 0;
}
