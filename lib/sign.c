/* sign.c - build a C2PA v2 manifest and embed it in a JPEG or PNG.
 *
 * One pass over the image data: the manifest's size is fixed before any
 * hashing (the hash and signature have fixed lengths), so its region is
 * reserved in the output, the rest of the file is copied and hashed in one
 * stream, and the finished manifest is written into the reserved region. */
#include "asset.h"
#include "bmff.h"
#include "cose.h"
#include "pump.h"
#include "report.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GENERATOR_NAME "prov"
#define LAYOUT_ROUNDS 6

typedef struct sctx {
    prov_ctx *ctx;
    const prov_sign_opts *o;
    const prov_signer *signer;
    const prov_chain *chain;
    int format;
    char label[64];
    char instance[64];
    /* parent */
    int has_parent;
    asset parent;          /* head and store of the parent file */
    c2pa_store pstore;     /* parsed parent store (may be empty) */
    prov_report *preport;  /* the parent's validation */
    /* assertions other than the hash, built once */
    pbuf actions, ingredient;
} sctx;

static void uuid4(char out[37])
{
    uint8_t u[16];
    randombytes_buf(u, sizeof u);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void put_huri(pbuf *b, const char *url, const uint8_t hash[32], int with_alg)
{
    cbor_put_map(b, with_alg ? 3 : 2);
    cbor_put_text(b, "url");
    cbor_put_text(b, url);
    cbor_put_text(b, "hash");
    cbor_put_bytes(b, hash, 32);
    if (with_alg) {
        cbor_put_text(b, "alg");
        cbor_put_text(b, "sha256");
    }
}

static void put_generator(pbuf *b, const prov_sign_opts *o)
{
    const char *ver = o->generator_version ? o->generator_version : (o->generator ? NULL : PROV_VERSION_STRING);
    cbor_put_map(b, ver ? 2 : 1);
    cbor_put_text(b, "name");
    cbor_put_text(b, o->generator && *o->generator ? o->generator : GENERATOR_NAME);
    if (ver) {
        cbor_put_text(b, "version");
        cbor_put_text(b, ver);
    }
}

/* One CBOR assertion superbox. */
static void put_assertion(pbuf *b, const char *label, const pbuf *cbor)
{
    size_t s = jumbf_open_super(b, C2PA_CBOR, label);
    size_t c = jumbf_open(b, BOX_CBOR);
    pbuf_put(b, cbor->p, cbor->len);
    jumbf_close(b, c);
    jumbf_close(b, s);
}

static void put_codes(pbuf *b, const prov_report *r, int kind)
{
    size_t n = prov_report_code_count(r, kind);
    cbor_put_array(b, n);
    for (size_t i = 0; i < n; i++) {
        cbor_put_map(b, 1);
        cbor_put_text(b, "code");
        cbor_put_text(b, prov_report_code(r, kind, i));
    }
}

/* c2pa.ingredient.v3 for the parent, and c2pa.actions.v2. */
static int build_fixed(sctx *s)
{
    const prov_sign_opts *o = s->o;
    const char *action = o->action && *o->action ? o->action : (s->has_parent ? "c2pa.edited" : "c2pa.created");
    pbuf *b = &s->actions;
    if (s->has_parent) {
        pbuf *g = &s->ingredient;
        c2pa_manifest *pm = s->pstore.n ? &s->pstore.m[s->pstore.n - 1] : NULL;
        cbor_put_map(g, pm ? 6 : 4);
        cbor_put_text(g, "dc:title");
        cbor_put_text(g, o->parent_title && *o->parent_title ? o->parent_title : "parent");
        cbor_put_text(g, "dc:format");
        cbor_put_text(g, s->parent.mime);
        cbor_put_text(g, "relationship");
        cbor_put_text(g, "parentOf");
        if (pm) {
            char url[512];
            uint8_t h[32];
            snprintf(url, sizeof url, "self#jumbf=/c2pa/%s", pm->label);
            jsuper_hash(&pm->sb, h);
            cbor_put_text(g, "activeManifest");
            put_huri(g, url, h, 1);
            if (pm->sig_bytes) {
                snprintf(url, sizeof url, "self#jumbf=/c2pa/%s/c2pa.signature", pm->label);
                jsuper_hash(&pm->sig_sb, h);
            }
            cbor_put_text(g, "claimSignature");
            put_huri(g, url, h, 1);
        }
        cbor_put_text(g, "validationResults");
        cbor_put_map(g, 1);
        cbor_put_text(g, "activeManifest");
        cbor_put_map(g, 3);
        cbor_put_text(g, "success");
        put_codes(g, s->preport, PROV_CODE_SUCCESS);
        cbor_put_text(g, "informational");
        put_codes(g, s->preport, PROV_CODE_INFO);
        cbor_put_text(g, "failure");
        put_codes(g, s->preport, PROV_CODE_FAILURE);
        if (g->err) return g->err;
    }
    int opened = s->has_parent;
    int extra = strcmp(action, opened ? "c2pa.opened" : "c2pa.created") != 0;
    cbor_put_map(b, 1);
    cbor_put_text(b, "actions");
    cbor_put_array(b, 1 + extra);
    if (opened) {
        uint8_t h[32];
        pbuf box;
        pbuf_init(&box);
        put_assertion(&box, "c2pa.ingredient.v3", &s->ingredient);
        if (box.err) return box.err;
        sha256(box.p + 8, box.len - 8, h);
        pbuf_free(&box);
        cbor_put_map(b, 3);
        cbor_put_text(b, "action");
        cbor_put_text(b, "c2pa.opened");
        cbor_put_text(b, "softwareAgent");
        put_generator(b, o);
        cbor_put_text(b, "parameters");
        cbor_put_map(b, 1);
        cbor_put_text(b, "ingredients");
        cbor_put_array(b, 1);
        put_huri(b, "self#jumbf=c2pa.assertions/c2pa.ingredient.v3", h, 0);
    } else {
        cbor_put_map(b, 3);
        cbor_put_text(b, "action");
        cbor_put_text(b, "c2pa.created");
        cbor_put_text(b, "softwareAgent");
        put_generator(b, o);
        cbor_put_text(b, "digitalSourceType");
        cbor_put_text(b, o->source_type && *o->source_type ? o->source_type : PROV_SOURCE_DIGITAL_CAPTURE);
    }
    if (extra) {
        cbor_put_map(b, 2);
        cbor_put_text(b, "action");
        cbor_put_text(b, action);
        cbor_put_text(b, "softwareAgent");
        put_generator(b, o);
    }
    return b->err;
}

/* The whole store: parent manifests, then ours.  sign=0 lays it out with a
 * zero signature of the final length. */
static int build_store(sctx *s, const uint8_t hash[32], uint64_t start, uint64_t len, int sign, pbuf *out)
{
    pbuf hd, claim, asrt, sig;
    pbuf_init(&hd);
    pbuf_init(&claim);
    pbuf_init(&asrt);
    pbuf_init(&sig);
    int rc = 0;

    const char *hard_label = "c2pa.hash.data";
    if (s->format == FMT_BMFF) {
        /* c2pa.hash.bmff.v3, flat: the three exclusions every reader expects */
        hard_label = "c2pa.hash.bmff.v3";
        cbor_put_map(&hd, 4);
        cbor_put_text(&hd, "exclusions");
        cbor_put_array(&hd, 3);
        cbor_put_map(&hd, 2);
        cbor_put_text(&hd, "xpath");
        cbor_put_text(&hd, "/uuid");
        cbor_put_text(&hd, "data");
        cbor_put_array(&hd, 1);
        cbor_put_map(&hd, 2);
        cbor_put_text(&hd, "offset");
        cbor_put_uint(&hd, 8);
        cbor_put_text(&hd, "value");
        cbor_put_bytes(&hd, BMFF_C2PA_UUID, 16);
        cbor_put_map(&hd, 1);
        cbor_put_text(&hd, "xpath");
        cbor_put_text(&hd, "/ftyp");
        cbor_put_map(&hd, 1);
        cbor_put_text(&hd, "xpath");
        cbor_put_text(&hd, "/mfra");
        cbor_put_text(&hd, "alg");
        cbor_put_text(&hd, "sha256");
        cbor_put_text(&hd, "hash");
        cbor_put_bytes(&hd, hash, 32);
        cbor_put_text(&hd, "name");
        cbor_put_text(&hd, "jumbf manifest");
    } else {
        /* c2pa.hash.data */
        cbor_put_map(&hd, 5);
        cbor_put_text(&hd, "exclusions");
        cbor_put_array(&hd, 1);
        cbor_put_map(&hd, 2);
        cbor_put_text(&hd, "start");
        cbor_put_uint(&hd, start);
        cbor_put_text(&hd, "length");
        cbor_put_uint(&hd, len);
        cbor_put_text(&hd, "name");
        cbor_put_text(&hd, "jumbf manifest");
        cbor_put_text(&hd, "alg");
        cbor_put_text(&hd, "sha256");
        cbor_put_text(&hd, "hash");
        cbor_put_bytes(&hd, hash, 32);
        cbor_put_text(&hd, "pad"); /* c2pa-rs requires the field */
        cbor_put_bytes(&hd, "", 0);
    }

    /* assertion store, remembering each assertion's hash */
    struct item { const char *label; const pbuf *cbor; } list[3];
    size_t n = 0;
    if (s->has_parent) list[n++] = (struct item){"c2pa.ingredient.v3", &s->ingredient};
    list[n++] = (struct item){"c2pa.actions.v2", &s->actions};
    list[n++] = (struct item){hard_label, &hd};
    uint8_t ah[3][32];
    size_t as = jumbf_open_super(&asrt, C2PA_ASSERTIONS, "c2pa.assertions");
    for (size_t i = 0; i < n; i++) {
        size_t at = asrt.len;
        put_assertion(&asrt, list[i].label, list[i].cbor);
        if (!asrt.err) sha256(asrt.p + at + 8, asrt.len - at - 8, ah[i]);
    }
    jumbf_close(&asrt, as);

    /* claim v2 */
    const char *title = s->o->title;
    char url[256];
    cbor_put_map(&claim, title && *title ? 6 : 5);
    cbor_put_text(&claim, "instanceID");
    cbor_put_text(&claim, s->instance);
    cbor_put_text(&claim, "claim_generator_info");
    put_generator(&claim, s->o);
    cbor_put_text(&claim, "signature");
    snprintf(url, sizeof url, "self#jumbf=/c2pa/%s/c2pa.signature", s->label);
    cbor_put_text(&claim, url);
    cbor_put_text(&claim, "created_assertions");
    cbor_put_array(&claim, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(url, sizeof url, "self#jumbf=c2pa.assertions/%s", list[i].label);
        put_huri(&claim, url, ah[i], 0);
    }
    if (title && *title) {
        cbor_put_text(&claim, "dc:title");
        cbor_put_text(&claim, title);
    }
    cbor_put_text(&claim, "alg");
    cbor_put_text(&claim, "sha256");
    if ((rc = hd.err ? hd.err : asrt.err ? asrt.err : claim.err)) goto out;

    /* signature */
    if (sign) {
        rc = cose_sign(s->signer, s->chain, claim.p, claim.len, &sig);
        if (rc) {
            prov_seterr(s->ctx, rc, "signing failed: %s", prov_strerror(rc));
            goto out;
        }
    } else {
        size_t k = cose_sign_len(s->signer, s->chain);
        if (pbuf_reserve(&sig, k)) { rc = PROV_ENOMEM; goto out; }
        memset(sig.p, 0, k);
        sig.len = k;
    }

    size_t st = jumbf_open_super(out, C2PA_STORE, "c2pa");
    for (size_t i = 0; i < s->pstore.n; i++) pbuf_put(out, s->pstore.m[i].sb.box.p, s->pstore.m[i].sb.box.len);
    size_t ms = jumbf_open_super(out, C2PA_MANIFEST, s->label);
    pbuf_put(out, asrt.p, asrt.len);
    size_t cs = jumbf_open_super(out, C2PA_CLAIM, "c2pa.claim.v2");
    size_t cb = jumbf_open(out, BOX_CBOR);
    pbuf_put(out, claim.p, claim.len);
    jumbf_close(out, cb);
    jumbf_close(out, cs);
    size_t ss = jumbf_open_super(out, C2PA_SIGNATURE, "c2pa.signature");
    cb = jumbf_open(out, BOX_CBOR);
    pbuf_put(out, sig.p, sig.len);
    jumbf_close(out, cb);
    jumbf_close(out, ss);
    jumbf_close(out, ms);
    jumbf_close(out, st);
    rc = out->err;
out:
    pbuf_free(&hd);
    pbuf_free(&claim);
    pbuf_free(&asrt);
    pbuf_free(&sig);
    return rc;
}

/* Read and validate the parent (a separate stream, or the input itself). */
static int load_parent(sctx *s, prov_stream *ps)
{
    s->preport = report_new();
    if (!s->preport) return PROV_ENOMEM;
    int rc = verify_stream(s->ctx, NULL, ps, s->preport, &s->parent);
    if (rc) return prov_seterr(s->ctx, rc, "parent: %s", s->ctx ? s->ctx->msg : prov_strerror(rc));
    s->has_parent = 1;
    if (s->parent.has_store) {
        rc = store_parse(s->ctx, s->parent.store.p, s->parent.store.len, &s->pstore);
        if (rc) return prov_seterr(s->ctx, rc, "parent's manifest store is malformed");
    }
    return 0;
}

typedef struct wctx {
    prov_stream *out;
    EVP_MD_CTX *md;
    uint64_t off;
} wctx;

static void md_update(void *md, const uint8_t *p, size_t n) { EVP_DigestUpdate(md, p, n); }

static int emit(wctx *w, const uint8_t *p, size_t n, int hash)
{
    if (!n) return 0;
    if (w->out->write(w->out->user, p, n)) return PROV_EIO;
    if (hash) EVP_DigestUpdate(w->md, p, n);
    w->off += n;
    return 0;
}

/* Head bytes [from, to) without the old store's ranges. */
static int emit_head(wctx *w, const asset *a, uint64_t from, uint64_t to)
{
    uint64_t p = from;
    for (size_t i = 0; i <= a->nranges && p < to; i++) {
        uint64_t rs = i < a->nranges ? a->ranges[i].start : to, re = i < a->nranges ? rs + a->ranges[i].len : to;
        if (re <= p) continue;
        if (rs > to) rs = to;
        if (rs > p && emit(w, a->head.p + p, (size_t)(rs - p), 1)) return PROV_EIO;
        p = re;
    }
    return 0;
}

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
static int sign_bmff(sctx *s, rdr *rd, prov_stream *in, prov_stream *out)
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

int prov_sign(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer, const prov_chain *chain,
              prov_stream *in, prov_stream *out)
{
    static const prov_sign_opts defaults;
    if (!signer || !chain || !in || !out || !out->write || !out->seek) return PROV_EINVAL;
    if (ctx) ctx->msg[0] = 0;
    if (sodium_init() < 0) return PROV_ECRYPTO;
    sctx s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.o = opts ? opts : &defaults;
    s.signer = signer;
    s.chain = chain;
    pbuf_init(&s.actions);
    pbuf_init(&s.ingredient);
    char u[37];
    uuid4(u);
    snprintf(s.label, sizeof s.label, "urn:c2pa:%s", u);
    uuid4(u);
    snprintf(s.instance, sizeof s.instance, "xmp:iid:%s", u);

    rdr rd;
    asset a;
    pbuf store, wrapped;
    pbuf_init(&store);
    pbuf_init(&wrapped);
    memset(&a, 0, sizeof a);
    wctx w = {out, NULL, 0};
    int rc = rdr_init(&rd, in);
    if (rc) goto out;
    rd.progress = s.o->progress;
    rd.progress_user = s.o->progress_user;
    rd.total = s.o->size_hint;
    if (s.o->thumbnail) {
        rc = prov_seterr(ctx, PROV_EUNSUPPORTED, "thumbnails are not supported yet");
        goto out;
    }
    if (s.o->parent && (rc = load_parent(&s, s.o->parent))) goto out;
    if ((rc = rdr_fill(&rd, 12))) goto out;
    if (bmff_sniff(rd.buf + rd.pos, rd.end - rd.pos)) {
        rc = sign_bmff(&s, &rd, in, out);
        goto out;
    }
    if ((rc = asset_read_head(ctx, &rd, &a, "input"))) goto out;
    if (a.has_store && !s.has_parent) {
        /* re-signing a signed file: it is its own parent */
        if (!in->seek) {
            rc = prov_seterr(ctx, PROV_EINVAL, "input carries a manifest store; re-signing it needs a seekable input");
            goto out;
        }
        rdr_free(&rd);
        asset_free(&a);
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
        if ((rc = load_parent(&s, in))) goto out;
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
        if ((rc = rdr_init(&rd, in)) || (rc = asset_read_head(ctx, &rd, &a, "input"))) goto out;
    }
    s.format = a.format;
    if ((rc = build_fixed(&s))) goto out;

    /* where the store goes in the output, and how long it is */
    uint64_t start = a.insert_at;
    for (size_t i = 0; i < a.nranges; i++)
        if (a.ranges[i].start < a.insert_at) start -= a.ranges[i].len;
    uint8_t hash[32] = {0};
    uint64_t wlen = 0;
    int settled = 0;
    for (int round = 0; round < LAYOUT_ROUNDS && !settled; round++) {
        store.len = 0;
        if ((rc = build_store(&s, hash, start, wlen, 0, &store))) goto out;
        uint64_t w2 = asset_wrapped_len(a.format, store.len);
        settled = w2 == wlen;
        wlen = w2;
    }
    if (!settled) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest layout did not settle"); goto out; }
    size_t store_len = store.len;
    if (store_len > PROV_MAX_STORE) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the %u-byte limit", store_len,
                         PROV_MAX_STORE);
        goto out;
    }

    /* one pass: copy and hash everything but the reserved region */
    w.md = EVP_MD_CTX_new();
    if (!w.md || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL)) { rc = PROV_ECRYPTO; goto out; }
    if (out->seek(out->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "output: seek failed"); goto out; }
    if ((rc = emit_head(&w, &a, 0, a.insert_at))) goto wfail;
    uint8_t zero[4096] = {0};
    for (uint64_t left = wlen; left;) {
        size_t k = left < sizeof zero ? (size_t)left : sizeof zero;
        if ((rc = emit(&w, zero, k, 0))) goto wfail;
        left -= k;
    }
    if ((rc = emit_head(&w, &a, a.insert_at, a.head.len))) goto wfail;
    uint64_t pumped;
    int where;
    if ((rc = pump(&rd, UINT64_MAX, md_update, w.md, out, &pumped, &where))) {
        if (where == 1) goto wfail;
        prov_seterr(ctx, rc, "input: read failed");
        goto out;
    }
    unsigned int hl = 0;
    if (!EVP_DigestFinal_ex(w.md, hash, &hl)) { rc = PROV_ECRYPTO; goto out; }

    /* the finished manifest, into its reserved region */
    store.len = 0;
    if ((rc = build_store(&s, hash, start, wlen, 1, &store))) goto out;
    if (store.len != store_len) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest size changed after signing"); goto out; }
    if ((rc = asset_wrap_store(a.format, store.p, store.len, &wrapped))) goto out;
    if (wrapped.len != wlen) { rc = prov_seterr(ctx, PROV_EINVAL, "wrapped manifest size mismatch"); goto out; }
    if (out->seek(out->user, start) || out->write(out->user, wrapped.p, wrapped.len)) goto wfail;
    rc = 0;
    goto out;
