/* verify_soft.c - an unsigned picture (PDQ) or sound (prov.chroma.1, the
 * caller's fingerprint) looked up by its fingerprint in the registry's
 * manifest repository.  Each candidate's manifest store is read
 * back (checked against its name) and verified on its own, signer and
 * identity included; the candidates are reported as derived_from and the
 * file stays unsigned: a fingerprint is evidence of likeness, not a
 * signature over these bytes. */
#include "pdq.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CANDIDATES 5
#define HEAD_MAX 160

static void show(prov_ctx *ctx, const prov_verify_opts *opts, prov_report *r, const uint8_t *const *digests,
                 const char (*heads)[HEAD_MAX], size_t n);

static void kv(pbuf *b, const char *k, const char *v)
{
    pbuf_putc(b, ',');
    pbuf_json_str(b, k, strlen(k));
    pbuf_putc(b, ':');
    if (v && *v) pbuf_json_str(b, v, strlen(v));
    else pbuf_puts(b, "null");
}

/* The candidate's manifest, after the fields of its match (head). */
static void describe(pbuf *b, const char *head, const uint8_t digest[32], const prov_report *c)
{
    char hex[65];
    prov_pdq_hex(digest, hex); /* 32 bytes to hex, whatever they hold */
    pbuf_printf(b, "{%s,\"manifest\":\"sha256:%s\"", head, hex);
    kv(b, "label", c->manifest);
    kv(b, "manifest_state", prov_state_name(c->state));
    if (c->alg) {
        pbuf_puts(b, ",\"signer\":{\"subject\":");
        pbuf_json_str(b, c->signer_cn, strlen(c->signer_cn));
        pbuf_puts(b, ",\"org\":");
        pbuf_json_str(b, c->signer_org, strlen(c->signer_org));
        pbuf_puts(b, ",\"issuer\":");
        pbuf_json_str(b, c->issuer, strlen(c->issuer));
        pbuf_puts(b, ",\"alg\":");
        pbuf_json_str(b, c->alg, strlen(c->alg));
        pbuf_putc(b, '}');
    } else {
        pbuf_puts(b, ",\"signer\":null");
    }
    pbuf_puts(b, ",\"identity\":");
    if (c->identity.len) pbuf_put(b, c->identity.p, c->identity.len);
    else pbuf_puts(b, "null");
    kv(b, "title", c->title);
    kv(b, "claim_generator", c->generator);
    pbuf_puts(b, ",\"failure\":[");
    for (size_t i = 0;; i++) {
        const char *code = prov_report_code(c, PROV_CODE_FAILURE, i);
        if (!code) break;
        if (i) pbuf_putc(b, ',');
        pbuf_json_str(b, code, strlen(code));
    }
    pbuf_puts(b, "]}");
}

static void lookup_fail(prov_report *r, prov_ctx *ctx, int rc)
{
    snprintf(r->lookup_error, sizeof r->lookup_error, "%.255s", ctx && ctx->msg[0] ? ctx->msg : prov_strerror(rc));
}

void soft_lookup(prov_ctx *ctx, const prov_verify_opts *opts, prov_stream *in, prov_report *r)
{
    r->looked_up = 1;
    if (!in->seek || in->seek(in->user, 0)) {
        snprintf(r->lookup_error, sizeof r->lookup_error, "the input cannot be read again (not seekable)");
        return;
    }
    prov_img img;
    uint8_t h[PDQ_QUERIES][32];
    int rc = pdq_decode(ctx, in, &img);
    if (rc) { lookup_fail(r, ctx, rc); return; }
    rc = pdq_queries(&img, h, NULL);
    img_free(&img);
    if (rc) { lookup_fail(r, ctx, rc); return; }
    prov_repo *repo = NULL;
    if ((rc = prov_repo_open(ctx, opts->registry, &repo))) { lookup_fail(r, ctx, rc); return; }
    /* the copy and its crops: each manifest once, at its nearest */
    prov_repo_match m[MAX_CANDIDATES];
    size_t n = 0;
    int maxd = opts->match_distance ? opts->match_distance : PROV_PDQ_MATCH_DISTANCE;
    rc = prov_repo_search_many(repo, (const uint8_t(*)[32])h, PDQ_QUERIES, maxd, m, MAX_CANDIDATES, &n);
    prov_repo_free(repo);
    if (rc) { lookup_fail(r, ctx, rc); return; }
    const uint8_t *digests[MAX_CANDIDATES];
    char heads[MAX_CANDIDATES][HEAD_MAX];
    for (size_t i = 0; i < n; i++) {
        digests[i] = m[i].manifest;
        snprintf(heads[i], sizeof heads[i], "\"distance\":%d", m[i].distance);
    }
    show(ctx, opts, r, digests, (const char(*)[HEAD_MAX])heads, n);
}

/* Each candidate's store read back, verified, and described. */
static void show(prov_ctx *ctx, const prov_verify_opts *opts, prov_report *r, const uint8_t *const *digests,
                 const char (*heads)[HEAD_MAX], size_t n)
{
    /* the candidates are verified without a registry lookup of their own
     * candidates, and with the caller's trust and registry */
    prov_verify_opts o = *opts;
    o.match_distance = -1;
    o.progress = NULL;
    o.audio_fingerprint = NULL;
    o.audio_fingerprint_len = 0;
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *store = NULL;
        size_t len = 0;
        int rc = prov_repo_load(ctx, opts->registry, digests[i], &store, &len);
        if (rc) {
            lookup_fail(r, ctx, rc); /* a record naming a missing or damaged store: skip it */
            continue;
        }
        prov_report *c = report_new();
        if (!c) { free(store); r->oom = 1; break; }
        rc = verify_store(ctx, &o, store, len, c);
        free(store);
        if (!rc) {
            if (shown++) pbuf_putc(&r->derived, ',');
            describe(&r->derived, heads[i], digests[i], c);
        }
        prov_report_free(c);
    }
    if (r->derived.err) r->oom = 1;
}

void soft_lookup_audio(prov_ctx *ctx, const prov_verify_opts *opts, prov_report *r)
{
    r->looked_up = 1;
    prov_repo_audio_match m[MAX_CANDIDATES];
    size_t n = 0;
    int rc = prov_repo_search_audio(ctx, opts->registry, opts->audio_fingerprint, opts->audio_fingerprint_len, 0, m,
                                    MAX_CANDIDATES, &n);
    if (rc) { lookup_fail(r, ctx, rc); return; }
    const uint8_t *digests[MAX_CANDIDATES];
    char heads[MAX_CANDIDATES][HEAD_MAX];
    for (size_t i = 0; i < n; i++) {
        digests[i] = m[i].manifest;
        /* offset: where this sound starts in the original, in seconds */
        snprintf(heads[i], sizeof heads[i], "\"ber\":%.3f,\"fingerprint\":\"prov.chroma.1\",\"offset_s\":%.2f,\"overlap_s\":%.1f",
                 m[i].ber, (double)m[i].offset * 1365 / PROV_AFP_RATE, (double)m[i].overlap * 1365 / PROV_AFP_RATE);
    }
    show(ctx, opts, r, digests, (const char(*)[HEAD_MAX])heads, n);
}
