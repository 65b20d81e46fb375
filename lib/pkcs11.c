/* pkcs11.c - signing with a key that stays on a PKCS#11 token.
 *
 * p11-kit (freedesktop's p11-glue) parses the RFC 7512 URI, loads the
 * module and matches tokens and objects; what is left here is the few
 * calls a signature needs.  Why not libp11: Debian 12's libp11 0.4.12
 * has no EdDSA, and a token's Ed25519 key must sign too. */
#include "internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct prov_pkcs11_key {
    CK_FUNCTION_LIST **modules; /* what p11-kit loaded (NULL-terminated) */
    CK_FUNCTION_LIST *one;      /* or the one module the URI names by path */
    CK_FUNCTION_LIST *fn;       /* the key's module */
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE priv;
    int alg;
    uint8_t spki[128];
    size_t spki_len;
    pthread_mutex_t lock; /* one operation at a time on the session */
};

#define PIN_MAX 256

/* SubjectPublicKeyInfo prefixes (RFC 5480, RFC 8410) before the point. */
static const uint8_t SPKI_P256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                                    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t SPKI_P384[] = {0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                    0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00};
static const uint8_t SPKI_ED25519[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
static const uint8_t OID_P256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t OID_P384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t OID_ED25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t NAME_ED25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'};

static int same(const uint8_t *a, size_t n, const uint8_t *b, size_t m) { return n == m && !memcmp(a, b, n); }

/* One attribute of obj into buf (at most cap bytes); its length, or -1. */
static long get_attr(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                     void *buf, size_t cap)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    if (fn->C_GetAttributeValue(s, obj, &a, 1) != CKR_OK || a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen > cap)
        return -1;
    a.pValue = buf;
    if (fn->C_GetAttributeValue(s, obj, &a, 1) != CKR_OK) return -1;
    return (long)a.ulValueLen;
}

/* Objects matching tmpl: up to cap handles into out; the count found (which
 * may exceed cap), or -1. */
static long find(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out,
                 CK_ULONG cap)
{
    if (fn->C_FindObjectsInit(s, tmpl, n) != CKR_OK) return -1;
    CK_ULONG got = 0, total = 0;
    CK_OBJECT_HANDLE h[8];
    do {
        if (fn->C_FindObjects(s, h, 8, &got) != CKR_OK) {
            fn->C_FindObjectsFinal(s);
            return -1;
        }
        for (CK_ULONG i = 0; i < got; i++, total++)
            if (total < cap) out[total] = h[i];
    } while (got == 8 && total < 1000);
    fn->C_FindObjectsFinal(s);
    return (long)total;
}

/* The PIN the URI carries (pin-value, or pin-source: a file), else NULL. */
static int uri_pin(prov_ctx *ctx, P11KitUri *uri, char pin[PIN_MAX])
{
    const char *v = p11_kit_uri_get_pin_value(uri);
    if (v) {
        if (strlen(v) >= PIN_MAX) return prov_seterr(ctx, PROV_ELIMIT, "pkcs11: pin-value too long");
        strcpy(pin, v);
        return 1;
    }
    const char *src = p11_kit_uri_get_pin_source(uri);
    if (!src) return 0;
    if (!strncmp(src, "file:", 5)) src += 5;
    FILE *f = fopen(src, "rb");
    if (!f) return prov_seterr(ctx, PROV_EIO, "pkcs11: pin-source %s: cannot read it", src);
    size_t n = fread(pin, 1, PIN_MAX - 1, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) return prov_seterr(ctx, PROV_ELIMIT, "pkcs11: pin-source %s: longer than a PIN", src);
    while (n && (pin[n - 1] == '\n' || pin[n - 1] == '\r')) n--;
    pin[n] = 0;
    return 1;
}

/* The public key of priv as DER SPKI and its algorithm: from the private
 * object's parameters and the public object with the same CKA_ID. */