wfail:
    rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
out:
    if (w.md) EVP_MD_CTX_free(w.md);
    pbuf_free(&store);
    pbuf_free(&wrapped);
    pbuf_free(&s.actions);
    pbuf_free(&s.ingredient);
    store_free(&s.pstore);
    if (s.has_parent || s.parent.head.p) asset_free(&s.parent);
    prov_report_free(s.preport);
    asset_free(&a);
    rdr_free(&rd);
    return rc;
}

/* File output that starts write-back as it goes, so the fsync before the
 * rename (durability) finds little left to do: the disk works while the
 * rest of the file is hashed. */
typedef struct syncw {
    FILE *f;
    uint64_t written, synced;
} syncw;

#define SYNC_EVERY (8u << 20)

static int syncw_write(void *user, const void *buf, size_t len)
{
    syncw *w = user;
    if (fwrite(buf, 1, len, w->f) != len) return -1;
    w->written += len;
    if (w->written - w->synced >= SYNC_EVERY) {
        if (fflush(w->f)) return -1;
        sync_file_range(fileno(w->f), (off64_t)w->synced, (off64_t)(w->written - w->synced), SYNC_FILE_RANGE_WRITE);
        w->synced = w->written;
    }
    return 0;
}

static int syncw_seek(void *user, uint64_t off)
{
    syncw *w = user;
    if (off > INT64_MAX || fseeko(w->f, (off_t)off, SEEK_SET)) return -1;
    w->written = w->synced = off;
    return 0;
}

