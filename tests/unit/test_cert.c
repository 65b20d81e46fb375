/* test_cert.c - certificates, chains, trust anchors, the C2PA certificate
 * profile and COSE signature checks with a certificate's key. */
#include "testutil.h"

#include "x509.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_2025 1735689600 /* 2025-01-01, inside the fixture chain's validity */
#define T_2031 1924992000 /* 2031-01-01, after it */
#define OID_DOC_SIGNING "1.3.6.1.5.5.7.3.36"

static prov_ctx *ctx;
static prov_key *ca_key, *signer_key;
static uint8_t *root_der, *leaf_der;
static size_t root_len, leaf_len;

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx) || prov_key_generate(&ca_key) || prov_key_generate(&signer_key))
        return -1;
    uint8_t pk[32];
    prov_key_public(signer_key, pk);
    if (prov_cert_make_root(ctx, ca_key, "CN=Test Root CA,O=Newsroom", 365, &root_der,
                            &root_len))
        return -1;
    return prov_cert_make_leaf(ctx, ca_key, root_der, root_len, pk, "CN=Signer,O=Newsroom", 30,
                               &leaf_der, &leaf_len);
}

static int teardown(void **state)
{
    (void)state;
    prov_free(root_der);
    prov_free(leaf_der);
    prov_key_free(ca_key);
    prov_key_free(signer_key);
    prov_ctx_free(ctx);
    return 0;
}

static X509 *parse(const uint8_t *der, size_t len)
{
    X509 *x = prov_x509_parse(der, len);
    assert_non_null(x);
    return x;
}

static int has_ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    assert_true(i >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int eku_has(X509 *x, const char *oid)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    int found = 0;
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
        char buf[64];
        OBJ_obj2txt(buf, sizeof buf, sk_ASN1_OBJECT_value(eku, i), 1);
        found |= !strcmp(buf, oid);
    }
    EXTENDED_KEY_USAGE_free(eku);
    return found;
}

static void test_root(void **state)
{
    (void)state;
    X509 *r = parse(root_der, root_len);
    assert_int_equal(X509_get_version(r), X509_VERSION_3);
    assert_int_equal(X509_check_issued(r, r), X509_V_OK); /* self-signed */
    assert_int_equal(X509_verify(r, X509_get0_pubkey(r)), 1);
    assert_int_equal(X509_check_ca(r), 1);
    assert_true(has_ext_critical(r, NID_basic_constraints));
    assert_true(has_ext_critical(r, NID_key_usage));
    assert_int_equal(X509_get_key_usage(r), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(r));
    assert_int_equal(X509_get_signature_nid(r), NID_ED25519);

    const ASN1_INTEGER *sn = X509_get0_serialNumber(r);
    BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
    assert_false(BN_is_negative(bn));
    assert_int_equal(BN_num_bytes(bn), 16);
    BN_free(bn);

    time_t now = time(NULL), later = now + 364 * 86400, after = now + 366 * 86400;
    assert_int_equal(X509_cmp_time(X509_get0_notBefore(r), &now), -1);
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(r), &later), 1);
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(r), &after), -1);

    /* The key in the root is the CA key. */
    uint8_t pk[32], raw[32];
    size_t rl = sizeof raw;
    prov_key_public(ca_key, pk);
    assert_int_equal(EVP_PKEY_get_raw_public_key(X509_get0_pubkey(r), raw, &rl), 1);
    assert_memory_equal(pk, raw, 32);
    X509_free(r);
}

