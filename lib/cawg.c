/* cawg.c - CAWG identity assertions (cawg.identity, CAWG identity 1.x):
 * a signer_payload (hashed URIs of the manifest's assertions it vouches
 * for, a sig_type, roles) and a signature over it of one of two kinds:
 * - cawg.x509.cose: a COSE_Sign1 with an X.509 chain over the CBOR of
 *   signer_payload (detached);
 * - cawg.identity_claims_aggregation: a COSE_Sign1 whose payload is a W3C
 *   verifiable credential (cawg_ica.c).
 * The checks and their status codes follow the CAWG specification as
 * c2pa-rs reports them.  CAWG trust is separate from C2PA trust; no CAWG
 * anchors are configured, so an X.509 credential is reported untrusted
 * (as c2pa-rs does by default). */
#include "cawg.h"
#include "cose.h"
#include "hash.h"
#include "x509.h"

#include <string.h>

static void add(prov_report *r, int kind, const char *code, int ing, const char *m, const char *why)
{
    report_addw(r, kind, code, ing, m, why);
}

static int all_zero(cval v)
{
    const uint8_t *p;
    size_t n;
    if (cbor_get_bytes(v, &p, &n)) return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* The label a URL ends with ("self#jumbf=c2pa.assertions/c2pa.hash.data"). */
static void url_label(const char *url, size_t n, const char **lab, size_t *ln)
{
    const char *s = url;
    for (size_t i = 0; i < n; i++)
        if (url[i] == '/') s = url + i + 1;
    *lab = s;
    *ln = n - (size_t)(s - url);
}

/* Every referenced assertion must be one of the claim's references with
 * the same hash; a hard binding must be among them; none twice. */
static void check_references(cval sp, c2pa_store *st, c2pa_manifest *m, prov_report *r, int ing)
{
    cval list, e;
    cbor_iter it;
    int bound = 0, mismatch = 0, dup = 0;
    if (cbor_map_get(sp, "referenced_assertions", &list) || cbor_type(list) != CBOR_ARRAY ||
        cbor_iter_init(list, &it)) {
        add(r, PROV_CODE_FAILURE, "cawg.identity.malformed", ing, m->label, "signer_payload has no referenced_assertions");
        return;
    }
    size_t nrefs = cbor_count(list);
    if (nrefs > PROV_MAX_REFS) {
        add(r, PROV_CODE_FAILURE, "cawg.identity.malformed", ing, m->label, "too many referenced assertions");
        return;
    }
    const char **seen = calloc(nrefs + 1, sizeof *seen);
    size_t *seen_len = calloc(nrefs + 1, sizeof *seen_len);
    if (!seen || !seen_len) {
        free(seen);
        free(seen_len);
        r->oom = 1;
        return;
    }
    size_t k = 0;
    while (cbor_iter_next(&it, &e)) {
        cval u, h;
        const char *url, *lab;
        const uint8_t *hash;
        size_t ul, hl, ln;
        const jsuper *box;
        c2pa_manifest *owner;
        if (cbor_map_get(e, "url", &u) || cbor_get_text(u, &url, &ul) || cbor_map_get(e, "hash", &h) ||
            cbor_get_bytes(h, &hash, &hl)) {
            mismatch = 1;
            continue;
        }
        url_label(url, ul, &lab, &ln);
        if (ln >= 10 && memcmp(lab, "c2pa.hash.", 10) == 0) bound = 1;
        /* the same URL twice (exact match, as readers compare them) */
        for (size_t i = 0; i < k && !dup; i++)
            if (seen_len[i] == ul && memcmp(seen[i], url, ul) == 0) dup = 1;
        seen[k] = url;
        seen_len[k++] = ul;
        if (store_resolve(st, m, url, ul, &box, &owner) || owner != m) {
            mismatch = 1;
            continue;
        }
        uint8_t d[32];
        jsuper_hash(box, d);
        if (hl != 32 || memcmp(d, hash, 32)) mismatch = 1;
    }
    free(seen);
    free(seen_len);
    if (mismatch)
        add(r, PROV_CODE_FAILURE, "cawg.identity.assertion.mismatch", ing, m->label,
            "a referenced assertion is not in the claim or its hash differs");
    if (!bound)
        add(r, PROV_CODE_FAILURE, "cawg.identity.hard_binding_missing", ing, m->label,
            "the identity does not cover the hard binding");
    if (dup)
        add(r, PROV_CODE_FAILURE, "cawg.identity.assertion.duplicate", ing, m->label,
            "an assertion is referenced twice");
}

static void check_x509(const uint8_t *sig, size_t sig_len, cval sp, prov_report *r, int ing, const char *ml)
{
    cose_sign1 c;
    const char *why;
    if (cose_parse(sig, sig_len, &c, &why)) {
        add(r, PROV_CODE_FAILURE, "cawg.x509.signature.mismatch", ing, ml, why);
        return;
    }
    int v = cose_verify(&c, sp.p, sp.len); /* detached payload: signer_payload */
    if (v == 0) {
        add(r, PROV_CODE_SUCCESS, "cawg.x509.signature.validated", ing, ml, NULL);
        add(r, PROV_CODE_SUCCESS, "cawg.identity.well-formed", ing, ml, NULL);
        add(r, PROV_CODE_FAILURE, "cawg.x509.credential.untrusted", ing, ml, "no CAWG trust anchors configured");
    } else if (v == PROV_EUNSUPPORTED) {
        add(r, PROV_CODE_FAILURE, "cawg.x509.algorithm.unsupported", ing, ml, cose_alg_name(c.alg));
    } else {
        add(r, PROV_CODE_FAILURE, "cawg.x509.signature.mismatch", ing, ml, "the identity signature does not verify");
    }
}

void cawg_check_identity(const c2pa_assertion *a, c2pa_store *st, c2pa_manifest *m, prov_report *r, int ing)
{
    jbox cb;
    cval top, sp, f, e, pad;
    const uint8_t *sig;
    size_t sig_len;
    const char *ml = m->label;
    if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &top) ||
        cbor_map_get(top, "signer_payload", &sp) || cbor_type(sp) != CBOR_MAP ||
        cbor_map_get(sp, "sig_type", &f) || cbor_type(f) != CBOR_TEXT || cbor_map_get(top, "signature", &e) ||
        cbor_get_bytes(e, &sig, &sig_len)) {
        /* an assertion of a known kind that does not decode: the manifest
         * cannot be read whole (as c2pa-rs reports it) */
        add(r, PROV_CODE_FAILURE, "assertion.required.missing", ing, ml,
            "the cawg.identity assertion does not decode (signer_payload, sig_type, signature)");
        return;
    }
    /* pad1 (and pad2 when present) hold zeros only */
    if ((cbor_map_get(top, "pad1", &pad) == 0 && !all_zero(pad)) ||
        (cbor_map_get(top, "pad2", &pad) == 0 && !all_zero(pad)))
        add(r, PROV_CODE_FAILURE, "cawg.identity.pad.invalid", ing, ml, "non-zero bytes in a pad field");
    check_references(sp, st, m, r, ing);
    if (cbor_text_eq(f, "cawg.x509.cose"))
        check_x509(sig, sig_len, sp, r, ing, ml);
    else if (cbor_text_eq(f, "cawg.identity_claims_aggregation"))
        cawg_check_ica(sig, sig_len, sp, r, ing, ml);
    else
        add(r, PROV_CODE_FAILURE, "cawg.identity.sig_type.unknown", ing, ml, "unknown identity signature type");
}
