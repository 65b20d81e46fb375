/* note.c - signed notes (c2sp.org/signed-note): base64, text rules, keys,
 * signatures, opening and signing notes.  See tlog.h. */
#include "tlog.h"

#include "hash.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 --------------------------------------------------------- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void tlog_b64_encode(pbuf *b, const void *src, size_t n)
{
    const uint8_t *p = src;
    if (pbuf_reserve(b, (n + 2) / 3 * 4)) return;
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        q[0] = b64chars[v >> 18];
        q[1] = b64chars[v >> 12 & 63];
        q[2] = b64chars[v >> 6 & 63];
        q[3] = b64chars[v & 63];
        pbuf_put(b, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        q[0] = b64chars[v >> 18];
        q[1] = b64chars[v >> 12 & 63];
        q[2] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        q[3] = '=';
        pbuf_put(b, q, 4);
    }
}

/* Digit values (-1: not a digit); a table, as every note signature and
 * every entry a mirror syncs is decoded. */
static const int8_t B64V[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,  ['G'] = 6,  ['H'] = 7,
    ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15,
    ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
    ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
    ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39,
    ['o'] = 40, ['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
    ['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63,
};

/* 'A' is 0 in the table, as is every non-digit: told apart here. */
static int b64val(unsigned char c)
{
    int v = B64V[c];
    return v || c == 'A' ? v : -1;
}

int tlog_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len) *out_len = 0;
    if (n % 4) return PROV_EFORMAT;
    size_t len = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) return PROV_EFORMAT; /* a digit after '=' */
            if ((v[k] = b64val(c)) < 0) return PROV_EFORMAT;
        }
        /* canonical: the bits the padding drops must be zero */
        if (pad == 2 && (v[1] & 15)) return PROV_EFORMAT;
        if (pad == 1 && (v[2] & 3)) return PROV_EFORMAT;
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t t[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int k = 0; k < 3 - pad; k++, len++)
            if (len < cap) out[len] = t[k];
    }
    if (out_len) *out_len = len;
    return 0;
}

/* ---- text rules ------------------------------------------------------ */

/* Decode one UTF-8 sequence at p (n > 0 bytes left): the code point, or -1
 * if invalid.  *size gets its length (1 when invalid). */
static int32_t utf8_next(const uint8_t *p, size_t n, size_t *size)
{
    uint8_t c = p[0];
    *size = 1;
    if (c < 0x80) return c;
    size_t k;
    int32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) { k = 2; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { k = 3; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { k = 4; cp = c & 0x07; min = 0x10000; }
    else return -1;
    if (n < k) return -1;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) return -1;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    *size = k;
    return cp;
}

bool tlog_text_valid(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) { /* fast path for ASCII */
            if (p[i] < 0x20 && p[i] != '\n') return false;
            i++;
            continue;
        }
        size_t k;
        if (utf8_next(p + i, n - i, &k) < 0) return false;
        i += k;
    }
    return true;
}

static bool is_space(int32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

bool tlog_name_valid(const char *s, size_t n)
{
    if (!s || n == 0) return false;
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        size_t k;
        int32_t c = utf8_next(p + i, n - i, &k);
        if (c < 0 || c == '+' || is_space(c)) return false;
        i += k;
    }
    return true;
}

/* ---- keys ----------------------------------------------------------- */

uint32_t tlog_key_id(const char *name, size_t name_len, uint8_t alg, const uint8_t *pub,
                     size_t pub_len)
{
    /* name || '\n' || alg || pub, hashed in one go (names are short) */
    uint8_t stack[TLOG_NAME_MAX + 2 + 64];
    uint8_t *m = stack;
    size_t n = name_len + 2 + pub_len;
    if (n > sizeof stack && !(m = malloc(n))) return 0;
    memcpy(m, name, name_len);
    m[name_len] = '\n';
    m[name_len + 1] = alg;
    memcpy(m + name_len + 2, pub, pub_len);
    uint8_t h[32];
    sha256(m, n, h);
    if (m != stack) free(m);
    return rd32(h);
}

static bool alg_known(uint8_t alg) { return alg == TLOG_ALG_ED25519 || alg == TLOG_ALG_COSIG; }

