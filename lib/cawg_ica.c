/* cawg_ica.c - CAWG identity claims aggregation (ICA) credentials: the
 * identity assertion's signature is a COSE_Sign1 (EdDSA, content type
 * application/vc) whose payload is a W3C verifiable credential 2.0 issued
 * by an identity aggregator, naming verified identities and repeating the
 * signer_payload (c2paAsset).  What can be checked offline is checked:
 * structure, the issuer's signature when its key is in the DID itself
 * (did:jwk), the credential's time-stamp and validity window, and that it
 * vouches for this manifest.  A did:web issuer needs its DID document
 * from the web, which a verifier does not fetch: cawg.ica.did_unavailable.
 * Status codes as CAWG 1.x names them (and c2pa-rs reports them). */
#include "cawg.h"
#include "cose.h"
#include "json.h"
#include "x509.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define F PROV_CODE_FAILURE

static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* RFC 3339 date-time to Unix seconds; -1 when it is not one. */
int cawg_rfc3339(const char *s, size_t n, int64_t *out)
{
    int y, mo, d, h, mi, se;
    if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        i++;
        size_t f0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == f0) return -1;
    }
    int off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n) return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

static int is_rfc3339(const json_node *n, int64_t *t)
{
    return n && n->type == JSON_STRING && cawg_rfc3339(n->str, n->len, t) == 0;
}

static int nonempty_str(const json_node *n) { return n && n->type == JSON_STRING && n->len > 0; }

/* A string or a non-empty array of strings. */
static int str_or_list(const json_node *n)
{
    if (nonempty_str(n)) return 1;
    if (!n || n->type != JSON_ARRAY || !n->len) return 0;
    for (const json_node *c = n->child; c; c = c->next)
        if (c->type != JSON_STRING) return 0;
    return 1;
}

/* The credential's first subject (credentialSubject: one or a list). */
static const json_node *subject(const json_node *vc)
{
    const json_node *s = json_get(vc, "credentialSubject");
    if (s && s->type == JSON_ARRAY) s = s->child;
    return s && s->type == JSON_OBJECT ? s : NULL;
}

/* The shape a reader requires of an ICA credential. */
static const char *vc_shape(const json_node *vc)
{
    if (!vc || vc->type != JSON_OBJECT) return "the credential is not a JSON object";
    if (!str_or_list(json_get(vc, "@context"))) return "no @context";
    if (!str_or_list(json_get(vc, "type"))) return "no type";
    if (!nonempty_str(json_get(vc, "issuer"))) return "no issuer";
    int64_t t;
    const json_node *v;
    if ((v = json_get(vc, "validFrom")) && !is_rfc3339(v, &t)) return "validFrom is not a date-time";
    if ((v = json_get(vc, "validUntil")) && !is_rfc3339(v, &t)) return "validUntil is not a date-time";
    const json_node *s = subject(vc);
    if (!s) return "no credentialSubject";
    const json_node *ids = json_get(s, "verifiedIdentities");
    if (!ids || ids->type != JSON_ARRAY || !ids->len) return "no verifiedIdentities";
    for (const json_node *id = ids->child; id; id = id->next) {
        const json_node *p = json_get(id, "provider");
        if (!nonempty_str(json_get(id, "type")) || !is_rfc3339(json_get(id, "verifiedAt"), &t) || !p ||
            !nonempty_str(json_get(p, "id")) || !nonempty_str(json_get(p, "name")))
            return "a verified identity lacks type, verifiedAt or provider";
    }
    const json_node *asset = json_get(s, "c2paAsset");
    const json_node *ras = json_get(asset, "referenced_assertions");
    if (!ras || ras->type != JSON_ARRAY || !nonempty_str(json_get(asset, "sig_type")))
        return "no c2paAsset with referenced_assertions and sig_type";
    for (const json_node *ra = ras->child; ra; ra = ra->next) {
        const json_node *h = json_get(ra, "hash");
        if (!nonempty_str(json_get(ra, "url")) || !h || (h->type != JSON_STRING && h->type != JSON_ARRAY))
            return "a referenced assertion lacks url or hash";
    }
    return NULL;
}

/* A hash as the credential writes it: base64 text, as a string or (as
 * serde writes bytes) an array of the text's byte values.  Decoded into
 * out; 0 or -1. */