static int read_public(prov_ctx *ctx, prov_pkcs11_key *k)
{
    CK_FUNCTION_LIST *fn = k->fn;
    CK_KEY_TYPE kt;
    uint8_t params[64], id[256], point[160];
    if (get_attr(fn, k->session, k->priv, CKA_KEY_TYPE, &kt, sizeof kt) != (long)sizeof kt)
        return prov_seterr(ctx, PROV_EFORMAT, "pkcs11: the key's type cannot be read");
    long pl = get_attr(fn, k->session, k->priv, CKA_EC_PARAMS, params, sizeof params);
    const uint8_t *prefix;
    size_t plen, ptlen;
    if (kt == CKK_EC && pl > 0 && same(params, (size_t)pl, OID_P256, sizeof OID_P256))
        k->alg = PROV_ALG_ES256, prefix = SPKI_P256, plen = sizeof SPKI_P256, ptlen = 65;
    else if (kt == CKK_EC && pl > 0 && same(params, (size_t)pl, OID_P384, sizeof OID_P384))
        k->alg = PROV_ALG_ES384, prefix = SPKI_P384, plen = sizeof SPKI_P384, ptlen = 97;
    else if (kt == CKK_EC_EDWARDS && pl > 0 &&
             (same(params, (size_t)pl, OID_ED25519, sizeof OID_ED25519) ||
              same(params, (size_t)pl, NAME_ED25519, sizeof NAME_ED25519)))
        k->alg = PROV_ALG_ED25519, prefix = SPKI_ED25519, plen = sizeof SPKI_ED25519, ptlen = 32;
    else
        return prov_seterr(ctx, PROV_EUNSUPPORTED,
                           "pkcs11: the key is neither ECDSA P-256/P-384 nor Ed25519 (prov signs ES256, ES384, Ed25519)");
    long il = get_attr(fn, k->session, k->priv, CKA_ID, id, sizeof id);
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[3] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_ID, id, 0}};
    CK_ULONG nt = 2;
    if (il > 0) t[2].ulValueLen = (CK_ULONG)il, nt = 3;
    CK_OBJECT_HANDLE pub[2];
    long n = find(fn, k->session, t, nt, pub, 2);
    if (n != 1)
        return prov_seterr(ctx, PROV_ENOTFOUND,
                           "pkcs11: %s public key object with the private key's CKA_ID on the token",
                           n < 1 ? "no" : "more than one");
    long el = get_attr(fn, k->session, pub[0], CKA_EC_POINT, point, sizeof point);
    const uint8_t *q = point;
    size_t ql = el > 0 ? (size_t)el : 0;
    if (ql == ptlen + 2 && q[0] == 0x04 && q[1] == ptlen) q += 2, ql -= 2; /* DER OCTET STRING */
    else if (ql == ptlen + 3 && q[0] == 0x04 && q[1] == 0x81 && q[2] == ptlen) q += 3, ql -= 3;
    if (ql != ptlen) return prov_seterr(ctx, PROV_EFORMAT, "pkcs11: the public key's CKA_EC_POINT is malformed");
    memcpy(k->spki, prefix, plen);
    memcpy(k->spki + plen, q, ptlen);
    k->spki_len = plen + ptlen;
    const unsigned char *d = k->spki; /* OpenSSL checks the point is on the curve */
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &d, (long)k->spki_len);
    EVP_PKEY_free(pk);
    if (!pk) return prov_seterr(ctx, PROV_EFORMAT, "pkcs11: the token's public key is not a valid point");
    return 0;
}

