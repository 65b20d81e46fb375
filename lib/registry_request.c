/* registry_request.c - registration requests: a register entry signed by
 * its key alone, waiting for a registrar's signature (registry.h). */
#include "registry.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The one key a request may be signed by: its own. */
typedef struct selfkey {
    tlog_verifier v;
} selfkey;

static int self_lookup(void *user, const char *name, size_t nl, uint32_t id,
                       const tlog_verifier **out)
{
    selfkey *k = user;
    if (nl != strlen(k->v.name) || memcmp(name, k->v.name, nl) || id != k->v.id) return PROV_ENOTFOUND;
    *out = &k->v;
    return 0;
}

int reg_request_parse(const uint8_t *msg, size_t len, reg_entry *e, prov_ctx *ctx)
{
    int rc = reg_entry_parse(msg, len, false, e, ctx);
    if (rc) return rc;
    if (e->kind != REG_REGISTER) return prov_seterr(ctx, PROV_EFORMAT, "request: not a register entry");
    if (!memcmp(e->key, e->registrar, 32))
        return prov_seterr(ctx, PROV_EINVAL, "request: the key names itself as registrar");
    selfkey k;
    char name[REG_SIGNAME_MAX];
    reg_sig_name(name, &e->key_pub);
    if (reg_pub_is_ecdsa(&e->key_pub) ? tlog_verifier_init_ecdsa(&k.v, name, e->key_pub.spki, e->key_pub.spki_len)
                                      : tlog_verifier_init(&k.v, name, TLOG_ALG_ED25519, e->key))
        return PROV_EINVAL;
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    tlog_verifiers vs = {.lookup = self_lookup, .user = &k};
    rc = tlog_note_open(msg, len, &vs, n, ctx);
    if (rc == PROV_ENOTFOUND) rc = prov_seterr(ctx, TLOG_EVERIFY, "request: not signed by its key");
    else if (!rc && (n->nsigs != 1 || n->nverified != 1))
        rc = prov_seterr(ctx, TLOG_EVERIFY, "request: must carry exactly one signature, by its key");
    if (!rc) {
        e->nsigners = 1;
        memcpy(e->signers[0], e->key, 32);
    }
    free(n);
    return rc;
}

void reg_request_id(char out[17], const uint8_t pk[32]) { reg_key_id(out, pk); }

int reg_entry_cosign(pbuf *out, const uint8_t *msg, size_t len, const tlog_signer *signer,
                     prov_ctx *ctx)
{
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    tlog_verifiers none = {0};
    int rc = tlog_note_open(msg, len, &none, n, ctx);
    if (rc == PROV_ENOTFOUND) rc = 0; /* nobody known: every line kept as it is */
    if (!rc) rc = tlog_note_sign(out, n->text, n->text_len, n->sigs, n->nsigs, signer, 1, 0, ctx);
    if (!rc && out->len > REG_ENTRY_MAX) rc = prov_seterr(ctx, PROV_ELIMIT, "entry too large");
    free(n);
    return rc;
}

/* ---- refusals --------------------------------------------------------- */

int reg_refusal_build(pbuf *out, const char id[17], const char *reason, uint64_t time,
                      const tlog_signer *registrar, prov_ctx *ctx)
{
    size_t rl = strlen(reason);
    if (rl < 1 || rl > REG_FIELD_MAX || reason[0] == ' ' || reason[rl - 1] == ' ' ||
        !tlog_text_valid(reason, rl) || memchr(reason, '\n', rl))
        return prov_seterr(ctx, PROV_EINVAL, "reason: 1 to %d characters of text, no control characters",
                           REG_FIELD_MAX);
    pbuf t;
    pbuf_init(&t);
    pbuf_printf(&t, REG_MAGIC " refusal\nrequest %.16s\nreason %s\ntime %llu\n", id, reason,
                (unsigned long long)time);
    int rc = t.err;
    if (!rc) rc = tlog_note_sign(out, (const char *)t.p, t.len, NULL, 0, registrar, 1, 0, ctx);
    pbuf_free(&t);
    return rc;
}

