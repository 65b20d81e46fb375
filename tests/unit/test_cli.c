/* test_cli.c - the prov command as a user drives it: exit codes, --help,
 * JSON output, key files, passphrases, and error messages. */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *P; /* the prov binary */
static char D[512];   /* the test folder */

/* Run prov with args; stdout+stderr to D/out.txt; returns the exit status. */
static int prov(const char *args)
{
    return tu_sh("cd %s && PROV_PASSPHRASE='test pass' %s %s >out.txt 2>&1", D, P, args);
}

static char *output(void)
{
    char p[600];
    snprintf(p, sizeof p, "%s/out.txt", D);
    return (char *)tu_read(p, NULL);
}

static void assert_output_has(const char *s)
{
    char *o = output();
    if (!strstr(o, s)) fail_msg("output lacks \"%s\":\n%s", s, o);
    free(o);
}

static int setup(void **state)
{
    (void)state;
    static char bin[600];
    const char *b = tu_prov_bin();
    if (b[0] == '/') snprintf(bin, sizeof bin, "%s", b);
    else if (!getcwd(bin, sizeof bin - 100)) return -1;
    else { strcat(bin, "/"); strcat(bin, b); }
    P = bin;
    snprintf(D, sizeof D, "%s", tu_tmpdir());
    if (tu_sh("cp samples/teapot.jpg samples/kodim01.png %s/", D)) return -1;
    if (prov("ca init ca --subject 'CN=CLI Root,O=prov tests'")) return -1;
    if (prov("keygen -o k --subject 'CN=CLI Signer,O=prov tests' --ca ca")) return -1;
    return 0;
}

static void test_help(void **state)
{
    (void)state;
    const char *cmds[] = {"", "ca", "keygen", "sign", "verify", "inspect"};
    for (size_t i = 0; i < 6; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        assert_int_equal(prov(a), 0);
        assert_output_has("usage: prov");
    }
    assert_int_equal(prov("frobnicate"), 2);
    assert_output_has("unknown command");
    assert_int_equal(prov("sign"), 2);
    assert_output_has("usage: prov sign");
    assert_int_equal(prov("version"), 0);
    assert_output_has("prov 0.");
}

static void test_key_files(void **state)
{
    (void)state;
    struct stat st;
    char p[600];
    snprintf(p, sizeof p, "%s/k", D);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(p, sizeof p, "%s/ca/root.key", D);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *k = (char *)tu_read(p, NULL);
    assert_non_null(strstr(k, "BEGIN PROV ED25519 PRIVATE KEY"));
    free(k);
    /* a key is never overwritten */
    assert_int_equal(prov("keygen -o k --subject X"), 2);
    assert_output_has("already exists");
    /* the wrong passphrase is refused, clearly */
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=wrong %s sign teapot.jpg -o w.jpg --key k >out.txt 2>&1", D, P), 2);
    assert_output_has("passphrase");
    snprintf(p, sizeof p, "%s/w.jpg", D);
    assert_int_equal(access(p, F_OK), -1);
    /* no passphrase and no terminal: a clear error, not a hang */
    assert_int_equal(tu_sh("cd %s && setsid -w env -u PROV_PASSPHRASE %s sign teapot.jpg -o w.jpg --key k </dev/null >out.txt 2>&1", D, P), 2);
    assert_output_has("PROV_PASSPHRASE");
    /* --no-encrypt keys need no passphrase */
    assert_int_equal(tu_sh("cd %s && %s keygen -o plain --subject P --no-encrypt >out.txt 2>&1", D, P), 0);
    assert_int_equal(tu_sh("grep -q '^ed25519 ' %s/plain.pub", D), 0);
}

