/* verify.c - validate a manifest store the way C2PA readers do and report
 * C2PA status codes.  The file is read once: the head (with the store) is
 * held in memory, the image data streamed through the hash. */
#include "asset.h"
#include "bmff.h"
#include "cawg.h"
#include "hash.h"
#include "identity.h"
#include "cose.h"
#include "pump.h"
#include "report.h"
#include "verify_delta.h"
#include "boxhash.h"
#include "verify_actions.h"
#include "store.h"
#include "x509.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>

#define MAX_INGREDIENT_DEPTH 8

typedef struct vctx {
    prov_ctx *ctx;
    const prov_trust *trust;
    prov_report *r;
    c2pa_store *st;
    char *visited; /* per manifest: validated already (stops cycles) */
    unsigned fails, trust_fails; /* failure codes raised so far */
    delta_set delta; /* what ingredients recorded about their manifests */
    long cur;        /* the manifest being validated (index), -1 none */
    /* A proven signing time (Unix seconds, 0 none): while a manifest's
     * ingredients are validated, its own.  A manifest time-stamped at T
     * signed the hashes of its ingredients, so they existed at T: an
     * ingredient without a time-stamp of its own is judged then. */
    int64_t when;
    /* failures of ingredients that their signer recorded: not reported
     * again, but they still make that ingredient's "result" */
    unsigned recorded_fails, recorded_trust_fails;
} vctx;

static const char *cur_label(const vctx *v)
{
    return v->cur >= 0 ? v->st->m[v->cur].label : NULL;
}

/* A failure with why (may be NULL), about the manifest being validated. */
static void vfailw(vctx *v, const char *code, int ing, const char *why)
{
    /* an ingredient's failure its signer already recorded is no news */
    if (ing && v->cur >= 0 && delta_has(&v->delta, code, (size_t)v->cur)) {
        if (strcmp(code, "signingCredential.untrusted")) v->recorded_fails++;
        else v->recorded_trust_fails++;
        return;
    }
    if (strcmp(code, "signingCredential.untrusted")) v->fails++;
    else v->trust_fails++;
    report_addw(v->r, PROV_CODE_FAILURE, code, ing, cur_label(v), why);
}

static void vfail(vctx *v, const char *code, int ing) { vfailw(v, code, ing, NULL); }

static void vinfo(vctx *v, const char *code, int ing, const char *why)
{
    report_addw(v->r, PROV_CODE_INFO, code, ing, cur_label(v), why);
}

/* Label without an instance suffix ("c2pa.ingredient.v3__2"). */
static int label_is(const char *label, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(label, base, n)) return 0;
    return label[n] == 0 || (label[n] == '_' && label[n + 1] == '_');
}

static int is_hard_binding(const char *l)
{
    return label_is(l, "c2pa.hash.data") || label_is(l, "c2pa.hash.bmff") ||
           label_is(l, "c2pa.hash.bmff.v2") || label_is(l, "c2pa.hash.bmff.v3") ||
           label_is(l, "c2pa.hash.boxes") || label_is(l, "c2pa.hash.collection.data");
}

typedef struct huri {
    const char *url;
    size_t url_len;
    const uint8_t *hash;
    size_t hash_len;
} huri;

static int get_huri(cval m, huri *h)
{
    cval v;
    if (cbor_type(m) != CBOR_MAP) return PROV_EFORMAT;
    if (cbor_map_get(m, "url", &v) || cbor_get_text(v, &h->url, &h->url_len)) return PROV_EFORMAT;
    if (cbor_map_get(m, "hash", &v) || cbor_get_bytes(v, &h->hash, &h->hash_len)) return PROV_EFORMAT;
    if (cbor_map_get(m, "alg", &v) == 0 && !cbor_text_eq(v, "sha256")) return PROV_EUNSUPPORTED;
    return 0;
}

static void copy_text(cval v, char *out, size_t cap)
{
    const char *s;
    size_t n;
    out[0] = 0;
    if (cbor_get_text(v, &s, &n)) return;
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = 0;
}