static void test_leaf(void **state)
{
    (void)state;
    X509 *r = parse(root_der, root_len), *l = parse(leaf_der, leaf_len);
    assert_int_equal(X509_get_version(l), X509_VERSION_3);
    assert_int_equal(X509_check_issued(r, l), X509_V_OK);
    assert_int_not_equal(X509_check_issued(l, l), X509_V_OK); /* not self-signed */
    assert_int_equal(X509_verify(l, X509_get0_pubkey(r)), 1);
    assert_int_equal(X509_check_ca(l), 0);
    assert_true(has_ext_critical(l, NID_basic_constraints));
    assert_true(has_ext_critical(l, NID_key_usage));
    assert_false(has_ext_critical(l, NID_ext_key_usage));
    assert_int_equal(X509_get_key_usage(l), KU_DIGITAL_SIGNATURE);
    assert_true(eku_has(l, OID_DOC_SIGNING));
    assert_true(eku_has(l, "1.3.6.1.5.5.7.3.4"));
    assert_false(eku_has(l, "2.5.29.37.0"));
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(l);
    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(r)), 0);
    assert_non_null(X509_get0_subject_key_id(l));
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(l), X509_get_subject_name(r)), 0);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(l), X509_get0_serialNumber(r)),
                         0);

    uint8_t pk[32], raw[32];
    size_t rl = sizeof raw;
    prov_key_public(signer_key, pk);
    assert_int_equal(EVP_PKEY_get_raw_public_key(X509_get0_pubkey(l), raw, &rl), 1);
    assert_memory_equal(pk, raw, 32);
    X509_free(r);
    X509_free(l);

    char cn[64], org[64], issuer[64];
    assert_int_equal(prov_x509_subject_summary(leaf_der, leaf_len, cn, sizeof cn, org,
                                               sizeof org, issuer, sizeof issuer),
                     0);
    assert_string_equal(cn, "Signer");
    assert_string_equal(org, "Newsroom");
    assert_string_equal(issuer, "Test Root CA");
}

static void test_subjects(void **state)
{
    (void)state;
    uint8_t *der;
    size_t len;
    /* RFC 4514 order: most specific first, so CN ends up last. */
    assert_int_equal(prov_cert_make_root(ctx, ca_key,
                                         "CN=Alice\\, Jr.,OU=Photo desk ,O=News\\2c Inc,C=US",
                                         10, &der, &len),
                     0);
    X509 *x = parse(der, len);
    const X509_NAME *n = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_entry_count(n), 4);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
                     NID_countryName);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 3))),
                     NID_commonName);
    char cn[64], org[64], ou[64];
    assert_int_equal(
        prov_x509_subject_summary(der, len, cn, sizeof cn, org, sizeof org, NULL, 0), 0);
    assert_string_equal(cn, "Alice, Jr.");
    assert_string_equal(org, "News, Inc");
    X509_NAME_get_text_by_NID(n, NID_organizationalUnitName, ou, sizeof ou);
    assert_string_equal(ou, "Photo desk");
    X509_free(x);
    prov_free(der);

    /* A plain name is the CN; truncation keeps whole UTF-8 characters. */
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "R\xc3\xa9seau Root", 10, &der, &len), 0);
    char small[3];
    assert_int_equal(
        prov_x509_subject_summary(der, len, cn, sizeof cn, small, sizeof small, NULL, 0), 0);
    assert_string_equal(cn, "R\xc3\xa9seau Root");
    assert_string_equal(small, "");
    assert_int_equal(prov_x509_subject_summary(der, len, small, sizeof small, NULL, 0, NULL, 0),
                     0);
    assert_string_equal(small, "R"); /* not "R\xc3" */
    prov_free(der);

    char longcn[100];
    memset(longcn, 'x', 99);
    longcn[99] = 0;
    assert_int_equal(prov_cert_make_root(ctx, ca_key, longcn, 10, &der, &len), PROV_EINVAL);
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "CN=x,C=USA", 10, &der, &len),
                     PROV_EINVAL);
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "CN=x,BOGUS=y", 10, &der, &len),
                     PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "BOGUS"));
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "CN=,O=y", 10, &der, &len), PROV_EINVAL);
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "=x", 10, &der, &len), PROV_EINVAL);
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "", 10, &der, &len), PROV_EINVAL);
    assert_int_equal(prov_cert_make_root(ctx, ca_key, "ok", 0, &der, &len), PROV_EINVAL);
    assert_null(der);
}

static void test_leaf_errors(void **state)
{
    (void)state;
    uint8_t pk[32], *der;
    size_t len;
    prov_key_public(signer_key, pk);
    /* Signed with a key that is not the CA's. */
    assert_int_equal(
        prov_cert_make_leaf(ctx, signer_key, root_der, root_len, pk, "x", 10, &der, &len),
        PROV_ECERT);
    /* Same subject as the CA: it would look self-signed. */
    assert_int_equal(prov_cert_make_leaf(ctx, ca_key, root_der, root_len, pk,
                                         "CN=Test Root CA,O=Newsroom", 10, &der, &len),
                     PROV_EINVAL);
    uint8_t junk[10] = {0x30, 3, 1, 2, 3};
    assert_int_equal(
        prov_cert_make_leaf(ctx, ca_key, junk, sizeof junk, pk, "x", 10, &der, &len),
        PROV_ECERT);
}

