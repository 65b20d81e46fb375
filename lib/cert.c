/* cert.c - making X.509 certificates (OpenSSL 3), PEM chains, and the
 * C2PA signing-certificate profile.
 *
 * Roots and leaves are made with the CA's Ed25519 key.  A leaf carries what
 * C2PA (and c2pa-rs) demand of a claim signer: v3, not self-signed, an
 * authorityKeyIdentifier, keyUsage digitalSignature, an EKU with
 * documentSigning (and emailProtection, which older validators know), and
 * basicConstraints CA:FALSE. */
#include "x509.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OID_DOCUMENT_SIGNING "1.3.6.1.5.5.7.3.36"
#define OID_C2PA_SIGNING "1.3.6.1.4.1.62558.2.1"
#define OID_MS_C2PA_SIGNING "1.3.6.1.4.1.311.76.59.1.9"
#define MAX_DAYS 36500

/* ---- files and PEM ------------------------------------------------- */

int prov_read_file(prov_ctx *ctx, const char *path, size_t max, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: a FIFO must not hang us before fstat says it is no file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return prov_seterr(ctx, errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO, "%s: %s", path,
                           strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return prov_seterr(ctx, PROV_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return prov_seterr(ctx, PROV_ELIMIT, "%s: larger than %zu bytes", path, max);
    }
    /* Read up to max + 1 bytes: the file may grow after fstat. */
    uint8_t *p = malloc(max + 2);
    if (!p) {
        close(fd);
        return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    }
    size_t n = 0;
    while (n <= max) {
        ssize_t r = read(fd, p + n, max + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(p);
            return prov_seterr(ctx, PROV_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(p);
        return prov_seterr(ctx, PROV_ELIMIT, "%s: larger than %zu bytes", path, max);
    }
    p[n] = 0;
    *out = p;
    *out_len = n;
    return 0;
}

X509 *prov_x509_parse(const uint8_t *der, size_t len)
{
    if (!der || len == 0 || len > LONG_MAX) return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != der + len) { /* trailing bytes: not one certificate */
        X509_free(x);
        x = NULL;
    }
    if (!x) ERR_clear_error();
    return x;
}

int prov_pem_certs(prov_ctx *ctx, const char *what, const char *pem, size_t len, size_t max,
                   prov_cert_fn fn, void *user)
{
    if (!pem || len > INT_MAX) return prov_seterr(ctx, PROV_ELIMIT, "%s: too large", what);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    int rc = 0;
    size_t count = 0;
    ERR_clear_error();
    while (!rc) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
                rc = prov_seterr(ctx, PROV_EFORMAT, "%s: malformed PEM block", what);
            break; /* no further BEGIN line: the end */
        }
        if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE")) {
            X509 *x = prov_x509_parse(data, (size_t)dlen);
            if (!x)
                rc = prov_seterr(ctx, PROV_EFORMAT, "%s: certificate %zu does not parse", what,
                                 count + 1);
            else if (++count > max)
                rc = prov_seterr(ctx, PROV_ELIMIT, "%s: more than %zu certificates", what, max);
            else if ((rc = fn(user, data, (size_t)dlen, x)) < 0)
                prov_seterr(ctx, rc, "%s: %s", what, prov_strerror(rc));
            X509_free(x);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    ERR_clear_error();
    BIO_free(bio);
    if (!rc && count == 0)
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s: no CERTIFICATE in it", what);
    return rc ? rc : (int)count;
}

int prov_cert_to_pem(const uint8_t *der, size_t der_len, char **pem)
{
    if (!pem) return PROV_EINVAL;
    *pem = NULL;
    X509 *x = prov_x509_parse(der, der_len);
    if (!x) return PROV_ECERT;
    X509_free(x);
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = PROV_ENOMEM;
    /* The DER as given, byte for byte (re-encoding might normalise it). */
    if (bio && PEM_write_bio(bio, "CERTIFICATE", "", der, (long)der_len) > 0) {
        char *p;
        long n = BIO_get_mem_data(bio, &p);
        *pem = malloc((size_t)n + 1);
        if (*pem) {
            memcpy(*pem, p, (size_t)n);
            (*pem)[n] = 0;
            rc = 0;
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* ---- chains -------------------------------------------------------- */

struct prov_chain {
    size_t n;
    uint8_t *der[PROV_MAX_CHAIN];
    size_t len[PROV_MAX_CHAIN];
};

static int chain_add(void *user, const uint8_t *der, size_t len, X509 *x)
{
    (void)x;
    prov_chain *c = user;
    if (!(c->der[c->n] = malloc(len))) return PROV_ENOMEM;
    memcpy(c->der[c->n], der, len);
    c->len[c->n++] = len;
    return 0;
}

int prov_chain_from_pem(prov_ctx *ctx, const char *pem, size_t len, prov_chain **out)
{
    if (!out || !pem)
        return prov_seterr(ctx, PROV_EINVAL, "prov_chain_from_pem: NULL argument");
    *out = NULL;
    prov_chain *c = calloc(1, sizeof *c);
    if (!c) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    int rc = prov_pem_certs(ctx, "certificate chain", pem, len, PROV_MAX_CHAIN, chain_add, c);
    if (rc < 0) {
        prov_chain_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int prov_chain_load_pem(prov_ctx *ctx, const char *path, prov_chain **out)
{
    if (!out || !path)
        return prov_seterr(ctx, PROV_EINVAL, "prov_chain_load_pem: NULL argument");
    *out = NULL;
    uint8_t *txt;
    size_t len;
    int rc = prov_read_file(ctx, path, PROV_MAX_PEM_FILE, &txt, &len);
    if (rc) return rc;
    prov_chain *c = calloc(1, sizeof *c);
    if (!c)
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    else
        rc = prov_pem_certs(ctx, path, (const char *)txt, len, PROV_MAX_CHAIN, chain_add, c);
    free(txt);
    if (rc < 0) {
        prov_chain_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

size_t prov_chain_count(const prov_chain *c) { return c ? c->n : 0; }

const uint8_t *prov_chain_der(const prov_chain *c, size_t i, size_t *len)
{
    if (!c || i >= c->n) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = c->len[i];
    return c->der[i];
}

void prov_chain_free(prov_chain *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->der[i]);
    free(c);
}

/* ---- making certificates ------------------------------------------- */

/* Parse an RFC 4514-style "CN=a,O=b\,c" into n.  RFC 4514 writes the most
 * specific attribute first, so each is inserted at the front: "CN=x,O=y,C=z"
 * gives the usual sequence C, O, CN.  Escapes: \ followed by two hex
 * digits is that byte, \ followed by anything else is that character. */
static int parse_dn(prov_ctx *ctx, const char *s, X509_NAME *n)
{
    size_t cap = strlen(s) + 1;
    char *type = malloc(cap), *val = malloc(cap);
    int rc = 0;
    if (!type || !val) {
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        goto out;
    }
    while (*s && !rc) {
        while (*s == ' ') s++;
        size_t t = 0;
        while (*s && *s != '=') type[t++] = *s++;
        while (t && type[t - 1] == ' ') t--;
        type[t] = 0;
        if (*s != '=' || !t) {
            rc = prov_seterr(ctx, PROV_EINVAL, "subject: expected TYPE=value");
            break;
        }
        s++;
        while (*s == ' ') s++;
        size_t v = 0, keep = 0; /* keep: length up to the last escaped byte */
        while (*s && *s != ',') {
            if (*s == '\\' && s[1]) {
                if (isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
                    char hex[3] = {s[1], s[2], 0};
                    val[v++] = (char)strtol(hex, NULL, 16);
                    s += 3;
                } else {
                    val[v++] = s[1];
                    s += 2;
                }
                keep = v;
            } else {
                val[v++] = *s++;
            }
        }
        while (v > keep && val[v - 1] == ' ') v--; /* unescaped trailing spaces */
        if (*s == ',') s++;
        if (!v) {
            rc = prov_seterr(ctx, PROV_EINVAL, "subject: empty value for %s", type);
            break;
        }
        if (!X509_NAME_add_entry_by_txt(n, type, MBSTRING_UTF8, (unsigned char *)val, (int)v, 0,
                                        0))
            rc = prov_seterr(ctx, PROV_EINVAL,
                             "subject: cannot use %s=%.*s (unknown type or bad length)", type,
                             (int)v, val);
    }
out:
    free(type);
    free(val);
    ERR_clear_error();
    return rc;
}

static int make_name(prov_ctx *ctx, const char *subject, X509_NAME **out)
{
    *out = NULL;
    if (!subject || !*subject) return prov_seterr(ctx, PROV_EINVAL, "empty subject");
    X509_NAME *n = X509_NAME_new();
    if (!n) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    int rc = 0;
    if (strchr(subject, '=')) {
        rc = parse_dn(ctx, subject, n);
    } else if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)subject, -1, -1, 0)) {
        ERR_clear_error();
        rc = prov_seterr(ctx, PROV_EINVAL, "subject: bad common name (1 to 64 UTF-8 characters)");
    }
    if (rc)
        X509_NAME_free(n);
    else
        *out = n;
    return rc;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* authorityKeyIdentifier = the CA's subjectKeyIdentifier, or (when the CA
 * has none) SHA-1 of its public key as RFC 5280 4.2.1.2 method 1. */
static int add_aki(X509 *x, X509 *ca)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    if (!akid) return 0;
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
    if (ski) {
        akid->keyid = ASN1_OCTET_STRING_dup(ski);
    } else {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen;
        if (X509_pubkey_digest(ca, EVP_sha1(), md, &mdlen) &&
            (akid->keyid = ASN1_OCTET_STRING_new()))
            ASN1_OCTET_STRING_set(akid->keyid, md, (int)mdlen);
    }
    int ok = akid->keyid && X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
                                              X509V3_ADD_DEFAULT) == 1;
    AUTHORITY_KEYID_free(akid);
    return ok;
}

/* A random, positive 16-byte serial (RFC 5280: at most 20 octets, and
 * unpredictable serials blunt chosen-prefix attacks). */
static int set_serial(X509 *x)
{
    uint8_t r[16];
    randombytes_buf(r, sizeof r);
    r[0] = (uint8_t)((r[0] & 0x7f) | 0x40); /* positive, always 16 bytes */
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok;
}

/* Build and sign one certificate.  ca NULL: self-signed root for pub. */
static int make_cert(prov_ctx *ctx, const prov_key *ca_key, X509 *ca, EVP_PKEY *pub,
                     const char *subject, int days, uint8_t **der, size_t *der_len)
{
    X509_NAME *name = NULL;
    EVP_PKEY *sk = NULL;
    X509 *x = NULL;
    int rc = make_name(ctx, subject, &name);
    if (rc) return rc;
    if (ca && !X509_NAME_cmp(name, X509_get_subject_name(ca))) {
        rc = prov_seterr(ctx, PROV_EINVAL,
                         "leaf subject equals the CA's (would look self-signed)");
        goto out;
    }
    rc = prov_seterr(ctx, PROV_ECERT, "cannot make the certificate (OpenSSL failed)");
    if (!(sk = prov_key_evp(ca_key)) || !(x = X509_new())) goto out;
    if (ca && X509_check_private_key(ca, sk) != 1) {
        rc = prov_seterr(ctx, PROV_ECERT, "the CA key does not match the CA certificate");
        goto out;
    }
    if (!X509_set_version(x, X509_VERSION_3) || !set_serial(x) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || /* tolerate clock skew */
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
        !X509_set_subject_name(x, name) ||
        !X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name) ||
        !X509_set_pubkey(x, pub))
        goto out;
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, ca ? ca : x, x, NULL, NULL, 0);
    int ok;
    if (!ca)
        ok = add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, &v3, NID_subject_key_identifier, "hash");
    else
        ok = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, &v3, NID_ext_key_usage, OID_DOCUMENT_SIGNING ",emailProtection") &&
             add_ext(x, &v3, NID_subject_key_identifier, "hash") && add_aki(x, ca);
    /* Ed25519: no separate digest; an ECDSA CA key: SHA-256 or SHA-384 */
    const EVP_MD *md = prov_key_alg(ca_key) == PROV_ALG_ES384   ? EVP_sha384()
                       : prov_key_alg(ca_key) == PROV_ALG_ES256 ? EVP_sha256()
                                                                : NULL;
    if (!ok || X509_sign(x, sk, md) <= 0) goto out;
    int n = i2d_X509(x, NULL);
    if (n <= 0) goto out;
    uint8_t *p = malloc((size_t)n);
    if (!p) {
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        goto out;
    }
    *der = p;
    *der_len = (size_t)i2d_X509(x, &p);
    rc = 0;
