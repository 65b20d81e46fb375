/* cose.c - COSE_Sign1 parse, verify and sign. */
#include "cose.h"
#include "x509.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *cose_alg_name(int64_t alg)
{
    switch (alg) {
    case PROV_ALG_ED25519: return "Ed25519";
    case PROV_ALG_ES256: return "ES256";
    case PROV_ALG_ES384: return "ES384";
    case PROV_ALG_ES512: return "ES512";
    case PROV_ALG_PS256: return "PS256";
    case PROV_ALG_PS384: return "PS384";
    case PROV_ALG_PS512: return "PS512";
    default: return "unknown";
    }
}

/* x5chain: one bstr or an array of bstr. */
static int take_chain(cval v, cose_sign1 *c, const char **why)
{
    if (cbor_type(v) == CBOR_BYTES) {
        if (cbor_get_bytes(v, &c->certs[0], &c->cert_len[0])) goto bad;
        c->ncerts = 1;
        return 0;
    }
    if (cbor_type(v) != CBOR_ARRAY) goto bad;
    cbor_iter it;
    cval e;
    if (cbor_iter_init(v, &it)) goto bad;
    while (cbor_iter_next(&it, &e)) {
        if (c->ncerts == PROV_MAX_CHAIN) { *why = "x5chain too long"; return PROV_ELIMIT; }
        if (cbor_get_bytes(e, &c->certs[c->ncerts], &c->cert_len[c->ncerts])) goto bad;
        c->ncerts++;
    }
    if (c->ncerts) return 0;
bad:
    *why = "x5chain malformed";
    return PROV_EFORMAT;
}

static int find_chain(cval hdr, cose_sign1 *c, const char **why)
{
    cval v;
    if (cbor_map_get_int(hdr, 33, &v) == 0 || cbor_map_get(hdr, "x5chain", &v) == 0)
        return take_chain(v, c, why);
    return PROV_ENOTFOUND;
}

static int parse_imp(const uint8_t *p, size_t n, cose_sign1 *c, const char **why, int nochain)
{
    memset(c, 0, sizeof *c);
    cval top, v, prot, unprot, sig, e;
    *why = "COSE_Sign1 malformed";
    if (cbor_parse(p, n, 0, &top)) return PROV_EFORMAT;
    uint64_t tag;
    if (cbor_type(top) == CBOR_TAG) {
        if (cbor_get_tag(top, &tag, &v) || tag != 18) { *why = "not a COSE_Sign1 (tag 18)"; return PROV_EFORMAT; }
        top = v;
    }
    if (cbor_type(top) != CBOR_ARRAY || cbor_count(top) != 4) return PROV_EFORMAT;
    cbor_iter it;
    cbor_iter_init(top, &it);
    cbor_iter_next(&it, &prot);
    cbor_iter_next(&it, &unprot);
    cbor_iter_next(&it, &e); /* payload: nil when detached */
    if (cbor_type(e) == CBOR_BYTES) {
        if (cbor_get_bytes(e, &c->payload, &c->payload_len)) return PROV_EFORMAT;
        c->has_payload = 1;
    }
    cbor_iter_next(&it, &sig);
    if (cbor_get_bytes(prot, &c->prot, &c->prot_len)) return PROV_EFORMAT;
    if (cbor_type(unprot) != CBOR_MAP) return PROV_EFORMAT;
    if (cbor_get_bytes(sig, &c->sig, &c->sig_len)) return PROV_EFORMAT;
    cval ph;
    if (cbor_parse(c->prot, c->prot_len, 0, &ph) || ph.len != c->prot_len || cbor_type(ph) != CBOR_MAP) {
        *why = "COSE protected header malformed";
        return PROV_EFORMAT;
    }
    if (cbor_map_get_int(ph, 1, &v) || cbor_get_int(v, &c->alg)) {
        *why = "COSE protected header has no algorithm";
        if (!nochain) return PROV_EFORMAT;
        c->alg = 0; /* the caller reports the missing algorithm */
    }
    if (cbor_map_get_int(ph, 3, &v) == 0) { /* content type: text or a CoAP number */
        c->has_cty = 1;
        if (cbor_type(v) == CBOR_TEXT) cbor_get_text(v, &c->cty, &c->cty_len);
    }
    if (!nochain) {
        int rc = find_chain(ph, c, why);
        if (rc == PROV_ENOTFOUND) rc = find_chain(unprot, c, why);
        if (rc == PROV_ENOTFOUND) { *why = "COSE header has no x5chain"; return PROV_EFORMAT; }
        if (rc) return rc;
    }
    if (cbor_map_get(unprot, "sigTst2", &v) == 0) c->tst_version = 2;
    else if (cbor_map_get(unprot, "sigTst", &v) == 0) c->tst_version = 1;
    c->has_timestamp = c->tst_version != 0;
    cval toks, t0, val;
    cbor_iter ti;
    if (c->has_timestamp && cbor_map_get(v, "tstTokens", &toks) == 0 && cbor_type(toks) == CBOR_ARRAY) {
        c->tst_count = cbor_count(toks);
        if (cbor_iter_init(toks, &ti) == 0 && cbor_iter_next(&ti, &t0) && cbor_map_get(t0, "val", &val) == 0)
            cbor_get_bytes(val, &c->tst, &c->tst_len);
    }
    return 0;
}