/* Signature, certificate profile and trust of one manifest. */
static void check_signature(vctx *v, c2pa_manifest *m, int ing, int describe)
{
    prov_report *r = v->r;
    cose_sign1 c;
    const char *why;
    if (cose_parse(m->sig_bytes, m->sig_len, &c, &why)) {
        vfail(v, "claimSignature.mismatch", ing);
        return;
    }
    if (describe) {
        r->alg = cose_alg_name(c.alg);
        prov_x509_subject_summary(c.certs[0], c.cert_len[0], r->signer_cn, sizeof r->signer_cn,
                                  r->signer_org, sizeof r->signer_org, r->issuer, sizeof r->issuer);
    }
    char reason[128], why2[192], tsa[96] = "";
    /* the certificate must be valid when it signed: at the time-stamp's
     * time when a verifiable token says when, else now */
    int64_t at = 0;
    if (c.has_timestamp) {
        int t = PROV_TST_MALFORMED;
        char twhy[128] = "time-stamp header malformed or with more than one token";
        if (c.tst && c.tst_count == 1) {
            pbuf msg;
            pbuf_init(&msg);
            cose_tst_message(&c, c.tst_version, m->claim_bytes, m->claim_len, &msg);
            if (!msg.err)
                t = prov_tst_check(v->trust, c.tst, c.tst_len, msg.p, msg.len, &at, tsa, sizeof tsa, twhy,
                                   sizeof twhy);
            else
                r->oom = 1;
            pbuf_free(&msg);
        }
        if (t == PROV_TST_TRUSTED) {
            time_t tt = (time_t)at;
            struct tm tm;
            char when[32] = "";
            if (gmtime_r(&tt, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            snprintf(why2, sizeof why2, "signed at %s by %s", when, tsa[0] ? tsa : "a trusted TSA");
            report_addw(r, PROV_CODE_SUCCESS, "timeStamp.validated", ing, cur_label(v), why2);
            report_addw(r, PROV_CODE_SUCCESS, "timeStamp.trusted", ing, cur_label(v), why2);
        } else {
            at = 0; /* judged now: an unproven time is no time */
            snprintf(why2, sizeof why2, "%s%s%s; the certificate is judged at %s", twhy, tsa[0] ? ": " : "", tsa,
                     ing && v->when && m->claim_version >= 2 ? "its parent's time-stamp" : "the current time");
            vinfo(v, prov_tst_code(t), ing, why2);
        }
    }
    /* (1.x ingredients are judged on their own, as readers do) */
    if (!at && ing && m->claim_version >= 2) at = v->when;
    v->when = at;
    int prof = prov_x509_check_profile(v->trust, c.certs[0], c.cert_len[0], at, reason, sizeof reason);
    if (prof < 0 || prof == 1) vfailw(v, "signingCredential.invalid", ing, reason);
    else if (prof == 2) vfailw(v, "signingCredential.expired", ing, reason);
    else report_add(r, PROV_CODE_SUCCESS, "claimSignature.insideValidity", ing);

    int ok = cose_verify(&c, m->claim_bytes, m->claim_len);
    if (ok == 0) report_add(r, PROV_CODE_SUCCESS, "claimSignature.validated", ing);
    else if (ok == 1) vfailw(v, "claimSignature.mismatch", ing, "the claim's signature does not verify");
    else if (ok == PROV_EUNSUPPORTED) vfailw(v, "algorithm.unsupported", ing, cose_alg_name(c.alg));
    else vfailw(v, "signingCredential.invalid", ing, "the signing certificate's key cannot be used");

    int t = prov_x509_chain_trusted(v->trust, c.certs, c.cert_len, c.ncerts, at, reason, sizeof reason);
    if (t == 0) report_add(r, PROV_CODE_SUCCESS, "signingCredential.trusted", ing);
    else vfailw(v, "signingCredential.untrusted", ing, reason);
}

/* The claim's assertion references: v2 created + gathered, v1 assertions. */
static void check_assertions(vctx *v, c2pa_manifest *m, int ing, const c2pa_assertion **binding,
                             int *nbind)
{
    static const char *const lists[] = {"created_assertions", "gathered_assertions", "assertions"};
    prov_report *r = v->r;
    char *seen = calloc(m->n_assertions + 1, 1);
    size_t nrefs = 0;
    if (!seen) { r->oom = 1; return; }
    for (size_t li = 0; li < 3; li++) {
        cval list, e;
        cbor_iter it;
        if (cbor_map_get(m->claim, lists[li], &list)) continue;
        if (cbor_type(list) != CBOR_ARRAY || cbor_iter_init(list, &it)) {
            vfail(v, "claim.malformed", ing);
            continue;
        }
        while (cbor_iter_next(&it, &e)) {
            huri h;
            const jsuper *box;
            c2pa_manifest *owner;
            if (++nrefs > PROV_MAX_REFS) {
                vfail(v, "claim.malformed", ing);
                break;
            }
            if (get_huri(e, &h)) {
                vfail(v, "claim.malformed", ing);
                continue;
            }
            if (store_resolve(v->st, m, h.url, h.url_len, &box, &owner)) {
                vfail(v, "assertion.missing", ing);
                continue;
            }
            if (owner != m) {
                vfail(v, "assertion.outsideManifest", ing);
                continue;
            }
            uint8_t d[32];
            jsuper_hash(box, d);
            /* which assertion: box is the sb of an element of m->assertions
             * (store_resolve), or the claim or signature box */
            size_t idx = m->n_assertions;
            if (m->n_assertions) {
                uintptr_t b0 = (uintptr_t)&m->assertions[0].sb, bp = (uintptr_t)box;
                if (bp >= b0 && (bp - b0) % sizeof *m->assertions == 0 && (bp - b0) / sizeof *m->assertions < m->n_assertions)
                    idx = (size_t)((bp - b0) / sizeof *m->assertions);
            }
            if (h.hash_len != 32 || memcmp(d, h.hash, 32)) {
                /* reported once: a referenced assertion is not also undeclared */
                if (idx < m->n_assertions) seen[idx] = 1;
                vfail(v, "assertion.hashedURI.mismatch", ing);
                continue;
            }
            report_add(r, PROV_CODE_SUCCESS, "assertion.hashedURI.match", ing);
            if (idx < m->n_assertions) {
                if (seen[idx]) continue;
                seen[idx] = 1;
                if (is_hard_binding(m->assertions[idx].label)) {
                    if (*nbind == 0) *binding = &m->assertions[idx];
                    (*nbind)++;
                }
            }
        }
    }
    for (size_t i = 0; i < m->n_assertions; i++)
        if (!seen[i]) vfail(v, "assertion.undeclared", ing);
    free(seen);
}

static void check_manifest(vctx *v, c2pa_manifest *m, int ing, int describe, const c2pa_assertion **binding,
                           int *nbind, int depth, pbuf *ingredients);
static void describe_actions(c2pa_manifest *m, pbuf *b);
static void describe_signer(c2pa_manifest *m, pbuf *b);

/* Ingredients of m: each referenced manifest must be in the store with the
 * hash the ingredient recorded, and must itself validate. */
static void check_ingredients(vctx *v, c2pa_manifest *m, pbuf *out, int depth,
                              const c2pa_assertion **parent_binding)
{
    prov_report *r = v->r;
    int parents = 0;
    for (size_t i = 0; i < m->n_assertions; i++) {
        c2pa_assertion *a = &m->assertions[i];
        if (!label_is(a->label, "c2pa.ingredient") && !label_is(a->label, "c2pa.ingredient.v2") &&
            !label_is(a->label, "c2pa.ingredient.v3"))
            continue;
        jbox cb;
        cval ig, f;
        if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &ig) ||
            cbor_type(ig) != CBOR_MAP) {
            vfail(v, "assertion.ingredient.malformed", 1);
            continue;
        }
        char title[256] = "", format[128] = "", rel[32] = "", mlabel[256] = "";
        if (cbor_map_get(ig, "dc:title", &f) == 0) copy_text(f, title, sizeof title);
        if (cbor_map_get(ig, "dc:format", &f) == 0) copy_text(f, format, sizeof format);
        if (cbor_map_get(ig, "relationship", &f) == 0) copy_text(f, rel, sizeof rel);
        if (strcmp(rel, "parentOf") == 0) parents++;
        const char *result = "unknown";
        c2pa_manifest *described = NULL;
        pbuf nested;
        huri h;
        if ((cbor_map_get(ig, "activeManifest", &f) == 0 || cbor_map_get(ig, "c2pa_manifest", &f) == 0) &&
            get_huri(f, &h) == 0) {
            const jsuper *box;
            c2pa_manifest *im = NULL;
            if (store_resolve(v->st, m, h.url, h.url_len, &box, &im) || !im ||
                (box != &im->sb && box != &im->claim_sb)) {
                vfail(v, "ingredient.manifest.missing", 1);
                result = "missing";
            } else {
                uint8_t d[32], dm[32], dc[32];
                jsuper_hash(box, d);
                jsuper_hash(&im->sb, dm); /* some writers point at the claim but hash the manifest */
                /* C2PA 1.0-1.2 hashed the ingredient's claim CBOR (readers
                 * accept it: c2pa-rs's "legacy hash") */
                sha256(im->claim_bytes, im->claim_len, dc);
                snprintf(mlabel, sizeof mlabel, "%s", im->label);
                if (h.hash_len != 32 || (memcmp(d, h.hash, 32) && memcmp(dm, h.hash, 32) &&
                                         memcmp(dc, h.hash, 32))) {
                    vfail(v, "ingredient.manifest.mismatch", 1);
                    result = "mismatch";
                } else {
                    unsigned f0 = v->fails + v->recorded_fails, t0 = v->trust_fails + v->recorded_trust_fails;
                    const c2pa_assertion *b = NULL;
                    int nb = 0;
                    if (out) pbuf_init(&nested);
                    check_manifest(v, im, 1, 0, &b, &nb, depth + 1, out ? &nested : NULL);
                    described = im;
                    if (strcmp(rel, "parentOf") == 0 && parent_binding && nb == 1) *parent_binding = b;
                    report_add(r, PROV_CODE_SUCCESS, "ingredient.manifest.validated", 1);
                    result = v->fails + v->recorded_fails != f0                         ? "invalid"
                             : v->trust_fails + v->recorded_trust_fails != t0 ? "valid"
                                                                               : "trusted";
                }
            }
        } else {
            report_add(r, PROV_CODE_INFO, "ingredient.unknownProvenance", 1);
        }
        if (out) {
            pbuf *b = out;
            pbuf_putc(b, b->len ? ',' : '[');
            pbuf_puts(b, "{\"title\":");
            pbuf_json_str(b, title, strlen(title));
            pbuf_puts(b, ",\"format\":");
            pbuf_json_str(b, format, strlen(format));
            pbuf_puts(b, ",\"relationship\":");
            pbuf_json_str(b, rel, strlen(rel));
            pbuf_puts(b, ",\"manifest\":");
            if (mlabel[0]) pbuf_json_str(b, mlabel, strlen(mlabel));
            else pbuf_puts(b, "null");
            pbuf_puts(b, ",\"result\":");
            pbuf_json_str(b, result, strlen(result));
            if (described) { /* its own history, for an edit trail */
                pbuf_puts(b, ",\"signer\":");
                describe_signer(described, b);
                pbuf_puts(b, ",\"actions\":");
                describe_actions(described, b);
                pbuf_puts(b, ",\"ingredients\":");
                if (nested.len) pbuf_put(b, nested.p, nested.len);
                else pbuf_puts(b, "[]");
                pbuf_free(&nested);
            }
            pbuf_putc(b, '}');
        }
    }
    if (parents > 1) vfail(v, "manifest.multipleParents", depth > 0);
    if (out && out->len) pbuf_putc(out, ']');
}

