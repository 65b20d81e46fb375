/* test_pkcs11.c - signing with keys that stay on a PKCS#11 token: a real
 * SoftHSM2 token (tests/pkcs11/make_token.sh) holding an ECDSA P-256 key
 * and an Ed25519 key made on it by pkcs11-tool; the library opens them by
 * RFC 7512 URI through p11-kit.  The prov command's use of them (certify,
 * sign, batches) is tested at the end. */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under ASan: full stacks at malloc, so the SoftHSM leak in
 * tests/lsan.supp can be matched by its caller (OpenSSL has no frame
 * pointers); the prov commands run here get the same through the
 * environment.  Harmless without a sanitizer. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

static prov_ctx *ctx;
static tu_identity id; /* the issuer (its root is the trust anchor) */
static char module[1024];
static uint8_t *jpeg;
static size_t jpeg_len;

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx) || tu_identity_make(ctx, &id, "CN=Token Root", "CN=unused")) return -1;
    jpeg = tu_read("samples/teapot.jpg", &jpeg_len);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash tests/pkcs11/make_token.sh %s", tu_path("hsm"));
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "SOFTHSM2_CONF=", 14)) setenv("SOFTHSM2_CONF", line + 14, 1);
        if (!strncmp(line, "MODULE=", 7)) snprintf(module, sizeof module, "%s", line + 7);
    }
    if (pclose(p) != 0 || !*module) return -1;
    unsetenv("PROV_PKCS11_MODULE");
    setenv("ASAN_OPTIONS", "fast_unwind_on_malloc=0", 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(jpeg);
    tu_identity_free(&id);
    prov_ctx_free(ctx);
    return 0;
}

/* A URI for object on the test token, with query (may be ""). */
static const char *uri(const char *path_attrs, const char *query)
{
    static char buf[4][2048];
    static int i;
    char *b = buf[i++ & 3];
    snprintf(b, sizeof buf[0], "pkcs11:token=prov-test;%s?module-path=%s%s%s", path_attrs, module, *query ? "&" : "",
             query);
    return b;
}

/* A chain for the token key k, issued by the test root. */
static prov_chain *chain_for(prov_pkcs11_key *k)
{
    uint8_t *spki, *leaf;
    size_t sl, ll, rl;
    char *pem;
    prov_chain *c = NULL;
    const uint8_t *root = NULL;
    assert_int_equal(prov_pkcs11_public_der(k, &spki, &sl), 0);
    uint8_t *rder;
    assert_int_equal(prov_cert_make_root(ctx, id.ca_key, "CN=Token Root", 30, &rder, &rl), 0);
    root = rder;
    assert_int_equal(prov_cert_make_leaf_spki(ctx, id.ca_key, root, rl, spki, sl, "CN=Token Signer", 30, &leaf, &ll), 0);
    assert_int_equal(prov_cert_to_pem(leaf, ll, &pem), 0);
    assert_int_equal(prov_chain_from_pem(ctx, pem, strlen(pem), &c), 0);
    prov_free(pem);
    prov_free(leaf);
    prov_free(rder);
    prov_free(spki);
    return c;
}

/* Sign the JPEG with s and chain; the state a verifier trusting the root
 * reports (and the algorithm it read). */
