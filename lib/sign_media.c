/* sign_media.c - signing the formats of media.h: the output is laid out by
 * a plan (pieces of the input, literal bytes, the wrapped store), written
 * and hashed in one pass with the store's region reserved, and the
 * finished store written into it. */
#include "media.h"
#include "pump.h"
#include "sign.h"

#include <openssl/evp.h>
#include <string.h>

#define LAYOUT_ROUNDS 6

typedef struct mout {
    prov_stream *out;
    EVP_MD_CTX *md;
    uint64_t off;
} mout;

static int put(mout *w, const uint8_t *p, size_t n, int hash)
{
    if (!n) return 0;
    if (w->out->write(w->out->user, p, n)) return PROV_EIO;
    if (hash) EVP_DigestUpdate(w->md, p, n);
    w->off += n;
    return 0;
}

/* A piece of the input, copied and hashed; its error message set. */
static int copy_piece(prov_ctx *ctx, rdr *rd, mout *w, const mpiece *p)
{
    if (rdr_seek(rd, p->off)) return prov_seterr(ctx, PROV_EIO, "input: seek failed");
    uint64_t moved;
    int where, rc = pump(rd, p->len, md_update, w->md, w->out, &moved, &where);
    if (rc) return prov_seterr(ctx, where == 1 ? PROV_EIO : rc, where == 1 ? "output: write failed" : "input: read failed");
    if (p->len != MP_TO_END && moved != p->len)
        return prov_seterr(ctx, PROV_EFORMAT, "input: ends before offset %llu", (unsigned long long)(p->off + p->len));
    w->off += moved;
    return 0;
}

/* The exclusion's place in the output for a store of n bytes. */
static int layout(sctx *s, const asset *a, size_t n, mplan *pl, uint64_t *start)
{
    int rc = media_plan(s->ctx, a, n, pl);
    if (rc) return rc;
    uint64_t off = 0;
    for (size_t i = 0; i < pl->n; i++) {
        if (pl->p[i].kind == MP_STORE) {
            *start = off + pl->ex_off;
            return 0;
        }
        off += pl->p[i].len; /* pieces before the store never run to the end */
    }
    return PROV_EINVAL;
}

/* The one pass: every piece of the plan written in order and hashed, the
 * carrier (wrapped, pl->wrapped bytes) but for its exclusion; *at gets
 * the carrier's offset in the output, hash the digest. */
static int write_plan(prov_ctx *ctx, rdr *rd, const mplan *pl, const pbuf *wrapped, prov_stream *out, uint64_t *at,
                      uint8_t hash[32])
{
    if (wrapped->len != pl->wrapped) return prov_seterr(ctx, PROV_EINVAL, "wrapped manifest size mismatch");
    mout w = {out, EVP_MD_CTX_new(), 0};
    int rc = 0;
    if (!w.md || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL)) { rc = PROV_ECRYPTO; goto out; }
    if (out->seek(out->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "output: seek failed"); goto out; }
    for (size_t i = 0; i < pl->n && !rc; i++) {
        const mpiece *p = &pl->p[i];
        if (p->kind == MP_LIT) {
            rc = put(&w, pl->lit.p + p->off, (size_t)p->len, 1);
        } else if (p->kind == MP_STORE) {
            *at = w.off;
            const uint8_t *c = wrapped->p;
            if (!(rc = put(&w, c, (size_t)pl->ex_off, 1)) && !(rc = put(&w, c + pl->ex_off, (size_t)pl->ex_len, 0)))
                rc = put(&w, c + pl->ex_off + pl->ex_len, (size_t)(pl->wrapped - pl->ex_off - pl->ex_len), 1);
        } else {
            rc = copy_piece(ctx, rd, &w, p);
            if (rc) goto out; /* its message is set */
        }
        if (rc) rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
    }
    unsigned int hl = 0;
    if (!rc && !EVP_DigestFinal_ex(w.md, hash, &hl)) rc = PROV_ECRYPTO;
out:
    EVP_MD_CTX_free(w.md);
    return rc;
}

int sign_media(sctx *s, rdr *rd, asset *a, prov_stream *out)
{
    prov_ctx *ctx = s->ctx;
    mplan pl;
    memset(&pl, 0, sizeof pl);
    pbuf store, wrapped;
    pbuf_init(&store);
    pbuf_init(&wrapped);
    uint8_t hash[32] = {0};
    uint64_t start = 0, store_at = 0;
    size_t n = 0;
    int rc = 0, settled = 0;
    for (int round = 0; round < LAYOUT_ROUNDS && !settled; round++) {
        media_plan_free(&pl);
        if ((rc = layout(s, a, n, &pl, &start))) goto out;
        store.len = 0;
        if ((rc = build_store(s, hash, start, pl.ex_len, 0, &store))) goto out;
        settled = store.len == n;
        n = store.len;
    }
    if (!settled) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest layout did not settle"); goto out; }
    if (n > PROV_MAX_STORE) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the %u-byte limit", n, PROV_MAX_STORE);
        goto out;
    }
    /* the region reserved (zeros): the bytes around the exclusion are hashed */
    if ((rc = media_wrap(a, NULL, n, &wrapped)) || (rc = write_plan(ctx, rd, &pl, &wrapped, out, &store_at, hash)))
        goto out;
    store.len = 0;
    if ((rc = build_store(s, hash, start, pl.ex_len, 1, &store))) goto out;
    if (store.len != n) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest size changed after signing"); goto out; }
    wrapped.len = 0;
    if ((rc = media_wrap(a, store.p, store.len, &wrapped))) goto out;
    if (out->seek(out->user, store_at) || out->write(out->user, wrapped.p, wrapped.len))
        rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
out:
    media_plan_free(&pl);
    pbuf_free(&store);
    pbuf_free(&wrapped);
    return rc;
}

int sign_media_xmp(sctx *s, rdr *rd, asset *a, prov_stream *out, const uint8_t *packet, size_t n, uint8_t hash[32])
{
    prov_ctx *ctx = s->ctx;
    mplan pl;
    memset(&pl, 0, sizeof pl); /* freed on every path */
    pbuf wrapped;
    pbuf_init(&wrapped);
    uint64_t at = 0;
    int rc = media_plan_xmp(ctx, a, n, &pl); /* nothing excluded: the carrier is hashed whole */
    if (!rc && !(rc = media_wrap_xmp(a, packet, n, &wrapped))) rc = write_plan(ctx, rd, &pl, &wrapped, out, &at, hash);
    media_plan_free(&pl);
    pbuf_free(&wrapped);
    return rc;
}