static void describe_actions(c2pa_manifest *m, pbuf *b)
{
    size_t start = b->len;
    for (size_t i = 0; i < m->n_assertions; i++) {
        c2pa_assertion *a = &m->assertions[i];
        if (!label_is(a->label, "c2pa.actions") && !label_is(a->label, "c2pa.actions.v2")) continue;
        jbox cb;
        cval am, list, e, f;
        cbor_iter it;
        if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &am) ||
            cbor_map_get(am, "actions", &list) || cbor_iter_init(list, &it))
            continue;
        while (cbor_iter_next(&it, &e)) {
            static const char *const keys[] = {"action", "digitalSourceType", "when", "description"};
            if (cbor_type(e) != CBOR_MAP) continue;
            pbuf_putc(b, b->len > start ? ',' : '[');
            pbuf_putc(b, '{');
            int first = 1;
            for (size_t k = 0; k < 4; k++) {
                char val[512];
                if (cbor_map_get(e, keys[k], &f) || cbor_type(f) != CBOR_TEXT) continue;
                copy_text(f, val, sizeof val);
                if (!first) pbuf_putc(b, ',');
                first = 0;
                pbuf_json_str(b, keys[k], strlen(keys[k]));
                pbuf_putc(b, ':');
                pbuf_json_str(b, val, strlen(val));
            }
            if (cbor_map_get(e, "softwareAgent", &f) == 0) {
                char val[256] = "";
                cval n;
                if (cbor_type(f) == CBOR_TEXT) copy_text(f, val, sizeof val);
                else if (cbor_map_get(f, "name", &n) == 0) copy_text(n, val, sizeof val);
                if (val[0]) {
                    if (!first) pbuf_putc(b, ',');
                    first = 0;
                    pbuf_puts(b, "\"softwareAgent\":");
                    pbuf_json_str(b, val, strlen(val));
                }
            }
            pbuf_putc(b, '}');
        }
    }
    pbuf_puts(b, b->len > start ? "]" : "[]");
}

