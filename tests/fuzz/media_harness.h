/* media_harness.h - the body of fuzz_riff.c, fuzz_gif.c, fuzz_id3.c
 * and fuzz_tiff: they differ only in the formats (FUZZ_FIRST..FUZZ_LAST)
 * they drive.
 *
 * The input is a whole file.  A file the scanner takes must keep its
 * promises: an empty head, the reader back at 0, one exclusion that lies
 * in the file and covers the store's container as the format lays it out.
 * Then the public paths: prov_verify() never says trusted and reports in
 * well-formed JSON; prov_inspect() gives JSON or a clear error; and
 * prov_sign() of the file either refuses with a message or writes a file
 * that scans again and verifies valid with its data hash matching. */
#define FUZZ_STRICT_UTF8 1
#include "asset.h"
#include "media.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "json_check.h"

static prov_key *g_key;
static prov_chain *g_chain;

/* One signer for every run: a root and a leaf, made once. */
static int setup(void)
{
    if (g_chain) return 0;
    prov_key *ca;
    uint8_t *root = NULL, *leaf = NULL;
    size_t rn, ln;
    char *p1 = NULL, *p2 = NULL;
    if (prov_key_generate(&ca) || prov_key_generate(&g_key)) return -1;
    int rc = prov_cert_make_root(NULL, ca, "CN=Fuzz Root", 30, &root, &rn) ||
             prov_cert_make_leaf_for(NULL, ca, root, rn, g_key, "CN=Fuzz Signer", 30, &leaf, &ln) ||
             prov_cert_to_pem(leaf, ln, &p1) || prov_cert_to_pem(root, rn, &p2);
    if (!rc) {
        size_t n1 = strlen(p1), n2 = strlen(p2);
        char *pem = malloc(n1 + n2 + 1);
        memcpy(pem, p1, n1);
        memcpy(pem + n1, p2, n2 + 1);
        rc = prov_chain_from_pem(NULL, pem, n1 + n2, &g_chain);
        free(pem);
    }
    prov_free(root);
    prov_free(leaf);
    prov_free(p1);
    prov_free(p2);
    prov_key_free(ca);
    return rc ? -1 : 0;
}

static int ours(int f) { return f >= FUZZ_FIRST && f <= FUZZ_LAST; }

/* Scan data; on success check the promises and return the asset. */
static int scan(prov_ctx *ctx, const uint8_t *data, size_t size, asset *a)
{
    prov_stream s;
    prov_stream_mem(&s, data, size);
    rdr r;
    if (rdr_init(&r, &s)) return PROV_ENOMEM;
    int rc = asset_read_head(ctx, &r, a, "fuzz");
    if (rc) {
        CHECK(rc < 0);
        CHECK(rc == PROV_ENOMEM || prov_errmsg(ctx)[0]);
    } else if (media_is(a->format)) {
        CHECK(a->head.len == 0 && rdr_tell(&r) == 0);
        CHECK(a->mime && !strcmp(a->mime, asset_format_mime(a->format)));
        CHECK(a->store.len <= PROV_MAX_STORE);
        if (a->has_store) {
            const xrange *x = &a->ranges[0];
            CHECK(a->nranges == 1);
            CHECK(x->start <= size && x->len <= size - x->start);
            CHECK(a->store.len <= x->len);
            const uint8_t *h = data + x->start;
            if (a->format == FMT_TIFF || a->format == FMT_DNG) { /* TIFF keeps old stores as unused bytes */
                CHECK(a->drop.len == 0 && !memcmp(h, a->store.p, a->store.len));
                CHECK(a->end == size && a->aux.len > 0);
            } else {
                CHECK(a->drop.start <= x->start && x->start + x->len <= a->drop.start + a->drop.len);
                CHECK(a->drop.start + a->drop.len <= size);
            }
            if (a->format == FMT_GIF) CHECK(h[0] == 0x21 && h[1] == 0xFF);
            else if (a->format == FMT_MP3 || a->format == FMT_FLAC)
                CHECK(x->start + x->len <= a->tail && !memcmp(data, "ID3", 3) &&
                      !memcmp(data + x->start, a->store.p, a->store.len));
            else if (a->format <= FMT_AVI) CHECK(!memcmp(h, "C2PA", 4) && !memcmp(h + 8, a->store.p, a->store.len));
        } else {
            CHECK(a->nranges == 0 && a->store.len == 0);
        }
    }
    rdr_free(&r);
    return rc;
}