static int sign_and_verify_ctx(prov_ctx *cx, const prov_signer *s, const prov_chain *c)
{
    prov_stream si, so, vs;
    prov_outbuf ob = {0};
    prov_stream_mem(&si, jpeg, jpeg_len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(cx, NULL, s, c, &si, &so);
    if (rc) {
        free(ob.data);
        return rc;
    }
    prov_report *r = NULL;
    prov_verify_opts vo = {.trust = id.trust};
    prov_stream_mem(&vs, ob.data, ob.len);
    prov_verify(cx, &vo, &vs, &r);
    assert_non_null(r);
    int st = prov_report_state(r);
    assert_true(prov_report_has_code(r, "claimSignature.validated"));
    prov_report_free(r);
    free(ob.data);
    return st;
}

static int sign_and_verify(const prov_signer *s, const prov_chain *c) { return sign_and_verify_ctx(ctx, s, c); }

static void sign_with(const char *object, int alg, const char *query)
{
    prov_pkcs11_key *k;
    assert_int_equal(prov_pkcs11_open(ctx, uri(object, query), *query ? NULL : "1234", &k), 0);
    assert_int_equal(prov_pkcs11_alg(k), alg);
    prov_chain *c = chain_for(k);
    prov_signer s;
    prov_signer_from_pkcs11(&s, k);
    assert_int_equal(s.alg, alg);
    assert_int_equal(s.sig_len, 64);
    assert_int_equal(sign_and_verify(&s, c), PROV_STATE_TRUSTED);
    prov_chain_free(c);
    prov_pkcs11_close(k);
}

static void test_es256_token(void **state)
{
    (void)state;
    sign_with("object=cam-p256", PROV_ALG_ES256, "");
    sign_with("id=%01", PROV_ALG_ES256, ""); /* by CKA_ID */
}

static void test_ed25519_token(void **state)
{
    (void)state;
    sign_with("object=cam-ed", PROV_ALG_ED25519, "");
    sign_with("object=cam-ed;type=private", PROV_ALG_ED25519, "pin-value=1234");
}

static void test_pin_source(void **state)
{
    (void)state;
    const char *pf = tu_path("pin.txt");
    tu_write(pf, "1234\n", 5);
    char q[600];
    snprintf(q, sizeof q, "pin-source=file:%s", pf);
    sign_with("object=cam-p256", PROV_ALG_ES256, q);
    snprintf(q, sizeof q, "pin-source=%s", tu_path("no-such-pin"));
    prov_pkcs11_key *k = NULL;
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-p256", q), NULL, &k), PROV_EIO);
    assert_null(k);
}

static void test_module_from_env(void **state)
{
    (void)state;
    prov_pkcs11_key *k;
    setenv("PROV_PKCS11_MODULE", module, 1);
    assert_int_equal(prov_pkcs11_open(ctx, "pkcs11:token=prov-test;object=cam-ed", "1234", &k), 0);
    prov_pkcs11_close(k);
    setenv("PROV_PKCS11_MODULE", "/nonexistent/libnothing.so", 1);
    assert_int_equal(prov_pkcs11_open(ctx, "pkcs11:token=prov-test;object=cam-ed", "1234", &k), PROV_EIO);
    assert_non_null(strstr(prov_errmsg(ctx), "cannot load the module"));
    unsetenv("PROV_PKCS11_MODULE");
}

static void test_refusals(void **state)
{
    (void)state;
    prov_pkcs11_key *k = (prov_pkcs11_key *)1;
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-p256", ""), NULL, &k), PROV_EPASSPHRASE);
    assert_null(k);
    assert_non_null(strstr(prov_errmsg(ctx), "wants a PIN"));
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-p256", ""), "0000", &k), PROV_EPASSPHRASE);
    assert_non_null(strstr(prov_errmsg(ctx), "wrong PIN"));
    /* both keys match: the signer must be named */
    assert_int_equal(prov_pkcs11_open(ctx, uri("manufacturer=SoftHSM%20project", ""), "1234", &k), PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "2 private keys"));
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=nobody", ""), "1234", &k), PROV_ENOTFOUND);
    assert_int_equal(prov_pkcs11_open(ctx, "pkcs11:token=another;object=cam-ed", "1234", &k), PROV_ENOTFOUND);
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-ed;type=public", ""), "1234", &k), PROV_EINVAL);
    assert_int_equal(prov_pkcs11_open(ctx, "pkcs11:object=%zz", "1234", &k), PROV_EINVAL);
    assert_int_equal(prov_pkcs11_open(ctx, "https://example.com/key", "1234", &k), PROV_EINVAL);
    assert_int_equal(prov_pkcs11_open(ctx, NULL, "1234", &k), PROV_EINVAL);
    char *big = malloc(8192);
    memset(big, 'a', 8191);
    memcpy(big, "pkcs11:object=", 14);
    big[8191] = 0;
    assert_int_equal(prov_pkcs11_open(ctx, big, "1234", &k), PROV_ELIMIT);
    free(big);
    /* the right PIN still opens it: the wrong ones did not lock the token */
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-p256", ""), "1234", &k), 0);
    prov_pkcs11_close(k);
}