/* Login (when the token wants it) and the one private key the URI names. */
static int open_key(prov_ctx *ctx, prov_pkcs11_key *k, P11KitUri *uri, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                    const char *pin)
{
    CK_FUNCTION_LIST *fn = k->fn;
    CK_RV rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &k->session);
    if (rv != CKR_OK) return prov_seterr(ctx, PROV_EIO, "pkcs11: cannot open a session (CK_RV 0x%lx)", rv);
    if (ti->flags & CKF_LOGIN_REQUIRED) {
        if (!pin) return prov_seterr(ctx, PROV_EPASSPHRASE, "pkcs11: the token wants a PIN");
        rv = fn->C_Login(k->session, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)strlen(pin));
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
            return prov_seterr(ctx, PROV_EPASSPHRASE, "pkcs11: wrong PIN");
        if (rv == CKR_PIN_LOCKED) return prov_seterr(ctx, PROV_EPASSPHRASE, "pkcs11: the PIN is locked");
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
            return prov_seterr(ctx, PROV_EIO, "pkcs11: login failed (CK_RV 0x%lx)", rv);
    }
    CK_ULONG na = 0;
    CK_ATTRIBUTE *ua = p11_kit_uri_get_attributes(uri, &na);
    CK_ATTRIBUTE t[4];
    CK_ULONG nt = 0;
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
    int has_class = 0;
    for (CK_ULONG i = 0; i < na && nt < 3; i++) {
        if (ua[i].type == CKA_CLASS) {
            if (ua[i].ulValueLen != sizeof priv || memcmp(ua[i].pValue, &priv, sizeof priv))
                return prov_seterr(ctx, PROV_EINVAL, "pkcs11: the URI names an object that is not a private key (type=private)");
            has_class = 1;
        }
        t[nt++] = ua[i];
    }
    if (!has_class) t[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &priv, sizeof priv};
    CK_OBJECT_HANDLE h[2];
    long n = find(fn, k->session, t, nt, h, 2);
    if (n < 0) return prov_seterr(ctx, PROV_EIO, "pkcs11: cannot search the token");
    if (n == 0) return prov_seterr(ctx, PROV_ENOTFOUND, "pkcs11: no private key on the token matches the URI");
    if (n > 1)
        return prov_seterr(ctx, PROV_EINVAL, "pkcs11: %ld private keys match the URI: name one (object= or id=)", n);
    k->priv = h[0];
    return read_public(ctx, k);
}

/* The token the URI names, in fn's slots: 1 found (slot and info set). */
static int find_token(CK_FUNCTION_LIST *fn, P11KitUri *uri, CK_SLOT_ID *slot, CK_TOKEN_INFO *ti)
{
    CK_INFO mi;
    if (fn->C_GetInfo(&mi) != CKR_OK || !p11_kit_uri_match_module_info(uri, &mi)) return 0;
    CK_SLOT_ID ids[64];
    CK_ULONG n = 64;
    if (fn->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK) return 0;
    CK_SLOT_ID want = p11_kit_uri_get_slot_id(uri);
    for (CK_ULONG i = 0; i < n && i < 64; i++) {
        CK_SLOT_INFO si;
        if (want != (CK_SLOT_ID)-1 && ids[i] != want) continue;
        if (fn->C_GetSlotInfo(ids[i], &si) != CKR_OK || !p11_kit_uri_match_slot_info(uri, &si)) continue;
        if (fn->C_GetTokenInfo(ids[i], ti) != CKR_OK || !p11_kit_uri_match_token_info(uri, ti)) continue;
        *slot = ids[i];
        return 1;
    }
    return 0;
}