static void test_sign_verify_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(prov("sign teapot.jpg -o s.jpg --key k"), 0);
    assert_int_equal(prov("sign kodim01.png -o s.png --key k --title Kodak"), 0);
    assert_int_equal(prov("verify s.jpg s.png --trust ca/root.pem"), 0);
    assert_output_has("s.jpg: trusted");
    assert_output_has("CLI Signer");
    assert_int_equal(prov("verify s.jpg"), 0); /* valid, untrusted: still 0 */
    assert_output_has("s.jpg: valid");
    assert_int_equal(prov("verify teapot.jpg"), 1); /* unsigned */
    assert_output_has("unsigned");
    assert_int_equal(prov("verify s.jpg teapot.jpg --trust ca/root.pem"), 1);
    assert_int_equal(prov("verify nosuchfile.jpg"), 2);
    assert_output_has("nosuchfile.jpg");
    assert_int_equal(tu_sh("cd %s && echo 'not an image' > t.txt", D), 0);
    assert_int_equal(prov("verify t.txt"), 2);
    assert_output_has("not a format prov reads");
    assert_int_equal(prov("verify --trust nosuch.pem s.jpg"), 2);
    /* tampered copy */
    assert_int_equal(tu_sh("cd %s && cp s.jpg x.jpg && printf 'Z' | dd of=x.jpg bs=1 seek=30000 conv=notrunc status=none", D), 0);
    assert_int_equal(prov("verify x.jpg --trust ca/root.pem"), 1);
    assert_output_has("assertion.dataHash.mismatch");
}

static void test_json(void **state)
{
    (void)state;
    assert_int_equal(prov("verify --json s.jpg teapot.jpg --trust ca/root.pem"), 1);
    char *o = output();
    char *nl = strchr(o, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(nl + 1, "\n")); /* one line per file */
    assert_non_null(strstr(o, "{\"file\":\"s.jpg\",\"state\":\"trusted\""));
    assert_non_null(strstr(o, "\"codes\":{\"success\":["));
    assert_non_null(strstr(o, "\"signer\":{\"subject\":\"CLI Signer\",\"org\":\"prov tests\",\"issuer\":\"CLI Root\",\"alg\":\"Ed25519\"}"));
    assert_non_null(strstr(o, "\"actions\":[{\"action\":\"c2pa.created\""));
    assert_non_null(strstr(o, "\"ingredients\":[]"));
    assert_non_null(strstr(o, "{\"file\":\"teapot.jpg\",\"state\":\"unsigned\""));
    free(o);
    assert_int_equal(prov("inspect --json s.png"), 0);
    assert_output_has("\"label\":\"c2pa.hash.data\"");
    assert_output_has("\"claim_generator_info\"");
    assert_output_has("\"media\":{\"container\":\"png_pipe\"");
    assert_int_equal(prov("inspect teapot.jpg"), 1);
    assert_output_has("no manifest store");
    assert_output_has("\"width\": 703");
}

static void test_parent_and_inplace(void **state)
{
    (void)state;
    assert_int_equal(prov("sign teapot.jpg -o e.jpg --key k --parent s.jpg --action c2pa.cropped"), 0);
    assert_int_equal(prov("verify --json e.jpg --trust ca/root.pem"), 0);
    assert_output_has("\"action\":\"c2pa.cropped\"");
    assert_output_has("\"relationship\":\"parentOf\"");
    assert_output_has("\"title\":\"s.jpg\"");
    /* -o naming the input is refused without --in-place */
    assert_int_equal(prov("sign e.jpg -o e.jpg --key k"), 2);
    assert_output_has("--in-place");
    assert_int_equal(prov("sign e.jpg --in-place --key k --action c2pa.color_adjustments"), 0);
    assert_int_equal(prov("verify --json e.jpg --trust ca/root.pem"), 0);
    assert_output_has("\"manifests\":3");
    /* a key without a certificate: told how to get one */
    assert_int_equal(prov("sign teapot.jpg -o n.jpg --key plain"), 2);
    assert_output_has("--ca");
}

/* A run killed while writing leaves its temporary file; the next write
 * into that folder removes the ones of dead processes (its own and other
 * outputs'), never one of a live process. */