static void test_profile(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(prov_x509_check_profile(NULL, leaf_der, leaf_len, 0, why, sizeof why), 0);
    assert_string_equal(why, "");
    /* The root as a signer: self-signed (and a CA). */
    assert_int_equal(prov_x509_check_profile(NULL, root_der, root_len, 0, why, sizeof why), 1);
    assert_non_null(strstr(why, "self-signed"));
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(
        prov_x509_check_profile(NULL, leaf_der, leaf_len, now + 31 * 86400, why, sizeof why), 2);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(
        prov_x509_check_profile(NULL, leaf_der, leaf_len, now - 2 * 86400, why, sizeof why), 2);
    assert_non_null(strstr(why, "not yet valid"));
    uint8_t junk[4] = {1, 2, 3, 4};
    assert_true(prov_x509_check_profile(NULL, junk, sizeof junk, 0, why, sizeof why) < 0);
    /* The fixture signer (EKU emailProtection, critical) passes too. */
    prov_chain *c;
    assert_int_equal(prov_chain_load_pem(ctx, tu_fixture("c2pa/certs/ed25519.pub"), &c), 0);
    size_t l;
    const uint8_t *d = prov_chain_der(c, 0, &l);
    assert_int_equal(prov_x509_check_profile(NULL, d, l, T_2025, why, sizeof why), 0);
    assert_int_equal(prov_x509_check_profile(NULL, d, l, T_2031, why, sizeof why), 2);
    /* The intermediate is a CA. */
    d = prov_chain_der(c, 1, &l);
    assert_int_equal(prov_x509_check_profile(NULL, d, l, T_2025, why, sizeof why), 1);
    prov_chain_free(c);
}

#define BC "basicConstraints=critical,CA:FALSE"
#define KU "keyUsage=critical,digitalSignature"
#define EKU "extendedKeyUsage=1.3.6.1.5.5.7.3.36"
#define SKI "subjectKeyIdentifier=hash"
#define AKI "authorityKeyIdentifier=keyid:always"

/* A certificate "CN=leaf" issued (in name) by "CN=issuer", signed by its
 * own key k: enough to exercise every rule of the profile.  exts: NULL-
 * terminated "name=value" lines as in openssl.cnf.  md: the digest;
 * pss: sign with RSASSA-PSS; v1: an X.509 v1 certificate, no extensions. */
static uint8_t *custom_cert(EVP_PKEY *k, const EVP_MD *md, int pss, int v1,
                            const char *const *exts, size_t *len)
{
    X509 *x = X509_new();
    X509_set_version(x, v1 ? X509_VERSION_1 : X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"leaf", -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"issuer", -1, -1, 0);
    X509_set_pubkey(x, k);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    for (int i = 0; exts && exts[i]; i++) {
        if (!strcmp(exts[i], AKI)) { /* any key id will do: nothing checks it here */
            AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
            akid->keyid = ASN1_OCTET_STRING_new();
            ASN1_OCTET_STRING_set(akid->keyid, (const unsigned char *)"01234567890123456789",
                                  20);
            X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT);
            AUTHORITY_KEYID_free(akid);
            continue;
        }
        char name[64];
        const char *eq = strchr(exts[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - exts[i]), exts[i]);
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, name, eq + 1);
        if (!e) fail_msg("bad extension %s", exts[i]);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx;
    assert_int_equal(EVP_DigestSignInit(m, &pctx, md, NULL, k), 1);
    if (pss) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
    }
    assert_true(X509_sign_ctx(x, m) > 0);
    EVP_MD_CTX_free(m);
    int n = i2d_X509(x, NULL);
    uint8_t *der = malloc((size_t)n), *p = der;
    i2d_X509(x, &p);
    X509_free(x);
    *len = (size_t)n;
    return der;
}