int prov_pkcs11_open(prov_ctx *ctx, const char *uristr, const char *pin, prov_pkcs11_key **out)
{
    if (!uristr || !out) return prov_seterr(ctx, PROV_EINVAL, "pkcs11: NULL argument");
    *out = NULL;
    if (strlen(uristr) > 4096) return prov_seterr(ctx, PROV_ELIMIT, "pkcs11: URI too long");
    P11KitUri *uri = p11_kit_uri_new();
    if (!uri) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    int pr = p11_kit_uri_parse(uristr, P11_KIT_URI_FOR_ANY, uri);
    if (pr != P11_KIT_URI_OK) {
        p11_kit_uri_free(uri);
        return prov_seterr(ctx, PROV_EINVAL, "pkcs11: not a PKCS#11 URI (RFC 7512): %s", p11_kit_uri_message(pr));
    }
    char upin[PIN_MAX] = "";
    prov_pkcs11_key *k = calloc(1, sizeof *k);
    if (!k) {
        p11_kit_uri_free(uri);
        return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&k->lock, NULL);
    k->session = CK_INVALID_HANDLE;
    int rc = uri_pin(ctx, uri, upin);
    if (rc < 0) goto fail;
    if (rc == 1) pin = upin;
    const char *path = p11_kit_uri_get_module_path(uri);
    if (!path) path = getenv("PROV_PKCS11_MODULE");
    CK_FUNCTION_LIST *single[2] = {NULL, NULL};
    CK_FUNCTION_LIST **mods;
    if (path) {
        k->one = p11_kit_module_load(path, 0);
        if (!k->one || p11_kit_module_initialize(k->one) != CKR_OK) {
            if (k->one) p11_kit_module_release(k->one);
            k->one = NULL;
            rc = prov_seterr(ctx, PROV_EIO, "pkcs11: cannot load the module %s", path);
            goto fail;
        }
        single[0] = k->one;
        mods = single;
    } else {
        mods = k->modules = p11_kit_modules_load_and_initialize(0);
        if (!mods) {
            rc = prov_seterr(ctx, PROV_EIO, "pkcs11: no PKCS#11 module is registered with p11-kit "
                                            "(name one with module-path= or PROV_PKCS11_MODULE)");
            goto fail;
        }
    }
    const char *mname = p11_kit_uri_get_module_name(uri);
    CK_SLOT_ID slot = 0;
    CK_TOKEN_INFO ti;
    for (size_t i = 0; mods[i] && !k->fn; i++) {
        if (mname && !path) {
            char *nm = p11_kit_module_get_name(mods[i]);
            int ok = nm && !strcmp(nm, mname);
            free(nm);
            if (!ok) continue;
        }
        if (find_token(mods[i], uri, &slot, &ti)) k->fn = mods[i];
    }
    if (!k->fn) {
        rc = prov_seterr(ctx, PROV_ENOTFOUND, "pkcs11: no token matches the URI");
        goto fail;
    }
    rc = open_key(ctx, k, uri, slot, &ti, pin);
    if (rc) goto fail;
    sodium_memzero(upin, sizeof upin);
    p11_kit_uri_free(uri);
    *out = k;
    return 0;
fail:
    sodium_memzero(upin, sizeof upin);
    p11_kit_uri_free(uri);
    prov_pkcs11_close(k);
    return rc;
}

void prov_pkcs11_close(prov_pkcs11_key *k)
{
    if (!k) return;
    if (k->fn && k->session != CK_INVALID_HANDLE) k->fn->C_CloseSession(k->session);
    if (k->one) {
        p11_kit_module_finalize(k->one);
        p11_kit_module_release(k->one);
    }
    if (k->modules) p11_kit_modules_finalize_and_release(k->modules);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

int prov_pkcs11_alg(const prov_pkcs11_key *k) { return k ? k->alg : PROV_EINVAL; }

int prov_pkcs11_public_der(const prov_pkcs11_key *k, uint8_t **der, size_t *len)
{
    if (!k || !der || !len) return PROV_EINVAL;
    if (!(*der = malloc(k->spki_len))) return PROV_ENOMEM;
    memcpy(*der, k->spki, k->spki_len);
    *len = k->spki_len;
    return 0;
}

/* ECDSA tokens sign a digest (CKM_ECDSA) and answer r||s, as COSE wants;
 * EdDSA tokens sign the message itself (CKM_EDDSA, pure Ed25519). */
static int p11_sign(void *user, const uint8_t *msg, size_t n, uint8_t *sig, size_t sig_len)
{
    prov_pkcs11_key *k = user;
    uint8_t dg[48];
    const uint8_t *data = msg;
    size_t dn = n;
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    if (k->alg != PROV_ALG_ED25519) {
        unsigned int l = 0;
        const EVP_MD *md = k->alg == PROV_ALG_ES256 ? EVP_sha256() : EVP_sha384();
        if (!EVP_Digest(msg, n, dg, &l, md, NULL)) return -1;
        data = dg, dn = l;
        m.mechanism = CKM_ECDSA;
    }
    pthread_mutex_lock(&k->lock);
    CK_ULONG out = (CK_ULONG)sig_len;
    CK_RV rv = k->fn->C_SignInit(k->session, &m, k->priv);
    if (rv == CKR_OK) rv = k->fn->C_Sign(k->session, (CK_BYTE *)data, (CK_ULONG)dn, sig, &out);
    pthread_mutex_unlock(&k->lock);
    return rv == CKR_OK && out == sig_len ? 0 : -1;
}

void prov_signer_from_pkcs11(prov_signer *s, prov_pkcs11_key *k)
{
    s->alg = k->alg;
    s->sig_len = k->alg == PROV_ALG_ES384 ? 96 : 64;
    s->sign = p11_sign;
    s->user = k;
}