/* A chain for another key: the signature is checked against the chain's
 * certificate before anything is written. */
static void test_chain_for_another_key(void **state)
{
    (void)state;
    prov_pkcs11_key *a, *b;
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-ed", ""), "1234", &a), 0);
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-p256", ""), "1234", &b), 0);
    prov_chain *cb = chain_for(b);
    prov_signer s;
    prov_signer_from_pkcs11(&s, a);
    s.alg = PROV_ALG_ES256; /* a signer that claims the chain's algorithm but signs with another key */
    assert_int_equal(sign_and_verify(&s, cb), PROV_ECERT);
    assert_non_null(strstr(prov_errmsg(ctx), "chain is for another key"));
    prov_chain_free(cb);
    prov_pkcs11_close(a);
    prov_pkcs11_close(b);
}

struct job {
    const prov_signer *s;
    const prov_chain *c;
    int state;
};
static void *sign_job(void *u)
{
    struct job *j = u;
    prov_ctx *c;
    if (prov_ctx_new(&c)) return NULL;
    j->state = sign_and_verify_ctx(c, j->s, j->c);
    prov_ctx_free(c);
    return NULL;
}

/* One handle, four threads at once (prov sign -d --jobs N does this). */
static void test_threads(void **state)
{
    (void)state;
    prov_pkcs11_key *k;
    assert_int_equal(prov_pkcs11_open(ctx, uri("object=cam-p256", ""), "1234", &k), 0);
    prov_chain *c = chain_for(k);
    prov_signer s;
    prov_signer_from_pkcs11(&s, k);
    pthread_t t[4];
    struct job j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (struct job){&s, c, -1};
        assert_int_equal(pthread_create(&t[i], NULL, sign_job, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(j[i].state, PROV_STATE_TRUSTED);
    }
    prov_chain_free(c);
    prov_pkcs11_close(k);
}

static void test_leaf_spki_refusals(void **state)
{
    (void)state;
    uint8_t *rder, *der = NULL, junk[40] = {0x30, 0x26};
    size_t rl, dl;
    assert_int_equal(prov_cert_make_root(ctx, id.ca_key, "CN=R", 30, &rder, &rl), 0);
    assert_int_equal(prov_cert_make_leaf_spki(ctx, id.ca_key, rder, rl, junk, sizeof junk, "CN=x", 30, &der, &dl),
                     PROV_EFORMAT);
    assert_int_equal(prov_cert_make_leaf_spki(ctx, id.ca_key, rder, rl, NULL, 0, "CN=x", 30, &der, &dl), PROV_EINVAL);
    /* RSA and P-521 keys: not ones prov signs with */
    EVP_PKEY *keys[2] = {EVP_RSA_gen(2048), EVP_EC_gen("P-521")};
    for (int i = 0; i < 2; i++) {
        assert_non_null(keys[i]);
        uint8_t *spki = NULL;
        int n = i2d_PUBKEY(keys[i], &spki);
        assert_true(n > 0);
        assert_int_equal(prov_cert_make_leaf_spki(ctx, id.ca_key, rder, rl, spki, (size_t)n, "CN=x", 30, &der, &dl),
                         PROV_EFORMAT);
        OPENSSL_free(spki);
        EVP_PKEY_free(keys[i]);
    }
    prov_free(rder);
}

/* The command: certify the token's keys, sign one file and a batch (four
 * workers on one session), verify them trusted; the PIN never printed. */
static void test_cli(void **state)
{
    (void)state;
    char P[4096];
    const char *D = tu_path("cli");
    assert_non_null(realpath(tu_prov_bin(), P));
    assert_int_equal(tu_sh("mkdir -p %s && cp samples/teapot.jpg samples/kodim01.png %s/", D, D), 0);
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=capass %s ca init ca --subject 'Token CA' >/dev/null", D, P), 0);
    char u[2048];
    snprintf(u, sizeof u, "pkcs11:token=prov-test;object=cam-p256?module-path=%s&pin-value=1234", module);
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=capass %s certify --key '%s' --ca ca --subject 'Cam 7' -o cam.pem "
                           ">out.txt 2>&1", D, P, u), 0);
    assert_int_equal(tu_sh("grep -q 'certificate for pkcs11:token=prov-test;object=cam-p256: cam.pem' %s/out.txt", D), 0);
    assert_int_equal(tu_sh("grep -q 1234 %s/out.txt", D), 1);
    /* not replaced */
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=capass %s certify --key '%s' --ca ca --subject X -o cam.pem "
                           ">/dev/null 2>&1", D, P, u), 2);
    assert_int_equal(tu_sh("cd %s && %s sign teapot.jpg -o s.jpg --key '%s' --chain cam.pem >/dev/null && "
                           "%s verify s.jpg --trust ca/root.pem | grep -q 'signer:   Cam 7'", D, P, u, P), 0);
    assert_int_equal(tu_sh("cd %s && mkdir -p out && %s sign teapot.jpg kodim01.png -d out --jobs 4 --key '%s' "
                           "--chain cam.pem >/dev/null && %s verify out/teapot.jpg out/kodim01.png --trust "
                           "ca/root.pem | grep -c ': trusted' | grep -q 2", D, P, u, P), 0);
    /* a token key needs --chain; a PIN from the environment; a wrong one */
    char e[2048];
    snprintf(e, sizeof e, "pkcs11:token=prov-test;object=cam-ed?module-path=%s", module);
    assert_int_equal(tu_sh("cd %s && PROV_PKCS11_PIN=1234 %s sign teapot.jpg -o e.jpg --key '%s' >out.txt 2>&1", D, P, e), 2);
    assert_int_equal(tu_sh("grep -q 'needs --chain' %s/out.txt", D), 0);
    assert_int_equal(tu_sh("cd %s && PROV_PKCS11_PIN=1234 PROV_PASSPHRASE=capass %s certify --key '%s' --ca ca "
                           "--subject 'Cam Ed' -o ed.pem >/dev/null && PROV_PKCS11_PIN=1234 %s sign teapot.jpg -o "
                           "e.jpg --key '%s' --chain ed.pem >/dev/null && %s verify e.jpg --trust ca/root.pem | grep -q "
                           "trusted", D, P, e, P, e, P), 0);
    assert_int_equal(tu_sh("cd %s && PROV_PKCS11_PIN=9999 %s sign teapot.jpg -o w.jpg --key '%s' --chain ed.pem "
                           ">out.txt 2>&1", D, P, e), 2);
    assert_int_equal(tu_sh("grep -q 'wrong PIN' %s/out.txt && test ! -e %s/w.jpg", D, D), 0);
    /* the Ed25519 key signing with the P-256 key's chain: refused, no output */
    assert_int_equal(tu_sh("cd %s && PROV_PKCS11_PIN=1234 %s sign teapot.jpg -o w.jpg --key '%s' --chain cam.pem "
                           ">out.txt 2>&1", D, P, e), 2);
    assert_int_equal(tu_sh("grep -q 'another key' %s/out.txt && test ! -e %s/w.jpg", D, D), 0);
    /* no PIN anywhere and no terminal */
    assert_int_equal(tu_sh("cd %s && setsid -w env -u PROV_PKCS11_PIN %s sign teapot.jpg -o w.jpg --key '%s' "
                           "--chain ed.pem </dev/null >out.txt 2>&1", D, P, e), 2);
    assert_int_equal(tu_sh("grep -q 'wants a PIN' %s/out.txt", D), 0);
    /* certify from a public key file (an ES256 KEY.pub) */
    assert_int_equal(tu_sh("cd %s && %s keygen -o k2 --alg es256 --subject K2 --no-encrypt >/dev/null && "
                           "PROV_PASSPHRASE=capass %s certify --key k2.pub --ca ca --subject K2 -o k2.pem >/dev/null && "
                           "%s sign teapot.jpg -o k2.jpg --key k2 --chain k2.pem >/dev/null && %s verify k2.jpg "
                           "--trust ca/root.pem | grep -q trusted", D, P, P, P, P), 0);
    assert_int_equal(tu_sh("cd %s && echo junk > j.pub && PROV_PASSPHRASE=capass %s certify --key j.pub --ca ca "
                           "--subject J -o j.pem >out.txt 2>&1", D, P), 2);
    assert_int_equal(tu_sh("grep -q 'not a public key' %s/out.txt", D), 0);
}