static void describe_signer(c2pa_manifest *m, pbuf *b)
{
    cose_sign1 c;
    const char *why;
    char cn[256], org[256], iss[256];
    if (cose_parse(m->sig_bytes, m->sig_len, &c, &why) ||
        prov_x509_subject_summary(c.certs[0], c.cert_len[0], cn, sizeof cn, org, sizeof org, iss, sizeof iss)) {
        pbuf_puts(b, "null");
        return;
    }
    pbuf_puts(b, "{\"subject\":");
    pbuf_json_str(b, cn, strlen(cn));
    pbuf_puts(b, ",\"org\":");
    pbuf_json_str(b, org, strlen(org));
    pbuf_puts(b, ",\"issuer\":");
    pbuf_json_str(b, iss, strlen(iss));
    pbuf_puts(b, ",\"alg\":");
    pbuf_json_str(b, cose_alg_name(c.alg), strlen(cose_alg_name(c.alg)));
    pbuf_putc(b, '}');
}

struct afail {
    vctx *v;
    int ing;
};

static void actions_fail(void *u, const char *code, const char *why)
{
    struct afail *a = u;
    vfailw(a->v, code, a->ing, why);
}

static void check_manifest(vctx *v, c2pa_manifest *m, int ing, int describe, const c2pa_assertion **binding,
                           int *nbind, int depth, pbuf *ingredients)
{
    size_t idx = (size_t)(m - v->st->m);
    if (depth > MAX_INGREDIENT_DEPTH || v->visited[idx]) return;
    v->visited[idx] = 1;
    long saved_cur = v->cur;
    int64_t saved_when = v->when;
    v->cur = (long)idx;
    if (m->problem) {
        vfail(v, "claim.malformed", ing);
        v->cur = saved_cur;
        return;
    }
    v->when = ing ? saved_when : 0;
    if (describe) {
        cval f, n;
        prov_report *r = v->r;
        snprintf(r->manifest, sizeof r->manifest, "%s", m->label);
        r->claim_version = m->claim_version;
        if (cbor_map_get(m->claim, "dc:title", &f) == 0) copy_text(f, r->title, sizeof r->title);
        if (cbor_map_get(m->claim, "claim_generator_info", &f) == 0) {
            if (cbor_type(f) == CBOR_ARRAY) {
                cbor_iter it;
                if (cbor_iter_init(f, &it) == 0) cbor_iter_next(&it, &f);
            }
            if (cbor_map_get(f, "name", &n) == 0) copy_text(n, r->generator, sizeof r->generator);
        } else if (cbor_map_get(m->claim, "claim_generator", &f) == 0) {
            copy_text(f, r->generator, sizeof r->generator);
        }
        describe_actions(m, &r->actions);
    }
    if (m->claim_version >= 2 && !manifest_label_ok(m->label))
        vfailw(v, "claim.malformed", ing, "manifest label does not follow urn:c2pa:<uuid>[:<generator>[:<version>]]");
    check_signature(v, m, ing, describe);
    check_assertions(v, m, ing, binding, nbind);
    struct afail af = {v, ing};
    actions_check(m, actions_fail, &af);
    for (size_t i = 0; i < m->n_assertions; i++)
        if (label_is(m->assertions[i].label, "cawg.identity"))
            cawg_check_identity(&m->assertions[i], v->st, m, v->r, ing);
    const c2pa_assertion *parent_binding = NULL;
    check_ingredients(v, m, ingredients, depth, &parent_binding);
    if (m->is_update && *nbind == 0 && parent_binding) {
        *binding = parent_binding; /* an update manifest is bound through its parent */
        *nbind = 1;
    }
    v->cur = saved_cur;
    v->when = saved_when;
}

/* Parse a c2pa.hash.data assertion. */
static int data_hash(const c2pa_assertion *a, xrange *ex, size_t *nex, char *alg, size_t alg_cap,
                     const uint8_t **hash, size_t *hash_len)
{
    jbox cb;
    cval m, list, e, f;
    cbor_iter it;
    if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &m) ||
        cbor_type(m) != CBOR_MAP)
        return PROV_EFORMAT;
    if (cbor_map_get(m, "hash", &f) || cbor_get_bytes(f, hash, hash_len)) return PROV_EFORMAT;
    snprintf(alg, alg_cap, "sha256");
    if (cbor_map_get(m, "alg", &f) == 0) copy_text(f, alg, alg_cap);
    *nex = 0;
    if (cbor_map_get(m, "exclusions", &list) == 0) {
        if (cbor_iter_init(list, &it)) return PROV_EFORMAT;
        while (cbor_iter_next(&it, &e)) {
            cval s, l;
            if (*nex == PROV_MAX_EXCLUSIONS) return PROV_ELIMIT;
            if (cbor_map_get(e, "start", &s) || cbor_get_uint(s, &ex[*nex].start) ||
                cbor_map_get(e, "length", &l) || cbor_get_uint(l, &ex[*nex].len))
                return PROV_EFORMAT;
            (*nex)++;
        }
    }
    return 0;
}

static void xhash_feed_cb(void *h, const uint8_t *p, size_t n) { xhash_feed(h, p, n); }

/* Hash the whole file minus the exclusions: head from memory, the rest
 * streamed.  Returns 0 match, 1 mismatch, negative on read error. */