out:
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(sk);
    X509_NAME_free(name);
    return rc;
}

static int check_args(prov_ctx *ctx, const prov_key *k, int days, uint8_t **der, size_t *len)
{
    if (!k || !der || !len) return prov_seterr(ctx, PROV_EINVAL, "certificate: NULL argument");
    *der = NULL;
    *len = 0;
    if (days < 1 || days > MAX_DAYS)
        return prov_seterr(ctx, PROV_EINVAL, "certificate: days must be 1..%d", MAX_DAYS);
    return 0;
}

int prov_cert_make_root(prov_ctx *ctx, const prov_key *ca_key, const char *subject, int days,
                        uint8_t **der, size_t *der_len)
{
    int rc = check_args(ctx, ca_key, days, der, der_len);
    if (rc) return rc;
    EVP_PKEY *pub = prov_key_evp(ca_key);
    if (!pub) return prov_seterr(ctx, PROV_ECERT, "cannot load the CA key into OpenSSL");
    rc = make_cert(ctx, ca_key, NULL, pub, subject, days, der, der_len);
    EVP_PKEY_free(pub);
    return rc;
}

/* A leaf for pub (taken: freed here) issued by the CA in ca_der. */
static int make_leaf(prov_ctx *ctx, const prov_key *ca_key, const uint8_t *ca_der, size_t ca_der_len,
                     EVP_PKEY *pub, const char *subject, int days, uint8_t **der, size_t *der_len)
{
    X509 *ca = prov_x509_parse(ca_der, ca_der_len);
    int rc;
    if (!pub || !ca)
        rc = prov_seterr(ctx, PROV_ECERT, pub ? "the CA certificate does not parse" : "bad public key");
    else
        rc = make_cert(ctx, ca_key, ca, pub, subject, days, der, der_len);
    EVP_PKEY_free(pub);
    X509_free(ca);
    ERR_clear_error();
    return rc;
}

