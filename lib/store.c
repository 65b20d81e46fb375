/* store.c - parse a C2PA manifest store (JUMBF) into manifests, claims,
 * signatures and assertions, with bounded counts. */
#include "store.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

static int lab_cmp(const void *a, const void *b)
{
    const c2pa_label *x = a, *y = b;
    uint32_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    if (c) return c;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The first assertion (lowest index) labelled seg[0..n), or NULL. */
static c2pa_assertion *find_label(c2pa_manifest *m, const char *seg, size_t n)
{
    if (!m->by_label) {
        for (size_t i = 0; i < m->n_assertions; i++) /* out of memory when indexing: scan */
            if (strlen(m->assertions[i].label) == n && !memcmp(seg, m->assertions[i].label, n))
                return &m->assertions[i];
        return NULL;
    }
    size_t lo = 0, hi = m->n_assertions;
    while (lo < hi) { /* lower bound of (seg, n, index 0) */
        size_t mid = lo + (hi - lo) / 2;
        const c2pa_label *l = &m->by_label[mid];
        size_t k = l->n < n ? l->n : n;
        int c = memcmp(l->s, seg, k);
        if (!c) c = l->n < n ? -1 : l->n > n;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < m->n_assertions && m->by_label[lo].n == n && !memcmp(m->by_label[lo].s, seg, n))
        return &m->assertions[m->by_label[lo].i];
    return NULL;
}

static void index_labels(c2pa_manifest *m)
{
    if (!m->n_assertions || !(m->by_label = malloc(m->n_assertions * sizeof *m->by_label))) return;
    for (size_t i = 0; i < m->n_assertions; i++)
        m->by_label[i] = (c2pa_label){m->assertions[i].label, (uint32_t)strlen(m->assertions[i].label), (uint32_t)i};
    qsort(m->by_label, m->n_assertions, sizeof *m->by_label, lab_cmp);
}

static void parse_manifest(c2pa_manifest *m)
{
    const uint8_t *p = m->sb.content, *end = p + m->sb.content_len;
    size_t nboxes = 0;
    while (p < end) {
        jbox b;
        jsuper s;
        if (jbox_next(&p, end, &b) || jsuper_parse(&b, &s)) {
            m->problem = "manifest box malformed";
            return;
        }
        if (++nboxes > 64) { m->problem = "too many boxes in manifest"; return; }
        uint32_t t = jsuper_c2pa_type(&s);
        if (t == C2PA_ASSERTIONS) {
            if (m->assertions) { m->problem = "two assertion stores"; return; }
            size_t cap = 0;
            const uint8_t *q = s.content, *qe = q + s.content_len;
            while (q < qe) {
                jbox ab;
                jsuper as;
                if (jbox_next(&q, qe, &ab) || jsuper_parse(&ab, &as)) {
                    m->problem = "assertion box malformed";
                    return;
                }
                if (m->n_assertions == PROV_MAX_BOXES) { m->problem = "too many assertions"; return; }
                if (m->n_assertions == cap) {
                    cap = cap ? cap * 2 : 16;
                    void *n = realloc(m->assertions, cap * sizeof *m->assertions);
                    if (!n) { m->problem = "out of memory"; return; }
                    m->assertions = n;
                }
                m->assertions[m->n_assertions].label = as.label;
                m->assertions[m->n_assertions].sb = as;
                m->n_assertions++;
            }
            if (!m->assertions) m->assertions = calloc(1, sizeof *m->assertions);
            index_labels(m);
        } else if (t == C2PA_CLAIM) {
            jbox c;
            if (m->claim_version) { m->problem = "two claims"; return; }
            if (jsuper_first(&s, &c) || c.type != BOX_CBOR) {
                m->problem = "claim is not CBOR";
                /* a JSON claim: written before C2PA 1.0 */
                if (jsuper_first(&s, &c) == 0 && c.type == BOX_JSON) m->prerelease = 1;
                return;
            }
            m->claim_sb = s;
            m->claim_version = strcmp(s.label, "c2pa.claim.v2") == 0 ? 2 : 1;
            m->claim_bytes = c.data;
            m->claim_len = c.data_len;
            if (cbor_parse(c.data, c.data_len, 0, &m->claim) || m->claim.len != c.data_len ||
                cbor_type(m->claim) != CBOR_MAP) {
                m->problem = "claim CBOR malformed";
                return;
            }
        } else if (t == C2PA_SIGNATURE) {
            jbox c;
            if (m->sig_bytes) { m->problem = "two signatures"; return; }
            if (jsuper_first(&s, &c) || c.type != BOX_CBOR) { m->problem = "signature is not CBOR"; return; }
            m->sig_sb = s;
            m->sig_bytes = c.data;
            m->sig_len = c.data_len;
        }
    }
    if (!m->claim_version) m->problem = "manifest has no claim";
    else if (!m->sig_bytes) m->problem = "manifest has no signature";
}

int store_parse(prov_ctx *ctx, const uint8_t *p, size_t len, c2pa_store *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *q = p;
    jbox b;
    /* p is NULL for an empty store (a zero-length caBX chunk): NULL + 0 is UB */
    if (!p || jbox_next(&q, p + len, &b) || jsuper_parse(&b, &out->sb) ||
        jsuper_c2pa_type(&out->sb) != C2PA_STORE)
        return prov_seterr(ctx, PROV_EFORMAT, "manifest store is not a C2PA JUMBF superbox");
    const uint8_t *c = out->sb.content, *ce = c + out->sb.content_len;
    size_t cap = 0;
    while (c < ce) {
        jbox mb;
        jsuper ms;
        if (jbox_next(&c, ce, &mb) || jsuper_parse(&mb, &ms)) {
            store_free(out);
            return prov_seterr(ctx, PROV_EFORMAT, "manifest store: box length runs past its parent");
        }
        uint32_t t = jsuper_c2pa_type(&ms);
        if (t != C2PA_MANIFEST && t != C2PA_UPDATE) continue;
        if (out->n == PROV_MAX_MANIFESTS) {
            store_free(out);
            return prov_seterr(ctx, PROV_ELIMIT, "manifest store: more than %u manifests",
                               PROV_MAX_MANIFESTS);
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            void *n = realloc(out->m, cap * sizeof *out->m);
            if (!n) { store_free(out); return PROV_ENOMEM; }
            out->m = n;
        }
        c2pa_manifest *m = &out->m[out->n++];
        memset(m, 0, sizeof *m);
        m->sb = ms;
        m->label = ms.label;
        m->is_update = t == C2PA_UPDATE;
        parse_manifest(m);
    }
    if (!out->n) {
        store_free(out);
        return prov_seterr(ctx, PROV_EFORMAT, "manifest store holds no manifest");
    }
    return 0;
}

void store_free(c2pa_store *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->m[i].assertions), free(s->m[i].by_label);
    free(s->m);
    memset(s, 0, sizeof *s);
}