static void expect_profile(EVP_PKEY *k, const EVP_MD *md, int pss, int v1,
                           const char *const *exts, int want, const char *why_part)
{
    size_t len;
    char why[128];
    uint8_t *der = custom_cert(k, md, pss, v1, exts, &len);
    int rc = prov_x509_check_profile(NULL, der, len, 0, why, sizeof why);
    if (rc != want || (why_part && !strstr(why, why_part)))
        fail_msg("profile: got %d (%s), want %d (%s); first ext %s", rc, why, want,
                 why_part ? why_part : "", exts && exts[0] ? exts[0] : "-");
    free(der);
}

static void test_profile_rules(void **state)
{
    (void)state;
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(ed);
    const char *good[] = {BC, KU, EKU, SKI, AKI, NULL};
    expect_profile(ed, NULL, 0, 0, good, 0, NULL);
    struct {
        const char *exts[6];
        const char *why;
    } bad[] = {
        {{BC, KU, EKU, SKI, NULL}, "authorityKeyIdentifier"},
        {{BC, KU, "extendedKeyUsage=anyExtendedKeyUsage", SKI, AKI}, "anyExtendedKeyUsage"},
        {{BC, KU, "extendedKeyUsage=timeStamping", SKI, AKI}, "C2PA signing purpose"},
        {{BC, KU, "extendedKeyUsage=emailProtection,timeStamping", SKI, AKI}, "mixed"},
        {{BC, KU, "extendedKeyUsage=serverAuth", SKI, AKI}, "C2PA signing purpose"},
        {{BC, KU, SKI, AKI}, "no extendedKeyUsage"},
        {{"basicConstraints=critical,CA:TRUE", KU, EKU, SKI, AKI}, "CA"},
        {{BC, EKU, SKI, AKI}, "no keyUsage"},
        {{BC, "keyUsage=nonRepudiation", EKU, SKI, AKI}, "digitalSignature"},
        {{BC, "keyUsage=digitalSignature,keyCertSign", EKU, SKI, AKI}, "keyCertSign"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_profile(ed, NULL, 0, 0, bad[i].exts, 1, bad[i].why);
    const char *other_ekus[][6] = {
        {BC, KU, "extendedKeyUsage=1.3.6.1.4.1.62558.2.1", SKI, AKI},
        {BC, KU, "extendedKeyUsage=1.3.6.1.4.1.311.76.59.1.9", SKI, AKI},
        {BC, "keyUsage=digitalSignature",
         "extendedKeyUsage=critical,emailProtection,serverAuth", AKI},
    };
    for (size_t i = 0; i < 3; i++) expect_profile(ed, NULL, 0, 0, other_ekus[i], 0, NULL);
    expect_profile(ed, NULL, 0, 1, NULL, 1, "v3");
    EVP_PKEY_free(ed);

    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);
    expect_profile(rsa, EVP_sha256(), 1, 0, good, 0, NULL);
    expect_profile(rsa, EVP_sha384(), 0, 0, good, 0, NULL);
    expect_profile(rsa, EVP_sha1(), 1, 0, good, 1, "PSS parameters");
    expect_profile(rsa, EVP_sha1(), 0, 0, good, 1, "signature algorithm");
    EVP_PKEY_free(rsa);
    rsa = EVP_RSA_gen(1024);
    expect_profile(rsa, EVP_sha256(), 0, 0, good, 1, "2048");
    EVP_PKEY_free(rsa);

    EVP_PKEY *ec = EVP_EC_gen("P-384");
    expect_profile(ec, EVP_sha384(), 0, 0, good, 0, NULL);
    EVP_PKEY_free(ec);
    ec = EVP_EC_gen("secp256k1");
    expect_profile(ec, EVP_sha256(), 0, 0, good, 1, "curve");
    EVP_PKEY_free(ec);
}

static prov_trust *trust_of(const uint8_t *der, size_t len)
{
    char *pem;
    prov_trust *t;
    assert_int_equal(prov_cert_to_pem(der, len, &pem), 0);
    assert_int_equal(prov_trust_new(&t), 0);
    assert_int_equal(prov_trust_add_pem(ctx, t, pem, strlen(pem)), 0);
    prov_free(pem);
    return t;
}

static void test_chain_trusted(void **state)
{
    (void)state;
    const uint8_t *ders[1] = {leaf_der};
    size_t lens[1] = {leaf_len};
    char why[160];
    prov_trust *t = trust_of(root_der, root_len);
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, 0, why, sizeof why), 0);
    /* After the leaf expired. */
    int64_t later = (int64_t)time(NULL) + 40 * 86400;
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, later, why, sizeof why), 1);
    assert_non_null(strstr(why, "expired"));
    prov_trust_free(t);

    /* Another root with the very same name but another key. */
    prov_key *k2;
    uint8_t *other;
    size_t olen;
    assert_int_equal(prov_key_generate(&k2), 0);
    assert_int_equal(
        prov_cert_make_root(ctx, k2, "CN=Test Root CA,O=Newsroom", 365, &other, &olen), 0);
    t = trust_of(other, olen);
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, 0, why, sizeof why), 1);
    assert_true(strlen(why) > 0);
    /* Both anchors: the right one is found. */
    char *pem;
    assert_int_equal(prov_cert_to_pem(root_der, root_len, &pem), 0);
    assert_int_equal(prov_trust_add_pem(ctx, t, pem, strlen(pem)), 0);
    assert_int_equal(sk_X509_num(prov_trust_anchors(t)), 2);
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, 0, why, sizeof why), 0);
    prov_free(pem);
    prov_trust_free(t);
    prov_free(other);
    prov_key_free(k2);

    assert_int_equal(prov_x509_chain_trusted(NULL, ders, lens, 1, 0, why, sizeof why), 1);
    assert_int_equal(prov_trust_new(&t), 0);
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, 0, why, sizeof why), 1);
    assert_string_equal(why, "no trust anchors");
    prov_trust_free(t);
}

