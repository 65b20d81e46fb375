/* sign_bmff.c - sign ISO BMFF files (MP4, MOV, HEIC, AVIF). */
#include "bmff.h"
#include "pump.h"
#include "sign.h"

#include <openssl/evp.h>
#include <string.h>

static void no_hash(void *u, const uint8_t *p, size_t n) { (void)u; (void)p; (void)n; }

static int is_meta_box(uint32_t t)
{
    return t == FOURCC('m', 'o', 'o', 'v') || t == FOURCC('m', 'e', 't', 'a') || t == FOURCC('m', 'o', 'o', 'f') ||
           t == FOURCC('m', 'f', 'r', 'a');
}

/* BMFF: the manifest box goes right after ftyp (an old one is dropped);
 * every later box moves by the difference, so offset tables are patched
 * before they are hashed.  Boxes are copied in order, each top-level box
 * that is hashed preceded by its new offset (v3 flat hash). */
int sign_bmff(sctx *s, rdr *rd, prov_stream *in, prov_stream *out)
{
    prov_ctx *ctx = s->ctx;
    bmff_file bf;
    pbuf store, box, wrapped;
    pbuf_init(&store);
    pbuf_init(&box);
    pbuf_init(&wrapped);
    EVP_MD_CTX *md = NULL;
    int rc = bmff_scan(ctx, rd, &bf, "input");
    if (rc) return rc;
    if (bf.c2pa >= 0 && !s->has_parent) { /* re-signing: the input is its own parent */
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
        if ((rc = load_parent(s, in))) goto out;
        rdr_forget(rd);
    }
    s->format = FMT_BMFF;
    if ((rc = build_fixed(s))) goto out;
    uint8_t hash[32] = {0};
    if ((rc = build_store(s, hash, 0, 0, 0, &store))) goto out;
    if (store.len > PROV_MAX_STORE) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the limit", store.len);
        goto out;
    }
    size_t store_len = store.len;
    uint64_t boxlen = BMFF_MANIFEST_HDR + store_len;
    const bbox *ft = &bf.top[bf.ftyp];
    bmff_shift sh = {ft->off + ft->size, boxlen, 0, 0};
    if (bf.c2pa >= 0) {
        sh.cut_start = bf.top[bf.c2pa].off;
        sh.cut_end = sh.cut_start + bf.top[bf.c2pa].size;
    }
    md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) { rc = PROV_ECRYPTO; goto out; }
    if (out->seek(out->user, 0)) goto wfail;
    uint64_t uuid_at = 0, written = 0;
    for (size_t i = 0; i < bf.ntop; i++) {
        const bbox *b = &bf.top[i];
        if ((long)i == bf.c2pa) continue;
        uint64_t at = bmff_shift_apply(&sh, b->off);
        if (at != written) { rc = prov_seterr(ctx, PROV_EFORMAT, "input: boxes overlap"); goto out; }
        int hashed = !((long)i == bf.ftyp || b->type == FOURCC('m', 'f', 'r', 'a') ||
                       (b->type == FOURCC('u', 'u', 'i', 'd') && !memcmp(b->uuid, BMFF_C2PA_UUID, 16)));
        if (hashed) {
            uint8_t be[8];
            wr32(be, (uint32_t)(at >> 32));
            wr32(be + 4, (uint32_t)at);
            EVP_DigestUpdate(md, be, 8);
        }
        uint64_t moved;
        int where;
        if (is_meta_box(b->type) && b->size && b->size <= BMFF_MAX_META) {
            char why[128] = "";
            if ((rc = bmff_load(ctx, rd, b, &box, "input"))) goto out;
            if ((rc = bmff_patch(box.p, box.len, &sh, why, sizeof why))) {
                prov_seterr(ctx, rc, "input: cannot move the '%c%c%c%c' box: %s", b->type >> 24, b->type >> 16 & 0xff,
                            b->type >> 8 & 0xff, b->type & 0xff, why);
                goto out;
            }
            if (hashed) EVP_DigestUpdate(md, box.p, box.len);
            if (out->write(out->user, box.p, box.len)) goto wfail;
            moved = box.len;
        } else {
            if (rdr_seek(rd, b->off)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
            uint64_t want = b->size ? b->size : UINT64_MAX;
            if ((rc = pump(rd, want, hashed ? md_update : no_hash, md, out, &moved, &where))) {
                if (where == 1) goto wfail;
                prov_seterr(ctx, rc, "input: read failed");
                goto out;
            }
            if (b->size && moved != b->size) { rc = prov_seterr(ctx, PROV_EFORMAT, "input: truncated box"); goto out; }
        }
        written += moved;
        if ((long)i == bf.ftyp) { /* reserve the manifest box */
            uuid_at = written;
            uint8_t zero[4096] = {0};
            for (uint64_t left = boxlen; left;) {
                size_t k = left < sizeof zero ? (size_t)left : sizeof zero;
                if (out->write(out->user, zero, k)) goto wfail;
                left -= k;
            }
            written += boxlen;
        }
    }
    unsigned int hl;
    if (!EVP_DigestFinal_ex(md, hash, &hl)) { rc = PROV_ECRYPTO; goto out; }
    store.len = 0;
    if ((rc = build_store(s, hash, 0, 0, 1, &store))) goto out;
    if (store.len != store_len) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest size changed after signing"); goto out; }
    bmff_put_manifest_box(&wrapped, store.p, store.len, (size_t)boxlen);
    if (wrapped.err) { rc = PROV_ENOMEM; goto out; }
    if (out->seek(out->user, uuid_at) || out->write(out->user, wrapped.p, wrapped.len)) goto wfail;
    rc = 0;
    goto out;
wfail:
    rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
out:
    if (md) EVP_MD_CTX_free(md);
    pbuf_free(&store);
    pbuf_free(&box);
    pbuf_free(&wrapped);
    bmff_free(&bf);
    return rc;
}

