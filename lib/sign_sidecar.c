/* sign_sidecar.c - a sidecar manifest: the file is bound as it is, so the
 * hash runs over all of it (no exclusion) and only the manifest store is
 * written out. */
#include "bmff.h"
#include "pump.h"
#include "sign.h"

#include <openssl/evp.h>
#include <string.h>

static int put_store(sctx *s, const uint8_t hash[32], prov_stream *out, pbuf *store)
{
    store->len = 0;
    int rc = build_store(s, hash, 0, 0, 1, store);
    if (rc) return rc;
    if (store->len > PROV_MAX_STORE)
        return prov_seterr(s->ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the %u-byte limit", store->len,
                           PROV_MAX_STORE);
    if (out->seek(out->user, 0) || out->write(out->user, store->p, store->len))
        return prov_seterr(s->ctx, PROV_EIO, "output: write failed");
    return 0;
}

int sign_sidecar(sctx *s, rdr *rd, asset *a, prov_stream *out, pbuf *store)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return PROV_ECRYPTO;
    }
    /* the head in memory (JPEG, PNG), then the rest as it streams */
    EVP_DigestUpdate(md, a->head.p, a->head.len);
    uint64_t moved;
    int where, rc = pump(rd, UINT64_MAX, md_update, md, NULL, &moved, &where);
    uint8_t hash[32];
    unsigned int hl = 0;
    if (rc) rc = prov_seterr(s->ctx, rc, "input: read failed");
    else if (!EVP_DigestFinal_ex(md, hash, &hl)) rc = PROV_ECRYPTO;
    EVP_MD_CTX_free(md);
    return rc ? rc : put_store(s, hash, out, store);
}

/* c2pa.hash.bmff.v3 over the file as it is: each top-level box but ftyp,
 * mfra and a C2PA box, at its own offset. */
int sign_sidecar_bmff(sctx *s, rdr *rd, const void *file, prov_stream *out)
{
    if (s->nleaves) return prov_seterr(s->ctx, PROV_EUNSUPPORTED, "a sidecar for fragmented media is not supported");
    uint8_t hash[32];
    const bmff_file *bf = file;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return PROV_ECRYPTO;
    }
    int rc = 0;
    for (size_t i = 0; i < bf->ntop && !rc; i++) {
        const bbox *b = &bf->top[i];
        if (b->type == FOURCC('f', 't', 'y', 'p') || b->type == FOURCC('m', 'f', 'r', 'a') ||
            (b->type == FOURCC('u', 'u', 'i', 'd') && !memcmp(b->uuid, BMFF_C2PA_UUID, 16)))
            continue;
        uint8_t be[8];
        wr32(be, (uint32_t)(b->off >> 32));
        wr32(be + 4, (uint32_t)b->off);
        EVP_DigestUpdate(md, be, 8);
        if (rdr_seek(rd, b->off)) { rc = prov_seterr(s->ctx, PROV_EIO, "input: seek failed"); break; }
        uint64_t want = b->size ? b->size : UINT64_MAX, moved;
        int where;
        if ((rc = pump(rd, want, md_update, md, NULL, &moved, &where))) rc = prov_seterr(s->ctx, rc, "input: read failed");
        else if (b->size && moved != b->size) rc = prov_seterr(s->ctx, PROV_EFORMAT, "input: truncated box");
    }
    unsigned int hl = 0;
    if (!rc && !EVP_DigestFinal_ex(md, hash, &hl)) rc = PROV_ECRYPTO;
    EVP_MD_CTX_free(md);
    if (rc) return rc;
    pbuf store;
    pbuf_init(&store);
    rc = put_store(s, hash, out, &store);
    pbuf_free(&store);
    return rc;
}