static int vc_hash(const json_node *h, uint8_t *out, size_t cap, size_t *len)
{
    char text[256];
    size_t n = 0;
    if (h->type == JSON_STRING) {
        if (h->len >= sizeof text) return -1;
        memcpy(text, h->str, h->len);
        n = h->len;
    } else {
        for (const json_node *c = h->child; c; c = c->next) {
            if (c->type != JSON_NUMBER || c->num < 0 || c->num > 255 || n + 1 >= sizeof text) return -1;
            text[n++] = (char)(int)c->num;
        }
    }
    if (sodium_base642bin(out, cap, text, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0) return 0;
    return sodium_base642bin(out, cap, text, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

static int b64(const char *s, size_t n, int variant, uint8_t *out, size_t cap, size_t *len)
{
    return sodium_base642bin(out, cap, s, n, NULL, len, NULL, variant);
}

/* The c2paAsset must be the signer_payload the assertion carries. */
static int asset_matches(const json_node *asset, cval sp)
{
    cval f, list, e;
    cbor_iter it;
    const char *s;
    size_t n;
    if (cbor_map_get(sp, "sig_type", &f) || cbor_get_text(f, &s, &n)) return 0;
    const json_node *st = json_get(asset, "sig_type");
    if (!st || st->len != n || memcmp(st->str, s, n)) return 0;
    /* roles ("role"): both absent, or the same list */
    const json_node *roles = json_get(asset, "role");
    int has_roles = cbor_map_get(sp, "role", &list) == 0 && cbor_type(list) == CBOR_ARRAY && cbor_count(list);
    if (!has_roles != !(roles && roles->type == JSON_ARRAY && roles->len)) return 0;
    if (has_roles) {
        if (roles->len != cbor_count(list) || cbor_iter_init(list, &it)) return 0;
        const json_node *r = roles->child;
        while (cbor_iter_next(&it, &e)) {
            if (cbor_get_text(e, &s, &n) || !r || r->type != JSON_STRING || r->len != n || memcmp(r->str, s, n))
                return 0;
            r = r->next;
        }
    }
    const json_node *ras = json_get(asset, "referenced_assertions");
    if (cbor_map_get(sp, "referenced_assertions", &list) || cbor_type(list) != CBOR_ARRAY ||
        cbor_count(list) != ras->len || cbor_iter_init(list, &it))
        return 0;
    const json_node *ra = ras->child;
    while (cbor_iter_next(&it, &e)) {
        cval u, h, a;
        const uint8_t *hash;
        size_t hl;
        if (!ra || cbor_map_get(e, "url", &u) || cbor_get_text(u, &s, &n) || cbor_map_get(e, "hash", &h) ||
            cbor_get_bytes(h, &hash, &hl))
            return 0;
        const json_node *ju = json_get(ra, "url"), *jh = json_get(ra, "hash"), *ja = json_get(ra, "alg");
        if (ju->len != n || memcmp(ju->str, s, n)) return 0;
        uint8_t dec[128];
        size_t dl;
        if (vc_hash(jh, dec, sizeof dec, &dl) || dl != hl || memcmp(dec, hash, hl)) return 0;
        /* an alg on the payload's side must be the credential's (a missing
         * one takes the credential's) */
        if (cbor_map_get(e, "alg", &a) == 0) {
            if (cbor_get_text(a, &s, &n) || !ja || ja->type != JSON_STRING || ja->len != n || memcmp(ja->str, s, n))
                return 0;
        }
        ra = ra->next;
    }
    return 1;
}

/* The issuer's Ed25519 key from a did:jwk (the JWK is in the DID).
 * Returns 0, or the status code that says why not. */
static const char *issuer_key(const char *iss, size_t n, uint8_t pk[32], char *why, size_t cap)
{
    if (n < 8 || memcmp(iss, "did:", 4)) {
        snprintf(why, cap, "issuer is not a DID");
        return "cawg.ica.invalid_issuer";
    }
    const char *m = iss + 4, *c = memchr(m, ':', n - 4);
    if (!c) {
        snprintf(why, cap, "issuer is not a DID");
        return "cawg.ica.invalid_issuer";
    }
    size_t ml = (size_t)(c - m);
    const char *id = c + 1;
    size_t il = n - 4 - ml - 1;
    const char *frag = memchr(id, '#', il);
    if (frag) il = (size_t)(frag - id);
    if (ml == 3 && memcmp(m, "web", 3) == 0) {
        snprintf(why, cap, "did:web issuer: its DID document is on the web and is not fetched");
        return "cawg.ica.did_unavailable";
    }
    if (!(ml == 3 && memcmp(m, "jwk", 3) == 0)) {
        snprintf(why, cap, "unsupported DID method %.*s", (int)(ml < 32 ? ml : 32), m);
        return "cawg.ica.invalid_issuer";
    }
    uint8_t js[2048];
    size_t jl;
    if (il > 2700 || b64(id, il, sodium_base64_VARIANT_URLSAFE_NO_PADDING, js, sizeof js, &jl)) {
        snprintf(why, cap, "did:jwk is not base64url");
        return "cawg.ica.invalid_did_document";
    }
    json_doc d;
    const char *jwhy;
    if (json_parse((const char *)js, jl, &d, &jwhy)) {
        snprintf(why, cap, "did:jwk JWK: %s", jwhy);
        return "cawg.ica.invalid_did_document";
    }
    const json_node *x = json_get(d.root, "x");
    const char *code = NULL;
    size_t kl;
    if (!json_is_str(json_get(d.root, "kty"), "OKP") || !json_is_str(json_get(d.root, "crv"), "Ed25519") || !x ||
        x->type != JSON_STRING || b64(x->str, x->len, sodium_base64_VARIANT_URLSAFE_NO_PADDING, pk, 32, &kl) ||
        kl != 32) {
        snprintf(why, cap, "did:jwk is not an Ed25519 OKP key");
        code = "cawg.ica.invalid_did_document";
    }
    json_free(&d);
    return code;
}

void cawg_check_ica(const uint8_t *sig, size_t sig_len, cval sp, prov_report *r, int ing, const char *ml)
{
    char why[192];
    cose_sign1 c;
    const char *cwhy;
    /* a tagged COSE_Sign1 */
    if (sig_len < 1 || sig[0] != 0xD2 || cose_parse_nochain(sig, sig_len, &c, &cwhy)) {
        report_addw(r, F, "cawg.ica.invalid_cose_sign1", ing, ml, "not a tagged COSE_Sign1");
        return;
    }
    if (c.alg != PROV_ALG_ED25519) {
        report_addw(r, F, "cawg.ica.invalid_alg", ing, ml, "the credential is not signed with EdDSA");
        return;
    }
    int ok = 1;
    if (!c.has_cty || !c.cty || c.cty_len != 14 || memcmp(c.cty, "application/vc", 14)) {
        report_addw(r, F, "cawg.ica.invalid_content_type", ing, ml, "content type is not application/vc");
        ok = 0;
    }
    if (!c.has_payload) {
        report_addw(r, F, "cawg.ica.invalid_verifiable_credential", ing, ml, "no credential payload");
        return;
    }
    json_doc d;
    const char *jwhy = NULL;
    if (json_parse((const char *)c.payload, c.payload_len, &d, &jwhy) || (jwhy = vc_shape(d.root))) {
        snprintf(why, sizeof why, "credential: %s", jwhy ? jwhy : "malformed");
        report_addw(r, F, "cawg.ica.invalid_verifiable_credential", ing, ml, why);
        if (d.mem) json_free(&d);
        return;
    }
    const json_node *vc = d.root, *iss = json_get(vc, "issuer");
    uint8_t pk[32];
    const char *code = issuer_key(iss->str, iss->len, pk, why, sizeof why);
    if (!code) {
        pbuf tbs;
        pbuf_init(&tbs);
        cose_tbs(c.prot, c.prot_len, c.payload, c.payload_len, &tbs);
        if (tbs.err || prov_crypto_init() || c.sig_len != 64 ||
            crypto_sign_verify_detached(c.sig, tbs.p, tbs.len, pk)) {
            code = "cawg.ica.signature_mismatch";
            snprintf(why, sizeof why, "the issuer's signature does not verify");
        }
        pbuf_free(&tbs);
    }
    if (code) {
        report_addw(r, F, code, ing, ml, why);
        ok = 0;
    } else {
        /* no ICA issuers are trusted by default */
        report_addw(r, PROV_CODE_INFO, "cawg.ica.untrusted_issuer", ing, ml, "no trusted ICA issuers configured");
        ok = 0;
    }
    /* a time-stamp: its time bounds the validity window; the TSA itself
     * need not be trusted (it can only make the check stricter) */
    int64_t tst_time = 0;
    if (c.has_timestamp) {
        int t = PROV_TST_MALFORMED;
        if (c.tst && c.tst_count == 1) {
            pbuf msg;
            pbuf_init(&msg);
            cose_tst_message(&c, c.tst_version, c.payload, c.payload_len, &msg);
            if (!msg.err) t = prov_tst_check_nochain(c.tst, c.tst_len, msg.p, msg.len, &tst_time);
            pbuf_free(&msg);
        }
        if (t == PROV_TST_TRUSTED) {
            report_addw(r, PROV_CODE_SUCCESS, "cawg.ica.time_stamp.validated", ing, ml, NULL);
        } else {
            tst_time = 0;
            report_addw(r, F, "cawg.ica.time_stamp.invalid", ing, ml, prov_tst_code(t));
            ok = 0;
        }
    }
    int64_t now = (int64_t)time(NULL), vf, vu;
    const json_node *n;
    if (!(n = json_get(vc, "validFrom")) || !is_rfc3339(n, &vf)) {
        report_addw(r, F, "cawg.ica.valid_from.missing", ing, ml, "the credential has no validFrom");
        ok = 0;
    } else if (now < vf || (tst_time && tst_time < vf)) {
        report_addw(r, F, "cawg.ica.valid_from.invalid", ing, ml,
                    now < vf ? "validFrom is in the future" : "validFrom is after the time-stamp");
        ok = 0;
    }
    if ((n = json_get(vc, "validUntil")) && is_rfc3339(n, &vu) && (now > vu || (tst_time && tst_time > vu))) {
        report_addw(r, F, "cawg.ica.valid_until.invalid", ing, ml,
                    now > vu ? "the credential has expired (validUntil)" : "validUntil is before the time-stamp");
        ok = 0;
    }
    if (!asset_matches(json_get(subject(vc), "c2paAsset"), sp)) {
        report_addw(r, F, "cawg.ica.signer_payload.mismatch", ing, ml,
                    "the credential's c2paAsset is not this assertion's signer_payload");
        ok = 0;
    }
    if (ok) report_addw(r, PROV_CODE_SUCCESS, "cawg.ica.credential_valid", ing, ml, NULL);
    json_free(&d);
}