static int hash_pass(vctx *v, asset *a, rdr *rd, const c2pa_assertion *binding, int via_parent, int external)
{
    prov_report *r = v->r;
    xrange *ex = malloc(PROV_MAX_EXCLUSIONS * sizeof *ex);
    if (!ex) return PROV_ENOMEM;
    size_t nex;
    char alg[16];
    const uint8_t *want;
    size_t want_len;
    int rc = data_hash(binding, ex, &nex, alg, sizeof alg, &want, &want_len);
    if (rc) {
        free(ex);
        vfail(v, "assertion.dataHash.malformed", 0);
        return 0;
    }
    /* The store must be excluded exactly (else its bytes would be signed
     * over, or unsigned bytes could hide beside it). */
    int located = 0;
    for (size_t i = 0; i < nex; i++) {
        if (a->nranges != 1 || ex[i].start != a->ranges[0].start) continue;
        /* an update manifest grew the store after its parent hashed it */
        if (via_parent) ex[i].len = a->ranges[0].len;
        if (ex[i].len == a->ranges[0].len) located = 1;
    }
    if (external) { /* outside the file: all of it is bound (an empty exclusion excludes nothing) */
        located = 1;
        for (size_t i = 0; i < nex; i++)
            if (ex[i].len) located = 0;
    }
    if (nex > 1) report_add(r, PROV_CODE_INFO, "assertion.dataHash.additionalExclusionsPresent", 0);
    xhash h;
    if (hash_alg_len(alg, strlen(alg)) == 0 || xhash_init(&h, alg, ex, nex)) {
        free(ex);
        vfail(v, "assertion.dataHash.malformed", 0);
        return 0;
    }
    xhash_feed(&h, a->head.p, a->head.len);
    uint64_t pumped;
    int where;
    rc = pump(rd, UINT64_MAX, xhash_feed_cb, &h, NULL, &pumped, &where);
    uint8_t got[64];
    size_t got_len = xhash_final(&h, got);
    uint64_t total = h.off;
    xhash_free(&h);
    for (size_t i = 0; i < nex; i++)
        if (ex[i].start + ex[i].len > total) located = 0; /* exclusion out of range */
    free(ex);
    if (rc) return rc;
    int match = located && got_len == want_len && memcmp(got, want, got_len) == 0;
    if (match) report_add(r, PROV_CODE_SUCCESS, "assertion.dataHash.match", 0);
    else vfail(v, "assertion.dataHash.mismatch", 0);
    return !match;
}

static void boxhash_feed_cb(void *b, const uint8_t *p, size_t n) { boxhash_feed(b, p, n); }

/* c2pa.hash.boxes over a JPEG: every segment run hashed as the assertion
 * lists it, in one pass.  Negative only on a read error. */
static int box_pass(vctx *v, asset *a, rdr *rd, const c2pa_assertion *binding)
{
    jbox cb;
    cval m;
    boxhash *b;
    const char *why = "assertion does not parse";
    if (jsuper_first(&binding->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &m) ||
        cbor_type(m) != CBOR_MAP || boxhash_new(m, &b, &why)) {
        vfailw(v, "assertion.boxesHash.malformed", 0, why);
        return 0;
    }
    boxhash_feed(b, a->head.p, a->head.len);
    uint64_t pumped;
    int where;
    int rc = pump(rd, UINT64_MAX, boxhash_feed_cb, b, NULL, &pumped, &where);
    char reason[160];
    int mism = boxhash_final(b, reason, sizeof reason);
    boxhash_free(b);
    if (rc) return rc;
    if (mism) vfailw(v, "assertion.boxesHash.mismatch", 0, reason);
    else report_add(v->r, PROV_CODE_SUCCESS, "assertion.boxesHash.match", 0);
    return 0;
}

/* 1, 2 or 3 for a c2pa.hash.bmff label, else 0. */
static int bmff_version(const char *label)
{
    if (label_is(label, "c2pa.hash.bmff")) return 1;
    if (label_is(label, "c2pa.hash.bmff.v2")) return 2;
    if (label_is(label, "c2pa.hash.bmff.v3")) return 3;
    return 0;
}

/* The flat BMFF hash over the whole file.  Returns negative only on a read
 * error. */
/* Fragmented media: the init segment's own hash, then (given a fragment)
 * the fragment's hash up the Merkle tree.  Negative only on a read error. */