/* Exactly 8 hex digits (either case, as strconv.ParseUint(s, 16, 32)). */
static int parse_hex8(const char *s, size_t n, uint32_t *out)
{
    if (n != 8) return PROV_EFORMAT;
    uint32_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return PROV_EFORMAT;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Split "name+hex8+b64" (the part after "PRIVATE+KEY+" for signer keys):
 * name up to the first '+', hex up to the next, the rest base64 of
 * alg || 32 bytes.  The rest may hold no '+' other than base64's own. */
static int parse_key_parts(const char *s, size_t n, const char **name, size_t *name_len,
                           uint32_t *id, uint8_t *alg, uint8_t key[32])
{
    const char *p1 = memchr(s, '+', n);
    if (!p1) return PROV_EFORMAT;
    const char *rest = p1 + 1;
    size_t rn = n - (size_t)(rest - s);
    const char *p2 = memchr(rest, '+', rn);
    if (!p2) return PROV_EFORMAT;
    *name = s;
    *name_len = (size_t)(p1 - s);
    if (!tlog_name_valid(s, *name_len)) return PROV_EFORMAT;
    if (parse_hex8(rest, (size_t)(p2 - rest), id)) return PROV_EFORMAT;
    const char *b = p2 + 1;
    size_t bn = n - (size_t)(b - s);
    uint8_t raw[33];
    size_t rl;
    if (tlog_b64_decode(b, bn, raw, sizeof raw, &rl) || rl == 0) return PROV_EFORMAT;
    *alg = raw[0];
    if (!alg_known(raw[0])) return PROV_EUNSUPPORTED;
    if (rl != 33) return PROV_EFORMAT;
    memcpy(key, raw + 1, 32);
    if (*name_len > TLOG_NAME_MAX) return PROV_ELIMIT;
    return 0;
}

int tlog_verifier_parse(tlog_verifier *v, const char *vkey, size_t len)
{
    memset(v, 0, sizeof *v);
    if (!vkey) return PROV_EINVAL;
    const char *name;
    size_t nl;
    uint32_t id;
    uint8_t alg, key[32];
    int rc = parse_key_parts(vkey, len, &name, &nl, &id, &alg, key);
    if (rc) return rc;
    if (tlog_key_id(name, nl, alg, key, 32) != id) return PROV_EFORMAT;
    memcpy(v->name, name, nl);
    v->name[nl] = 0;
    v->name_len = nl;
    v->id = id;
    v->alg = alg;
    memcpy(v->pub, key, 32);
    return 0;
}

int tlog_verifier_init(tlog_verifier *v, const char *name, uint8_t alg, const uint8_t pub[32])
{
    memset(v, 0, sizeof *v);
    size_t nl = name ? strlen(name) : 0;
    if (!tlog_name_valid(name, nl) || nl > TLOG_NAME_MAX || !alg_known(alg) || !pub)
        return PROV_EINVAL;
    memcpy(v->name, name, nl + 1);
    v->name_len = nl;
    v->alg = alg;
    memcpy(v->pub, pub, 32);
    v->id = tlog_key_id(name, nl, alg, pub, 32);
    return 0;
}

void tlog_verifier_format(pbuf *b, const tlog_verifier *v)
{
    uint8_t raw[33];
    raw[0] = v->alg;
    memcpy(raw + 1, v->pub, 32);
    pbuf_put(b, v->name, v->name_len);
    pbuf_printf(b, "+%08x+", (unsigned)v->id);
    tlog_b64_encode(b, raw, sizeof raw);
}

void tlog_verifier_as_cosigner(const tlog_verifier *in, tlog_verifier *out)
{
    if (out != in) *out = *in;
    out->alg = TLOG_ALG_COSIG;
    out->id = tlog_key_id(out->name, out->name_len, TLOG_ALG_COSIG, out->pub, 32);
}

static int signer_set_name(tlog_signer *s, const char *name, size_t nl, uint8_t alg)
{
    /* seeds are Ed25519; ECDSA signers are external (tlog_signer_external_ecdsa) */
    if (!name || !tlog_name_valid(name, nl) || nl > TLOG_NAME_MAX || !alg_known(alg))
        return PROV_EINVAL;
    memcpy(s->name, name, nl);
    s->name[nl] = 0;
    s->name_len = nl;
    s->alg = alg;
    return 0;
}

static int signer_seed(tlog_signer *s, const char *name, size_t nl, uint8_t alg,
                       const uint8_t seed[32])
{
    memset(s, 0, sizeof *s);
    if (!seed) return PROV_EINVAL;
    int rc = signer_set_name(s, name, nl, alg);
    if (rc) return rc;
    if (sodium_init() < 0) return PROV_ECRYPTO;
    memcpy(s->seed, seed, 32);
    crypto_sign_seed_keypair(s->pub, s->sk, s->seed);
    s->has_seed = true;
    s->id = tlog_key_id(s->name, nl, alg, s->pub, 32);
    return 0;
}

int tlog_signer_from_seed(tlog_signer *s, const char *name, uint8_t alg, const uint8_t seed[32])
{
    return signer_seed(s, name, name ? strlen(name) : 0, alg, seed);
}

int tlog_signer_parse(tlog_signer *s, const char *skey, size_t len)
{
    memset(s, 0, sizeof *s);
    static const char pfx[] = "PRIVATE+KEY+";
    if (!skey || len < sizeof pfx - 1 || memcmp(skey, pfx, sizeof pfx - 1)) return PROV_EFORMAT;
    const char *name;
    size_t nl;
    uint32_t id;
    uint8_t alg, seed[32];
    int rc = parse_key_parts(skey + sizeof pfx - 1, len - (sizeof pfx - 1), &name, &nl, &id,
                             &alg, seed);
    if (!rc) rc = signer_seed(s, name, nl, alg, seed);
    sodium_memzero(seed, sizeof seed);
    if (!rc && s->id != id) rc = PROV_EFORMAT; /* the ID names the public key */
    if (rc) tlog_signer_wipe(s);
    return rc;
}

int tlog_keygen(tlog_signer *s, const char *name, uint8_t alg)
{
    if (sodium_init() < 0) return PROV_ECRYPTO;
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    int rc = tlog_signer_from_seed(s, name, alg, seed);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int tlog_signer_external(tlog_signer *s, const char *name, uint8_t alg, const uint8_t pub[32],
                         const prov_signer *ps)
{
    memset(s, 0, sizeof *s);
    if (!pub || !ps || !ps->sign || ps->alg != PROV_ALG_ED25519 || ps->sig_len != 64)
        return PROV_EINVAL;
    int rc = signer_set_name(s, name, name ? strlen(name) : 0, alg);
    if (rc) return rc;
    memcpy(s->pub, pub, 32);
    s->ext = *ps;
    s->id = tlog_key_id(s->name, s->name_len, alg, pub, 32);
    return 0;
}

static int ecdsa_key(uint8_t *dst, uint8_t *dst_len, uint8_t pub[32], uint32_t *id, const uint8_t *spki,
                     size_t len, int *alg)
{
    int rc = tlog_ecdsa_spki_check(spki, len, alg);
    if (rc) return rc;
    memcpy(dst, spki, len);
    *dst_len = (uint8_t)len;
    tlog_ecdsa_key_hash(spki, len, pub);
    *id = rd32(pub); /* signed-note: the truncated SHA-256 of the SPKI */
    return 0;
}

int tlog_signer_external_ecdsa(tlog_signer *s, const char *name, const uint8_t *spki, size_t spki_len,
                               const prov_signer *ps)
{
    memset(s, 0, sizeof *s);
    int alg = 0;
    if (!spki || !ps || !ps->sign) return PROV_EINVAL;
    int rc = signer_set_name(s, name, name ? strlen(name) : 0, TLOG_ALG_ED25519);
    s->alg = TLOG_ALG_ECDSA;
    if (!rc) rc = ecdsa_key(s->spki, &s->spki_len, s->pub, &s->id, spki, spki_len, &alg);
    if (!rc && (ps->alg != alg || ps->sig_len != (alg == PROV_ALG_ES256 ? 64u : 96u))) rc = PROV_EINVAL;
    if (rc) {
        memset(s, 0, sizeof *s);
        return rc;
    }
    s->ext = *ps;
    return 0;
}

int tlog_verifier_init_ecdsa(tlog_verifier *v, const char *name, const uint8_t *spki, size_t spki_len)
{
    memset(v, 0, sizeof *v);
    size_t nl = name ? strlen(name) : 0;
    if (!tlog_name_valid(name, nl) || nl > TLOG_NAME_MAX) return PROV_EINVAL;
    int rc = ecdsa_key(v->spki, &v->spki_len, v->pub, &v->id, spki, spki_len, NULL);
    if (rc) return rc;
    memcpy(v->name, name, nl + 1);
    v->name_len = nl;
    v->alg = TLOG_ALG_ECDSA;
    return 0;
}

int tlog_signer_format(pbuf *b, const tlog_signer *s)
{
    if (!s->has_seed) return PROV_EINVAL;
    uint8_t raw[33];
    raw[0] = s->alg;
    memcpy(raw + 1, s->seed, 32);
    pbuf_puts(b, "PRIVATE+KEY+");
    pbuf_put(b, s->name, s->name_len);
    pbuf_printf(b, "+%08x+", (unsigned)s->id);
    tlog_b64_encode(b, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    return b->err;
}

void tlog_signer_verifier(const tlog_signer *s, tlog_verifier *v)
{
    memset(v, 0, sizeof *v);
    memcpy(v->name, s->name, s->name_len + 1);
    v->name_len = s->name_len;
    v->id = s->id;
    v->alg = s->alg;
    memcpy(v->pub, s->pub, 32);
    v->spki_len = s->spki_len;
    memcpy(v->spki, s->spki, s->spki_len);
}

void tlog_signer_as_cosigner(const tlog_signer *in, tlog_signer *out)
{
    if (out != in) *out = *in;
    out->alg = TLOG_ALG_COSIG;
    out->id = tlog_key_id(out->name, out->name_len, TLOG_ALG_COSIG, out->pub, 32);
}

void tlog_signer_wipe(tlog_signer *s)
{
    if (s) sodium_memzero(s, sizeof *s);
}

/* ---- raw signatures ---------------------------------------------------- */

/* Plain Ed25519 over msg by s (its seed or its external signer). */
static int ed25519_sign(const tlog_signer *s, const uint8_t *msg, size_t n, uint8_t sig[64])
{
    if (s->ext.sign) {
        int rc = s->ext.sign(s->ext.user, msg, n, sig, 64);
        return rc ? (rc < 0 ? rc : PROV_ESIGNER) : 0;
    }
    if (!s->has_seed) return PROV_EINVAL;
    return crypto_sign_detached(sig, NULL, msg, n, s->sk) ? PROV_ECRYPTO : 0;
}

int tlog_sig_make(const tlog_signer *s, uint64_t now, const char *text, size_t len,
                  uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (s->alg == TLOG_ALG_ED25519) {
        int rc = ed25519_sign(s, (const uint8_t *)text, len, out);
        if (!rc) *out_len = 64;
        return rc;
    }
    if (s->alg == TLOG_ALG_COSIG) {
        int rc = tlog_cosig_sign(s, now, text, len, out);
        if (!rc) *out_len = 72;
        return rc;
    }
    if (s->alg == TLOG_ALG_ECDSA && s->ext.sign) {
        uint8_t rs[96];
        int rc = s->ext.sign(s->ext.user, (const uint8_t *)text, len, rs, s->ext.sig_len);
        if (rc) return rc < 0 ? rc : PROV_ESIGNER;
        return tlog_ecdsa_der_from_raw(rs, s->ext.sig_len, out, out_len);
    }
    return PROV_EINVAL;
}

int tlog_sig_check(const tlog_verifier *v, const char *text, size_t len, const uint8_t *sig,
                   size_t sig_len, uint64_t *time)
{
    if (time) *time = 0;
    if (v->alg == TLOG_ALG_ED25519) {
        if (sig_len != 64) return TLOG_EVERIFY;
        return crypto_sign_verify_detached(sig, (const uint8_t *)text, len, v->pub)
                   ? TLOG_EVERIFY : 0;
    }
    if (v->alg == TLOG_ALG_COSIG) return tlog_cosig_verify(v, text, len, sig, sig_len, time);
    if (v->alg == TLOG_ALG_ECDSA) return tlog_ecdsa_verify(v->spki, v->spki_len, text, len, sig, sig_len);
    return TLOG_EVERIFY;
}

int tlog_ed25519_sign(const tlog_signer *s, const uint8_t *msg, size_t n, uint8_t sig[64])
{
    return ed25519_sign(s, msg, n, sig);
}

/* ---- verifier sets --------------------------------------------------- */

int tlog_verifiers_find(const tlog_verifiers *vs, const char *name, size_t name_len,
                        uint32_t id, const tlog_verifier **out, prov_ctx *ctx)
{
    *out = NULL;
    if (vs && vs->lookup) {
        int rc = vs->lookup(vs->user, name, name_len, id, out);
        if (rc == PROV_ENOTFOUND || (!rc && !*out)) {
            *out = NULL;
            return prov_seterr(ctx, PROV_ENOTFOUND, "unknown key %.*s+%08x",
                               (int)(name_len > 300 ? 300 : name_len), name, (unsigned)id);
        }
        if (rc) *out = NULL;
        return rc;
    }
    const tlog_verifier *hit = NULL;
    for (size_t i = 0; vs && i < vs->n; i++) {
        const tlog_verifier *v = &vs->list[i];
        if (v->id != id || v->name_len != name_len || memcmp(v->name, name, name_len)) continue;
        if (hit)
            return prov_seterr(ctx, PROV_EINVAL, "ambiguous key %.*s+%08x", (int)name_len,
                               name, (unsigned)id);
        hit = v;
    }
    if (!hit)
        return prov_seterr(ctx, PROV_ENOTFOUND, "unknown key %.*s+%08x",
                           (int)(name_len > 300 ? 300 : name_len), name, (unsigned)id);
    *out = hit;
    return 0;
}

/* ---- notes ------------------------------------------------------------ */

static const char emdash_sp[] = "\xe2\x80\x94 "; /* U+2014, space */
#define EMDASH_SP_LEN 4

static int note_open(const uint8_t *msg, size_t len, const tlog_verifiers *vs, bool check, tlog_note *out,
                     prov_ctx *ctx);

int tlog_note_open(const uint8_t *msg, size_t len, const tlog_verifiers *vs, tlog_note *out, prov_ctx *ctx)
{
    return note_open(msg, len, vs, true, out, ctx);
}

int tlog_note_open_unchecked(const uint8_t *msg, size_t len, const tlog_verifiers *vs, tlog_note *out,
                             prov_ctx *ctx)
{
    return note_open(msg, len, vs, false, out, ctx);
}

static int note_open(const uint8_t *msg, size_t len, const tlog_verifiers *vs, bool check, tlog_note *out,
                     prov_ctx *ctx)
{
    memset(out, 0, offsetof(tlog_note, sigs));
    int rc;
    if (!msg && len) return PROV_EINVAL;
    if (len > TLOG_NOTE_MAX) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "note larger than %u bytes", TLOG_NOTE_MAX);
        goto fail;
    }
    const char *m = (const char *)msg;
    if (!tlog_text_valid(m, len)) {
        rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: not UTF-8 text");
        goto fail;
    }
    /* the signatures follow the last blank line */
    size_t split = len;
    for (size_t i = len; i >= 2; i--)
        if (m[i - 1] == '\n' && m[i - 2] == '\n') {
            split = i - 2;
            break;
        }
    if (split == len) {
        rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: no signature block");
        goto fail;
    }
    const char *sigs = m + split + 2, *end = m + len;
    if (sigs == end || end[-1] != '\n') {
        rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: signature block");
        goto fail;
    }
    out->text = m;
    out->text_len = split + 1;

    /* Pass 1, syntax only: every line, before any key is looked up, so a
     * malformed note is malformed whatever keys the caller holds (and no
     * signature is checked on one).  The lines land in out->sigs. */
    size_t nlines = 0;
    for (const char *p = sigs; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)); /* found: end[-1] is '\n' */
        const char *line = p;
        size_t ll = (size_t)(nl - p);
        p = nl + 1;
        if (ll < EMDASH_SP_LEN || memcmp(line, emdash_sp, EMDASH_SP_LEN)) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: signature line");
            goto fail;
        }
        const char *name = line + EMDASH_SP_LEN;
        size_t rest = ll - EMDASH_SP_LEN;
        const char *sp = memchr(name, ' ', rest);
        size_t name_len = sp ? (size_t)(sp - name) : rest;
        const char *b64 = sp ? sp + 1 : name + rest;
        size_t b64_len = sp ? rest - name_len - 1 : 0;
        uint8_t head[4];
        size_t rl;
        if (!tlog_name_valid(name, name_len) || b64_len == 0 ||
            tlog_b64_decode(b64, b64_len, head, sizeof head, &rl) || rl < 5) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: signature line");
            goto fail;
        }
        if (rl > TLOG_SIG_MAX) {
            rc = prov_seterr(ctx, PROV_ELIMIT, "note signature larger than %u bytes",
                             TLOG_SIG_MAX);
            goto fail;
        }
        if (nlines == TLOG_MAX_SIGS) {
            rc = prov_seterr(ctx, PROV_ELIMIT, "note has more than %d signatures",
                             TLOG_MAX_SIGS);
            goto fail;
        }
        out->sigs[nlines++] = (tlog_sig){name, name_len, rd32(head), b64, b64_len, NULL, 0};
    }

    /* Pass 2: look the keys up and verify, compacting in place. */
    for (size_t k = 0; k < nlines; k++) {
        tlog_sig cur = out->sigs[k];
        const tlog_verifier *v;
        rc = tlog_verifiers_find(vs, cur.name, cur.name_len, cur.id, &v, ctx);
        if (rc == PROV_ENOTFOUND) {
            /* unknown key: keep it once, unverified */
            bool dup = false;
            for (size_t i = 0; i < out->nsigs && !dup; i++) {
                const tlog_sig *s = &out->sigs[i];
                dup = !s->by && s->name_len == cur.name_len && s->b64_len == cur.b64_len &&
                      !memcmp(s->name, cur.name, cur.name_len) &&
                      !memcmp(s->b64, cur.b64, cur.b64_len);
            }
            if (!dup) out->sigs[out->nsigs++] = cur;
            continue;
        }
        if (rc) goto fail;
        if (v->id != cur.id || v->name_len != cur.name_len ||
            memcmp(v->name, cur.name, cur.name_len)) {
            rc = prov_seterr(ctx, PROV_EINVAL, "verifier name or hash doesn't match signature");
            goto fail;
        }
        bool seen = false;
        for (size_t i = 0; i < out->nsigs && !seen; i++) {
            const tlog_sig *s = &out->sigs[i];
            seen = s->by && s->id == cur.id && s->name_len == cur.name_len &&
                   !memcmp(s->name, cur.name, cur.name_len);
        }
        if (seen) continue; /* repeated signature by one key */
        uint8_t raw[4 + TLOG_RAWSIG_MAX];
        size_t rl;
        uint64_t t = 0;
        tlog_b64_decode(cur.b64, cur.b64_len, raw, sizeof raw, &rl); /* checked in pass 1 */
        bool bad = rl > sizeof raw;
        if (!bad && check) bad = tlog_sig_check(v, out->text, out->text_len, raw + 4, rl - 4, &t) != 0;
        else if (!bad) /* unchecked: its shape */
            bad = v->alg == TLOG_ALG_ECDSA ? rl - 4 < 8 : rl - 4 != (v->alg == TLOG_ALG_ED25519 ? 64u : 72u);
        if (bad) {
            rc = prov_seterr(ctx, TLOG_EVERIFY, "invalid signature for key %s+%08x", v->name,
                             (unsigned)cur.id);
            goto fail;
        }
        cur.by = v;
        cur.time = t;
        out->sigs[out->nsigs++] = cur;
        out->nverified++;
    }
    if (!out->nverified)
        return prov_seterr(ctx, PROV_ENOTFOUND, "note has no verifiable signatures");
    return 0;
