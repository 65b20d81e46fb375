/* sign_soft.c - the soft binding made at signing: the PDQ fingerprint of
 * the decoded picture as a c2pa.soft-binding assertion.
 *
 * The algorithm name: PDQ is not (yet) on the C2PA soft-binding algorithm
 * list, so a name of our own is used (docs/soft-binding.md).  The value is
 * base64 of the 32 hash bytes; pad is present because c2pa-rs requires it. */
#include "cbor.h"
#include "pdq.h"
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SOFT_ALG "prov.pdq.1"

_Static_assert(sizeof(((sctx *)0)->pdq) == PDQ_VARIANTS * 32, "sctx.pdq holds the indexed variants");

int build_soft_binding(sctx *s, prov_stream *in)
{
    if (!in->seek) return 0; /* a pipe: one pass only, no fingerprint */
    prov_img img;
    int rc = pdq_decode(s->ctx, in, &img);
    if (in->seek(in->user, 0)) {
        if (!rc) img_free(&img);
        return prov_seterr(s->ctx, PROV_EIO, "input: seek failed");
    }
    /* not a picture (video), or past the decode bounds: sign without */
    if (rc == PROV_EUNSUPPORTED || rc == PROV_ELIMIT) {
        if (s->ctx) s->ctx->msg[0] = 0;
        return 0;
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
    pbuf *b = &s->soft;
    cbor_put_map(b, 4);
    cbor_put_text(b, "alg");
    cbor_put_text(b, SOFT_ALG);
    cbor_put_text(b, "blocks");
    cbor_put_array(b, 1);
    cbor_put_map(b, 2);
    cbor_put_text(b, "scope");
    cbor_put_map(b, 0); /* the whole picture */
    cbor_put_text(b, "value");
    cbor_put_text(b, b64);
    cbor_put_text(b, "name");
    cbor_put_text(b, name);
    cbor_put_text(b, "pad");
    cbor_put_bytes(b, "", 0);
    return b->err;
}
