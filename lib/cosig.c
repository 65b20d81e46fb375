/* cosig.c - witness cosignatures (c2sp.org/tlog-cosignature), the
 * timestamped Ed25519 type (key ID algorithm byte 0x04).
 *
 * A cosignature is a note signature line on a checkpoint.  Its bytes are
 * the 8-byte big-endian timestamp then the Ed25519 signature of
 *
 *     cosignature/v1\n
 *     time <timestamp in decimal>\n
 *     <the checkpoint text, extension lines included>
 *
 * The header line separates the domain from plain note signatures (so the
 * same key cannot be tricked into a cosignature), and the time is signed
 * so a witness's statement "this was the latest tree I saw at time T"
 * cannot be moved in time.  See tlog.h. */
#include "tlog.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define COSIG_MAX_TIME ((uint64_t)INT64_MAX) /* the spec: at most 2^63 - 1 */

int tlog_cosig_message(pbuf *b, uint64_t t, const char *text, size_t len)
{
    if (t > COSIG_MAX_TIME || (!text && len)) return PROV_EINVAL;
    pbuf_printf(b, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
    pbuf_put(b, text, len);
    return b->err;
}

int tlog_cosig_sign(const tlog_signer *s, uint64_t t, const char *text, size_t len,
                    uint8_t out[72])
{
    if (!s || s->alg != TLOG_ALG_COSIG || t > COSIG_MAX_TIME) return PROV_EINVAL;
    tlog_checkpoint cp;
    int rc = tlog_checkpoint_parse(text, len, &cp, NULL);
    if (rc) return rc;
    pbuf m;
    pbuf_init(&m);
    if ((rc = tlog_cosig_message(&m, t, text, len))) {
        pbuf_free(&m);
        return rc;
    }
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(t >> (56 - 8 * i));
    rc = tlog_ed25519_sign(s, m.p, m.len, out + 8);
    pbuf_free(&m);
    return rc;
}

int tlog_cosig_verify(const tlog_verifier *v, const char *text, size_t len, const uint8_t *sig,
                      size_t sig_len, uint64_t *t)
{
    if (t) *t = 0;
    if (!v || v->alg != TLOG_ALG_COSIG || !sig || sig_len != 72) return TLOG_EVERIFY;
    uint64_t ts = rd64(sig);
    if (ts > COSIG_MAX_TIME) return TLOG_EVERIFY;
    /* The message is built on the stack when it fits (checkpoints do),
     * so verifying a cosigned checkpoint allocates nothing. */
    uint8_t stack[1024];
    pbuf m;
    pbuf_init(&m);
    const uint8_t *msg;
    size_t mlen;
    char head[48];
    int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n", (unsigned long long)ts);
    if (hl < 0 || (size_t)hl >= sizeof head) return TLOG_EVERIFY;
    if (len <= sizeof stack - (size_t)hl) {
        memcpy(stack, head, (size_t)hl);
        if (len) memcpy(stack + hl, text, len);
        msg = stack;
        mlen = (size_t)hl + len;
    } else {
        if (tlog_cosig_message(&m, ts, text, len)) {
            pbuf_free(&m);
            return PROV_ENOMEM;
        }
        msg = m.p;
        mlen = m.len;
    }
    int ok = crypto_sign_verify_detached(sig + 8, msg, mlen, v->pub) == 0;
    pbuf_free(&m);
    if (!ok) return TLOG_EVERIFY;
    if (t) *t = ts;
    return 0;
}

int tlog_cosig_line(pbuf *b, const tlog_signer *s, uint64_t t, const char *text, size_t len)
{
    uint8_t raw[4 + 72];
    if (!s) return PROV_EINVAL;
    wr32(raw, s->id);
    int rc = tlog_cosig_sign(s, t, text, len, raw + 4);
    if (rc) return rc;
    pbuf_put(b, "\xe2\x80\x94 ", 4);
    pbuf_put(b, s->name, s->name_len);
    pbuf_putc(b, ' ');
    tlog_b64_encode(b, raw, sizeof raw);
    pbuf_putc(b, '\n');
    return b->err;
}
