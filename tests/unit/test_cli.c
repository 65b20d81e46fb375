/* test_cli.c - the prov command as a user drives it: exit codes, --help,
 * JSON output, key files, passphrases, and error messages. */
#include "testutil.h"

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
    assert_output_has("not a JPEG or PNG");
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
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