/* Token keys in the identity registry: the P-256 and the Ed25519 key
 * register (the entry signed on the token; the chain and proof go where
 * --out says), sign, and verify with their identity; the P-256 key then
 * rotates to a key file. */
static void test_register_token(void **state)
{
    (void)state;
    char P[4096];
    const char *D = tu_path("regtok");
    assert_non_null(realpath(tu_prov_bin(), P));
    assert_int_equal(tu_sh("mkdir -p %s && cp samples/teapot.jpg %s/ && cd %s && %s registry init reg --origin "
                           "example.org/tok --no-encrypt >/dev/null", D, D, D, P), 0);
    char u[2048], e[2048];
    snprintf(u, sizeof u, "pkcs11:token=prov-test;object=cam-p256?module-path=%s&pin-value=1234", module);
    snprintf(e, sizeof e, "pkcs11:token=prov-test;object=cam-ed?module-path=%s&pin-value=1234", module);
    assert_int_equal(tu_sh("cd %s && %s register --registry reg --key '%s' --name 'Cam 7' >out.txt 2>&1", D, P, u), 2);
    assert_int_equal(tu_sh("grep -q 'give --out PREFIX' %s/out.txt", D), 0);
    assert_int_equal(tu_sh("cd %s && %s register --registry reg --key '%s' --name 'Cam 7' --org 'Daily News' "
                           "--out cam7 >out.txt 2>&1", D, P, u), 0);
    assert_int_equal(tu_sh("cd %s && test -s cam7.chain.pem && test -s cam7.proof && grep -q 'BEGIN PUBLIC KEY' cam7.pub "
                           "&& ! grep -q 1234 out.txt", D), 0);
    assert_int_equal(tu_sh("cd %s && %s register --registry reg --key '%s' --name 'Cam Ed' --out camed >/dev/null",
                           D, P, e), 0);
    assert_int_equal(tu_sh("cd %s && %s registry verify reg >/dev/null && %s registry lookup reg cam7.pub | "
                           "grep -q 'name:     Cam 7'", D, P, P), 0);
    assert_int_equal(tu_sh("cd %s && %s sign teapot.jpg -o s7.jpg --key '%s' --chain cam7.chain.pem >/dev/null && "
                           "%s verify s7.jpg --registry reg > v.txt && grep -q 'identity: Cam 7' v.txt && "
                           "grep -q 'status:   active' v.txt", D, P, u, P), 0);
    assert_int_equal(tu_sh("cd %s && %s sign teapot.jpg -o se.jpg --key '%s' --chain camed.chain.pem >/dev/null && "
                           "%s verify se.jpg --registry reg | grep -q 'identity: Cam Ed'", D, P, e, P), 0);
    /* the token key moves to a key file; its old files say so */
    assert_int_equal(tu_sh("cd %s && %s keygen -o new.key --alg es384 --subject N --no-encrypt >/dev/null && "
                           "%s registry rotate reg --key '%s' --new-key new.key >/dev/null && "
                           "%s verify s7.jpg --registry reg | grep -q 'status:   rotated'", D, P, P, u, P), 0);
    assert_int_equal(tu_sh("cd %s && %s sign teapot.jpg -o sn.jpg --key new.key >/dev/null && %s verify sn.jpg "
                           "--registry reg | grep -q 'identity: Cam 7'", D, P, P), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es256_token),         cmocka_unit_test(test_ed25519_token),
        cmocka_unit_test(test_pin_source),          cmocka_unit_test(test_module_from_env),
        cmocka_unit_test(test_refusals),            cmocka_unit_test(test_chain_for_another_key),
        cmocka_unit_test(test_threads),             cmocka_unit_test(test_leaf_spki_refusals),
        cmocka_unit_test(test_cli),                 cmocka_unit_test(test_register_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
