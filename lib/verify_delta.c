/* verify_delta.c - what the ingredients of a store already recorded about
 * their manifests.  An ingredient assertion carries the validation results
 * its signer saw (validationResults, or validationStatus before 2.x); a
 * reader re-validating that manifest reports only what is new (the
 * "deltas", C2PA 2.x 15.11; c2pa-rs drops a status equal to a recorded one:
 * same code, about the same manifest). */
#include "verify_delta.h"

#include <stdlib.h>
#include <string.h>

#define MAX_RECORDED 20000

static int label_is_ing(const char *l)
{
    static const char b[] = "c2pa.ingredient";
    return strncmp(l, b, sizeof b - 1) == 0;
}

/* The manifest a status URL is about: absolute "self#jumbf=/c2pa/LABEL/..."
 * names it; a relative one is about the ingredient's own manifest. */
static long url_manifest(c2pa_store *st, cval url, long dflt)
{
    const char *s;
    size_t n;
    static const char pfx[] = "self#jumbf=/c2pa/";
    if (cbor_get_text(url, &s, &n) || n < sizeof pfx - 1 || memcmp(s, pfx, sizeof pfx - 1)) return dflt;
    s += sizeof pfx - 1;
    n -= sizeof pfx - 1;
    const char *e = memchr(s, '/', n);
    size_t k = e ? (size_t)(e - s) : n;
    for (size_t i = 0; i < st->n; i++)
        if (strlen(st->m[i].label) == k && memcmp(st->m[i].label, s, k) == 0) return (long)i;
    return -1;
}

static int add(delta_set *d, cval code, long m)
{
    const char *s;
    size_t n;
    if (m < 0 || cbor_get_text(code, &s, &n) || n == 0 || n >= sizeof d->e[0].code) return 0;
    if (d->n == MAX_RECORDED) return 0; /* bounded; past it nothing more is dropped */
    if (d->n == d->cap) {
        size_t c = d->cap ? d->cap * 2 : 16;
        void *p = realloc(d->e, c * sizeof *d->e);
        if (!p) return PROV_ENOMEM;
        d->e = p;
        d->cap = c;
    }
    memcpy(d->e[d->n].code, s, n);
    d->e[d->n].code[n] = 0;
    d->e[d->n].m = (size_t)m;
    d->n++;
    return 0;
}

/* A list of {code, url} maps. */
static int add_list(delta_set *d, c2pa_store *st, cval list, long dflt)
{
    cbor_iter it;
    cval e, c, u;
    if (cbor_type(list) != CBOR_ARRAY || cbor_iter_init(list, &it)) return 0;
    while (cbor_iter_next(&it, &e)) {
        if (cbor_type(e) != CBOR_MAP || cbor_map_get(e, "code", &c)) continue;
        /* a status without a URL is about nothing in particular: it
         * matches no new one (readers compare code and URL) */
        if (cbor_map_get(e, "url", &u)) continue;
        long m = url_manifest(st, u, dflt);
        int rc = add(d, c, m);
        if (rc) return rc;
    }
    return 0;
}

static int add_codes(delta_set *d, c2pa_store *st, cval codes, long dflt)
{
    static const char *const kinds[] = {"success", "informational", "failure"};
    cval l;
    for (int k = 0; k < 3; k++) {
        if (cbor_map_get(codes, kinds[k], &l) == 0) {
            int rc = add_list(d, st, l, dflt);
            if (rc) return rc;
        }
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    const delta_set *z = NULL;
    __typeof__(z->e) x = (void *)a, y = (void *)b;
    if (x->m != y->m) return x->m < y->m ? -1 : 1;
    return strcmp(x->code, y->code);
}

int delta_build(c2pa_store *st, delta_set *d)
{
    memset(d, 0, sizeof *d);
    for (size_t mi = 0; mi < st->n; mi++) {
        c2pa_manifest *m = &st->m[mi];
        for (size_t ai = 0; ai < m->n_assertions; ai++) {
            if (!label_is_ing(m->assertions[ai].label)) continue;
            jbox cb;
            cval ig, f, url, vr, l, deltas, e;
            if (jsuper_first(&m->assertions[ai].sb, &cb) || cb.type != BOX_CBOR ||
                cbor_parse(cb.data, cb.data_len, 0, &ig) || cbor_type(ig) != CBOR_MAP)
                continue;
            long target = -1;
            if ((cbor_map_get(ig, "activeManifest", &f) == 0 || cbor_map_get(ig, "c2pa_manifest", &f) == 0) &&
                cbor_map_get(f, "url", &url) == 0)
                target = url_manifest(st, url, -1);
            int rc = 0;
            if (cbor_map_get(ig, "validationResults", &vr) == 0) {
                if (cbor_map_get(vr, "activeManifest", &l) == 0) rc = add_codes(d, st, l, target);
                cbor_iter it;
                if (!rc && cbor_map_get(vr, "ingredientDeltas", &deltas) == 0 && cbor_iter_init(deltas, &it) == 0)
                    while (!rc && cbor_iter_next(&it, &e))
                        if (cbor_map_get(e, "validationDeltas", &l) == 0) rc = add_codes(d, st, l, target);
            } else if (cbor_map_get(ig, "validationStatus", &l) == 0) {
                rc = add_list(d, st, l, target);
            }
            if (rc) { delta_free(d); return rc; }
        }
    }
    if (d->n) qsort(d->e, d->n, sizeof *d->e, cmp);
    return 0;
}

int delta_has(const delta_set *d, const char *code, size_t manifest)
{
    if (!d->n || strlen(code) >= sizeof d->e[0].code) return 0;
    __typeof__(*d->e) key;
    key.m = manifest;
    strcpy(key.code, code);
    return bsearch(&key, d->e, d->n, sizeof *d->e, cmp) != NULL;
}

void delta_free(delta_set *d)
{
    free(d->e);
    memset(d, 0, sizeof *d);
}
