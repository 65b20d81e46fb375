/* tlogproof.c - offline inclusion proofs (c2sp.org/tlog-proof):
 *
 *     c2sp.org/tlog-proof@v1
 *     [extra <base64>]
 *     index <N>
 *     <base64 hash>          zero or more, leaf's sibling first
 *     <empty line>
 *     <signed checkpoint, verbatim>
 *
 * A signed file carries one so it verifies with no network: the log's key
 * (and witnesses' keys) are all a verifier needs.  See tlog.h. */
#include "tlog.h"

#include <string.h>

static const char header[] = "c2sp.org/tlog-proof@v1";
#define HEADER_LEN (sizeof header - 1)

/* The next line of [*p, end) without its '\n'; false if there is no '\n'. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *nl = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;
    if (!nl) return false;
    *line = *p;
    *len = (size_t)(nl - *p);
    *p = nl + 1;
    return true;
}

int tlog_proof_parse(const uint8_t *data, size_t len, tlog_proof *out, prov_ctx *ctx)
{
    memset(out, 0, offsetof(tlog_proof, proof));
    if (!data && len) return PROV_EINVAL;
    /* the header, extra and hashes take < 8 KB; the checkpoint is a note */
    if (len > TLOG_NOTE_MAX + 16384)
        return prov_seterr(ctx, PROV_ELIMIT, "tlog-proof too large");
    const char *p = (const char *)data, *end = p + len, *line;
    size_t ll;
    if (!next_line(&p, end, &line, &ll) || ll != HEADER_LEN || memcmp(line, header, ll))
        return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: missing header line");
    if (!next_line(&p, end, &line, &ll))
        return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: missing index line");
    if (ll >= 6 && !memcmp(line, "extra ", 6)) {
        size_t xl;
        if (tlog_b64_decode(line + 6, ll - 6, NULL, 0, &xl))
            return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: extra data is not base64");
        out->has_extra = true;
        out->extra = line + 6;
        out->extra_len = ll - 6;
        if (!next_line(&p, end, &line, &ll))
            return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: missing index line");
    }
    if (ll < 6 || memcmp(line, "index ", 6) || tlog_parse_u64(line + 6, ll - 6, &out->index))
        return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: bad index line");
    for (;;) {
        if (!next_line(&p, end, &line, &ll))
            return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: no empty line before the checkpoint");
        if (ll == 0) break;
        if (out->nproof == 64) /* no inclusion proof is longer */
            return prov_seterr(ctx, PROV_ELIMIT, "tlog-proof: more than 64 proof hashes");
        size_t hl;
        if (tlog_b64_decode(line, ll, out->proof[out->nproof], 32, &hl) || hl != 32)
            return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: proof hash is not base64 of 32 bytes");
        out->nproof++;
    }
    if (p == end) return prov_seterr(ctx, PROV_EFORMAT, "tlog-proof: no checkpoint");
    out->checkpoint = (const uint8_t *)p;
    out->checkpoint_len = (size_t)(end - p);
    return 0;
}

int tlog_proof_format(pbuf *b, uint64_t index, const uint8_t *proof, size_t nproof,
                      bool has_extra, const uint8_t *extra, size_t extra_len,
                      const uint8_t *checkpoint, size_t checkpoint_len)
{
    if (!b || (!proof && nproof) || nproof > 64 || (!extra && extra_len) || !checkpoint ||
        checkpoint_len == 0)
        return PROV_EINVAL;
    pbuf_puts(b, header);
    pbuf_putc(b, '\n');
    if (has_extra) {
        pbuf_puts(b, "extra ");
        tlog_b64_encode(b, extra, extra_len);
        pbuf_putc(b, '\n');
    }
    pbuf_printf(b, "index %llu\n", (unsigned long long)index);
    for (size_t i = 0; i < nproof; i++) {
        tlog_b64_encode(b, proof + 32 * i, 32);
        pbuf_putc(b, '\n');
    }
    pbuf_putc(b, '\n');
    pbuf_put(b, checkpoint, checkpoint_len);
    return b->err;
}

int tlog_proof_verify(const uint8_t *data, size_t len, const uint8_t leaf_hash[32],
                      const char *origin, const tlog_verifier *log,
                      const tlog_verifier *witnesses, size_t nwitnesses, tlog_proof *pr,
                      tlog_note *note, tlog_checkpoint *cp, prov_ctx *ctx)
{
    tlog_proof lpr;
    tlog_note lnote;
    tlog_checkpoint lcp;
    if (!pr) pr = &lpr;
    if (!note) note = &lnote;
    if (!cp) cp = &lcp;
    memset(cp, 0, sizeof *cp);
    memset(note, 0, offsetof(tlog_note, sigs));
    if (!leaf_hash || !origin || !log) return PROV_EINVAL;
    int rc = tlog_proof_parse(data, len, pr, ctx);
    if (rc) return rc;
    rc = tlog_checkpoint_open(pr->checkpoint, pr->checkpoint_len, origin, log, witnesses,
                              nwitnesses, note, cp, ctx);
    if (rc) return rc;
    rc = tlog_verify_inclusion(pr->index, cp->size, leaf_hash, pr->proof[0], pr->nproof,
                               cp->root);
    if (rc == PROV_EFORMAT)
        return prov_seterr(ctx, rc, "tlog-proof: index %llu and %zu hashes do not fit tree size %llu",
                           (unsigned long long)pr->index, pr->nproof,
                           (unsigned long long)cp->size);
    if (rc)
        return prov_seterr(ctx, rc, "tlog-proof: entry %llu is not in the checkpointed tree",
                           (unsigned long long)pr->index);
    return 0;
}