int cose_parse(const uint8_t *p, size_t n, cose_sign1 *c, const char **why)
{
    return parse_imp(p, n, c, why, 0);
}

int cose_parse_nochain(const uint8_t *p, size_t n, cose_sign1 *c, const char **why)
{
    return parse_imp(p, n, c, why, 1);
}

void cose_tst_message(const cose_sign1 *c, int version, const uint8_t *payload, size_t payload_len, pbuf *out)
{
    pbuf sig;
    pbuf_init(&sig);
    if (version == 2) { /* sigTst2 covers the signature, as a CBOR bstr */
        cbor_put_bytes(&sig, c->sig, c->sig_len);
        if (sig.err) out->err = sig.err;
        payload = sig.p;
        payload_len = sig.len;
    }
    cbor_put_array(out, 4);
    cbor_put_text(out, "CounterSignature");
    cbor_put_bytes(out, c->prot, c->prot_len);
    cbor_put_bytes(out, "", 0);
    cbor_put_bytes(out, payload, payload_len);
    pbuf_free(&sig);
}

void cose_tbs(const uint8_t *prot, size_t prot_len, const uint8_t *payload, size_t payload_len,
              pbuf *out)
{
    cbor_put_array(out, 4);
    cbor_put_text(out, "Signature1");
    cbor_put_bytes(out, prot, prot_len);
    cbor_put_bytes(out, "", 0);
    cbor_put_bytes(out, payload, payload_len);
}

int cose_verify(const cose_sign1 *c, const uint8_t *payload, size_t payload_len)
{
    /* an alg that does not fit an int must not wrap to a known one
     * (2^32 - 8 would verify as Ed25519) */
    if (c->alg < INT_MIN || c->alg > INT_MAX) return PROV_EUNSUPPORTED;
    pbuf tbs;
    pbuf_init(&tbs);
    cose_tbs(c->prot, c->prot_len, payload, payload_len, &tbs);
    if (tbs.err) { pbuf_free(&tbs); return PROV_ENOMEM; }
    int rc = prov_x509_pubkey_verify(c->certs[0], c->cert_len[0], (int)c->alg, tbs.p, tbs.len,
                                     c->sig, c->sig_len);
    pbuf_free(&tbs);
    return rc;
}

static void put_protected(const prov_signer *signer, const prov_chain *chain, pbuf *out)
{
    size_t n = prov_chain_count(chain);
    cbor_put_map(out, 2);
    cbor_put_int(out, 1);
    cbor_put_int(out, signer->alg);
    cbor_put_int(out, 33);
    cbor_put_array(out, n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *d = prov_chain_der(chain, i, &len);
        cbor_put_bytes(out, d, len);
    }
}

static void put_envelope(const pbuf *prot, const uint8_t *sig, size_t sig_len, pbuf *out)
{
    cbor_put_tag(out, 18);
    cbor_put_array(out, 4);
    cbor_put_bytes(out, prot->p, prot->len);
    cbor_put_map(out, 0);
    cbor_put_null(out);
    cbor_put_bytes(out, sig, sig_len);
}

size_t cose_sign_len(const prov_signer *signer, const prov_chain *chain)
{
    pbuf prot, out;
    pbuf_init(&prot);
    pbuf_init(&out);
    put_protected(signer, chain, &prot);
    put_envelope(&prot, NULL, 0, &out);
    size_t n = out.err || prot.err ? 0 : out.len;
    /* the signature's bstr head grows with its length */
    pbuf head;
    pbuf_init(&head);
    cbor_put_bytes(&head, NULL, 0);
    size_t h0 = head.len;
    head.len = 0;
    cbor_put_uint(&head, signer->sig_len);
    n += head.len - h0 + signer->sig_len;
    pbuf_free(&prot);
    pbuf_free(&out);
    pbuf_free(&head);
    return n;
}

/* The signer's answer checked against the chain's first certificate, so a
 * chain for another key or a faulty secure element never reaches a file
 * (PROV_ESIGNER when the callback failed, PROV_ECERT when it disagrees). */
static int sign_checked(const prov_signer *signer, const prov_chain *chain, const pbuf *tbs, uint8_t *sig)
{
    if (signer->sign(signer->user, tbs->p, tbs->len, sig, signer->sig_len)) return PROV_ESIGNER;
    size_t n;
    const uint8_t *leaf = prov_chain_der(chain, 0, &n);
    return prov_x509_pubkey_verify(leaf, n, signer->alg, tbs->p, tbs->len, sig, signer->sig_len) ? PROV_ECERT : 0;
}