c2pa_manifest *store_find(c2pa_store *s, const char *label)
{
    for (size_t i = s->n; i-- > 0;)
        if (strcmp(s->m[i].label, label) == 0) return &s->m[i];
    return NULL;
}

c2pa_assertion *manifest_assertion(c2pa_manifest *m, const char *label)
{
    return find_label(m, label, strlen(label));
}

c2pa_assertion *manifest_assertion_n(c2pa_manifest *m, const char *label, size_t n)
{
    return find_label(m, label, n);
}

/* Compare one path segment (up to '/' or end) with a label. */
static int seg_eq(const char *seg, size_t n, const char *label)
{
    return strlen(label) == n && memcmp(seg, label, n) == 0;
}

int store_resolve(c2pa_store *s, c2pa_manifest *cur, const char *uri, size_t n,
                  const jsuper **out, c2pa_manifest **in_manifest)
{
    static const char pfx[] = "self#jumbf=";
    if (n >= sizeof pfx - 1 && memcmp(uri, pfx, sizeof pfx - 1) == 0) {
        uri += sizeof pfx - 1;
        n -= sizeof pfx - 1;
    }
    c2pa_manifest *m = cur;
    /* absolute: /c2pa/<manifest>[/...]; early writers (Microsoft, 1.x)
     * left out the first slash */
    int abs = 0;
    if (n > 0 && uri[0] == '/') {
        uri++;
        n--;
        abs = 1;
    } else if ((n >= 5 && memcmp(uri, "c2pa/", 5) == 0) || (n == 4 && memcmp(uri, "c2pa", 4) == 0)) {
        abs = 1;
    }
    if (abs) {
        if (n < 4 || memcmp(uri, "c2pa", 4) || (n > 4 && uri[4] != '/')) return PROV_ENOTFOUND;
        if (n <= 5) {
            *out = &s->sb;
            *in_manifest = NULL; /* the store itself: in no manifest */
            return 0;
        }
        uri += 5;
        n -= 5;
        const char *sl = memchr(uri, '/', n);
        size_t ml = sl ? (size_t)(sl - uri) : n;
        m = NULL;
        for (size_t i = s->n; i-- > 0;)
            if (seg_eq(uri, ml, s->m[i].label)) { m = &s->m[i]; break; }
        if (!m) return PROV_ENOTFOUND;
        if (!sl) {
            *out = &m->sb;
            *in_manifest = m;
            return 0;
        }
        uri = sl + 1;
        n -= ml + 1;
    }
    if (!m) return PROV_ENOTFOUND;
    *in_manifest = m;
    const char *sl = memchr(uri, '/', n);
    size_t l1 = sl ? (size_t)(sl - uri) : n;
    if (!sl) {
        if (seg_eq(uri, l1, "c2pa.signature") && m->sig_bytes) { *out = &m->sig_sb; return 0; }
        if (m->claim_version && seg_eq(uri, l1, m->claim_sb.label)) { *out = &m->claim_sb; return 0; }
        return PROV_ENOTFOUND;
    }
    if (!seg_eq(uri, l1, "c2pa.assertions")) return PROV_ENOTFOUND;
    c2pa_assertion *a = find_label(m, sl + 1, n - l1 - 1);
    if (!a) return PROV_ENOTFOUND;
    *out = &a->sb;
    return 0;
}

void jsuper_hash(const jsuper *s, uint8_t out[32])
{
    /* cached: a hostile claim may name one large box thousands of times */
    jsuper *w = (jsuper *)s;
    if (!w->hashed) {
        sha256(s->box.data, s->box.data_len, w->hash);
        w->hashed = 1;
    }
    memcpy(out, s->hash, 32);
}
