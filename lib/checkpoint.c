/* checkpoint.c - log checkpoints (c2sp.org/tlog-checkpoint): the signed
 * tree head, a note whose text is
 *
 *     <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n]...
 *
 * See tlog.h. */
#include "tlog.h"

#include <string.h>

/* Canonical decimal: "0" or [1-9][0-9]*, at most UINT64_MAX. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) return PROV_EFORMAT;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return PROV_EFORMAT;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return PROV_EFORMAT;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Shared with tlogproof.c. */
int tlog_parse_u64(const char *s, size_t n, uint64_t *out) { return parse_u64(s, n, out); }

int tlog_checkpoint_parse(const char *text, size_t len, tlog_checkpoint *cp, prov_ctx *ctx)
{
    memset(cp, 0, sizeof *cp);
    if (!text && len) return PROV_EINVAL;
    if (len > TLOG_NOTE_MAX)
        return prov_seterr(ctx, PROV_ELIMIT, "checkpoint larger than %u bytes", TLOG_NOTE_MAX);
    if (len == 0 || text[len - 1] != '\n' || !tlog_text_valid(text, len))
        return prov_seterr(ctx, PROV_EFORMAT, "checkpoint: not note text ending in a newline");
    const char *end = text + len, *line[3];
    size_t ll[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (!nl) return prov_seterr(ctx, PROV_EFORMAT, "checkpoint: fewer than three lines");
        line[i] = p;
        ll[i] = (size_t)(nl - p);
        p = nl + 1;
    }
    if (ll[0] == 0) return prov_seterr(ctx, PROV_EFORMAT, "checkpoint: empty origin");
    uint64_t size;
    if (parse_u64(line[1], ll[1], &size))
        return prov_seterr(ctx, PROV_EFORMAT, "checkpoint: bad tree size");
    uint8_t root[32];
    size_t rl;
    if (tlog_b64_decode(line[2], ll[2], root, sizeof root, &rl) || rl != 32)
        return prov_seterr(ctx, PROV_EFORMAT, "checkpoint: root hash is not base64 of 32 bytes");
    /* extension lines: each non-empty (so no blank line can hide here) */
    for (const char *q = p; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (nl == q) return prov_seterr(ctx, PROV_EFORMAT, "checkpoint: empty extension line");
        q = nl + 1;
    }
    cp->origin = line[0];
    cp->origin_len = ll[0];
    cp->size = size;
    memcpy(cp->root, root, 32);
    cp->ext = p;
    cp->ext_len = (size_t)(end - p);
    return 0;
}

/* Zero or more non-empty lines, each ending in '\n', valid text. */
static bool ext_valid(const char *ext, size_t n)
{
    if (n == 0) return true;
    if (!ext || ext[n - 1] != '\n' || !tlog_text_valid(ext, n)) return false;
    for (size_t i = 0; i < n; i++)
        if (ext[i] == '\n' && (i == 0 || ext[i - 1] == '\n')) return false;
    return true;
}

int tlog_checkpoint_format(pbuf *b, const char *origin, size_t origin_len, uint64_t size,
                           const uint8_t root[32], const char *ext, size_t ext_len)
{
    if (!b || !origin || origin_len == 0 || !root || memchr(origin, '\n', origin_len) ||
        !tlog_text_valid(origin, origin_len) || !ext_valid(ext, ext_len))
        return PROV_EINVAL;
    pbuf_put(b, origin, origin_len);
    pbuf_printf(b, "\n%llu\n", (unsigned long long)size);
    tlog_b64_encode(b, root, 32);
    pbuf_putc(b, '\n');
    pbuf_put(b, ext, ext_len);
    return b->err;
}

int tlog_checkpoint_sign(pbuf *out, const tlog_signer *log, const char *origin, uint64_t size,
                         const uint8_t root[32], const char *ext, size_t ext_len, prov_ctx *ctx)
{
    if (!out || !log || !origin) return PROV_EINVAL;
    pbuf t;
    pbuf_init(&t);
    int rc = tlog_checkpoint_format(&t, origin, strlen(origin), size, root, ext, ext_len);
    if (rc) {
        pbuf_free(&t);
        return prov_seterr(ctx, rc, "checkpoint: bad origin or extension lines");
    }
    rc = tlog_note_sign(out, (const char *)t.p, t.len, NULL, 0, log, 1, 0, ctx);
    pbuf_free(&t);
    return rc;
}

/* Lookup over the log key and the witnesses, without copying them. */
typedef struct cp_keys {
    const tlog_verifier *log, *w;
    size_t nw;
} cp_keys;

static int cp_lookup(void *user, const char *name, size_t name_len, uint32_t id,
                     const tlog_verifier **out)
{
    const cp_keys *k = user;
    tlog_verifiers one = {k->log, 1, NULL, NULL}, ws = {k->w, k->nw, NULL, NULL};
    const tlog_verifier *a = NULL, *b = NULL;
    int ra = tlog_verifiers_find(&one, name, name_len, id, &a, NULL);
    int rb = tlog_verifiers_find(&ws, name, name_len, id, &b, NULL);
    if (ra && ra != PROV_ENOTFOUND) return ra;
    if (rb && rb != PROV_ENOTFOUND) return rb;
    if (a && b) return PROV_EINVAL; /* a witness listed with the log's own key ID */
    *out = a ? a : b;
    return *out ? 0 : PROV_ENOTFOUND;
}

int tlog_checkpoint_open(const uint8_t *msg, size_t len, const char *origin,
                         const tlog_verifier *log, const tlog_verifier *witnesses,
                         size_t nwitnesses, tlog_note *note, tlog_checkpoint *cp, prov_ctx *ctx)
{
    memset(cp, 0, sizeof *cp);
    memset(note, 0, offsetof(tlog_note, sigs));
    if (!origin || !log || (!witnesses && nwitnesses)) return PROV_EINVAL;
    /* the log signs with a plain note signature; a cosignature (a
     * witness's statement) must never pass for the log's own */
    if (log->alg != TLOG_ALG_ED25519)
        return prov_seterr(ctx, PROV_EINVAL, "log key %s is not an Ed25519 note key", log->name);
    cp_keys k = {log, witnesses, nwitnesses};
    tlog_verifiers vs = {NULL, 0, cp_lookup, &k};
    int rc = tlog_note_open(msg, len, &vs, note, ctx);
    if (rc && rc != PROV_ENOTFOUND) return rc;
    if (rc || !tlog_note_sig_by(note, log)) {
        return prov_seterr(ctx, PROV_ENOTFOUND, "checkpoint not signed by the log key %s+%08x",
                           log->name, (unsigned)log->id);
    }
    if ((rc = tlog_checkpoint_parse(note->text, note->text_len, cp, ctx))) return rc;
    size_t ol = strlen(origin);
    if (cp->origin_len != ol || memcmp(cp->origin, origin, ol)) {
        memset(cp, 0, sizeof *cp);
        return prov_seterr(ctx, TLOG_EVERIFY, "checkpoint origin is not %s", origin);
    }
    return 0;
}
