/* test_key.c - key generation (Ed25519, ECDSA P-256/P-384), key files and
 * the key signer. */
#include "testutil.h"

#include "x509.h"

#include <dirent.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BEGIN "-----BEGIN PROV ED25519 PRIVATE KEY-----\n"
#define END "-----END PROV ED25519 PRIVATE KEY-----\n"

static prov_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    return prov_ctx_new(&ctx) || sodium_init() < 0;
}

static int teardown(void **state)
{
    (void)state;
    prov_ctx_free(ctx);
    return 0;
}

/* Files in the test folder whose name starts with prefix. */
static int count_files(const char *prefix)
{
    DIR *d = opendir(tu_tmpdir());
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
    closedir(d);
    return n;
}

static void assert_same_key(const prov_key *a, const prov_key *b)
{
    uint8_t pa[32], pb[32];
    prov_key_public(a, pa);
    prov_key_public(b, pb);
    assert_memory_equal(pa, pb, 32);
    assert_memory_equal(prov_key_seed(a), prov_key_seed(b), 32);
}

static void test_round_trip_plain(void **state)
{
    (void)state;
    prov_key *k, *k2;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("plain.key");
    assert_int_equal(prov_key_save(ctx, k, path, NULL), 0);
    assert_int_equal(prov_key_file_encrypted(path), 0);
    assert_int_equal(prov_key_load(ctx, path, NULL, &k2), 0);
    assert_same_key(k, k2);
    prov_key_free(k2);
    /* A passphrase given for a plain key is not needed and not an error. */
    assert_int_equal(prov_key_load(ctx, path, "unused", &k2), 0);
    assert_same_key(k, k2);
    prov_key_free(k2);
    prov_key_free(k);

    char *txt = (char *)tu_read(path, NULL);
    assert_true(!strncmp(txt, BEGIN, strlen(BEGIN)));
    assert_non_null(strstr(txt, END));
    free(txt);
}