int prov_cert_make_leaf(prov_ctx *ctx, const prov_key *ca_key, const uint8_t *ca_der,
                        size_t ca_der_len, const uint8_t pk[32], const char *subject, int days,
                        uint8_t **der, size_t *der_len)
{
    int rc = check_args(ctx, ca_key, days, der, der_len);
    if (rc) return rc;
    if (!pk) return prov_seterr(ctx, PROV_EINVAL, "certificate: NULL public key");
    return make_leaf(ctx, ca_key, ca_der, ca_der_len, EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32),
                     subject, days, der, der_len);
}

int prov_cert_make_leaf_for(prov_ctx *ctx, const prov_key *ca_key, const uint8_t *ca_der, size_t ca_der_len,
                            const prov_key *subject_key, const char *subject, int days, uint8_t **der,
                            size_t *der_len)
{
    int rc = check_args(ctx, ca_key, days, der, der_len);
    if (rc) return rc;
    if (!subject_key) return prov_seterr(ctx, PROV_EINVAL, "certificate: NULL subject key");
    /* the certificate takes only the public half of the key */
    return make_leaf(ctx, ca_key, ca_der, ca_der_len, prov_key_evp(subject_key), subject, days, der, der_len);
}

int prov_cert_make_leaf_spki(prov_ctx *ctx, const prov_key *ca_key, const uint8_t *ca_der, size_t ca_der_len,
                             const uint8_t *spki, size_t spki_len, const char *subject, int days, uint8_t **der,
                             size_t *der_len)
{
    int rc = check_args(ctx, ca_key, days, der, der_len);
    if (rc) return rc;
    if (!spki || spki_len > 1024) return prov_seterr(ctx, PROV_EINVAL, "certificate: no or oversized public key");
    const unsigned char *p = spki;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    int id = pub ? EVP_PKEY_get_base_id(pub) : 0;
    int ok = id == EVP_PKEY_ED25519 || (id == EVP_PKEY_EC && (EVP_PKEY_get_bits(pub) == 256 || EVP_PKEY_get_bits(pub) == 384));
    if (!pub || p != spki + spki_len || !ok) {
        EVP_PKEY_free(pub);
        ERR_clear_error();
        return prov_seterr(ctx, PROV_EFORMAT, "certificate: the public key is not Ed25519, P-256 or P-384");
    }
    return make_leaf(ctx, ca_key, ca_der, ca_der_len, pub, subject, days, der, der_len);
}