static void test_stale_temporaries(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("cd %s && mkdir -p tmpt && cd tmpt && sh -c 'echo $$ > ../dead.pid' && d=$(cat ../dead.pid) && "
                           "! kill -0 $d 2>/dev/null && echo x > .t1.jpg.prov-tmp.$d.abcdef && "
                           "echo x > .other.png.prov-tmp.$d.zzzzzz && echo x > .t1.jpg.prov-tmp.%ld.keepme",
                           D, (long)getpid()), 0);
    assert_int_equal(prov("sign teapot.jpg -o tmpt/t1.jpg --key k"), 0);
    assert_int_equal(tu_sh("cd %s/tmpt && d=$(cat ../dead.pid) && test ! -e .t1.jpg.prov-tmp.$d.abcdef && "
                           "test ! -e .other.png.prov-tmp.$d.zzzzzz && test -e .t1.jpg.prov-tmp.%ld.keepme && "
                           "test $(ls -A | grep -c prov-tmp) = 1 && test -s t1.jpg", D, (long)getpid()), 0);
    /* the files prov writes beside a key (chain, proof) go the same way */
    assert_int_equal(tu_sh("cd %s/tmpt && d=$(cat ../dead.pid) && echo x > .k2.pub.prov-tmp.$d.qwerty", D), 0);
    assert_int_equal(prov("keygen -o tmpt/k2 --subject 'CN=K2' --no-encrypt"), 0);
    assert_int_equal(tu_sh("cd %s/tmpt && test $(ls -A | grep -c prov-tmp) = 1", D), 0);
}

/* A certificate for KEY.pub's Ed25519 key, valid from nb to na days from
 * now, issued by a throwaway CA: PEM at D/name. */
static void write_cert_days(const char *keypub, const char *name, long nb, long na)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", D, keypub);
    char *txt = (char *)tu_read(path, NULL);
    assert_non_null(txt);
    char *b64 = strchr(txt, ' ');
    assert_non_null(b64);
    b64++;
    b64[strcspn(b64, "\r\n")] = 0;
    uint8_t pk[32];
    size_t pklen = 0;
    assert_int_equal(sodium_base642bin(pk, sizeof pk, b64, strlen(b64), NULL, &pklen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    assert_int_equal(pklen, 32);
    free(txt);
    EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    EVP_PKEY *ca = NULL;
    assert_true(pub && kc && EVP_PKEY_keygen_init(kc) > 0 && EVP_PKEY_keygen(kc, &ca) > 0);
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME *sn = X509_NAME_new(), *in = X509_NAME_new();
    X509_NAME_add_entry_by_txt(sn, "CN", MBSTRING_ASC, (const unsigned char *)"Old Signer", -1, -1, 0);
    X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC, (const unsigned char *)"Old CA", -1, -1, 0);
    X509_set_subject_name(x, sn);
    X509_set_issuer_name(x, in);
    X509_gmtime_adj(X509_getm_notBefore(x), nb * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), na * 86400);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca, NULL) > 0);
    snprintf(path, sizeof path, "%s/%s", D, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_NAME_free(sn);
    X509_NAME_free(in);
    X509_free(x);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(pub);
    EVP_PKEY_CTX_free(kc);
}

/* Refusals that keep a user from signing what verifiers will reject, or
 * from leaking a key: an expired or not yet valid certificate, a readable
 * unencrypted key, an empty passphrase. */
static void test_sign_guards(void **state)
{
    (void)state;
    write_cert_days("k.pub", "expired.pem", -30, -10);
    write_cert_days("k.pub", "future.pem", 10, 30);
    assert_int_equal(prov("sign teapot.jpg -o g1.jpg --key k --chain expired.pem"), 2);
    assert_output_has("expired on");
    assert_output_has("--allow-expired");
    assert_int_equal(tu_sh("test ! -e %s/g1.jpg", D), 0);
    assert_int_equal(prov("sign teapot.jpg -o g1.jpg --key k --chain future.pem"), 2);
    assert_output_has("is valid only from");
    assert_int_equal(prov("sign teapot.jpg -o g1.jpg --key k --chain expired.pem --allow-expired"), 0);
    assert_output_has("warning");
    assert_int_equal(prov("verify g1.jpg"), 1); /* and a verifier says so */
    assert_output_has("signingCredential.expired");

    assert_int_equal(prov("keygen -o kp --subject 'CN=Plain' --ca ca --no-encrypt"), 0);
    assert_int_equal(tu_sh("chmod 644 %s/kp", D), 0);
    assert_int_equal(prov("sign teapot.jpg -o g2.jpg --key kp"), 2);
    assert_output_has("other users can read");
    assert_int_equal(prov("sign teapot.jpg -o g2.jpg --key kp --insecure-key"), 0);
    assert_int_equal(tu_sh("chmod 600 %s/kp", D), 0);
    assert_int_equal(prov("sign teapot.jpg -o g3.jpg --key kp"), 0);

    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE= %s sign teapot.jpg -o g4.jpg --key k >out.txt 2>&1", D, P), 2);
    assert_output_has("empty");
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE= %s keygen -o ke --subject E >out.txt 2>&1", D, P), 2);
    assert_int_equal(tu_sh("test ! -e %s/ke && test ! -e %s/g4.jpg", D, D), 0);
}

