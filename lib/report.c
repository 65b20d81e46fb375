/* report.c - verification reports: codes, state and JSON. */
#include "report.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

prov_report *report_new(void)
{
    prov_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    pbuf_init(&r->actions);
    pbuf_init(&r->ingredients);
    pbuf_init(&r->identity);
    pbuf_init(&r->derived);
    return r;
}

void prov_report_free(prov_report *r)
{
    if (!r) return;
    free(r->codes);
    pbuf_free(&r->actions);
    pbuf_free(&r->ingredients);
    pbuf_free(&r->identity);
    pbuf_free(&r->derived);
    free(r);
}

void report_addw(prov_report *r, int kind, const char *code, int ingredient, const char *manifest,
                 const char *why)
{
    if (!manifest) manifest = "";
    for (size_t i = 0; i < r->ncodes; i++) /* each code once per kind, origin and manifest */
        if (r->codes[i].kind == kind && r->codes[i].ingredient == ingredient &&
            strcmp(r->codes[i].code, code) == 0 && strncmp(r->codes[i].manifest, manifest, sizeof r->codes[i].manifest - 1) == 0)
            return;
    if (r->ncodes == r->cap) {
        if (r->cap >= 100000) return; /* bounded: a hostile store cannot grow it forever */
        size_t cap = r->cap ? r->cap * 2 : 16;
        rcode *n = realloc(r->codes, cap * sizeof *n);
        if (!n) { r->oom = 1; return; }
        r->codes = n;
        r->cap = cap;
    }
    rcode *c = &r->codes[r->ncodes++];
    c->code = code;
    c->kind = kind;
    c->ingredient = ingredient;
    snprintf(c->manifest, sizeof c->manifest, "%s", manifest);
    snprintf(c->why, sizeof c->why, "%s", why ? why : "");
}

void report_add(prov_report *r, int kind, const char *code, int ingredient)
{
    report_addw(r, kind, code, ingredient, NULL, NULL);
}

static int is_trust_code(const char *c)
{
    /* untrusted credentials leave a file valid, never trusted; so do the
     * failures of a CAWG identity assertion itself or of its X.509
     * credential (supplementary, as readers treat them); an identity
     * claims aggregation credential that fails (cawg.ica.*) does not */
    return strcmp(c, "signingCredential.untrusted") == 0 || strncmp(c, "cawg.x509.", 10) == 0 ||
           strncmp(c, "cawg.identity.", 14) == 0;
}

int report_count_failures(const prov_report *r, int ignore_trust)
{
    int n = 0;
    for (size_t i = 0; i < r->ncodes; i++)
        if (r->codes[i].kind == PROV_CODE_FAILURE && !(ignore_trust && is_trust_code(r->codes[i].code)))
            n++;
    return n;
}

void report_settle(prov_report *r)
{
    if (report_count_failures(r, 1)) r->state = PROV_STATE_INVALID;
    else if (report_count_failures(r, 0)) r->state = PROV_STATE_VALID;
    else r->state = PROV_STATE_TRUSTED;
}

const char *prov_state_name(int state)
{
    switch (state) {
    case PROV_STATE_UNSIGNED: return "unsigned";
    case PROV_STATE_INVALID: return "invalid";
    case PROV_STATE_VALID: return "valid";
    case PROV_STATE_TRUSTED: return "trusted";
    case PROV_STATE_REMOTE: return "remote";
    default: return "error";
    }
}

int prov_report_state(const prov_report *r) { return r ? r->state : PROV_STATE_ERROR; }

const char *prov_report_remote_url(const prov_report *r) { return r && r->remote[0] ? r->remote : NULL; }

/* Codes of one kind, each once whatever its origin. */
static const rcode *nth(const prov_report *r, int kind, size_t want)
{
    size_t k = 0;
    for (size_t i = 0; i < r->ncodes; i++) {
        if (r->codes[i].kind != kind) continue;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = r->codes[j].kind == kind && strcmp(r->codes[j].code, r->codes[i].code) == 0;
        if (dup) continue;
        if (k++ == want) return &r->codes[i];
    }
    return NULL;
}

size_t prov_report_code_count(const prov_report *r, int kind)
{
    size_t n = 0;
    while (r && nth(r, kind, n)) n++;
    return n;
}

const char *prov_report_code(const prov_report *r, int kind, size_t i)
{
    const rcode *c = r ? nth(r, kind, i) : NULL;
    return c ? c->code : NULL;
}

static const rcode *nth_status(const prov_report *r, size_t i)
{
    size_t k = 0;
    for (size_t j = 0; r && j < r->ncodes; j++)
        if (r->codes[j].kind != PROV_CODE_SUCCESS && k++ == i) return &r->codes[j];
    return NULL;
}

size_t prov_report_status_count(const prov_report *r)
{
    size_t n = 0;
    for (size_t j = 0; r && j < r->ncodes; j++)
        if (r->codes[j].kind != PROV_CODE_SUCCESS) n++;
    return n;
}

int prov_report_status(const prov_report *r, size_t i, const char **code, int *kind, const char **manifest,
                       const char **explanation)
{
    const rcode *c = nth_status(r, i);
    if (!c) return PROV_ENOTFOUND;
    if (code) *code = c->code;
    if (kind) *kind = c->kind;
    if (manifest) *manifest = c->manifest;
    if (explanation) *explanation = c->why;
    return 0;
}