/* ---- reading certificates ------------------------------------------ */

/* UTF-8 of the first nid attribute of n into out ("" if none), cut at a
 * character boundary and at any NUL. */
static void name_attr(const X509_NAME *n, int nid, char *out, size_t cap)
{
    if (!out || !cap) return;
    out[0] = 0;
    int i = X509_NAME_get_index_by_NID(n, nid, -1);
    if (i < 0) return;
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
    if (len < 0) {
        ERR_clear_error();
        return;
    }
    size_t k = strnlen((const char *)u, (size_t)len);
    if (k >= cap) {
        k = cap - 1;
        while (k && (u[k] & 0xc0) == 0x80) k--;
    }
    memcpy(out, u, k);
    out[k] = 0;
    OPENSSL_free(u);
}

int prov_x509_subject_summary(const uint8_t *der, size_t len, char *cn, size_t cn_cap,
                              char *org, size_t org_cap, char *issuer_cn, size_t icap)
{
    if (cn && cn_cap) cn[0] = 0;
    if (org && org_cap) org[0] = 0;
    if (issuer_cn && icap) issuer_cn[0] = 0;
    X509 *x = prov_x509_parse(der, len);
    if (!x) return PROV_ECERT;
    const X509_NAME *s = X509_get_subject_name(x), *is = X509_get_issuer_name(x);
    name_attr(s, NID_commonName, cn, cn_cap);
    name_attr(s, NID_organizationName, org, org_cap);
    name_attr(is, NID_commonName, issuer_cn, icap);
    if (issuer_cn && icap && !issuer_cn[0])
        name_attr(is, NID_organizationName, issuer_cn, icap);
    X509_free(x);
    return 0;
}