int cose_sign(const prov_signer *signer, const prov_chain *chain, const uint8_t *payload,
              size_t payload_len, pbuf *out)
{
    if (!signer || !signer->sign || !signer->sig_len || signer->sig_len > 1024 || !chain ||
        !prov_chain_count(chain))
        return PROV_EINVAL;
    pbuf prot, tbs;
    pbuf_init(&prot);
    pbuf_init(&tbs);
    put_protected(signer, chain, &prot);
    cose_tbs(prot.p, prot.len, payload, payload_len, &tbs);
    uint8_t sig[1024];
    int rc = prot.err ? prot.err : tbs.err;
    if (!rc) rc = sign_checked(signer, chain, &tbs, sig);
    if (!rc) {
        put_envelope(&prot, sig, signer->sig_len, out);
        rc = out->err;
    }
    pbuf_free(&prot);
    pbuf_free(&tbs);
    return rc;
}

/* ---- signing with a time-stamp (sigTst2) ----------------------------- */

/* The unprotected header {"sigTst2": {"tstTokens": [{"val": token}]},
 * "pad": h'00..'[, "pad2": h'']} sized so the whole envelope is exactly
 * target bytes (the store was laid out before the token existed). */
static int put_envelope_ts(const pbuf *prot, const uint8_t *sig, size_t sig_len, const uint8_t *tok,
                           size_t tok_len, size_t target, pbuf *out)
{
    for (int pad2 = 0; pad2 < 2; pad2++) {
        pbuf t;
        pbuf_init(&t);
        cbor_put_tag(&t, 18);
        cbor_put_array(&t, 4);
        cbor_put_bytes(&t, prot->p, prot->len);
        cbor_put_map(&t, pad2 ? 3 : 2);
        cbor_put_text(&t, "sigTst2");
        cbor_put_map(&t, 1);
        cbor_put_text(&t, "tstTokens");
        cbor_put_array(&t, 1);
        cbor_put_map(&t, 1);
        cbor_put_text(&t, "val");
        cbor_put_bytes(&t, tok, tok_len);
        if (pad2) {
            cbor_put_text(&t, "pad2");
            cbor_put_bytes(&t, NULL, 0);
        }
        cbor_put_text(&t, "pad");
        size_t fixed = t.len, tail;
        { /* nil payload and the signature follow the pad */
            pbuf x;
            pbuf_init(&x);
            cbor_put_null(&x);
            cbor_put_bytes(&x, sig, sig_len);
            tail = x.len;
            pbuf_free(&x);
        }
        if (t.err) { int e = t.err; pbuf_free(&t); return e; }
        for (size_t h = 1; h <= 5; h++) {
            if (target < fixed + tail + h) break;
            size_t n = target - fixed - tail - h;
            size_t need = n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
            if (need != h) continue;
            uint8_t *z = calloc(1, n ? n : 1);
            if (!z) { pbuf_free(&t); return PROV_ENOMEM; }
            cbor_put_bytes(&t, z, n);
            free(z);
            cbor_put_null(&t);
            cbor_put_bytes(&t, sig, sig_len);
            int rc = t.err;
            if (!rc && t.len == target) pbuf_put(out, t.p, t.len);
            pbuf_free(&t);
            return rc ? rc : out->err;
        }
        pbuf_free(&t);
    }
    return PROV_ELIMIT; /* the token is larger than the room reserved for it */
}

size_t cose_sign_ts_len(const prov_signer *signer, const prov_chain *chain, size_t reserve)
{
    return cose_sign_len(signer, chain) + reserve;
}

int cose_sign_ts(const prov_signer *signer, const prov_chain *chain, const uint8_t *payload, size_t payload_len,
                 prov_timestamp_fn ts, void *ts_user, size_t reserve, pbuf *out, size_t *token_len)
{
    if (!signer || !signer->sign || !signer->sig_len || signer->sig_len > 1024 || !chain ||
        !prov_chain_count(chain) || !ts)
        return PROV_EINVAL;
    pbuf prot, tbs, msg;
    pbuf_init(&prot);
    pbuf_init(&tbs);
    pbuf_init(&msg);
    put_protected(signer, chain, &prot);
    cose_tbs(prot.p, prot.len, payload, payload_len, &tbs);
    uint8_t sig[1024];
    uint8_t *tok = NULL;
    size_t tok_len = 0;
    int rc = prot.err ? prot.err : tbs.err;
    if (!rc) rc = sign_checked(signer, chain, &tbs, sig);
    if (!rc) {
        /* the token covers this signature: C2PA 2.x sigTst2 */
        cose_sign1 c;
        memset(&c, 0, sizeof c);
        c.prot = prot.p;
        c.prot_len = prot.len;
        c.sig = sig;
        c.sig_len = signer->sig_len;
        cose_tst_message(&c, 2, NULL, 0, &msg);
        rc = msg.err;
    }
    if (!rc && (ts(ts_user, msg.p, msg.len, &tok, &tok_len) || !tok || !tok_len || tok_len > (1u << 20)))
        rc = PROV_ETIMESTAMP;
    if (token_len) *token_len = tok_len;
    if (!rc) rc = put_envelope_ts(&prot, sig, signer->sig_len, tok, tok_len, cose_sign_ts_len(signer, chain, reserve), out);
    free(tok);
    pbuf_free(&prot);
    pbuf_free(&tbs);
    pbuf_free(&msg);
    return rc;
}