int prov_report_has_code(const prov_report *r, const char *code)
{
    for (size_t i = 0; r && i < r->ncodes; i++)
        if (strcmp(r->codes[i].code, code) == 0) return 1;
    return 0;
}

static void json_kv(pbuf *b, const char *k, const char *v, int comma)
{
    if (comma) pbuf_putc(b, ',');
    pbuf_json_str(b, k, strlen(k));
    pbuf_putc(b, ':');
    if (v) pbuf_json_str(b, v, strlen(v));
    else pbuf_puts(b, "null");
}

static void json_codes(pbuf *b, const prov_report *r, int kind)
{
    pbuf_putc(b, '[');
    for (size_t i = 0;; i++) {
        const char *c = prov_report_code(r, kind, i);
        if (!c) break;
        if (i) pbuf_putc(b, ',');
        pbuf_json_str(b, c, strlen(c));
    }
    pbuf_putc(b, ']');
}

size_t prov_report_json(const prov_report *r, const char *file, char *buf, size_t cap)
{
    if (!r) return 0;
    pbuf b;
    pbuf_init(&b);
    pbuf_putc(&b, '{');
    json_kv(&b, "file", file, 0);
    json_kv(&b, "state", prov_state_name(r->state), 1);
    if (r->error[0]) json_kv(&b, "error", r->error, 1);
    if (r->format) json_kv(&b, "format", r->format, 1);
    pbuf_puts(&b, ",\"codes\":{\"success\":");
    json_codes(&b, r, PROV_CODE_SUCCESS);
    pbuf_puts(&b, ",\"failure\":");
    json_codes(&b, r, PROV_CODE_FAILURE);
    pbuf_puts(&b, ",\"informational\":");
    json_codes(&b, r, PROV_CODE_INFO);
    pbuf_putc(&b, '}');
    /* every failure and informational status with where and why */
    pbuf_puts(&b, ",\"status\":[");
    int first = 1;
    for (size_t i = 0; i < r->ncodes; i++) {
        const rcode *c = &r->codes[i];
        if (c->kind == PROV_CODE_SUCCESS) continue;
        if (!first) pbuf_putc(&b, ',');
        first = 0;
        pbuf_putc(&b, '{');
        json_kv(&b, "code", c->code, 0);
        json_kv(&b, "kind", c->kind == PROV_CODE_FAILURE ? "failure" : "informational", 1);
        if (c->manifest[0]) json_kv(&b, "manifest", c->manifest, 1);
        if (c->ingredient) pbuf_puts(&b, ",\"ingredient\":true");
        if (c->why[0]) json_kv(&b, "explanation", c->why, 1);
        pbuf_putc(&b, '}');
    }
    pbuf_putc(&b, ']');
    if (r->manifest[0]) {
        json_kv(&b, "manifest", r->manifest, 1);
        pbuf_printf(&b, ",\"manifests\":%zu,\"claim_version\":%d", r->manifests, r->claim_version);
        if (r->title[0]) json_kv(&b, "title", r->title, 1);
        if (r->generator[0]) json_kv(&b, "generator", r->generator, 1);
    }
    if (r->alg) {
        pbuf_puts(&b, ",\"signer\":{");
        json_kv(&b, "subject", r->signer_cn, 0);
        json_kv(&b, "org", r->signer_org, 1);
        json_kv(&b, "issuer", r->issuer, 1);
        json_kv(&b, "alg", r->alg, 1);
        pbuf_putc(&b, '}');
    } else if (r->state >= PROV_STATE_INVALID && r->state <= PROV_STATE_TRUSTED) {
        pbuf_puts(&b, ",\"signer\":null");
    }
    if (r->remote[0]) json_kv(&b, "remote_manifest", r->remote, 1);
    if (r->state >= PROV_STATE_INVALID && r->state <= PROV_STATE_TRUSTED) {
        pbuf_puts(&b, ",\"actions\":");
        if (r->actions.len) pbuf_put(&b, r->actions.p, r->actions.len);
        else pbuf_puts(&b, "[]");
        pbuf_puts(&b, ",\"ingredients\":");
        if (r->ingredients.len) pbuf_put(&b, r->ingredients.p, r->ingredients.len);
        else pbuf_puts(&b, "[]");
    }
    if (r->identity.len) {
        pbuf_puts(&b, ",\"identity\":");
        pbuf_put(&b, r->identity.p, r->identity.len);
    }
    if (r->looked_up) { /* candidates by fingerprint: never a signature */
        pbuf_puts(&b, ",\"derived_from\":[");
        pbuf_put(&b, r->derived.p, r->derived.len);
        pbuf_putc(&b, ']');
        if (r->lookup_error[0]) json_kv(&b, "lookup_error", r->lookup_error, 1);
    }
    pbuf_putc(&b, '}');
    size_t n = b.err ? 0 : b.len;
    if (buf && cap > n) {
        memcpy(buf, b.p, n);
        buf[n] = 0;
    }
    pbuf_free(&b);
    return n;
}
