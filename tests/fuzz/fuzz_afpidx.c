/* fuzz_afpidx.c - libFuzzer harness for the audio fingerprint index
 * (afp.idx, lib/repo_audio.c) and the alignment (lib/afp_match.c).
 *
 * The input is read as an index image and searched with queries taken
 * from its own records (some words flipped) and from its bytes.
 * Invariants, any broken one aborts:
 *  - the search answers 0 or a clear code;
 *  - matches are within the threshold, best first, each manifest once,
 *    over at least PROV_AFP_MIN_WORDS pairs;
 *  - prov_afp_compare of two words arrays from the input answers 0 or
 *    PROV_ENOTFOUND, with a rate in 0..1 and an offset inside the arrays. */
#include "fuzz_check.h"
#include "repo.h"

#include <stdlib.h>
#include <string.h>

static void check(const uint8_t *data, size_t size, const uint32_t *q, size_t nq, double max_ber)
{
    prov_repo_audio_match m[6];
    size_t n = 99;
    int rc = repo_audio_search_mem(NULL, data, size, q, nq, max_ber, m, 6, &n);
    CHECK(rc == 0 || rc == PROV_EFORMAT);
    if (rc) return;
    CHECK(n <= 6);
    for (size_t i = 0; i < n; i++) {
        CHECK(m[i].ber >= 0 && m[i].ber <= max_ber);
        CHECK(m[i].overlap >= PROV_AFP_MIN_WORDS && m[i].overlap <= nq);
        if (i) CHECK(m[i].ber >= m[i - 1].ber);
        for (size_t j = 0; j < i; j++) CHECK(memcmp(m[i].manifest, m[j].manifest, 32) != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* queries: the words of the first record (when it looks like one),
     * a few flipped; and the input's own bytes as words */
    size_t nq = size / 4 > 4096 ? 4096 : size / 4;
    uint32_t *q = malloc((nq + 1) * sizeof *q);
    if (!q) return 0;
    for (size_t i = 0; i < nq; i++) q[i] = rd32(data + 4 * i);
    check(data, size, q, nq, 0.25);
    if (size >= 56) {
        size_t k = rd32(data + 48);
        if (k > 0 && k <= 4096 && 56 + k * 4 <= size) {
            uint32_t *r = malloc(k * sizeof *r);
            if (r) {
                for (size_t i = 0; i < k; i++) r[i] = rd32(data + 56 + 4 * i) ^ (i % 5 == 0 ? 0x01010000u : 0);
                check(data, size, r, k, 0.25);
                check(data, size, r, k, 0.5);
                free(r);
            }
        }
    }
    /* two halves of the input as fingerprints, aligned */
    prov_afp_match am;
    size_t h = nq / 2;
    int rc = prov_afp_compare(q, h, q + h, nq - h, &am);
    CHECK(rc == 0 || rc == PROV_ENOTFOUND);
    if (rc == 0) {
        CHECK(am.ber >= 0 && am.ber <= 1);
        CHECK(am.offset > -(long)h && am.offset < (long)(nq - h));
        CHECK(am.overlap >= 1 && am.overlap <= h && am.overlap <= nq - h);
    }
    free(q);
    return 0;
}