/* ---- the C2PA certificate profile ---------------------------------- */

static int oid_is(const ASN1_OBJECT *o, const char *oid)
{
    char buf[80];
    return OBJ_obj2txt(buf, sizeof buf, o, 1) > 0 && !strcmp(buf, oid);
}

static int eku_allowed(const prov_trust *t, const ASN1_OBJECT *o)
{
    if (t && t->ekus_set) {
        for (size_t i = 0; i < t->n_ekus; i++)
            if (oid_is(o, t->ekus[i])) return 1;
        return 0;
    }
    return OBJ_obj2nid(o) == NID_email_protect || oid_is(o, OID_DOCUMENT_SIGNING) ||
           oid_is(o, OID_C2PA_SIGNING) || oid_is(o, OID_MS_C2PA_SIGNING);
}

/* NULL if the EKU list suits a C2PA claim signer, else why not. */
static const char *check_eku(const prov_trust *t, X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    if (!eku) return "no extendedKeyUsage";
    int n = sk_ASN1_OBJECT_num(eku), good = 0, sole_only = 0;
    const char *why = NULL;
    for (int i = 0; i < n && !why; i++) {
        const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
        int nid = OBJ_obj2nid(o);
        if (nid == NID_anyExtendedKeyUsage)
            why = "extendedKeyUsage is anyExtendedKeyUsage";
        else if (nid == NID_time_stamp || nid == NID_OCSP_sign)
            sole_only = 1; /* C2PA: these may only appear alone */
        else if (eku_allowed(t, o))
            good = 1;
    }
    if (!why && sole_only && n > 1) why = "timeStamping/OCSPSigning EKU mixed with others";
    if (!why && !good) why = "extendedKeyUsage lacks a C2PA signing purpose";
    EXTENDED_KEY_USAGE_free(eku);
    return why;
}

