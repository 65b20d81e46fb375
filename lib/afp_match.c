/* afp_match.c - aligning audio fingerprints: each 16-bit half of a word
 * that is the same in both votes for an offset; the offset with the most
 * votes (and its neighbours, half a frame apart) is then scored by the bit
 * error rate over all the pairs it lines up.  A half-key that occurs often
 * in the query (a held note, a hum) says little and could make the voting
 * quadratic: past MAX_REPEAT occurrences it does not vote. */
#include "afp.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REPEAT 16

struct afp_query {
    const uint32_t *q;
    size_t m, nz; /* words, and those not 0 */
    int32_t *head[2]; /* 65536 each: first position of a half-key, -1 none */
    int32_t *next[2]; /* m each: the next position with the same half-key */
    uint8_t *skip[2]; /* 65536 each: half-keys too frequent to vote */
};

void afp_query_free(afp_query *x)
{
    if (!x) return;
    for (int h = 0; h < 2; h++) {
        free(x->head[h]);
        free(x->next[h]);
        free(x->skip[h]);
    }
    free(x);
}

afp_query *afp_query_new(const uint32_t *q, size_t m)
{
    if (m > PROV_AFP_MAX_WORDS) return NULL;
    afp_query *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->q = q;
    x->m = m;
    for (int h = 0; h < 2; h++) {
        x->head[h] = malloc(65536 * sizeof(int32_t));
        x->next[h] = malloc((m + 1) * sizeof(int32_t));
        x->skip[h] = calloc(65536, 1);
        uint16_t *count = calloc(65536, sizeof *count);
        if (!x->head[h] || !x->next[h] || !x->skip[h] || !count) {
            free(count);
            afp_query_free(x);
            return NULL;
        }
        memset(x->head[h], 0xff, 65536 * sizeof(int32_t));
        for (size_t i = m; i-- > 0;) { /* chains in increasing position */
            if (!q[i]) continue;
            x->nz += !h;
            uint16_t k = AFP_KEY(q[i], h);
            x->next[h][i] = x->head[h][k];
            x->head[h][k] = (int32_t)i;
            if (count[k] <= MAX_REPEAT) count[k]++;
        }
        for (size_t k = 0; k < 65536; k++) x->skip[h][k] = count[k] > MAX_REPEAT;
        free(count);
    }
    return x;
}

/* Bit errors and pairs at one offset (s[i + off] with q[i]). */
static void score(const afp_query *x, const uint32_t *s, size_t n, long off, size_t *bits, size_t *pairs)
{
    size_t i0 = off < 0 ? (size_t)-off : 0, e = 0, p = 0;
    for (size_t i = i0; i < x->m && (long)i + off < (long)n; i++) {
        uint32_t a = x->q[i], b = s[(size_t)((long)i + off)];
        if (!a || !b) continue;
        e += (size_t)__builtin_popcount(a ^ b);
        p++;
    }
    *bits = e;
    *pairs = p;
}

int afp_align(const afp_query *x, const uint32_t *s, size_t n, size_t min_overlap, uint32_t *votes, afp_hit *hit)
{
    size_t m = x->m;
    if (!m || !n) return 0;
    size_t span = n + m - 1; /* offsets -(m-1) .. n-1, stored at offset + m - 1 */
    memset(votes, 0, span * sizeof *votes);
    size_t nz = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t w = s[j];
        if (!w) continue;
        nz++;
        for (int h = 0; h < 2; h++) {
            uint16_t k = AFP_KEY(w, h);
            if (x->skip[h][k]) continue;
            for (int32_t i = x->head[h][k]; i >= 0; i = x->next[h][i]) votes[j + m - 1 - (size_t)i]++;
        }
    }
    size_t best = 0;
    for (size_t d = 1; d < span; d++)
        if (votes[d] > votes[best]) best = d;
    if (votes[best] < 2) return 0;
    /* a copy is the original, a clip of it, or it with some sound added:
     * the two overlap over at least half of the shorter.  A few seconds
     * that happen to agree at the ends of two long files are no match. */
    size_t half = (x->nz < nz ? x->nz : nz) / 2;
    if (min_overlap < half) min_overlap = half;
    int found = 0;
    for (long dd = -1; dd <= 1; dd++) {
        long off = (long)best - (long)(m - 1) + dd;
        size_t bits, pairs;
        score(x, s, n, off, &bits, &pairs);
        if (pairs < min_overlap || !pairs) continue;
        double ber = (double)bits / (32.0 * (double)pairs);
        if (!found || ber < hit->ber) {
            hit->offset = off;
            hit->overlap = pairs;
            hit->votes = votes[best];
            hit->ber = ber;
            found = 1;
        }
    }
    return found;
}
