/* fuzz_jumbf.c - libFuzzer harness for the JUMBF reader and the manifest
 * store parser.
 *
 * The input is a manifest store's JUMBF bytes (what sits in the APP11
 * segments or the caBX chunk).  The harness walks every box with
 * jbox_next/jsuper_parse/jsuper_first, parses the store with store_parse,
 * looks every manifest and assertion up again, and resolves JUMBF URIs
 * with store_resolve: fixed ones, the ones each claim lists, and one taken
 * from the input's bytes after the store box (store_parse ignores them).
 * Every pointer the parsers hand back must lie inside the input; any
 * broken invariant aborts. */
#include "cose.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static const uint8_t *g_data;
static size_t g_size;

/* p[0..n) lies inside the input */
static int inside(const void *p, size_t n)
{
    const uint8_t *q = p;
    return q >= g_data && n <= g_size && (size_t)(q - g_data) <= g_size - n;
}

static int label_inside(const char *l)
{
    return l && (*l == 0 || (inside(l, 1) && memchr(l, 0, g_size - (size_t)((const uint8_t *)l - g_data))));
}

/* ---- every box, nested 16 deep at most ---- */

static void walk(const uint8_t *p, const uint8_t *end, int depth, size_t *count)
{
    while (p < end) {
        jbox b;
        const uint8_t *before = p;
        if (jbox_next(&p, end, &b)) {
            CHECK(p == before); /* a failed read does not move */
            return;
        }
        CHECK(b.p == before && b.len >= 8 && p == b.p + b.len && p <= end);
        CHECK(b.data >= b.p + 8 && b.data + b.data_len == b.p + b.len);
        if (++*count > 20000) return; /* keep each input quick */
        jsuper s;
        int rc = jsuper_parse(&b, &s);
        if (b.type != BOX_JUMB) CHECK(rc == PROV_EFORMAT);
        if (rc) {
            CHECK(rc == PROV_EFORMAT);
            continue;
        }
        CHECK(s.box.p == b.p && s.box.len == b.len);
        CHECK(s.content >= b.data + 8 && s.content + s.content_len == b.data + b.data_len);
        CHECK(label_inside(s.label));
        if (*s.label) CHECK((const uint8_t *)s.label + strlen(s.label) < s.content);
        (void)jsuper_c2pa_type(&s);
        jbox f;
        rc = jsuper_first(&s, &f);
        CHECK(rc == 0 || rc == PROV_ENOTFOUND || rc == PROV_EFORMAT);
        if (rc == 0) CHECK(f.p == s.content && f.len <= s.content_len);
        if (rc == PROV_ENOTFOUND) CHECK(s.content_len == 0);
        if (depth < 16) walk(s.content, s.content + s.content_len, depth + 1, count);
    }
}

/* ---- the store model ---- */

static int is_box_of(const c2pa_store *st, const jsuper *box, const c2pa_manifest **owner)
{
    *owner = NULL;
    if (box == &st->sb) return 1;
    for (size_t i = 0; i < st->n; i++) {
        const c2pa_manifest *m = &st->m[i];
        *owner = m;
        if (box == &m->sb || box == &m->claim_sb || box == &m->sig_sb) return 1;
        if (m->n_assertions && box >= &m->assertions[0].sb && box <= &m->assertions[m->n_assertions - 1].sb)
            return 1;
    }
    return 0;
}

static size_t n_resolves;

/* Resolve uri[0..n) (copied to a block of exactly n bytes, so reading past
 * it is caught) relative to cur. */
static void resolve(c2pa_store *st, c2pa_manifest *cur, const char *uri, size_t n)
{
    if (++n_resolves > 2000) return;
    char *u = malloc(n ? n : 1);
    if (!u) return;
    if (n) memcpy(u, uri, n);
    const jsuper *box = NULL;
    c2pa_manifest *sentinel = (c2pa_manifest *)&n_resolves;
    c2pa_manifest *in = sentinel;
    int rc = store_resolve(st, cur, u, n, &box, &in);
    CHECK(rc == 0 || rc == PROV_ENOTFOUND);
    if (rc == 0) {
        const c2pa_manifest *owner;
        CHECK(box && is_box_of(st, box, &owner));
        CHECK(in != sentinel); /* the owner is always set, NULL for the store itself */
        CHECK(in == NULL || (in >= st->m && in < st->m + st->n));
        if (box == &st->sb) CHECK(in == NULL);
        else CHECK(in == owner);
        uint8_t h[32];
        jsuper_hash(box, h);
    }
    free(u);
}

static void resolve_str(c2pa_store *st, c2pa_manifest *cur, const char *s) { resolve(st, cur, s, strlen(s)); }

static void resolve_fmt(c2pa_store *st, c2pa_manifest *cur, const char *fmt, const char *a, const char *b)
{
    char u[512];
    int n = snprintf(u, sizeof u, fmt, a, b);
    if (n > 0 && (size_t)n < sizeof u) resolve(st, cur, u, (size_t)n);
}

/* The hashed URIs a claim lists, as the verifier resolves them. */
static void claim_uris(c2pa_store *st, c2pa_manifest *m)
{
    static const char *const lists[] = {"created_assertions", "gathered_assertions", "assertions"};
    if (!m->claim_version || m->problem) return;
    for (size_t li = 0; li < 3; li++) {
        cval list, e, url;
        cbor_iter it;
        if (cbor_map_get(m->claim, lists[li], &list) || cbor_iter_init(list, &it)) continue;
        for (int k = 0; k < 64 && cbor_iter_next(&it, &e); k++) {
            const char *s;
            size_t n;
            if (cbor_map_get(e, "url", &url) || cbor_get_text(url, &s, &n)) continue;
            CHECK(inside(s, n));
            resolve(st, m, s, n);
        }
    }
}