/* Batches: one unlock, every file signed into -d, a bad file reported and
 * skipped with no output left, names that would collide refused first. */
static void test_sign_batch(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("cd %s && mkdir -p bin bout sub && cp teapot.jpg bin/a.jpg && cp kodim01.png bin/b.png && "
                           "cp teapot.jpg bin/c.jpg && echo junk > bin/bad.jpg && cp teapot.jpg sub/a.jpg && "
                           "printf 'bin/c.jpg\\n\\nbin/b.png\\n' > list.txt", D), 0);
    assert_int_equal(prov("sign bin/a.jpg bin/bad.jpg --files-from list.txt -d bout --key k --jobs 2"), 2);
    assert_output_has("bin/bad.jpg: ");
    assert_output_has("signed 3 of 4 files into bout");
    assert_output_has("1 failed");
    assert_int_equal(tu_sh("cd %s/bout && test $(ls -A | wc -l) = 3 && test -s a.jpg && test -s b.png && test -s c.jpg", D), 0);
    assert_int_equal(prov("verify bout/a.jpg bout/b.png bout/c.jpg --trust ca/root.pem"), 0);
    assert_output_has("bout/b.png: trusted");
    assert_output_has("CLI Signer");
    /* the title is each output's own name */
    assert_int_equal(prov("inspect bout/c.jpg"), 0);
    assert_output_has("c.jpg");
    /* two inputs named a.jpg: refused before anything is signed */
    assert_int_equal(tu_sh("cd %s && mkdir -p bout2", D), 0);
    assert_int_equal(prov("sign bin/a.jpg sub/a.jpg -d bout2 --key k"), 2);
    assert_output_has("two inputs have this name");
    assert_int_equal(tu_sh("test $(ls -A %s/bout2 | wc -l) = 0", D), 0);
    /* usage errors */
    assert_int_equal(prov("sign bin/a.jpg -d nosuchdir --key k"), 2);
    assert_output_has("not a folder");
    assert_int_equal(prov("sign bin/a.jpg -d bout2 -o x.jpg --key k"), 2);
    assert_int_equal(prov("sign --files-from list.txt --key k"), 2);
    assert_output_has("needs -d");
    assert_int_equal(prov("sign bin/a.jpg -d bin --key k"), 2);
    assert_output_has("would be the file itself");
}

/* ECDSA keys from the command line: ES256 and ES384 keys certified by the
 * issuer sign files that verify as trusted (with the COSE algorithm in the
 * JSON); an unknown algorithm is refused; both register in the identity
 * registry, sign with the registry's chain and verify with the signer's
 * identity; a lookup takes the PEM KEY.pub. */