static void test_fixture_chain(void **state)
{
    (void)state;
    prov_chain *c;
    prov_trust *t;
    char why[160];
    assert_int_equal(prov_chain_load_pem(ctx, tu_fixture("c2pa/certs/ed25519.pub"), &c), 0);
    assert_int_equal(prov_chain_count(c), 2);
    const uint8_t *ders[2];
    size_t lens[2];
    for (int i = 0; i < 2; i++) ders[i] = prov_chain_der(c, (size_t)i, &lens[i]);
    assert_null(prov_chain_der(c, 2, NULL));

    char cn[64], org[64], issuer[64];
    assert_int_equal(prov_x509_subject_summary(ders[0], lens[0], cn, sizeof cn, org, sizeof org,
                                               issuer, sizeof issuer),
                     0);
    assert_string_equal(cn, "C2PA Signer");
    assert_string_equal(org, "C2PA Test Signing Cert");
    assert_string_equal(issuer, "Intermediate CA");

    assert_int_equal(prov_trust_new(&t), 0);
    assert_int_equal(prov_trust_add_pem_file(
                         ctx, t, tu_fixture("c2pa/certs/trust/test_cert_root_bundle.pem")),
                     0);
    assert_int_equal(sk_X509_num(prov_trust_anchors(t)), 8);
    /* Each root (Ed25519, EC, RSA-PSS, RSA) gets past the algorithm rules
     * and fails only as self-signed. */
    for (int i = 0; i < 8; i++) {
        X509 *a = sk_X509_value(prov_trust_anchors(t), i);
        uint8_t *d = NULL;
        int dl = i2d_X509(a, &d);
        assert_int_equal(prov_x509_check_profile(NULL, d, (size_t)dl, T_2025, why, sizeof why), 1);
        assert_non_null(strstr(why, "self-signed"));
        OPENSSL_free(d);
    }
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 2, T_2025, why, sizeof why), 0);
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 2, T_2031, why, sizeof why), 1);
    /* Without the intermediate there is no path. */
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, T_2025, why, sizeof why), 1);
    /* Our own root does not vouch for it. */
    prov_trust *ours = trust_of(root_der, root_len);
    assert_int_equal(prov_x509_chain_trusted(ours, ders, lens, 2, T_2025, why, sizeof why), 1);
    prov_trust_free(ours);
    prov_trust_free(t);

    /* An intermediate as the anchor is enough. */
    t = trust_of(ders[1], lens[1]);
    assert_int_equal(prov_x509_chain_trusted(t, ders, lens, 1, T_2025, why, sizeof why), 0);
    prov_trust_free(t);

    /* Sign with the fixture's private key via OpenSSL; verify via the cert. */
    FILE *f = fopen(tu_fixture("c2pa/certs/ed25519.pem"), "r");
    assert_non_null(f);
    EVP_PKEY *sk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(sk);
    const uint8_t msg[] = "a COSE Sig_structure";
    uint8_t sig[64];
    size_t slen = sizeof sig;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(m, NULL, NULL, NULL, sk), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &slen, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(sk);
    assert_int_equal(
        prov_x509_pubkey_verify(ders[0], lens[0], PROV_ALG_ED25519, msg, sizeof msg, sig, slen),
        0);
    assert_int_equal(prov_x509_pubkey_verify(ders[0], lens[0], PROV_ALG_ED25519, msg,
                                             sizeof msg - 1, sig, slen),
                     1);
    sig[10] ^= 1;
    assert_int_equal(
        prov_x509_pubkey_verify(ders[0], lens[0], PROV_ALG_ED25519, msg, sizeof msg, sig, slen),
        1);
    assert_int_equal(
        prov_x509_pubkey_verify(ders[0], lens[0], PROV_ALG_ED25519, msg, sizeof msg, sig, 63),
        1);
    assert_int_equal(
        prov_x509_pubkey_verify(ders[0], lens[0], PROV_ALG_ES256, msg, sizeof msg, sig, slen),
        PROV_EUNSUPPORTED);
    assert_int_equal(
        prov_x509_pubkey_verify(ders[0], lens[0], 12345, msg, sizeof msg, sig, slen),
        PROV_EUNSUPPORTED);
    assert_int_equal(
        prov_x509_pubkey_verify(sig, sizeof sig, PROV_ALG_ED25519, msg, sizeof msg, sig, slen),
        PROV_ECERT);
    prov_chain_free(c);
}