int reg_refusal_parse(const uint8_t *msg, size_t len, const uint8_t registrar[32], char id[17],
                      reg_str *reason, prov_ctx *ctx)
{
    if (len > REG_ENTRY_MAX) return prov_seterr(ctx, PROV_ELIMIT, "refusal: too large");
    selfkey k;
    char name[73];
    memcpy(name, "ed25519:", 8);
    sodium_bin2hex(name + 8, 65, registrar, 32);
    if (tlog_verifier_init(&k.v, name, TLOG_ALG_ED25519, registrar)) return PROV_EINVAL;
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    tlog_verifiers vs = {.lookup = self_lookup, .user = &k};
    int rc = tlog_note_open(msg, len, &vs, n, ctx);
    if (rc == PROV_ENOTFOUND) rc = prov_seterr(ctx, TLOG_EVERIFY, "refusal: not signed by the request's registrar");
    const char *t = rc ? "" : n->text, *end = rc ? t : t + n->text_len;
    static const char *const lines[] = {REG_MAGIC " refusal\n", "request ", "reason ", "time "};
    for (int i = 0; i < 4 && !rc; i++) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        size_t ll = strlen(lines[i]);
        if (!nl || (size_t)(nl + 1 - t) < ll || memcmp(t, lines[i], ll)) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "refusal: line %d is not \"%.*s...\"", i + 1, (int)ll, lines[i]);
            break;
        }
        const char *v = t + ll;
        size_t vl = (size_t)(nl - v);
        uint64_t u;
        if (i == 1 && (vl != 16 || strspn(v, "0123456789abcdef") < 16)) rc = PROV_EFORMAT;
        if (i == 1 && !rc) memcpy(id, v, 16), id[16] = 0;
        if (i == 2 && (vl < 1 || vl > REG_FIELD_MAX || v[0] == ' ' || v[vl - 1] == ' ')) rc = PROV_EFORMAT;
        if (i == 2 && !rc) *reason = (reg_str){v, vl};
        if (i == 3 && tlog_parse_u64(v, vl, &u)) rc = PROV_EFORMAT;
        if (rc) rc = prov_seterr(ctx, rc, "refusal: bad %.*s", (int)ll - 1, lines[i]);
        t = nl + 1;
    }
    if (!rc && t != end) rc = prov_seterr(ctx, PROV_EFORMAT, "refusal: extra lines");
    free(n);
    return rc;
}

/* ---- approvals -------------------------------------------------------- */

int reg_approval_parse(const uint8_t *msg, size_t len, reg_entry *e, prov_ctx *ctx)
{
    int rc = reg_entry_parse(msg, len, false, e, ctx);
    if (rc) return rc;
    if (e->kind != REG_REGISTER) return prov_seterr(ctx, PROV_EFORMAT, "approval: not a register entry");
    selfkey k;
    char name[73];
    memcpy(name, "ed25519:", 8);
    sodium_bin2hex(name + 8, 65, e->registrar, 32);
    if (tlog_verifier_init(&k.v, name, TLOG_ALG_ED25519, e->registrar)) return PROV_EINVAL;
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    tlog_verifiers vs = {.lookup = self_lookup, .user = &k};
    rc = tlog_note_open(msg, len, &vs, n, ctx);
    if (rc == PROV_ENOTFOUND) rc = prov_seterr(ctx, TLOG_EVERIFY, "approval: not signed by the registrar it names");
    else if (!rc && (n->nsigs != 1 || n->nverified != 1))
        rc = prov_seterr(ctx, TLOG_EVERIFY, "approval: must carry exactly one signature, by the registrar");
    if (!rc) {
        e->nsigners = 1;
        memcpy(e->signers[0], e->registrar, 32);
    }
    free(n);
    return rc;
}