static int bmff_merkle_pass(vctx *v, const bmff_file *bf, rdr *rd, cval m, int version, prov_stream *fragment)
{
    prov_report *r = v->r;
    cval maps, map, f;
    cbor_iter it;
    bmff_frag fr = {0};
    bmff_file ff;
    rdr frd;
    pbuf box;
    pbuf_init(&box);
    memset(&ff, 0, sizeof ff);
    memset(&frd, 0, sizeof frd);
    int rc = 0, found = 0;
    const char *why = NULL;
    if (cbor_map_get(m, "merkle", &maps) || cbor_iter_init(maps, &it)) {
        vfail(v, "assertion.bmffHash.malformed", 0);
        return 0;
    }
    if (fragment) {
        if ((rc = rdr_init(&frd, fragment))) return rc;
        if ((rc = bmff_scan(v->ctx, &frd, &ff, "fragment")) || (rc = bmff_fragment_info(v->ctx, &frd, &ff, &box, &fr))) {
            why = v->ctx ? v->ctx->msg : "fragment unreadable";
            rc = rc == PROV_EIO ? rc : 0;
            vfail(v, "assertion.bmffHash.mismatch", 0);
            goto out;
        }
    } else {
        fr.unique_id = fr.local_id = 1;
    }
    while (cbor_iter_next(&it, &map)) {
        uint64_t u, l;
        if (cbor_map_get(map, "uniqueId", &f) || cbor_get_uint(f, &u) || cbor_map_get(map, "localId", &f) ||
            cbor_get_uint(f, &l))
            continue;
        if (u == fr.unique_id && l == fr.local_id) { found = 1; break; }
    }
    if (!found) {
        why = "the fragment has no Merkle map in the manifest";
        vfail(v, "assertion.bmffHash.mismatch", 0);
        goto out;
    }
    const uint8_t *want;
    size_t want_len;
    uint8_t got[64];
    size_t got_len = 0;
    int extra = 0;
    if (cbor_map_get(map, "initHash", &f) || cbor_get_bytes(f, &want, &want_len)) {
        vfail(v, "assertion.bmffHash.malformed", 0);
        goto out;
    }
    rc = bmff_hash(v->ctx, rd, bf, m, version, got, &got_len, &extra);
    if (rc) goto hash_err;
    if (got_len != want_len || memcmp(got, want, got_len)) {
        why = "the init segment's hash does not match";
        vfail(v, "assertion.bmffHash.mismatch", 0);
        goto out;
    }
    if (extra) report_add(r, PROV_CODE_INFO, "assertion.bmffHash.additionalExclusionsPresent", 0);
    if (!fragment) {
        /* An init hash is for fragmented media: the init segment alone
         * holds none of the media it vouches for, so it does not verify
         * alone (as c2pa-rs reads it); with --fragment each fragment does. */
        vfailw(v, "assertion.bmffHash.mismatch", 0,
               "the manifest is for fragmented media: verify the init segment with its fragments (--fragment)");
        goto out;
    }
    rc = bmff_hash(v->ctx, &frd, &ff, m, version, got, &got_len, &extra);
    if (rc) goto hash_err;
    int ok = got_len == 32 ? bmff_merkle_check(map, &fr, got) : 1;
    if (ok == 0) report_add(r, PROV_CODE_SUCCESS, "assertion.bmffHash.match", 0);
    else {
        why = ok == 1 ? "the fragment's hash is not in the Merkle tree" : "Merkle map malformed";
        vfail(v, ok == 1 ? "assertion.bmffHash.mismatch" : "assertion.bmffHash.malformed", 0);
    }
    goto out;
hash_err:
    if (rc != PROV_EIO) {
        vfail(v, "assertion.bmffHash.malformed", 0);
        rc = 0;
    }
out:
    if (why && !r->error[0]) snprintf(r->error, sizeof r->error, "%s", why);
    pbuf_free(&box);
    bmff_free(&ff);
    if (fragment) rdr_free(&frd);
    return rc;
}

/* The flat BMFF hash over the whole file.  Returns negative only on a read
 * error. */
static int bmff_pass(vctx *v, const bmff_file *bf, rdr *rd, const c2pa_assertion *binding, prov_stream *fragment)
{
    prov_report *r = v->r;
    jbox cb;
    cval m, f;
    const uint8_t *want;
    size_t want_len;
    if (jsuper_first(&binding->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &m) ||
        cbor_type(m) != CBOR_MAP) {
        vfail(v, "assertion.bmffHash.malformed", 0);
        return 0;
    }
    if (cbor_map_get(m, "hash", &f) || cbor_get_bytes(f, &want, &want_len))
        return bmff_merkle_pass(v, bf, rd, m, bmff_version(binding->label), fragment);
    if (fragment) {
        vfail(v, "assertion.bmffHash.mismatch", 0);
        snprintf(r->error, sizeof r->error, "the manifest is not for fragmented media");
        return 0;
    }
    uint8_t got[64];
    size_t got_len = 0;
    int extra = 0;
    int rc = bmff_hash(v->ctx, rd, bf, m, bmff_version(binding->label), got, &got_len, &extra);
    if (rc == PROV_EIO) return rc;
    if (rc) {
        vfail(v, "assertion.bmffHash.malformed", 0);
        return 0;
    }
    if (extra) report_add(r, PROV_CODE_INFO, "assertion.bmffHash.additionalExclusionsPresent", 0);
    if (got_len == want_len && memcmp(got, want, got_len) == 0)
        report_add(r, PROV_CODE_SUCCESS, "assertion.bmffHash.match", 0);
    else
        vfail(v, "assertion.bmffHash.mismatch", 0);
    return 0;
}

/* A store no reader can validate at all (c2pa-rs refuses to load it):
 * a pre-1.0 draft (JSON claim, or assertions hashed without their box
 * header), or a claim without a hash algorithm.  1 with why set, else 0. */
static int store_unreadable(c2pa_store *st, char *why, size_t cap)
{
    for (size_t i = 0; i < st->n; i++) {
        c2pa_manifest *m = &st->m[i];
        cval f;
        if (m->prerelease) {
            snprintf(why, cap, "%s: a pre-release (before C2PA 1.0) manifest", m->label);
            return 1;
        }
        if (m->problem) continue;
        if (cbor_map_get(m->claim, "alg", &f)) {
            snprintf(why, cap, "%s: the claim names no hash algorithm (alg)", m->label);
            return 1;
        }
        /* draft hashing: the first assertion's reference covers its data
         * alone, not the box */
        if (m->n_assertions && m->claim_version == 1) {
            static const char *const lists[] = {"assertions", "created_assertions"};
            c2pa_assertion *a = &m->assertions[0];
            for (int li = 0; li < 2; li++) {
                cval list, e;
                cbor_iter it;
                if (cbor_map_get(m->claim, lists[li], &list) || cbor_iter_init(list, &it)) continue;
                while (cbor_iter_next(&it, &e)) {
                    huri h;
                    const jsuper *box;
                    c2pa_manifest *owner;
                    if (get_huri(e, &h) || store_resolve(st, m, h.url, h.url_len, &box, &owner) || box != &a->sb)
                        continue;
                    /* the data of any content box (a thumbnail's is its
                     * second, after the file description) */
                    const uint8_t *q = a->sb.content, *qe = q + a->sb.content_len;
                    jbox cb;
                    for (int k = 0; k < 4 && q < qe && jbox_next(&q, qe, &cb) == 0; k++) {
                        uint8_t d[32];
                        sha256(cb.data, cb.data_len, d);
                        if (h.hash_len == 32 && memcmp(d, h.hash, 32) == 0) {
                            snprintf(why, cap, "%s: a pre-release (before C2PA 1.0) manifest", m->label);
                            return 1;
                        }
                    }
                }
            }
        }
    }
    return 0;
}