/* Our own key through the signer and the leaf certificate. */
static void test_signer_via_cert(void **state)
{
    (void)state;
    prov_signer s;
    prov_signer_from_key(&s, signer_key);
    const uint8_t msg[] = "claim";
    uint8_t sig[64];
    assert_int_equal(s.sign(s.user, msg, sizeof msg, sig, s.sig_len), 0);
    assert_int_equal(
        prov_x509_pubkey_verify(leaf_der, leaf_len, s.alg, msg, sizeof msg, sig, 64), 0);
    assert_int_equal(
        prov_x509_pubkey_verify(root_der, root_len, s.alg, msg, sizeof msg, sig, 64), 1);
}

/* A self-signed certificate for any key (enough for signature checks). */
static uint8_t *self_signed(EVP_PKEY *k, size_t *len)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    int n = i2d_X509(x, NULL);
    uint8_t *der = malloc((size_t)n), *p = der;
    i2d_X509(x, &p);
    X509_free(x);
    *len = (size_t)n;
    return der;
}

static size_t sign_evp(EVP_PKEY *k, const EVP_MD *md, int pss, const uint8_t *msg,
                       size_t msg_len, uint8_t *sig, size_t cap)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx;
    assert_int_equal(EVP_DigestSignInit(m, &pctx, md, NULL, k), 1);
    if (pss) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0);
    }
    size_t n = cap;
    assert_int_equal(EVP_DigestSign(m, sig, &n, msg, msg_len), 1);
    EVP_MD_CTX_free(m);
    return n;
}