bool reg_approval_matches(const reg_entry *req, const reg_entry *ap)
{
#define SAME_STR(f) (req->f.n == ap->f.n && (!req->f.n || !memcmp(req->f.p, ap->f.p, req->f.n)))
    /* the key in full, not only its handle: an ECDSA key written as an
     * Ed25519 one would be another key */
    return !memcmp(req->key, ap->key, 32) && req->key_pub.spki_len == ap->key_pub.spki_len &&
           !memcmp(req->key_pub.spki, ap->key_pub.spki, req->key_pub.spki_len) &&
           !memcmp(req->registrar, ap->registrar, 32) && SAME_STR(log) &&
           SAME_STR(name) && SAME_STR(org) && SAME_STR(contact);
#undef SAME_STR
}

/* ---- a registrar's signed read (the list of pending requests) --------- */

/* any "ed25519:<hex>" signer, verified with the key its name holds */
static int any_lookup(void *user, const char *name, size_t nl, uint32_t id, const tlog_verifier **out)
{
    tlog_verifier *v = user;
    uint8_t pk[32];
    size_t got;
    if (nl != 72 || memcmp(name, "ed25519:", 8) || sodium_hex2bin(pk, 32, name + 8, 64, NULL, &got, NULL) || got != 32)
        return PROV_ENOTFOUND;
    char nm[73];
    memcpy(nm, name, 72), nm[72] = 0;
    if (tlog_verifier_init(v, nm, TLOG_ALG_ED25519, pk) || v->id != id) return PROV_ENOTFOUND;
    *out = v;
    return 0;
}

int reg_readauth_build(pbuf *out, const char *what, const char *origin, uint64_t time,
                       const tlog_signer *registrar, prov_ctx *ctx)
{
    pbuf t;
    pbuf_init(&t);
    pbuf_printf(&t, REG_MAGIC " read\nlog %s\nwhat %s\ntime %llu\n", origin, what, (unsigned long long)time);
    int rc = t.err;
    if (!rc) rc = tlog_note_sign(out, (const char *)t.p, t.len, NULL, 0, registrar, 1, 0, ctx);
    pbuf_free(&t);
    return rc;
}

int reg_readauth_check(const uint8_t *msg, size_t len, const char *what, const char *origin, uint64_t now,
                       uint8_t signer[32], prov_ctx *ctx)
{
    if (len > 1024) return prov_seterr(ctx, PROV_ELIMIT, "authorization: too large");
    tlog_verifier v;
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    tlog_verifiers vs = {.lookup = any_lookup, .user = &v};
    int rc = tlog_note_open(msg, len, &vs, n, ctx);
    if (rc == PROV_ENOTFOUND) rc = prov_seterr(ctx, TLOG_EVERIFY, "authorization: not signed by an ed25519 key");
    else if (!rc && (n->nsigs != 1 || n->nverified != 1))
        rc = prov_seterr(ctx, TLOG_EVERIFY, "authorization: must carry exactly one signature");
    if (!rc) {
        char want[600];
        int wl = snprintf(want, sizeof want, REG_MAGIC " read\nlog %s\nwhat %s\ntime ", origin, what);
        const char *t = n->text;
        size_t tl = n->text_len;
        uint64_t when = 0;
        if (wl <= 0 || (size_t)wl >= sizeof want || tl <= (size_t)wl || memcmp(t, want, (size_t)wl) ||
            t[tl - 1] != '\n' || tlog_parse_u64(t + wl, tl - (size_t)wl - 1, &when))
            rc = prov_seterr(ctx, PROV_EFORMAT, "authorization: not a read of %s on log %s", what, origin);
        else if (when + REG_READ_WINDOW < now || when > now + REG_READ_WINDOW)
            rc = prov_seterr(ctx, TLOG_EVERIFY, "authorization: its time is more than %d s from the server's clock",
                             REG_READ_WINDOW);
        else
            memcpy(signer, n->sigs[0].by->pub, 32);
    }
    free(n);
    return rc;
}