static void fail_error(prov_report *r, prov_ctx *ctx, int rc)
{
    r->state = PROV_STATE_ERROR;
    snprintf(r->error, sizeof r->error, "%s", ctx && ctx->msg[0] ? ctx->msg : prov_strerror(rc));
}

int verify_stream(prov_ctx *ctx, const prov_verify_opts *opts, prov_stream *in, prov_report *r, asset *keep,
                  prov_stream *fragment)
{
    const prov_trust *trust = opts ? opts->trust : NULL;
    rdr rd;
    asset a;
    c2pa_store st;
    memset(&st, 0, sizeof st);
    int rc = rdr_init(&rd, in);
    if (rc) { fail_error(r, ctx, rc); return rc; }
    if (opts) {
        rd.progress = opts->progress;
        rd.progress_user = opts->progress_user;
        rd.total = opts->size_hint;
    }
    bmff_file bf;
    memset(&bf, 0, sizeof bf);
    if ((rc = rdr_fill(&rd, 12)) == 0 && bmff_sniff(rd.buf + rd.pos, rd.end - rd.pos)) {
        memset(&a, 0, sizeof a);
        a.format = FMT_BMFF;
        rc = bmff_scan(ctx, &rd, &bf, "input");
        if (!rc) {
            a.mime = bmff_mime(bf.brand);
            if (bf.c2pa >= 0 && (rc = bmff_read_store(ctx, &rd, &bf, &a.store, "input")) == 0) a.has_store = 1;
            if (!rc && bf.c2pa < 0) bmff_read_xmp(&rd, &bf, &a.xmp); /* a remote manifest's reference */
            if (!rc && rdr_seek(&rd, 0)) rc = PROV_EIO;
        }
        if (rc) asset_free(&a);
    } else if (!rc) {
        rc = asset_read_head(ctx, &rd, &a, "input");
    }
    if (!rc && a.format == FMT_C2PA) {
        asset_free(&a);
        rc = prov_seterr(ctx, PROV_EUNSUPPORTED,
                         "input is a manifest store alone (.c2pa): verify the file it belongs to with it "
                         "(prov verify FILE --manifest STORE.c2pa), or inspect it");
    }
    int external = !rc && opts && opts->manifest;
    if (external) { /* a sidecar or fetched store takes the place of the file's own */
        if (opts->manifest_len > PROV_MAX_STORE) {
            asset_free(&a);
            rc = prov_seterr(ctx, PROV_ELIMIT, "manifest: over %u bytes", PROV_MAX_STORE);
        } else {
            a.store.len = 0;
            pbuf_put(&a.store, opts->manifest, opts->manifest_len);
            a.has_store = 1;
            a.nranges = 0;
            if (a.store.err) { asset_free(&a); rc = PROV_ENOMEM; }
        }
    }
    if (rc) {
        bmff_free(&bf);
        rdr_free(&rd);
        if (rc == PROV_EUNSUPPORTED && opts && opts->audio_fingerprint_len && !opts->manifest && !keep && !fragment) {
            /* sound the caller decoded, in a container C2PA defines no
             * manifest for (Ogg, Opus, WebM...): it can carry none; it is
             * looked up by its sound */
            if (ctx) ctx->msg[0] = 0;
            r->state = PROV_STATE_UNSIGNED;
            report_add(r, PROV_CODE_INFO, "prov.format.noManifestPlace", 0);
            if (opts->registry && opts->match_distance >= 0) soft_lookup_audio(ctx, opts, r);
            return 0;
        }
        fail_error(r, ctx, rc);
        return rc;
    }
    r->format = a.mime;
    if (!a.has_store) {
        r->state = PROV_STATE_UNSIGNED;
        /* no store, but the file says where its manifest is (C2PA
         * remote manifests): not plainly unsigned */
        if (asset_remote_url(&a, r->remote, sizeof r->remote)) {
            r->state = PROV_STATE_REMOTE;
            report_addw(r, PROV_CODE_INFO, "manifest.remote", 0, NULL, r->remote);
        }
        if (opts && opts->registry && opts->match_distance >= 0 && !keep && !fragment &&
            (a.format == FMT_JPEG || a.format == FMT_PNG))
            soft_lookup(ctx, opts, in, r);
        else if (opts && opts->registry && opts->match_distance >= 0 && opts->audio_fingerprint_len && !keep &&
                 !fragment)
            soft_lookup_audio(ctx, opts, r);
        goto done;
    }
    rc = store_parse(ctx, a.store.p, a.store.len, &st);
    if (rc) {
        /* a store that does not parse: the file claims provenance it cannot show */
        report_add(r, PROV_CODE_FAILURE, "claim.malformed", 0);
        snprintf(r->error, sizeof r->error, "%s", ctx ? ctx->msg : prov_strerror(rc));
        r->state = PROV_STATE_INVALID;
        rc = 0;
        goto done;
    }
    if (store_unreadable(&st, r->error, sizeof r->error)) {
        /* no reader can validate it: an error, as a file that cannot be read */
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s", r->error);
        r->state = PROV_STATE_ERROR;
        goto done;
    }
    vctx v = {ctx, trust, r, &st, calloc(st.n, 1), 0, 0, {0}, -1, 0, 0, 0};
    if (!v.visited || delta_build(&st, &v.delta)) {
        free(v.visited);
        rc = PROV_ENOMEM;
        fail_error(r, ctx, rc);
        goto done;
    }
    r->manifests = st.n;
    c2pa_manifest *active = &st.m[st.n - 1];
    const c2pa_assertion *binding = NULL;
    int nbind = 0;
    check_manifest(&v, active, 0, 1, &binding, &nbind, 0, &r->ingredients);
    int binding_via_parent = active->is_update;
    free(v.visited);
    delta_free(&v.delta);
    if (!active->problem) {
        if (nbind == 0) {
            vfail(&v, "claim.hardBindings.missing", 0);
        } else if (nbind > 1 && !active->is_update) {
            vfail(&v, "assertion.multipleHardBindings", 0);
        } else if (label_is(binding->label, "c2pa.hash.data") && a.format != FMT_BMFF) {
            rc = hash_pass(&v, &a, &rd, binding, binding_via_parent, external);
            if (rc < 0) {
                fail_error(r, ctx, rc);
                goto done;
            }
            rc = 0;
        } else if (label_is(binding->label, "c2pa.hash.boxes") && a.format == FMT_JPEG) {
            rc = box_pass(&v, &a, &rd, binding);
            if (rc < 0) {
                fail_error(r, ctx, rc);
                goto done;
            }
            rc = 0;
        } else if (a.format == FMT_BMFF && bmff_version(binding->label)) {
            rc = bmff_pass(&v, &bf, &rd, binding, fragment);
            if (rc < 0) {
                fail_error(r, ctx, rc);
                goto done;
            }
            rc = 0;
        } else {
            /* a binding of another kind than the file: it cannot hold */
            vfail(&v, a.format == FMT_BMFF ? "assertion.bmffHash.mismatch" : "assertion.dataHash.mismatch", 0);
            snprintf(r->error, sizeof r->error, "hard binding %s does not fit a %s file", binding->label, a.mime);
        }
    }
    if (opts && opts->registry && !active->problem && identity_check(ctx, opts->registry, active, r))
        vfail(&v, "signingCredential.revoked", 0);
    if (r->oom) { rc = PROV_ENOMEM; fail_error(r, ctx, rc); goto done; }
    report_settle(r);
done:
    bmff_free(&bf);
    store_free(&st);
    if (keep && rc == 0) *keep = a;
    else asset_free(&a);
    rdr_free(&rd);
    return rc;
}

