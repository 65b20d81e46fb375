/* sign_bmff.c - sign ISO BMFF files (MP4, MOV, HEIC, AVIF). */
#include "bmff.h"
#include "pump.h"
#include "sign.h"
#include "xmp.h"

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
    pbuf store, box, wrapped, xmpbox; /* xmpbox: a remote manifest's reference */
    pbuf_init(&store);
    pbuf_init(&box);
    pbuf_init(&wrapped);
    pbuf_init(&xmpbox);
    EVP_MD_CTX *md = NULL;
    int rc = bmff_scan(ctx, rd, &bf, "input");
    if (rc) return rc;
    if (bf.c2pa >= 0 && !s->has_parent) { /* re-signing: the input is its own parent */
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
        if ((rc = load_parent(s, in))) goto out;
        rdr_forget(rd);
    }
    if (bf.ftyp < 0) { rc = prov_seterr(ctx, PROV_EFORMAT, "input: no ftyp box"); goto out; }
    s->format = FMT_BMFF;
    if ((rc = build_fixed(s))) goto out;
    if (s->o->sidecar) {
        rc = sign_sidecar_bmff(s, rd, &bf, out);
        goto out;
    }
    /* a remote manifest: an XMP 'uuid' box naming it takes the manifest
     * box's place, and is hashed like any other box */
    const char *url = s->o->remote_url;
    if (url) {
        if (!s->o->manifest_out || !s->o->manifest_out->write) {
            rc = prov_seterr(ctx, PROV_EINVAL, "a remote manifest needs manifest_out (where its store goes)");
            goto out;
        }
        if (bmff_has_xmp(&bf)) {
            rc = prov_seterr(ctx, PROV_EUNSUPPORTED, "the file already carries XMP metadata; prov does not merge a "
                                                     "remote reference into it yet");
            goto out;
        }
        pbuf x;
        pbuf_init(&x);
        xmp_packet(&x, url);
        pbuf_be32(&xmpbox, (uint32_t)(24 + x.len));
        pbuf_put(&xmpbox, "uuid", 4);
        pbuf_put(&xmpbox, BMFF_XMP_UUID, 16);
        pbuf_put(&xmpbox, x.p, x.len);
        int e = x.err || xmpbox.err;
        pbuf_free(&x);
        if (e) { rc = PROV_ENOMEM; goto out; }
    }
    uint8_t hash[32] = {0};
    size_t store_len = 0;
    if (!url) {
        if ((rc = build_store(s, hash, 0, 0, 0, &store))) goto out;
        if (store.len > PROV_MAX_STORE) {
            rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the limit", store.len);
            goto out;
        }
        store_len = store.len;
    }
    uint64_t boxlen = url ? xmpbox.len : BMFF_MANIFEST_HDR + store_len;
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
        /* the exclusions match by type: every ftyp and mfra, every C2PA box */
        int hashed = !(b->type == FOURCC('f', 't', 'y', 'p') || b->type == FOURCC('m', 'f', 'r', 'a') ||
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
        if ((long)i == bf.ftyp && url) { /* the reference, hashed at its offset */
            uint8_t be[8];
            wr32(be, (uint32_t)(written >> 32));
            wr32(be + 4, (uint32_t)written);
            EVP_DigestUpdate(md, be, 8);
            EVP_DigestUpdate(md, xmpbox.p, xmpbox.len);
            if (out->write(out->user, xmpbox.p, xmpbox.len)) goto wfail;
            written += xmpbox.len;
        } else if ((long)i == bf.ftyp) { /* reserve the manifest box */
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
    if (url) { /* the store, for the caller to publish at url */
        prov_stream *mo = s->o->manifest_out;
        if (store.len > PROV_MAX_STORE) {
            rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the limit", store.len);
            goto out;
        }
        if ((mo->seek && mo->seek(mo->user, 0)) || mo->write(mo->user, store.p, store.len))
            rc = prov_seterr(ctx, PROV_EIO, "manifest output: write failed");
        goto out;
    }
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
    pbuf_free(&xmpbox);
    pbuf_free(&store);
    pbuf_free(&box);
    pbuf_free(&wrapped);
    bmff_free(&bf);
    return rc;
}


/* The 'merkle' box: size 'uuid' C2PA-UUID version/flags "merkle\0" CBOR. */
static void put_merkle_box(pbuf *b, uint64_t location)
{
    pbuf m;
    pbuf_init(&m);
    cbor_put_map(&m, 3);
    cbor_put_text(&m, "uniqueId");
    cbor_put_uint(&m, 1);
    cbor_put_text(&m, "localId");
    cbor_put_uint(&m, 1);
    cbor_put_text(&m, "location");
    cbor_put_uint(&m, location);
    pbuf_be32(b, (uint32_t)(35 + m.len));
    pbuf_be32(b, FOURCC('u', 'u', 'i', 'd'));
    pbuf_put(b, BMFF_C2PA_UUID, 16);
    pbuf_be32(b, 0);
    pbuf_put(b, "merkle", 7);
    pbuf_put(b, m.p, m.len);
    if (m.err) b->err = m.err;
    pbuf_free(&m);
}

static void put_marker(EVP_MD_CTX *md, uint64_t at)
{
    uint8_t be[8];
    wr32(be, (uint32_t)(at >> 32));
    wr32(be + 4, (uint32_t)at);
    EVP_DigestUpdate(md, be, 8);
}

int sign_fragment(prov_ctx *ctx, rdr *rd, prov_stream *out, uint64_t location, uint8_t leaf[32])
{
    bmff_file bf;
    pbuf mbox, box;
    pbuf_init(&mbox);
    pbuf_init(&box);
    EVP_MD_CTX *md = NULL;
    int rc = bmff_scan(ctx, rd, &bf, "fragment");
    if (rc) return rc;
    long moof = -1;
    for (size_t i = 0; i < bf.ntop && moof < 0; i++) {
        if (bf.top[i].type == FOURCC('m', 'o', 'o', 'f')) moof = (long)i;
        if (bf.top[i].type == FOURCC('u', 'u', 'i', 'd') && !memcmp(bf.top[i].uuid, BMFF_C2PA_UUID, 16)) {
            rc = prov_seterr(ctx, PROV_EINVAL, "fragment already carries a C2PA box");
            goto out;
        }
    }
    if (moof < 0) { rc = prov_seterr(ctx, PROV_EFORMAT, "fragment has no moof box"); goto out; }
    put_merkle_box(&mbox, location);
    if (mbox.err) { rc = PROV_ENOMEM; goto out; }
    bmff_shift sh = {bf.top[moof].off, mbox.len, 0, 0};
    md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) { rc = PROV_ECRYPTO; goto out; }
    if (out->seek(out->user, 0)) goto wfail;
    uint64_t written = 0;
    for (size_t i = 0; i < bf.ntop; i++) {
        const bbox *b = &bf.top[i];
        if ((long)i == moof) { /* the merkle box: excluded from the hash by its uuid */
            if (out->write(out->user, mbox.p, mbox.len)) goto wfail;
            written += mbox.len;
        }
        uint32_t t = b->type;
        int hashed = !(t == FOURCC('f', 't', 'y', 'p') || t == FOURCC('m', 'f', 'r', 'a'));
        if (hashed) put_marker(md, written);
        uint64_t moved;
        int where;
        if ((t == FOURCC('m', 'o', 'o', 'f') || t == FOURCC('s', 'i', 'd', 'x')) && b->size && b->size <= BMFF_MAX_META) {
            char why[128] = "";
            if ((rc = bmff_load(ctx, rd, b, &box, "fragment"))) goto out;
            if (t == FOURCC('s', 'i', 'd', 'x') && (long)i < moof) {
                /* sidx points at what follows it: the first reference moves */
                uint8_t *d = box.p + 8;
                size_t n = box.len - 8;
                unsigned w = n > 0 && d[0] ? 8 : 4;
                if (n < 12 + 2 * (size_t)w) { rc = prov_seterr(ctx, PROV_EFORMAT, "fragment: sidx too short"); goto out; }
                uint8_t *fo = d + 12 + w;
                uint64_t v = 0;
                for (unsigned k = 0; k < w; k++) v = v << 8 | fo[k];
                v += mbox.len;
                if (w == 4 && v > UINT32_MAX) { rc = prov_seterr(ctx, PROV_ELIMIT, "fragment: sidx offset overflows"); goto out; }
                for (unsigned k = w; k-- > 0; v >>= 8) fo[k] = (uint8_t)v;
            } else if ((rc = bmff_patch(box.p, box.len, &sh, why, sizeof why))) {
                prov_seterr(ctx, rc, "fragment: %s", why);
                goto out;
            }
            if (hashed) EVP_DigestUpdate(md, box.p, box.len);
            if (out->write(out->user, box.p, box.len)) goto wfail;
            moved = box.len;
        } else {
            if (rdr_seek(rd, b->off)) { rc = prov_seterr(ctx, PROV_EIO, "fragment: seek failed"); goto out; }
            if ((rc = pump(rd, b->size ? b->size : UINT64_MAX, hashed ? md_update : no_hash, md, out, &moved, &where))) {
                if (where == 1) goto wfail;
                prov_seterr(ctx, rc, "fragment: read failed");
                goto out;
            }
        }
        written += moved;
    }
    unsigned int hl;
    if (!EVP_DigestFinal_ex(md, leaf, &hl)) rc = PROV_ECRYPTO;
    goto out;
wfail:
    rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
out:
    if (md) EVP_MD_CTX_free(md);
    pbuf_free(&mbox);
    pbuf_free(&box);
    bmff_free(&bf);
    return rc;
}
