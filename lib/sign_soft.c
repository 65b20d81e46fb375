/* sign_soft.c - the soft binding made at signing: the PDQ fingerprint of
 * the decoded picture, or the caller's fingerprint of the sound
 * (prov.chroma.1), as a c2pa.soft-binding assertion.
 *
 * The algorithm name: PDQ is not (yet) on the C2PA soft-binding algorithm
 * list, so a name of our own is used (docs/soft-binding.md).  The value is
 * base64 of the 32 hash bytes; pad is present because c2pa-rs requires it. */
#include "cbor.h"
#include "pdq.h"
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOFT_ALG "prov.pdq.1"
#define AUDIO_ALG "prov.chroma.1"

_Static_assert(sizeof(((sctx *)0)->pdq) == PDQ_VARIANTS * 32, "sctx.pdq holds the indexed variants");

static void put_binding(pbuf *b, const char *alg, const char *value, const char *name)
{
    cbor_put_map(b, 4);
    cbor_put_text(b, "alg");
    cbor_put_text(b, alg);
    cbor_put_text(b, "blocks");
    cbor_put_array(b, 1);
    cbor_put_map(b, 2);
    cbor_put_text(b, "scope");
    cbor_put_map(b, 0); /* the whole picture or sound */
    cbor_put_text(b, "value");
    cbor_put_text(b, value);
    cbor_put_text(b, "name");
    cbor_put_text(b, name);
    cbor_put_text(b, "pad");
    cbor_put_bytes(b, "", 0);
}

/* The words as base64 of their big-endian bytes. */
static int audio_binding(sctx *s)
{
    const uint32_t *w = s->o->audio_fingerprint;
    size_t n = s->o->audio_fingerprint_len;
    if (n > PROV_AFP_MAX_WORDS)
        return prov_seterr(s->ctx, PROV_ELIMIT, "audio fingerprint of %zu words (at most %u)", n, PROV_AFP_MAX_WORDS);
    if (s->o->no_soft_binding) return 0; /* published only */
    uint8_t *raw = malloc(n * 4);
    size_t blen = sodium_base64_ENCODED_LEN(n * 4, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(blen);
    if (!raw || !b64) {
        free(raw);
        free(b64);
        return prov_seterr(s->ctx, PROV_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) wr32(raw + 4 * i, w[i]);
    sodium_bin2base64(b64, blen, raw, n * 4, sodium_base64_VARIANT_ORIGINAL);
    char name[128];
    snprintf(name, sizeof name, "prov.chroma.1 audio fingerprint of the decoded sound (%zu words, %.1f s)", n,
             (double)(n + 11) * 1365.0 / PROV_AFP_RATE);
    put_binding(&s->soft, AUDIO_ALG, b64, name);
    free(raw);
    free(b64);
    return s->soft.err ? PROV_ENOMEM : 0;
}

int build_soft_binding(sctx *s, prov_stream *in)
{
    if (!in->seek) /* a pipe: one pass only, no picture fingerprint */
        return s->o->audio_fingerprint_len ? audio_binding(s) : 0;
    prov_img img;
    int rc = pdq_decode(s->ctx, in, &img);
    if (in->seek(in->user, 0)) {
        if (!rc) img_free(&img);
        return prov_seterr(s->ctx, PROV_EIO, "input: seek failed");
    }
    /* not a picture (video, sound), or past the decode bounds: sign
     * without, or with the sound's fingerprint */
    if (rc == PROV_EUNSUPPORTED || rc == PROV_ELIMIT) {
        if (s->ctx) s->ctx->msg[0] = 0;
        return s->o->audio_fingerprint_len ? audio_binding(s) : 0;
    }
    if (rc) {
        char m[sizeof s->ctx->msg];
        snprintf(m, sizeof m, "%s", s->ctx ? s->ctx->msg : prov_strerror(rc));
        return prov_seterr(s->ctx, rc, "soft binding: cannot decode the picture: %s", m);
    }
    int quality = 0;
    rc = pdq_variants(&img, s->pdq, &quality);
    img_free(&img);
    if (rc) return rc;
    s->has_pdq = 1;
    if (s->o->no_soft_binding) return 0; /* published only */
    char b64[64], name[96];
    sodium_bin2base64(b64, sizeof b64, s->pdq[0], 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(name, sizeof name, "PDQ of the decoded pixels (quality %d of 100)", quality);
    put_binding(&s->soft, SOFT_ALG, b64, name);
    return s->soft.err;
}