static void test_ecdsa_cli(void **state)
{
    (void)state;
    assert_int_equal(prov("keygen -o e256 --alg es256 --subject 'CN=EC Signer,O=prov tests' --ca ca"), 0);
    assert_int_equal(prov("keygen -o e384 --alg ES384 --subject 'CN=EC Signer 384' --ca ca --no-encrypt"), 0);
    assert_int_equal(tu_sh("grep -q 'BEGIN PUBLIC KEY' %s/e256.pub && grep -q 'PROV EC P-256 PRIVATE KEY' %s/e256 && "
                           "test $(stat -c %%a %s/e256) = 600", D, D, D), 0);
    assert_int_equal(prov("sign teapot.jpg -o e256.jpg --key e256"), 0);
    assert_int_equal(prov("sign kodim01.png -o e384.png --key e384"), 0);
    assert_int_equal(prov("verify --json e256.jpg --trust ca/root.pem"), 0);
    assert_output_has("\"state\":\"trusted\"");
    assert_output_has("ES256");
    assert_int_equal(prov("verify --json e384.png --trust ca/root.pem"), 0);
    assert_output_has("ES384");
    assert_int_equal(prov("keygen -o e512 --alg rsa --subject X"), 2);
    assert_output_has("ed25519, es256 or es384");
    assert_int_equal(tu_sh("cd %s && rm -rf ecreg && %s registry init ecreg --origin example.org/ec --no-encrypt >/dev/null",
                           D, P), 0);
    assert_int_equal(prov("register --registry ecreg --key e256 --name 'EC Signer' --org 'Daily News'"), 0);
    assert_output_has("registered EC Signer");
    assert_int_equal(prov("register --registry ecreg --key e384 --name 'EC Signer 384'"), 0);
    assert_int_equal(prov("register --registry ecreg --key e384 --name 'Twice'"), 2);
    assert_output_has("already in the registry");
    assert_int_equal(prov("registry lookup ecreg e256.pub"), 0);
    assert_output_has("ecdsa:MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE");
    assert_int_equal(prov("registry verify ecreg"), 0);
    assert_int_equal(prov("sign teapot.jpg -o e256r.jpg --key e256"), 0);
    assert_int_equal(prov("sign kodim01.png -o e384r.png --key e384"), 0);
    assert_int_equal(prov("verify e256r.jpg --registry ecreg"), 0);
    assert_output_has("identity: EC Signer");
    assert_output_has("status:   active");
    assert_int_equal(prov("verify --json e384r.png --registry ecreg"), 0);
    assert_output_has("\"name\":\"EC Signer 384\"");
    /* the key revokes itself; its files then fail */
    assert_int_equal(prov("registry revoke ecreg --key e384 --reason 'lost phone'"), 0);
    assert_int_equal(prov("verify e384r.png --registry ecreg"), 1);
    assert_output_has("revoked");
}

/* Manifest definitions (-m): the generator recipe's fields land in the
 * manifest as given; what prov writes itself, bad labels, unknown fields
 * and broken JSON are refused with no output. */
