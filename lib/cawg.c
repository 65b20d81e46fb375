/* cawg.c - CAWG identity assertions (cawg.identity) signed with an X.509
 * credential (sig_type cawg.x509.cose): the COSE_Sign1 covers the CBOR of
 * signer_payload, which lists hashed URIs of the assertions it vouches for.
 * CAWG trust is separate from C2PA trust; no CAWG anchors are configured,
 * so a valid credential is reported untrusted (as c2pa-rs does). */
#include "cawg.h"
#include "cose.h"
#include "hash.h"

#include <string.h>

void cawg_check_identity(const c2pa_assertion *a, c2pa_store *st, c2pa_manifest *m, prov_report *r, int ing)
{
    jbox cb;
    cval top, sp, f, list, e;
    cbor_iter it;
    const uint8_t *sig;
    size_t sig_len;
    if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &top) ||
        cbor_map_get(top, "signer_payload", &sp) || cbor_type(sp) != CBOR_MAP ||
        cbor_map_get(sp, "sig_type", &f) || cbor_map_get(top, "signature", &e) ||
        cbor_get_bytes(e, &sig, &sig_len)) {
        report_add(r, PROV_CODE_FAILURE, "cawg.identity.malformed", ing);
        return;
    }
    if (!cbor_text_eq(f, "cawg.x509.cose")) {
        report_add(r, PROV_CODE_INFO, "cawg.identity.sig_type.unknown", ing);
        return;
    }
    /* every referenced assertion must be this manifest's, hash intact */
    int ok = 1, bound = 0;
    if (cbor_map_get(sp, "referenced_assertions", &list) || cbor_iter_init(list, &it)) ok = 0;
    size_t nrefs = 0;
    while (ok && cbor_iter_next(&it, &e)) {
        if (++nrefs > PROV_MAX_REFS) { ok = 0; break; }
        cval u, h;
        const char *url;
        const uint8_t *hash;
        size_t ul, hl;
        const jsuper *box;
        c2pa_manifest *owner;
        if (cbor_map_get(e, "url", &u) || cbor_get_text(u, &url, &ul) || cbor_map_get(e, "hash", &h) ||
            cbor_get_bytes(h, &hash, &hl) || store_resolve(st, m, url, ul, &box, &owner) || owner != m) {
            ok = 0;
            break;
        }
        uint8_t d[32];
        jsuper_hash(box, d);
        if (hl != 32 || memcmp(d, hash, 32)) ok = 0;
        if (strstr(box->label, "c2pa.hash.")) bound = 1;
    }
    if (!ok) {
        report_add(r, PROV_CODE_FAILURE, "cawg.identity.assertion.mismatch", ing);
        return;
    }
    if (!bound) {
        report_add(r, PROV_CODE_FAILURE, "cawg.identity.hard_binding_missing", ing);
        return;
    }
    cose_sign1 c;
    const char *why;
    if (cose_parse(sig, sig_len, &c, &why)) {
        report_add(r, PROV_CODE_FAILURE, "cawg.x509.signature.mismatch", ing);
        return;
    }
    int v = cose_verify(&c, sp.p, sp.len); /* detached payload: signer_payload */
    if (v == 0) {
        report_add(r, PROV_CODE_SUCCESS, "cawg.x509.signature.validated", ing);
        report_add(r, PROV_CODE_SUCCESS, "cawg.identity.well-formed", ing);
        report_add(r, PROV_CODE_FAILURE, "cawg.x509.credential.untrusted", ing);
    } else if (v == PROV_EUNSUPPORTED) {
        report_add(r, PROV_CODE_FAILURE, "cawg.x509.algorithm.unsupported", ing);
    } else {
        report_add(r, PROV_CODE_FAILURE, "cawg.x509.signature.mismatch", ing);
    }
}
