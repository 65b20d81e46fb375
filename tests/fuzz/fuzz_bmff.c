/* fuzz_bmff.c - libFuzzer harness for ISO BMFF: the top-level box walker,
 * the manifest box, the exclusion matcher and hash, fragment merkle boxes,
 * the offset patcher, and signing (which scans, patches and copies).
 *
 * The input is a whole file.  It goes through:
 *  - prov_verify() and prov_inspect() from memory: a report always comes
 *    back, never valid for a mangled signature;
 *  - bmff_scan + bmff_fragment_info: a clear error or a parsed map;
 *  - bmff_patch on the input's bytes, as if it were one top-level box's
 *    contents, shifted by an amount taken from the input;
 *  - prov_sign() into memory with a throwaway key: succeeds or fails with a
 *    message, and what it writes carries a signature and a hard binding
 *    that verify. */
#include "bmff.h"
#include "prov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static prov_ctx *ctx;
static prov_key *key;
static prov_chain *chain;

static void setup(void)
{
    if (ctx) return;
    prov_key *ca;
    uint8_t *root, *leaf, pk[32];
    size_t rl, ll;
    char *pem;
    CHECK(prov_ctx_new(&ctx) == 0 && prov_key_generate(&ca) == 0 && prov_key_generate(&key) == 0);
    prov_key_public(key, pk);
    CHECK(prov_cert_make_root(ctx, ca, "Fuzz Root", 30, &root, &rl) == 0);
    CHECK(prov_cert_make_leaf(ctx, ca, root, rl, pk, "Fuzz Signer", 30, &leaf, &ll) == 0);
    CHECK(prov_cert_to_pem(leaf, ll, &pem) == 0);
    CHECK(prov_chain_from_pem(ctx, pem, strlen(pem), &chain) == 0);
    prov_free(root);
    prov_free(leaf);
    prov_free(pem);
    prov_key_free(ca);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    prov_stream s;
    prov_report *r = NULL;
    prov_stream_mem(&s, data, size);
    prov_verify(ctx, NULL, &s, &r);
    CHECK(r != NULL);
    CHECK(prov_report_state(r) != PROV_STATE_TRUSTED);
    size_t jl = prov_report_json(r, "x", NULL, 0);
    CHECK(jl > 0);
    prov_report_free(r);

    char *json = NULL;
    prov_stream_mem(&s, data, size);
    if (prov_inspect(ctx, &s, &json) == 0) {
        CHECK(json && json[0] == '{');
        prov_free(json);
    }

    /* the walker and a fragment's merkle box */
    rdr rd;
    bmff_file f;
    prov_stream_mem(&s, data, size);
    CHECK(rdr_init(&rd, &s) == 0);
    if (bmff_scan(ctx, &rd, &f, "fuzz") == 0) {
        CHECK(f.ntop > 0);
        for (size_t i = 1; i < f.ntop; i++) CHECK(f.top[i].off == f.top[i - 1].off + f.top[i - 1].size);
        pbuf box;
        pbuf_init(&box);
        bmff_frag fr;
        bmff_fragment_info(ctx, &rd, &f, &box, &fr);
        pbuf_free(&box);
        bmff_free(&f);
    } else {
        CHECK(prov_errmsg(ctx)[0]);
    }
    rdr_free(&rd);

    /* the patcher on a private copy */
    if (size >= 8) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        bmff_shift sh = {data[0], (uint64_t)data[1] << 8 | data[2], 0, 0};
        char why[128];
        bmff_patch(copy, size, &sh, why, sizeof why);
        free(copy);
    }

    /* signing: whatever comes out must verify as intact */
    prov_signer signer;
    prov_signer_from_key(&signer, key);
    prov_outbuf ob = {0};
    prov_stream in, out;
    prov_stream_mem(&in, data, size);
    prov_stream_outbuf(&out, &ob);
    if (prov_sign(ctx, NULL, &signer, chain, &in, &out) == 0) {
        prov_stream_mem(&s, ob.data, ob.len);
        prov_verify(ctx, NULL, &s, &r);
        /* our own manifest must hold (a broken parent may still show up as
         * ingredient failures) */
        int ok = prov_report_has_code(r, "claimSignature.validated") &&
                 (prov_report_has_code(r, "assertion.bmffHash.match") ||
                  prov_report_has_code(r, "assertion.dataHash.match")) &&
                 !prov_report_has_code(r, "assertion.bmffHash.mismatch") &&
                 !prov_report_has_code(r, "assertion.dataHash.mismatch");
        if (!ok) {
            size_t n = prov_report_json(r, NULL, NULL, 0);
            char *j = malloc(n + 1);
            prov_report_json(r, NULL, j, n + 1);
            fprintf(stderr, "signed output does not verify: %s\n", j);
            abort();
        }
        prov_report_free(r);
    } else {
        CHECK(prov_errmsg(ctx)[0]);
    }
    free(ob.data);

    /* a remote manifest: the output names it and carries no store; the
     * store written beside it binds the output */
    prov_outbuf ro = {0}, mo = {0};
    prov_stream rout, mout;
    prov_stream_mem(&in, data, size);
    prov_stream_outbuf(&rout, &ro);
    prov_stream_outbuf(&mout, &mo);
    prov_sign_opts so;
    memset(&so, 0, sizeof so);
    so.remote_url = "https://example.com/m.c2pa";
    so.manifest_out = &mout;
    so.no_soft_binding = 1;
    if (prov_sign(ctx, &so, &signer, chain, &in, &rout) == 0) {
        prov_stream_mem(&s, ro.data, ro.len);
        CHECK(prov_verify(ctx, NULL, &s, &r) == 0);
        CHECK(prov_report_state(r) == PROV_STATE_REMOTE);
        CHECK(!strcmp(prov_report_remote_url(r), so.remote_url));
        prov_report_free(r);
        prov_verify_opts vo;
        memset(&vo, 0, sizeof vo);
        vo.manifest = mo.data;
        vo.manifest_len = mo.len;
        prov_stream_mem(&s, ro.data, ro.len);
        CHECK(prov_verify(ctx, &vo, &s, &r) == 0);
        CHECK(prov_report_has_code(r, "claimSignature.validated") &&
              (prov_report_has_code(r, "assertion.bmffHash.match") ||
               prov_report_has_code(r, "assertion.dataHash.match")) && /* inputs of other formats too */
              !prov_report_has_code(r, "assertion.bmffHash.mismatch") &&
              !prov_report_has_code(r, "assertion.dataHash.mismatch"));
        prov_report_free(r);
    } else {
        CHECK(prov_errmsg(ctx)[0]);
    }
    free(ro.data);
    free(mo.data);
    return 0;
}