static void verify(const uint8_t *data, size_t size, int must_match)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream s;
    prov_stream_mem(&s, data, size);
    prov_verify_opts o;
    memset(&o, 0, sizeof o);
    prov_report *r = NULL;
    int rc = prov_verify(ctx, &o, &s, &r);
    CHECK(rc <= 0);
    if (r) {
        int state = prov_report_state(r);
        CHECK(state != PROV_STATE_TRUSTED); /* no anchors: nothing is trusted */
        if (rc) CHECK(state == PROV_STATE_ERROR && (rc == PROV_ENOMEM || prov_errmsg(ctx)[0]));
        if (must_match) { /* the new manifest binds the file it was written into */
            CHECK(prov_report_has_code(r, "assertion.dataHash.match"));
            CHECK(!prov_report_has_code(r, "assertion.dataHash.mismatch"));
            /* a clean input signs valid; one with a store carries it as the
             * parent, whose own failures then count */
            if (must_match == 2) CHECK(state == PROV_STATE_VALID);
        }
        size_t n = prov_report_json(r, "fuzz.input", NULL, 0);
        char *j = malloc(n + 1);
        if (j) {
            CHECK(prov_report_json(r, "fuzz.input", j, n + 1) == n);
            check_json(j, n);
            free(j);
        }
        prov_report_free(r);
    } else {
        CHECK(rc == PROV_ENOMEM);
    }
    prov_ctx_free(ctx);
}

static void inspect(const uint8_t *data, size_t size)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream s;
    prov_stream_mem(&s, data, size);
    char *json = NULL;
    int rc = prov_inspect(ctx, &s, &json);
    if (rc) CHECK(rc < 0 && json == NULL && (rc == PROV_ENOMEM || prov_errmsg(ctx)[0]));
    else { check_json(json, strlen(json)); prov_free(json); }
    prov_ctx_free(ctx);
}

static void sign(const uint8_t *data, size_t size, int had_store)
{
    if (setup()) return;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream in, out;
    prov_outbuf ob;
    memset(&ob, 0, sizeof ob);
    prov_stream_mem(&in, data, size);
    prov_stream_outbuf(&out, &ob);
    prov_signer sg;
    prov_signer_from_key(&sg, g_key);
    prov_sign_opts o;
    memset(&o, 0, sizeof o);
    o.no_soft_binding = 1;
    int rc = prov_sign(ctx, &o, &sg, g_chain, &in, &out);
    if (rc) {
        CHECK(rc < 0 && (rc == PROV_ENOMEM || prov_errmsg(ctx)[0]));
    } else {
        asset a;
        prov_ctx *c2;
        CHECK(prov_ctx_new(&c2) == 0);
        CHECK(scan(c2, ob.data, ob.len, &a) == 0 && ours(a.format) && a.has_store);
        asset_free(&a);
        prov_ctx_free(c2);
        verify(ob.data, ob.len, had_store ? 1 : 2);
    }
    prov_free(ob.data);
    prov_ctx_free(ctx);
}

/* A remote manifest: the output carries the reference and no store, and
 * the store written beside it binds all of the output. */
static void sign_remote(const uint8_t *data, size_t size)
{
    static const char url[] = "https://example.com/m.c2pa";
    if (setup()) return;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream in, out, mo;
    prov_outbuf ob, mb;
    memset(&ob, 0, sizeof ob);
    memset(&mb, 0, sizeof mb);
    prov_stream_mem(&in, data, size);
    prov_stream_outbuf(&out, &ob);
    prov_stream_outbuf(&mo, &mb);
    prov_signer sg;
    prov_signer_from_key(&sg, g_key);
    prov_sign_opts o;
    memset(&o, 0, sizeof o);
    o.no_soft_binding = 1;
    o.remote_url = url;
    o.manifest_out = &mo;
    int rc = prov_sign(ctx, &o, &sg, g_chain, &in, &out);
    if (rc) {
        CHECK(rc < 0 && (rc == PROV_ENOMEM || prov_errmsg(ctx)[0]));
    } else {
        asset a;
        prov_ctx *c2;
        CHECK(prov_ctx_new(&c2) == 0);
        CHECK(scan(c2, ob.data, ob.len, &a) == 0 && ours(a.format) && !a.has_store);
        char got[2100];
        CHECK(asset_remote_url(&a, got, sizeof got) && !strcmp(got, url));
        asset_free(&a);
        prov_ctx_free(c2);
        prov_ctx *c3;
        CHECK(prov_ctx_new(&c3) == 0);
        prov_stream s;
        prov_stream_mem(&s, ob.data, ob.len);
        prov_verify_opts vo;
        memset(&vo, 0, sizeof vo);
        vo.manifest = mb.data;
        vo.manifest_len = mb.len;
        prov_report *r = NULL;
        CHECK(prov_verify(c3, &vo, &s, &r) == 0 && r);
        CHECK(prov_report_has_code(r, "assertion.dataHash.match"));
        CHECK(!prov_report_has_code(r, "assertion.dataHash.mismatch"));
        prov_report_free(r);
        prov_ctx_free(c3);
    }
    prov_free(ob.data);
    prov_free(mb.data);
    prov_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return 0;
    asset a;
    int rc = scan(ctx, data, size, &a);
    int go = rc == 0 && ours(a.format), had_store = !rc && a.has_store;
    if (!rc) asset_free(&a);
    prov_ctx_free(ctx);
    if (!go) return 0;
    verify(data, size, 0);
    inspect(data, size);
    sign(data, size, had_store);
    sign_remote(data, size);
    return 0;
}