static void check_manifest(c2pa_store *st, c2pa_manifest *m)
{
    CHECK(label_inside(m->label) && m->label == m->sb.label);
    CHECK(inside(m->sb.box.p, m->sb.box.len));
    c2pa_manifest *f = store_find(st, m->label);
    CHECK(f && strcmp(f->label, m->label) == 0);
    if (!m->problem) CHECK((m->claim_version == 1 || m->claim_version == 2) && m->sig_bytes);
    if (m->claim_version) {
        CHECK(inside(m->claim_bytes, m->claim_len) && label_inside(m->claim_sb.label));
        if (!m->problem) CHECK(m->claim.p == m->claim_bytes && m->claim.len == m->claim_len);
    }
    if (m->sig_bytes) {
        CHECK(inside(m->sig_bytes, m->sig_len));
        cose_sign1 c;
        const char *why = NULL;
        int rc = cose_parse(m->sig_bytes, m->sig_len, &c, &why);
        CHECK(rc == 0 || (rc < 0 && why));
        if (rc == 0) CHECK(c.ncerts >= 1 && c.ncerts <= PROV_MAX_CHAIN && inside(c.sig, c.sig_len));
    }
    CHECK(m->n_assertions <= PROV_MAX_BOXES && (m->n_assertions == 0 || m->assertions));
    for (size_t i = 0; i < m->n_assertions; i++) {
        c2pa_assertion *a = &m->assertions[i];
        CHECK(label_inside(a->label) && inside(a->sb.box.p, a->sb.box.len));
        CHECK(inside(a->sb.content, a->sb.content_len) || a->sb.content_len == 0);
        if (i < 64) {
            c2pa_assertion *g = manifest_assertion(m, a->label);
            CHECK(g && g <= a && strcmp(g->label, a->label) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_data = data;
    g_size = size;
    n_resolves = 0;

    size_t count = 0;
    walk(data, data + size, 0, &count);

    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return 0;
    c2pa_store st;
    int rc = store_parse(ctx, data, size, &st);
    if (rc) {
        CHECK(rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOMEM);
        CHECK(rc == PROV_ENOMEM || prov_errmsg(ctx)[0]); /* a clear error */
        CHECK(st.m == NULL && st.n == 0);
        prov_ctx_free(ctx);
        return 0;
    }
    CHECK(st.n >= 1 && st.n <= PROV_MAX_MANIFESTS && st.m);
    CHECK(jsuper_c2pa_type(&st.sb) == C2PA_STORE && st.sb.box.p == data);
    for (size_t i = 0; i < st.n; i++) check_manifest(&st, &st.m[i]);

    /* URIs: the store, each manifest (the first few and the active one),
     * its parts, and relative forms */
    resolve_str(&st, NULL, "self#jumbf=/c2pa");
    resolve_str(&st, NULL, "/c2pa");
    resolve_str(&st, NULL, "/c2pa/");
    resolve_str(&st, NULL, "/");
    resolve_str(&st, NULL, "");
    resolve_str(&st, NULL, "self#jumbf=");
    resolve_str(&st, NULL, "c2pa.signature");
    for (size_t k = 0; k < st.n && k < 5; k++) {
        size_t i = k < 4 ? k : st.n - 1;
        c2pa_manifest *m = &st.m[i];
        const char *al = m->n_assertions ? m->assertions[m->n_assertions - 1].label : "c2pa.hash.data";
        resolve_fmt(&st, NULL, "self#jumbf=/c2pa/%s%s", m->label, "");
        resolve_fmt(&st, NULL, "/c2pa/%s/%s", m->label, "");
        resolve_fmt(&st, NULL, "/c2pa/%s/%s", m->label, "c2pa.signature");
        resolve_fmt(&st, NULL, "/c2pa/%s/%s", m->label, m->claim_version ? m->claim_sb.label : "c2pa.claim.v2");
        resolve_fmt(&st, NULL, "/c2pa/%s/c2pa.assertions/%s", m->label, al);
        resolve_fmt(&st, NULL, "/c2pa/%s/c2pa.assertions%s", m->label, "");
        resolve_fmt(&st, m, "self#jumbf=c2pa.assertions/%s%s", al, "");
        resolve_fmt(&st, m, "c2pa.assertions/%s/%s", al, "x");
        resolve_str(&st, m, "c2pa.signature");
        resolve_str(&st, m, "c2pa.claim");
        resolve_str(&st, m, "c2pa.assertions/");
        resolve_str(&st, m, "");
        claim_uris(&st, m);
    }
    /* bytes after the store box: a URI the fuzzer writes directly */
    const uint8_t *q = data;
    jbox b;
    if (jbox_next(&q, data + size, &b) == 0 && q < data + size) {
        size_t n = (size_t)(data + size - q);
        if (n > 512) n = 512;
        resolve(&st, NULL, (const char *)q, n);
        resolve(&st, &st.m[st.n - 1], (const char *)q, n);
        resolve(&st, &st.m[0], (const char *)q, n);
    }
    store_free(&st);
    CHECK(st.m == NULL && st.n == 0);
    prov_ctx_free(ctx);
    return 0;
}