fail:
    memset(out, 0, offsetof(tlog_note, sigs));
    return rc;
}

static void put_sig_line(pbuf *b, const char *name, size_t nl, const char *b64, size_t bl)
{
    pbuf_put(b, emdash_sp, EMDASH_SP_LEN);
    pbuf_put(b, name, nl);
    pbuf_putc(b, ' ');
    pbuf_put(b, b64, bl);
    pbuf_putc(b, '\n');
}

int tlog_note_sign(pbuf *out, const char *text, size_t len, const tlog_sig *keep, size_t nkeep,
                   const tlog_signer *signers, size_t nsigners, uint64_t now, prov_ctx *ctx)
{
    if (!out || (!text && len) || (!keep && nkeep) || (!signers && nsigners))
        return PROV_EINVAL;
    if (len == 0 || text[len - 1] != '\n')
        return prov_seterr(ctx, PROV_EFORMAT, "malformed note: text must end in a newline");
    if (len > TLOG_NOTE_MAX || nkeep > TLOG_MAX_SIGS || nsigners > TLOG_MAX_SIGS)
        return prov_seterr(ctx, PROV_ELIMIT, "note too large");
    if (!tlog_text_valid(text, len))
        return prov_seterr(ctx, PROV_EFORMAT, "malformed note: not UTF-8 text");
    for (size_t i = 0; i < nsigners; i++)
        if (!tlog_name_valid(signers[i].name, signers[i].name_len))
            return prov_seterr(ctx, PROV_EINVAL, "invalid signer");

    pbuf b;
    pbuf_init(&b);
    pbuf_put(&b, text, len);
    pbuf_putc(&b, '\n');
    size_t nout = 0;
    int rc = 0;
    for (size_t i = 0; i < nkeep; i++) {
        const tlog_sig *s = &keep[i];
        if (!s->name || !tlog_name_valid(s->name, s->name_len)) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: bad signature name");
            goto out;
        }
        bool replaced = false;
        for (size_t j = 0; j < nsigners && !replaced; j++)
            replaced = signers[j].id == s->id && signers[j].name_len == s->name_len &&
                       !memcmp(signers[j].name, s->name, s->name_len);
        if (replaced) continue;
        uint8_t head[4];
        size_t rl;
        if (!s->b64 || tlog_b64_decode(s->b64, s->b64_len, head, 4, &rl) || rl < 4 ||
            rd32(head) != s->id || rl > TLOG_SIG_MAX) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "malformed note: signature does not match its key ID");
            goto out;
        }
        put_sig_line(&b, s->name, s->name_len, s->b64, s->b64_len);
        nout++;
    }
    for (size_t j = 0; j < nsigners; j++) {
        const tlog_signer *s = &signers[j];
        uint8_t raw[4 + TLOG_RAWSIG_MAX];
        size_t sl;
        wr32(raw, s->id);
        if ((rc = tlog_sig_make(s, now, text, len, raw + 4, &sl))) {
            prov_seterr(ctx, rc, "signing with key %s failed", s->name);
            goto out;
        }
        pbuf t;
        pbuf_init(&t);
        tlog_b64_encode(&t, raw, 4 + sl);
        if (t.err) { rc = t.err; pbuf_free(&t); goto out; }
        put_sig_line(&b, s->name, s->name_len, (const char *)t.p, t.len);
        pbuf_free(&t);
        nout++;
    }
    if (nout == 0) {
        rc = prov_seterr(ctx, PROV_EINVAL, "a note needs at least one signature");
        goto out;
    }
    if (nout > TLOG_MAX_SIGS || b.len > TLOG_NOTE_MAX) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "note too large");
        goto out;
    }
    if (b.err) { rc = b.err; goto out; }
    pbuf_put(out, b.p, b.len);
    rc = out->err;
out:
    pbuf_free(&b);
    return rc;
}

const tlog_sig *tlog_note_sig_by(const tlog_note *n, const tlog_verifier *v)
{
    for (size_t i = 0; n && v && i < n->nsigs; i++) {
        const tlog_verifier *by = n->sigs[i].by;
        if (by && (by == v || (by->id == v->id && by->alg == v->alg &&
                               by->name_len == v->name_len &&
                               !memcmp(by->name, v->name, v->name_len) &&
                               !memcmp(by->pub, v->pub, 32))))
            return &n->sigs[i];
    }
    return NULL;
}

size_t tlog_note_count_by(const tlog_note *n, const tlog_verifier *list, size_t nlist)
{
    size_t c = 0;
    for (size_t i = 0; i < nlist; i++) {
        /* count each distinct key once even if listed twice */
        bool again = false;
        for (size_t j = 0; j < i && !again; j++)
            again = list[j].id == list[i].id && list[j].alg == list[i].alg &&
                    !memcmp(list[j].pub, list[i].pub, 32) &&
                    list[j].name_len == list[i].name_len &&
                    !memcmp(list[j].name, list[i].name, list[i].name_len);
        if (!again && tlog_note_sig_by(n, &list[i])) c++;
    }
    return c;
}