/* RSASSA-PSS on the certificate itself: explicit parameters, SHA-2 hash,
 * and MGF1 with the same hash (as c2pa-rs demands). */
static int pss_params_ok(X509 *x)
{
    const X509_ALGOR *alg;
    const ASN1_OBJECT *oid;
    const void *pval;
    int ptype;
    X509_get0_signature(NULL, &alg, x);
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    if (ptype != V_ASN1_SEQUENCE) return 0;
    RSA_PSS_PARAMS *p = ASN1_item_unpack(pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
    int ok = 0;
    X509_ALGOR *mgf_md = NULL;
    if (p && p->hashAlgorithm && p->maskGenAlgorithm &&
        OBJ_obj2nid(p->maskGenAlgorithm->algorithm) == NID_mgf1) {
        X509_ALGOR_get0(NULL, &ptype, &pval, p->maskGenAlgorithm);
        if (ptype == V_ASN1_SEQUENCE)
            mgf_md = ASN1_item_unpack(pval, ASN1_ITEM_rptr(X509_ALGOR));
        int h = OBJ_obj2nid(p->hashAlgorithm->algorithm);
        ok = (h == NID_sha256 || h == NID_sha384 || h == NID_sha512) && mgf_md &&
             OBJ_obj2nid(mgf_md->algorithm) == h;
    }
    X509_ALGOR_free(mgf_md);
    RSA_PSS_PARAMS_free(p);
    ERR_clear_error();
    return ok;
}

/* NULL if the certificate's own signature algorithm and its key are among
 * those C2PA allows, else why not. */
static const char *check_algs(X509 *x)
{
    switch (X509_get_signature_nid(x)) {
    case NID_sha256WithRSAEncryption:
    case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
    case NID_rsassaPss:
    case NID_ecdsa_with_SHA256:
    case NID_ecdsa_with_SHA384:
    case NID_ecdsa_with_SHA512:
    case NID_ED25519: break;
    default: return "certificate signature algorithm not allowed";
    }
    if (X509_get_signature_nid(x) == NID_rsassaPss && !pss_params_ok(x))
        return "certificate RSASSA-PSS parameters not allowed";
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk) return "public key does not parse";
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_ED25519: return NULL;
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return EVP_PKEY_get_bits(pk) < 2048 ? "RSA key shorter than 2048 bits" : NULL;
    case EVP_PKEY_EC: {
        char g[64];
        size_t glen;
        if (!EVP_PKEY_get_group_name(pk, g, sizeof g, &glen)) return "unknown EC curve";
        int nid = OBJ_txt2nid(g);
        if (nid == NID_undef) nid = EC_curve_nist2nid(g);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1)
            return NULL;
        return "EC curve not allowed";
    }
    default: return "public key type not allowed";
    }
}