static void check_ecdsa(const char *curve, int alg, int wrong_alg, const EVP_MD *md,
                        size_t half)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    size_t len;
    uint8_t *der = self_signed(k, &len);
    const uint8_t msg[] = "ecdsa message";
    uint8_t dsig[160], raw[132];
    size_t dlen = sign_evp(k, md, 0, msg, sizeof msg, dsig, sizeof dsig);
    /* DER ECDSA-Sig-Value -> COSE r||s, fixed width. */
    const unsigned char *p = dsig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    assert_non_null(es);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half), (int)half);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half), (int)half);
    ECDSA_SIG_free(es);

    assert_int_equal(prov_x509_pubkey_verify(der, len, alg, msg, sizeof msg, raw, 2 * half), 0);
    raw[5] ^= 0x10;
    assert_int_equal(prov_x509_pubkey_verify(der, len, alg, msg, sizeof msg, raw, 2 * half), 1);
    raw[5] ^= 0x10;
    /* DER instead of r||s, or a short signature, is not valid COSE. */
    assert_int_equal(prov_x509_pubkey_verify(der, len, alg, msg, sizeof msg, dsig, dlen), 1);
    assert_int_equal(prov_x509_pubkey_verify(der, len, alg, msg, sizeof msg, raw, 2 * half - 1),
                     1);
    /* The curve must be the algorithm's; EdDSA and PSS do not fit. */
    assert_int_equal(
        prov_x509_pubkey_verify(der, len, wrong_alg, msg, sizeof msg, raw, 2 * half),
        PROV_EUNSUPPORTED);
    assert_int_equal(
        prov_x509_pubkey_verify(der, len, PROV_ALG_ED25519, msg, sizeof msg, raw, 64),
        PROV_EUNSUPPORTED);
    assert_int_equal(
        prov_x509_pubkey_verify(der, len, PROV_ALG_PS256, msg, sizeof msg, raw, 2 * half),
        PROV_EUNSUPPORTED);
    free(der);
    EVP_PKEY_free(k);
}

static void test_ecdsa(void **state)
{
    (void)state;
    check_ecdsa("P-256", PROV_ALG_ES256, PROV_ALG_ES384, EVP_sha256(), 32);
    check_ecdsa("P-384", PROV_ALG_ES384, PROV_ALG_ES256, EVP_sha384(), 48);
    check_ecdsa("P-521", PROV_ALG_ES512, PROV_ALG_ES256, EVP_sha512(), 66);
}

static void test_rsa_pss(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    size_t len;
    uint8_t *der = self_signed(k, &len);
    const uint8_t msg[] = "pss message";
    uint8_t sig[256];
    size_t n = sign_evp(k, EVP_sha256(), 1, msg, sizeof msg, sig, sizeof sig);
    assert_int_equal(n, 256);
    assert_int_equal(prov_x509_pubkey_verify(der, len, PROV_ALG_PS256, msg, sizeof msg, sig, n),
                     0);
    assert_int_equal(prov_x509_pubkey_verify(der, len, PROV_ALG_PS384, msg, sizeof msg, sig, n),
                     1);
    sig[100] ^= 0x80;
    assert_int_equal(prov_x509_pubkey_verify(der, len, PROV_ALG_PS256, msg, sizeof msg, sig, n),
                     1);
    sig[100] ^= 0x80;
    assert_int_equal(
        prov_x509_pubkey_verify(der, len, PROV_ALG_ES256, msg, sizeof msg, sig, 64),
        PROV_EUNSUPPORTED);
    assert_int_equal(
        prov_x509_pubkey_verify(der, len, PROV_ALG_ED25519, msg, sizeof msg, sig, 64),
        PROV_EUNSUPPORTED);
    /* PKCS#1 v1.5 is not PSS. */
    n = sign_evp(k, EVP_sha256(), 0, msg, sizeof msg, sig, sizeof sig);
    assert_int_equal(prov_x509_pubkey_verify(der, len, PROV_ALG_PS256, msg, sizeof msg, sig, n),
                     1);
    /* A self-signed RSA certificate fails the profile. */
    char why[100];
    assert_int_equal(prov_x509_check_profile(NULL, der, len, 0, why, sizeof why), 1);
    free(der);
    EVP_PKEY_free(k);
}