static void test_round_trip_encrypted(void **state)
{
    (void)state;
    prov_key *k, *k2 = NULL;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("sealed.key");
    assert_int_equal(prov_key_save(ctx, k, path, "correct horse"), 0);
    assert_int_equal(prov_key_file_encrypted(path), 1);
    assert_int_equal(prov_key_load(ctx, path, "correct horse", &k2), 0);
    assert_same_key(k, k2);
    prov_key_free(k2);

    /* The seed never appears in the clear. */
    size_t len;
    char *txt = (char *)tu_read(path, &len);
    char *b64 = txt + strlen(BEGIN);
    *strstr(b64, "-----END") = 0;
    uint8_t rec[256];
    size_t rl;
    assert_int_equal(sodium_base642bin(rec, sizeof rec, b64, strlen(b64), "\n", &rl, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(rl, 97 + 48);
    assert_null(memmem(rec, rl, prov_key_seed(k), 32));
    free(txt);
    prov_key_free(k);
}

static void test_wrong_passphrase(void **state)
{
    (void)state;
    prov_key *k, *k2 = (prov_key *)1;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("wrong.key");
    assert_int_equal(prov_key_save(ctx, k, path, "right"), 0);
    assert_int_equal(prov_key_load(ctx, path, "wrong", &k2), PROV_EPASSPHRASE);
    assert_null(k2);
    assert_non_null(strstr(prov_errmsg(ctx), path));
    assert_int_equal(prov_key_load(ctx, path, NULL, &k2), PROV_EPASSPHRASE);
    assert_int_equal(prov_key_load(ctx, path, "", &k2), PROV_EPASSPHRASE);
    prov_key_free(k);
}

static void test_mode_and_no_overwrite(void **state)
{
    (void)state;
    prov_key *k;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("mode.key");
    assert_int_equal(prov_key_save(ctx, k, path, NULL), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    size_t len1, len2;
    uint8_t *before = tu_read(path, &len1);
    assert_int_equal(prov_key_save(ctx, k, path, NULL), PROV_EEXIST);
    assert_non_null(strstr(prov_errmsg(ctx), path));
    assert_int_equal(prov_key_save(ctx, k, path, "pw"), PROV_EEXIST);
    uint8_t *after = tu_read(path, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(before, after, len1);
    free(before);
    free(after);
    assert_int_equal(count_files("mode.key"), 1); /* no temp file left */

    /* A folder that does not exist: an I/O error, nothing created. */
    assert_int_equal(prov_key_save(ctx, k, tu_path("nodir/x.key"), NULL), PROV_EIO);
    prov_key_free(k);
}

/* Every single-character change to a plain key file's base64 is caught. */
static void test_corrupt_plain(void **state)
{
    (void)state;
    prov_key *k, *k2;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("flip.key"), *bad = tu_path("flip-bad.key");
    assert_int_equal(prov_key_save(ctx, k, path, NULL), 0);
    size_t len;
    char *txt = (char *)tu_read(path, &len);
    size_t from = strlen(BEGIN), to = (size_t)(strstr(txt, END) - txt);
    int tried = 0;
    for (size_t i = from; i < to; i++) {
        if (txt[i] == '\n' || txt[i] == '=') continue;
        char c = txt[i];
        txt[i] = c == 'A' ? 'B' : 'A';
        tu_write(bad, txt, len);
        k2 = (prov_key *)1;
        int rc = prov_key_load(ctx, bad, NULL, &k2);
        if (rc >= 0) fail_msg("flipped byte %zu went unnoticed", i);
        assert_null(k2);
        txt[i] = c;
        tried++;
    }
    assert_true(tried > 100);
    free(txt);
    prov_key_free(k);
}

static void test_corrupt_encrypted(void **state)
{
    (void)state;
    prov_key *k, *k2;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("flip2.key"), *bad = tu_path("flip2-bad.key");
    assert_int_equal(prov_key_save(ctx, k, path, "pw"), 0);
    size_t len;
    char *txt = (char *)tu_read(path, &len);
    /* Base64 offsets (4 characters per 3 bytes, 65 per line): one in the
     * public key (record byte ~70), one in the ciphertext (~120). */
    size_t at[] = {strlen(BEGIN) + 65 + 30, strlen(BEGIN) + 2 * 65 + 30};
    for (size_t j = 0; j < 2; j++) {
        size_t i = at[j];
        char c = txt[i];
        assert_true(c != '\n' && c != '=');
        txt[i] = c == 'A' ? 'B' : 'A';
        tu_write(bad, txt, len);
        assert_int_equal(prov_key_load(ctx, bad, "pw", &k2), PROV_EPASSPHRASE);
        txt[i] = c;
    }
    free(txt);
    prov_key_free(k);
}

/* Rewrite the record of a sealed key file with other KDF parameters. */
static void write_with_params(const char *src, const char *dst, uint64_t ops, uint64_t mem)
{
    char *txt = (char *)tu_read(src, NULL);
    char *b64 = txt + strlen(BEGIN);
    *strstr(b64, "-----END") = 0;
    uint8_t rec[256];
    size_t rl;
    assert_int_equal(sodium_base642bin(rec, sizeof rec, b64, strlen(b64), "\n", &rl, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    for (int i = 0; i < 8; i++) {
        rec[9 + i] = (uint8_t)(ops >> (56 - 8 * i));
        rec[17 + i] = (uint8_t)(mem >> (56 - 8 * i));
    }
    char out[512], enc[400];
    sodium_bin2base64(enc, sizeof enc, rec, rl, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, sizeof out, "%s%s\n%s", BEGIN, enc, END);
    tu_write(dst, out, strlen(out));
    free(txt);
}

static void test_absurd_kdf_params(void **state)
{
    (void)state;
    prov_key *k, *k2;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("kdf.key"), *bad = tu_path("kdf-bad.key");
    assert_int_equal(prov_key_save(ctx, k, path, "pw"), 0);

    /* The rewrite itself is sound: original parameters still load. */
    write_with_params(path, bad, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                      crypto_pwhash_MEMLIMIT_INTERACTIVE);
    assert_int_equal(prov_key_load(ctx, bad, "pw", &k2), 0);
    prov_key_free(k2);

    write_with_params(path, bad, 1u << 20, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    assert_int_equal(prov_key_load(ctx, bad, "pw", &k2), PROV_ELIMIT);
    assert_int_equal(prov_key_file_encrypted(bad), PROV_ELIMIT);
    write_with_params(path, bad, 2, 1ull << 40);
    assert_int_equal(prov_key_load(ctx, bad, "pw", &k2), PROV_ELIMIT);
    assert_non_null(strstr(prov_errmsg(ctx), "KDF"));
    write_with_params(path, bad, UINT64_MAX, UINT64_MAX);
    assert_int_equal(prov_key_load(ctx, bad, "pw", &k2), PROV_ELIMIT);
    write_with_params(path, bad, 0, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    assert_int_equal(prov_key_load(ctx, bad, "pw", &k2), PROV_EFORMAT);
    prov_key_free(k);
}

static void test_truncated_and_garbage(void **state)
{
    (void)state;
    prov_key *k, *k2;
    assert_int_equal(prov_key_generate(&k), 0);
    const char *path = tu_path("trunc.key"), *bad = tu_path("trunc-bad.key");
    assert_int_equal(prov_key_save(ctx, k, path, NULL), 0);
    size_t len;
    char *txt = (char *)tu_read(path, &len);

    /* Cut anywhere: always an error, never a key. */
    for (size_t cut = 0; cut < len - 1; cut += 7) {
        tu_write(bad, txt, cut);
        k2 = (prov_key *)1;
        int rc = prov_key_load(ctx, bad, NULL, &k2);
        assert_true(rc == PROV_EFORMAT);
        assert_null(k2);
    }
    /* Lines removed from the middle (the END marker kept). */
    char *end = strstr(txt, END);
    char shorter[1024];
    snprintf(shorter, sizeof shorter, "%.*s%s", (int)(strlen(BEGIN) + 65), txt, end);
    tu_write(bad, shorter, strlen(shorter));
    assert_int_equal(prov_key_load(ctx, bad, NULL, &k2), PROV_EFORMAT);

    tu_write(bad, "hello\0world", 11);
    assert_int_equal(prov_key_load(ctx, bad, NULL, &k2), PROV_EFORMAT);
    assert_int_equal(prov_key_file_encrypted(bad), PROV_EFORMAT);
    /* A PEM key of another kind. */
    const char *other = "-----BEGIN PRIVATE KEY-----\n"
                        "MC4CAQAwBQYDK2VwBCIEIL2+9INLPNSLH3STzKQJ3Wen9R6uPbIYOIKA2574YQ4O\n"
                        "-----END PRIVATE KEY-----\n";
    tu_write(bad, other, strlen(other));
    assert_int_equal(prov_key_load(ctx, bad, NULL, &k2), PROV_EFORMAT);
    /* Too big to be a key file: refused before it is read. */
    char *big = calloc(1, 100000);
    memset(big, 'A', 99999);
    tu_write(bad, big, 100000);
    assert_int_equal(prov_key_load(ctx, bad, NULL, &k2), PROV_ELIMIT);
    free(big);
    assert_int_equal(prov_key_load(ctx, tu_path("absent.key"), NULL, &k2), PROV_ENOTFOUND);
    assert_non_null(strstr(prov_errmsg(ctx), "absent.key"));
    assert_int_equal(prov_key_file_encrypted(tu_path("absent.key")), PROV_ENOTFOUND);
    free(txt);
    prov_key_free(k);
}

/* ECDSA keys: saved sealed and plain, loaded back as the same key; their
 * signer gives r||s that OpenSSL verifies against the SPKI; a damaged
 * body, a P-256 body under a P-384 label, and a wrong passphrase fail. */
static void test_ecdsa_keys(void **state)
{
    (void)state;
    const int algs[] = {PROV_ALG_ES256, PROV_ALG_ES384};
    for (int i = 0; i < 2; i++) {
        int alg = algs[i];
        size_t half = alg == PROV_ALG_ES384 ? 48 : 32;
        prov_key *k, *k2 = NULL;
        assert_int_equal(prov_key_generate_alg(alg, &k), 0);
        assert_int_equal(prov_key_alg(k), alg);
        char name[64];
        snprintf(name, sizeof name, "ec%d.sealed", i);
        const char *sealed = tu_path(name);
        assert_int_equal(prov_key_save(ctx, k, sealed, "pw"), 0);
        assert_int_equal(prov_key_file_encrypted(sealed), 1);
        assert_int_equal(prov_key_load(ctx, sealed, "wrong", &k2), PROV_EPASSPHRASE);
        assert_int_equal(prov_key_load(ctx, sealed, "pw", &k2), 0);
        assert_int_equal(prov_key_alg(k2), alg);
        uint8_t *d1, *d2;
        size_t n1, n2;
        assert_int_equal(prov_key_public_der(k, &d1, &n1), 0);
        assert_int_equal(prov_key_public_der(k2, &d2, &n2), 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(d1, d2, n1);
        snprintf(name, sizeof name, "ec%d.plain", i);
        const char *plain = tu_path(name);
        assert_int_equal(prov_key_save(ctx, k2, plain, NULL), 0);
        prov_key_free(k2);
        assert_int_equal(prov_key_load(ctx, plain, NULL, &k2), 0);

        /* sign with the reloaded key, verify with the first key's SPKI */
        prov_signer sg;
        prov_signer_from_key(&sg, k2);
        assert_int_equal(sg.alg, alg);
        assert_int_equal(sg.sig_len, 2 * half);
        const uint8_t msg[] = "Sig_structure";
        uint8_t sig[96];
        assert_int_equal(sg.sign(sg.user, msg, sizeof msg, sig, sg.sig_len), 0);
        assert_true(sg.sign(sg.user, msg, sizeof msg, sig, sg.sig_len - 1) < 0);
        const unsigned char *p = d1;
        EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)n1);
        assert_non_null(pub);
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL), BN_bin2bn(sig + half, (int)half, NULL));
        unsigned char *der = NULL;
        int dl = i2d_ECDSA_SIG(es, &der);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, half == 48 ? EVP_sha384() : EVP_sha256(), NULL, pub), 1);
        assert_int_equal(EVP_DigestVerify(md, der, (size_t)dl, msg, sizeof msg), 1);
        EVP_MD_CTX_free(md);
        OPENSSL_free(der);
        ECDSA_SIG_free(es);
        EVP_PKEY_free(pub);
        free(d1);
        free(d2);
        prov_key_free(k2);

        /* a flipped byte in the plain body: refused, never a wrong key */
        size_t tl;
        char *txt = (char *)tu_read(plain, &tl);
        char *b = strstr(txt, "-----\n") + 6;
        b[150] = b[150] == 'A' ? 'B' : 'A';
        snprintf(name, sizeof name, "ec%d.bad", i);
        tu_write(tu_path(name), txt, tl);
        assert_true(prov_key_load(ctx, tu_path(name), NULL, &k2) < 0);
        assert_null(k2);
        free(txt);
        prov_key_free(k);
    }
    /* a P-256 record under the P-384 label (magic differs): refused */
    char *txt = (char *)tu_read(tu_path("ec0.plain"), NULL);
    char *l1 = strstr(txt, "P-256"), *l2 = strstr(l1 + 1, "P-256");
    memcpy(l1, "P-384", 5);
    memcpy(l2, "P-384", 5);
    tu_write(tu_path("ec.swapped"), txt, strlen(txt));
    prov_key *k3 = NULL;
    assert_int_equal(prov_key_load(ctx, tu_path("ec.swapped"), NULL, &k3), PROV_EFORMAT);
    free(txt);
    assert_int_equal(prov_key_generate_alg(PROV_ALG_PS256, &k3), PROV_EUNSUPPORTED);
}

static void test_signer(void **state)
{
    (void)state;
    prov_key *k;
    assert_int_equal(prov_key_generate(&k), 0);
    prov_signer s;
    prov_signer_from_key(&s, k);
    assert_int_equal(s.alg, PROV_ALG_ED25519);
    assert_int_equal(s.sig_len, 64);
    const uint8_t msg[] = "Sig_structure";
    uint8_t sig[64], pk[32];
    assert_int_equal(s.sign(s.user, msg, sizeof msg, sig, sizeof sig), 0);
    prov_key_public(k, pk);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
    assert_true(s.sign(s.user, msg, sizeof msg, sig, 63) < 0);

    /* The OpenSSL view of the key is the same key. */
    EVP_PKEY *e = prov_key_evp(k);
    assert_non_null(e);
    uint8_t raw[32];
    size_t rl = sizeof raw;
    assert_int_equal(EVP_PKEY_get_raw_public_key(e, raw, &rl), 1);
    assert_memory_equal(raw, pk, 32);
    EVP_PKEY_free(e);
    prov_key_free(k);

    /* Two generated keys differ. */
    prov_key *a, *b;
    uint8_t pa[32], pb[32];
    assert_int_equal(prov_key_generate(&a), 0);
    assert_int_equal(prov_key_generate(&b), 0);
    prov_key_public(a, pa);
    prov_key_public(b, pb);
    assert_memory_not_equal(pa, pb, 32);
    prov_key_free(a);
    prov_key_free(b);
    prov_key_free(NULL);
}

static void test_bad_args(void **state)
{
    (void)state;
    prov_key *k;
    assert_int_equal(prov_key_generate(NULL), PROV_EINVAL);
    assert_int_equal(prov_key_load(ctx, NULL, NULL, &k), PROV_EINVAL);
    assert_int_equal(prov_key_save(ctx, NULL, tu_path("x.key"), NULL), PROV_EINVAL);
    assert_int_equal(prov_key_file_encrypted(NULL), PROV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_plain),
        cmocka_unit_test(test_round_trip_encrypted),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_mode_and_no_overwrite),
        cmocka_unit_test(test_corrupt_plain),
        cmocka_unit_test(test_corrupt_encrypted),
        cmocka_unit_test(test_absurd_kdf_params),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_signer),
        cmocka_unit_test(test_ecdsa_keys),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