static void set_why(char *why, size_t cap, const char *msg)
{
    if (why && cap) snprintf(why, cap, "%s", msg);
}

static int asn1_unix(const ASN1_TIME *a, int64_t *out)
{
    struct tm tm;
    if (!a || !ASN1_TIME_to_tm(a, &tm)) return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int prov_cert_validity(const uint8_t *der, size_t der_len, int64_t *not_before, int64_t *not_after)
{
    if (!not_before || !not_after) return PROV_EINVAL;
    X509 *x = prov_x509_parse(der, der_len);
    if (!x) return PROV_ECERT;
    int bad = asn1_unix(X509_get0_notBefore(x), not_before) || asn1_unix(X509_get0_notAfter(x), not_after);
    X509_free(x);
    return bad ? PROV_ECERT : 0;
}

int prov_x509_check_profile(const prov_trust *t, const uint8_t *der, size_t len, int64_t at_time,
                            char *why, size_t why_cap)
{
    set_why(why, why_cap, "");
    X509 *x = prov_x509_parse(der, len);
    if (!x) {
        set_why(why, why_cap, "certificate does not parse");
        return PROV_ECERT;
    }
    /* The order follows c2pa-rs, so that a certificate both expired and
     * malformed is reported the same way: version, validity, the rest. */
    int rc = 2;
    const char *bad = NULL;
    time_t when = at_time ? (time_t)at_time : time(NULL);
    int nb = X509_cmp_time(X509_get0_notBefore(x), &when);
    int na = X509_cmp_time(X509_get0_notAfter(x), &when);
    const ASN1_BIT_STRING *iuid, *suid;
    X509_get0_uids(x, &iuid, &suid);
    uint32_t flags = X509_get_extension_flags(x);
    uint32_t ku = X509_get_key_usage(x);
    if (X509_get_version(x) != X509_VERSION_3)
        bad = "not an X.509 v3 certificate";
    else if (!nb || !na)
        bad = "malformed validity dates";
    else if (nb > 0) {
        bad = "certificate not yet valid";
        goto out;
    } else if (na < 0) {
        bad = "certificate expired";
        goto out;
    } else if (flags & EXFLAG_INVALID)
        bad = "malformed or duplicate extensions";
    else if ((bad = check_algs(x))) {
    } else if (!X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)))
        bad = "self-signed (issuer equals subject)";
    else if (iuid || suid)
        bad = "has issuer/subject unique identifiers";
    else if (flags & EXFLAG_CA)
        bad = "is a CA certificate (basicConstraints CA:TRUE)";
    else if ((bad = check_eku(t, x))) {
    } else if (!X509_get0_authority_key_id(x))
        bad = "no authorityKeyIdentifier";
    else if (!(flags & EXFLAG_KUSAGE))
        bad = "no keyUsage";
    else if (!(ku & KU_DIGITAL_SIGNATURE))
        bad = "keyUsage lacks digitalSignature";
    else if (ku & KU_KEY_CERT_SIGN)
        bad = "keyUsage keyCertSign on an end-entity certificate";
    rc = bad ? 1 : 0;
out:
    set_why(why, why_cap, bad ? bad : "");
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int prov_x509_ed25519_key(const uint8_t *der, size_t len, uint8_t pk[32])
{
    X509 *x = prov_x509_parse(der, len);
    if (!x) return PROV_ECERT;
    EVP_PKEY *k = X509_get0_pubkey(x);
    size_t n = 32;
    int rc = k && EVP_PKEY_id(k) == EVP_PKEY_ED25519 && EVP_PKEY_get_raw_public_key(k, pk, &n) == 1 && n == 32
                 ? 0
                 : PROV_EUNSUPPORTED;
    X509_free(x);
    return rc;
}