int verify_store(prov_ctx *ctx, const prov_verify_opts *opts, const uint8_t *p, size_t n, prov_report *r)
{
    c2pa_store st;
    memset(&st, 0, sizeof st);
    if (store_parse(ctx, p, n, &st) || st.n == 0) {
        store_free(&st);
        report_add(r, PROV_CODE_FAILURE, "claim.malformed", 0);
        r->state = PROV_STATE_INVALID;
        return 0;
    }
    vctx v = {ctx, opts ? opts->trust : NULL, r, &st, calloc(st.n, 1), 0, 0, {0}, -1, 0, 0, 0};
    if (!v.visited || delta_build(&st, &v.delta)) {
        free(v.visited);
        store_free(&st);
        return PROV_ENOMEM;
    }
    r->manifests = st.n;
    c2pa_manifest *active = &st.m[st.n - 1];
    const c2pa_assertion *binding = NULL;
    int nbind = 0;
    check_manifest(&v, active, 0, 1, &binding, &nbind, 0, &r->ingredients);
    free(v.visited);
    delta_free(&v.delta);
    if (!active->problem && nbind == 0) vfail(&v, "claim.hardBindings.missing", 0);
    if (opts && opts->registry && !active->problem && identity_check(ctx, opts->registry, active, r))
        vfail(&v, "signingCredential.revoked", 0);
    report_settle(r);
    store_free(&st);
    return r->oom ? PROV_ENOMEM : 0;
}

int prov_verify(prov_ctx *ctx, const prov_verify_opts *opts, prov_stream *in, prov_report **out)
{
    if (!in || !out) return PROV_EINVAL;
    if (ctx) ctx->msg[0] = 0;
    prov_report *r = report_new();
    if (!r) return PROV_ENOMEM;
    *out = r;
    return verify_stream(ctx, opts, in, r, NULL, NULL);
}

int prov_verify_file(prov_ctx *ctx, const prov_verify_opts *opts, const char *path, prov_report **out)
{
    if (!path || !out) return PROV_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        prov_report *r = report_new();
        if (!r) return PROV_ENOMEM;
        r->state = PROV_STATE_ERROR;
        snprintf(r->error, sizeof r->error, "%s: cannot open: %s", path, strerror(errno));
        prov_seterr(ctx, PROV_EIO, "%s", r->error);
        *out = r;
        return PROV_EIO;
    }
    prov_stream s;
    prov_stream_file(&s, f);
    prov_verify_opts o = {0};
    if (opts) o = *opts;
    struct stat st;
    if (!o.size_hint && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) o.size_hint = (uint64_t)st.st_size;
    int rc = prov_verify(ctx, &o, &s, out);
    fclose(f);
    return rc;
}

int prov_verify_fragment(prov_ctx *ctx, const prov_verify_opts *opts, const char *init_path, const char *frag_path,
                         prov_report **out)
{
    if (!init_path || !frag_path || !out) return PROV_EINVAL;
    if (ctx) ctx->msg[0] = 0;
    prov_report *r = report_new();
    if (!r) return PROV_ENOMEM;
    *out = r;
    FILE *fi = fopen(init_path, "rb"), *ff = fopen(frag_path, "rb");
    if (!fi || !ff) {
        const char *bad = !fi ? init_path : frag_path;
        r->state = PROV_STATE_ERROR;
        snprintf(r->error, sizeof r->error, "%s: cannot open: %s", bad, strerror(errno));
        prov_seterr(ctx, PROV_EIO, "%s", r->error);
        if (fi) fclose(fi);
        if (ff) fclose(ff);
        return PROV_EIO;
    }
    prov_stream si, sf;
    prov_stream_file(&si, fi);
    prov_stream_file(&sf, ff);
    int rc = verify_stream(ctx, opts, &si, r, NULL, &sf);
    fclose(fi);
    fclose(ff);
    return rc;
}
