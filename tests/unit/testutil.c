/* testutil.c - helpers shared by the cmocka unit tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

uint8_t *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return p;
}

void tu_write(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot create %s", path);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char tmpdir[256];

static void rm_tmpdir(void)
{
    if (!tmpdir[0] || getenv("PROV_KEEP_TMP")) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) {}
}

const char *tu_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/prov-test-XXXXXX");
        if (!mkdtemp(tmpdir)) fail_msg("mkdtemp failed");
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

const char *tu_path(const char *name)
{
    static char ring[8][512];
    static int k;
    char *p = ring[k++ & 7];
    snprintf(p, 512, "%s/%s", tu_tmpdir(), name);
    return p;
}

const char *tu_fixture(const char *rel)
{
    static char ring[8][512];
    static int k;
    char *p = ring[k++ & 7];
    const char *shared = getenv("PROV_SHARED");
    snprintf(p, 512, "%s/fixtures/%s", shared ? shared : "../shared", rel);
    return p;
}

const char *tu_prov_bin(void)
{
    const char *b = getenv("PROV_BIN");
    return b ? b : "build/prov";
}

int tu_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

int tu_identity_make(prov_ctx *ctx, tu_identity *id, const char *root_subject, const char *leaf_subject)
{
    memset(id, 0, sizeof *id);
    uint8_t *root = NULL, *leaf = NULL, pk[32];
    size_t rl, ll;
    char *pr = NULL, *pl = NULL;
    int rc = -1;
    if (prov_key_generate(&id->ca_key) || prov_key_generate(&id->key)) goto out;
    prov_key_public(id->key, pk);
    if (prov_cert_make_root(ctx, id->ca_key, root_subject, 30, &root, &rl) ||
        prov_cert_make_leaf(ctx, id->ca_key, root, rl, pk, leaf_subject, 30, &leaf, &ll) ||
        prov_cert_to_pem(root, rl, &pr) || prov_cert_to_pem(leaf, ll, &pl) ||
        prov_chain_from_pem(ctx, pl, strlen(pl), &id->chain) || prov_trust_new(&id->trust) ||
        prov_trust_add_pem(ctx, id->trust, pr, strlen(pr)))
        goto out;
    rc = 0;
out:
    prov_free(root);
    prov_free(leaf);
    prov_free(pr);
    prov_free(pl);
    return rc;
}

void tu_identity_free(tu_identity *id)
{
    prov_chain_free(id->chain);
    prov_trust_free(id->trust);
    prov_key_free(id->key);
    prov_key_free(id->ca_key);
    memset(id, 0, sizeof *id);
}