int prov_sign_file(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer, const prov_chain *chain,
                   const char *in_path, const char *out_path)
{
    if (!in_path || !out_path) return PROV_EINVAL;
    FILE *in = fopen(in_path, "rb");
    if (!in) return prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", in_path, strerror(errno));
    struct stat st = {0};
    mode_t mode = 0644;
    if (fstat(fileno(in), &st) == 0) mode = st.st_mode & 0777;
    size_t n = strlen(out_path);
    char *tmp = malloc(n + 16);
    if (!tmp) { fclose(in); return PROV_ENOMEM; }
    snprintf(tmp, n + 16, "%s.XXXXXX", out_path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        fclose(in);
        return prov_seterr(ctx, PROV_EIO, "%s: cannot create a temporary file beside it: %s", out_path, strerror(e));
    }
    FILE *out = fdopen(fd, "w+b");
    int rc = out ? 0 : PROV_EIO;
    if (!rc) {
        prov_stream si, so;
        syncw sw = {out, 0, 0};
        prov_sign_opts o = {0};
        if (opts) o = *opts;
        if (!o.size_hint && S_ISREG(st.st_mode)) o.size_hint = (uint64_t)st.st_size;
        opts = &o;
        prov_stream_file(&si, in);
        memset(&so, 0, sizeof so);
        so.write = syncw_write;
        so.seek = syncw_seek;
        so.user = &sw;
        rc = prov_sign(ctx, opts, signer, chain, &si, &so);
        if (!rc && (fflush(out) || fsync(fd) || fchmod(fd, mode)))
            rc = prov_seterr(ctx, PROV_EIO, "%s: write failed: %s", out_path, strerror(errno));
    }
    if (out) fclose(out);
    else close(fd);
    fclose(in);
    if (!rc && rename(tmp, out_path))
        rc = prov_seterr(ctx, PROV_EIO, "%s: cannot rename into place: %s", out_path, strerror(errno));
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}
