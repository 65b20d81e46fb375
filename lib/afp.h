/* afp.h - the audio fingerprint prov.chroma.1 and its alignment.
 *
 * Written here from the published description of chroma fingerprints
 * (Lalinský, "How does Chromaprint work?", 2011; Ellis's chroma features):
 * mono audio at 11025 Hz, 4096-sample Hann frames every 1365 samples; each
 * frame's spectrum from 28 to 3520 Hz folded onto the 12 pitch classes;
 * a 5-tap smoothing over time and L2 normalisation; then one 32-bit word
 * per frame, each bit the sign of a Haar-like difference over the next 12
 * frames of that chroma image (docs/soft-binding.md lists the 32 filters).
 * The filters are ours, not Chromaprint's trained ones, so the words are
 * not Chromaprint's.
 *
 * Word 0 means "no sound": most of its frames were under -60 dBFS.  It
 * never matches. */
#ifndef PROV_AFP_H
#define PROV_AFP_H

#include "internal.h"

#define AFP_FRAME 4096
#define AFP_HOP 1365
#define AFP_SPAN 12 /* frames a word looks at */

/* The bits of two words that each half-key takes (lookup by exact halves). */
#define AFP_KEY(w, h) ((h) ? (uint16_t)((w) >> 16) : (uint16_t)(w))

/* The best alignment of a query q (m words) in s (n words): s[i + offset]
 * pairs with q[i].  ber is the share of differing bits over the pairs where
 * neither word is 0, overlap their number; votes the half-keys that agreed
 * at that offset. */
typedef struct afp_hit {
    long offset;
    size_t overlap;
    size_t votes;
    double ber;
} afp_hit;

/* A query's half-key index, built once and aligned against many. */
typedef struct afp_query afp_query;
PROV_HIDDEN afp_query *afp_query_new(const uint32_t *q, size_t m);
PROV_HIDDEN void afp_query_free(afp_query *x);
/* 1 and *hit when some offset got at least 2 votes and lines up at least
 * min_overlap pairs and half the sounding words of the shorter; else 0.  scratch: at least n + m counters (reused between calls). */
PROV_HIDDEN int afp_align(const afp_query *x, const uint32_t *s, size_t n, size_t min_overlap, uint32_t *scratch,
                          afp_hit *hit);

#endif