static void test_manifest_definition(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("cd %s && cat > def.json <<'EOF'\n"
                           "{\"title\": \"A lighthouse\",\n"
                           " \"claim_generator_info\": [{\"name\": \"Example Generator\", \"version\": \"2.1\"}],\n"
                           " \"assertions\": [\n"
                           "  {\"label\": \"c2pa.actions\", \"data\": {\"actions\": [\n"
                           "    {\"action\": \"c2pa.created\", \"digitalSourceType\": "
                           "\"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia\",\n"
                           "     \"softwareAgent\": {\"name\": \"example-diffusion\", \"version\": \"3.0\"},\n"
                           "     \"parameters\": {\"prompt\": \"a lighthouse\", \"seed\": 42, \"cfg\": 7.5}},\n"
                           "    {\"action\": \"c2pa.color_adjustments\", \"parameters\": {\"name\": \"brightness\"}}]}},\n"
                           "  {\"label\": \"stds.schema-org.CreativeWork\", \"data\": {\"@context\": \"https://schema.org\",\n"
                           "    \"@type\": \"CreativeWork\", \"author\": [{\"@type\": \"Organization\", \"name\": \"Example Lab\"}]}},\n"
                           "  {\"label\": \"cawg.training-mining\", \"data\": {\"entries\": {\"cawg.ai_training\": {\"use\": \"notAllowed\"}}}}\n"
                           " ]}\nEOF", D), 0);
    assert_int_equal(prov("sign kodim01.png -o gen.png --key k -m def.json"), 0);
    assert_int_equal(prov("verify gen.png --trust ca/root.pem"), 0);
    assert_int_equal(prov("inspect --json gen.png"), 0);
    assert_output_has("A lighthouse");
    assert_output_has("Example Generator");
    assert_output_has("example-diffusion");
    assert_output_has("trainedAlgorithmicMedia");
    assert_output_has("\"seed\":42");
    assert_output_has("c2pa.color_adjustments");
    assert_output_has("stds.schema-org.CreativeWork");
    assert_output_has("Example Lab");
    assert_output_has("cawg.training-mining");
    /* refusals: nothing written */
    static const char *const bad[][2] = {
        {"{\"assertions\":[{\"label\":\"c2pa.hash.data\",\"data\":{}}]}", "written by prov itself"},
        {"{\"assertions\":[{\"label\":\"bad label!\",\"data\":{}}]}", "assertion label"},
        {"{\"assertions\":[{\"label\":\"a.b\",\"data\":1},{\"label\":\"a.b\",\"data\":2}]}", "given twice"},
        {"{\"titel\":\"typo\"}", "unknown field"},
        {"{\"ingredients\":{}}", "must be an array"},
        {"{\"ingredients\":[{\"title\":\"x\"}]}", "needs a \"title\""},
        {"{\"ingredients\":[{\"title\":\"x\",\"format\":\"image/png\",\"relationship\":\"parentOf\"}]}", "--parent"},
        {"{\"ingredients\":[{\"title\":\"x\",\"format\":\"image/png\",\"relationship\":\"friendOf\"}]}",
         "componentOf or inputTo"},
        {"{\"ingredients\":[{\"title\":\"x\",\"format\":\"image/png\",\"thumbnail\":{}}]}", "\"thumbnail\" is not taken"},
        {"{\"ingredients\":[{\"title\":\"x\",\"format\":\"image/png\",\"description\":7}]}", "1 to 1024 bytes"},
        {"{\"ingredient_paths\":\"a.jpg\"}", "must be an array"},
        {"{\"ingredient_paths\":[7]}", "must be a string"},
        {"{\"ingredient_paths\":[\"no-such.jpg\"]}", "no-such.jpg"},
        {"{\"ingredient_paths\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
         "more than 16"},
        {"{\"title\": ", "not JSON"},
        {"{\"assertions\":[{\"label\":\"c2pa.actions\",\"data\":{\"actions\":[{\"action\":\"c2pa.opened\"}]}}]}",
         "c2pa.opened"},
        {"{\"assertions\":[{\"label\":\"c2pa.actions\",\"data\":{\"actions\":[{\"parameters\":{}}]}}]}",
         "needs an \"action\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/bad.json", D);
        tu_write(path, bad[i][0], strlen(bad[i][0]));
        assert_int_equal(prov("sign kodim01.png -o badgen.png --key k -m bad.json"), 2);
        assert_output_has(bad[i][1]);
        assert_int_equal(tu_sh("test ! -e %s/badgen.png", D), 0);
    }
    /* c2pa.created on a file that has a parent */
    assert_int_equal(prov("sign gen.png -o gen2.png --key k -m def.json"), 2);
    assert_output_has("has a parent");
    /* ingredients from files, relative to the definition's folder: a signed
     * one (its manifest comes along) and a plain one; each placed */
    assert_int_equal(tu_sh("cd %s && mkdir -p comp && cp gen.png comp/signed.png && cp teapot.jpg comp/plain.jpg && "
                           "printf '{\"title\":\"Collage\",\"ingredient_paths\":[\"signed.png\",\"plain.jpg\"]}' "
                           "> comp/def.json", D), 0);
    assert_int_equal(prov("sign kodim01.png -o collage.png --key k -m comp/def.json"), 0);
    assert_int_equal(prov("verify collage.png --trust ca/root.pem"), 0);
    assert_output_has("trusted");
    assert_output_has("action:   c2pa.placed");
    assert_output_has("ingredient: signed.png");
    assert_output_has("ingredient: plain.jpg");
    assert_int_equal(prov("verify --json collage.png --trust ca/root.pem"), 0);
    assert_output_has("\"relationship\":\"componentOf\"");
    assert_output_has("\"title\":\"signed.png\",\"format\":\"image/png\",\"relationship\":\"componentOf\",\"manifest\":\"urn:c2pa:");
    /* ingredients without files (c2patool's "ingredients"): an input to the
     * generator and a placed logo, recorded as described; with files too,
     * numbered after them */
    assert_int_equal(tu_sh("cd %s && printf '%%s' '{\"title\":\"Gen\",\"ingredient_paths\":[\"plain.jpg\"],"
                           "\"ingredients\":[{\"title\":\"prompt photo\",\"format\":\"image/jpeg\","
                           "\"relationship\":\"inputTo\",\"instance_id\":\"xmp:iid:42\",\"description\":\"given as prompt\"},"
                           "{\"title\":\"logo\",\"format\":\"image/png\",\"informational_uri\":\"https://example.com/l\"}]}' "
                           "> comp/meta.json", D), 0);
    assert_int_equal(prov("sign kodim01.png -o meta.png --key k -m comp/meta.json"), 0);
    assert_int_equal(prov("verify meta.png --trust ca/root.pem"), 0);
    assert_output_has("ingredient: prompt photo");
    assert_output_has("ingredient: logo");
    assert_int_equal(prov("inspect --json meta.png"), 0);
    assert_output_has("\"label\":\"c2pa.ingredient.v3__1\",\"data\":{\"dc:title\":\"prompt photo\",\"dc:format\":"
                      "\"image/jpeg\",\"relationship\":\"inputTo\",\"instanceID\":\"xmp:iid:42\",\"description\":"
                      "\"given as prompt\"}");
    assert_output_has("\"relationship\":\"componentOf\",\"informationalURI\":\"https://example.com/l\"");
    /* two placed (the file and the logo), the input not */
    assert_int_equal(tu_sh("cd %s && %s inspect --json meta.png | grep -o 'c2pa.placed' | wc -l | grep -qx 2", D, P), 0);
    /* a batch cannot share them */
    assert_int_equal(prov("sign kodim01.png teapot.jpg -d batchdef --key k -m comp/def.json"), 2);
    assert_output_has("one file at a time");
    assert_int_equal(prov("sign kodim01.png -o g.png --key k -m nosuch.json"), 2);
}

