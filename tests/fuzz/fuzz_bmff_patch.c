/* fuzz_bmff_patch.c - libFuzzer harness for the BMFF offset patcher alone
 * (fast, so it explores stco/co64/iloc/tfhd/tfra/saio tables deeply).
 *
 * The first 9 bytes choose the shift (insertion point and size); the rest
 * is a top-level box's bytes.  Patching must never read or write outside
 * the buffer, and on success every patched box keeps its size, so a second
 * walk over the result sees the same boxes. */
#include "bmff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9) return 0;
    bmff_shift sh = {(uint64_t)data[0] << 16 | data[1] << 8 | data[2], (uint64_t)data[3] << 8 | data[4], 0, 0};
    if (data[5] & 1) { /* also drop an old manifest box */
        sh.cut_start = data[6];
        sh.cut_end = sh.cut_start + data[7];
    }
    size_t n = size - 9;
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data + 9, n);
    char why[128];
    int rc = bmff_patch(copy, n, &sh, why, sizeof why);
    if (rc == 0) {
        /* sizes and types are never touched: a second pass agrees */
        uint8_t *again = malloc(n ? n : 1);
        memcpy(again, copy, n);
        bmff_shift none = {UINT64_MAX, 0, 0, 0};
        if (bmff_patch(again, n, &none, why, sizeof why) != 0 || memcmp(again, copy, n) != 0) {
            fprintf(stderr, "patched boxes do not walk the same\n");
            abort();
        }
        free(again);
    }
    free(copy);
    return 0;
}