static void test_pem_chains(void **state)
{
    (void)state;
    char *a, *b;
    assert_int_equal(prov_cert_to_pem(leaf_der, leaf_len, &a), 0);
    assert_int_equal(prov_cert_to_pem(root_der, root_len, &b), 0);
    assert_true(!strncmp(a, "-----BEGIN CERTIFICATE-----\n", 28));
    const char *keyblk = "-----BEGIN PRIVATE KEY-----\n"
                         "MC4CAQAwBQYDK2VwBCIEIL2+9INLPNSLH3STzKQJ3Wen9R6uPbIYOIKA2574YQ4O\n"
                         "-----END PRIVATE KEY-----\n";
    size_t cap = strlen(a) + strlen(b) + strlen(keyblk) + 64;
    char *both = malloc(cap);
    /* Other blocks and text between blocks are skipped. */
    snprintf(both, cap, "leaf:\n%s%sroot:\n%s", a, keyblk, b);
    prov_chain *c;
    assert_int_equal(prov_chain_from_pem(ctx, both, strlen(both), &c), 0);
    assert_int_equal(prov_chain_count(c), 2);
    size_t l;
    const uint8_t *d = prov_chain_der(c, 0, &l);
    assert_int_equal(l, leaf_len);
    assert_memory_equal(d, leaf_der, l);
    d = prov_chain_der(c, 1, &l);
    assert_int_equal(l, root_len);
    assert_memory_equal(d, root_der, l);
    prov_chain_free(c);

    const char *path = tu_path("chain.pem");
    tu_write(path, both, strlen(both));
    assert_int_equal(prov_chain_load_pem(ctx, path, &c), 0);
    assert_int_equal(prov_chain_count(c), 2);
    prov_chain_free(c);

    /* More than PROV_MAX_CHAIN certificates. */
    size_t alen = strlen(a);
    char *many = malloc(alen * (PROV_MAX_CHAIN + 1) + 1);
    for (int i = 0; i <= PROV_MAX_CHAIN; i++) memcpy(many + alen * (size_t)i, a, alen + 1);
    c = (prov_chain *)1;
    assert_int_equal(prov_chain_from_pem(ctx, many, strlen(many), &c), PROV_ELIMIT);
    assert_null(c);
    /* ...but a trust bundle may hold that many. */
    prov_trust *t;
    assert_int_equal(prov_trust_new(&t), 0);
    assert_int_equal(prov_trust_add_pem(ctx, t, many, strlen(many)), 0);
    assert_int_equal(sk_X509_num(prov_trust_anchors(t)), PROV_MAX_CHAIN + 1);
    free(many);

    /* No certificate; a damaged one; an unreadable block. */
    assert_int_equal(prov_chain_from_pem(ctx, keyblk, strlen(keyblk), &c), PROV_EFORMAT);
    assert_int_equal(prov_trust_add_pem(ctx, t, keyblk, strlen(keyblk)), PROV_EFORMAT);
    assert_int_equal(prov_chain_from_pem(ctx, "", 0, &c), PROV_EFORMAT);
    char *dam = strdup(a);
    dam[100] = dam[100] == 'A' ? 'B' : 'A'; /* still base64, no longer the certificate */
    int rc = prov_chain_from_pem(ctx, dam, strlen(dam), &c);
    assert_true(rc == PROV_EFORMAT || rc == 0);
    if (rc == 0) prov_chain_free(c); /* a bit flip in a name still parses */
    strcpy(dam, a);
    dam[60] = '!';
    assert_int_equal(prov_chain_from_pem(ctx, dam, strlen(dam), &c), PROV_EFORMAT);
    /* A failed add leaves the anchors as they were. */
    snprintf(both, cap, "%s%s", b, dam);
    assert_int_equal(prov_trust_add_pem(ctx, t, both, strlen(both)), PROV_EFORMAT);
    assert_int_equal(sk_X509_num(prov_trust_anchors(t)), PROV_MAX_CHAIN + 1);
    free(dam);

    assert_int_equal(prov_trust_add_pem_file(ctx, t, tu_path("absent.pem")), PROV_ENOTFOUND);
    assert_non_null(strstr(prov_errmsg(ctx), "absent.pem"));
    tu_write(tu_path("key.pem"), keyblk, strlen(keyblk));
    assert_int_equal(prov_trust_add_pem_file(ctx, t, tu_path("key.pem")), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "key.pem"));
    assert_int_equal(prov_chain_load_pem(ctx, tu_path("key.pem"), &c), PROV_EFORMAT);
    prov_trust_free(t);

    uint8_t junk[3] = {1, 2, 3};
    char *pem;
    assert_int_equal(prov_cert_to_pem(junk, 3, &pem), PROV_ECERT);
    free(both);
    prov_free(a);
    prov_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_leaf),
        cmocka_unit_test(test_subjects),
        cmocka_unit_test(test_leaf_errors),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_profile_rules),
        cmocka_unit_test(test_chain_trusted),
        cmocka_unit_test(test_fixture_chain),
        cmocka_unit_test(test_signer_via_cert),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_rsa_pss),
        cmocka_unit_test(test_pem_chains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