/* The registry story: register, sign (the proof is embedded), verify with
 * the signer's identity, flag, revoke: the file turns invalid. */
static void test_registry_identity(void **state)
{
    (void)state;
    assert_int_equal(prov("registry init reg --origin example.org/prov-cli-test"), 0);
    assert_int_equal(prov("keygen -o j.key --subject 'Jane Doe'"), 0);
    assert_int_equal(prov("register --registry reg --key j.key --name 'Jane Doe' --org 'Daily News'"), 0);
    assert_int_equal(prov("sign teapot.jpg -o r.jpg --key j.key"), 0);
    assert_int_equal(prov("inspect --json r.jpg"), 0);
    assert_output_has("\"label\":\"prov.registration\"");
    assert_int_equal(prov("verify --json r.jpg --trust reg/root.pem --registry reg"), 0);
    assert_output_has("\"state\":\"trusted\"");
    assert_output_has("\"identity\":{\"key_id\":");
    assert_output_has("\"proof\":\"verified\"");
    assert_output_has("\"name\":\"Jane Doe\",\"org\":\"Daily News\"");
    assert_output_has("\"status\":\"active\"");
    /* choosing the registry is trusting its CA: trusted without --trust */
    assert_int_equal(prov("verify --json r.jpg --registry reg"), 0);
    assert_output_has("\"state\":\"trusted\"");
    assert_output_has("\"name\":\"Jane Doe\",\"org\":\"Daily News\"");
    /* ... and without it, the signer chains to nothing the user chose */
    assert_int_equal(prov("verify --json r.jpg"), 0);
    assert_output_has("\"state\":\"valid\"");
    /* a key the registry does not know */
    assert_int_equal(prov("verify --json s.jpg --registry reg"), 0);
    assert_output_has("\"status\":\"unregistered\"");
    assert_int_equal(prov("registry flag reg --key j.key.pub --media r.jpg --reason 'fabricated image'"), 0);
    assert_int_equal(prov("verify --json r.jpg --trust reg/root.pem --registry reg"), 0);
    assert_output_has("prov.identity.flagged");
    assert_output_has("\"reason\":\"fabricated image\"");
    assert_int_equal(prov("registry revoke reg --key j.key.pub --reason 'penalty: fabricated image'"), 0);
    assert_int_equal(prov("verify --json r.jpg --trust reg/root.pem --registry reg"), 1);
    assert_output_has("\"state\":\"invalid\"");
    assert_output_has("signingCredential.revoked");
    assert_output_has("\"status\":\"revoked\"");
    /* without the registry the file itself is intact */
    assert_int_equal(prov("verify r.jpg --trust reg/root.pem"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_sign_verify_exit_codes),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_parent_and_inplace),
        cmocka_unit_test(test_registry_identity),
        cmocka_unit_test(test_stale_temporaries),
        cmocka_unit_test(test_sign_guards),
        cmocka_unit_test(test_sign_batch),
        cmocka_unit_test(test_ecdsa_cli),
        cmocka_unit_test(test_manifest_definition),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
