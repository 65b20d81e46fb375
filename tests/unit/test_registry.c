/* test_registry.c - the identity registry: entries, the local log
 * (sequencer, crash safety, tampering), proofs, the CA, lookup, the CLI. */
#include "registry.h"
#include "testutil.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ORIGIN "example.com/registry"

/* A registry made through the library, as `prov registry init` does. */
typedef struct treg {
    char dir[512];
    prov_key *logk, *cak, *regk;
    prov_signer lps, rps;
    tlog_signer log, reg;
    tlog_verifier logv;
} treg;

static void put_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tu_write(path, p, n);
}

static void mkreg(treg *r, const char *name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", tu_path(name));
    assert_int_equal(mkdir(r->dir, 0755), 0);
    assert_int_equal(prov_key_generate(&r->logk), 0);
    assert_int_equal(prov_key_generate(&r->cak), 0);
    assert_int_equal(prov_key_generate(&r->regk), 0);
    uint8_t pk[32];
    prov_key_public(r->logk, pk);
    prov_signer_from_key(&r->lps, r->logk);
    assert_int_equal(tlog_signer_external(&r->log, ORIGIN, TLOG_ALG_ED25519, pk, &r->lps), 0);
    tlog_signer_verifier(&r->log, &r->logv);
    assert_int_equal(reg_signer_from_key(&r->reg, &r->rps, r->regk), 0);
    uint8_t *der;
    size_t dl;
    char *pem;
    assert_int_equal(prov_cert_make_root(NULL, r->cak, "Test Registry Root CA", 3650, &der, &dl), 0);
    assert_int_equal(prov_cert_to_pem(der, dl, &pem), 0);
    put_file(r->dir, "root.pem", pem, strlen(pem));
    prov_free(der);
    prov_free(pem);
    char kt[53], pol[400];
    prov_key_public(r->regk, pk);
    reg_key_text(kt, pk);
    snprintf(pol, sizeof pol, REG_MAGIC " policy\norigin " ORIGIN "\nregistrar %s op\nflagger %s op\n", kt, kt);
    put_file(r->dir, "policy", pol, strlen(pol));
    assert_int_equal(reg_log_create(r->dir, &r->log, NULL), 0);
}

static void rmreg(treg *r)
{
    prov_key_free(r->logk), prov_key_free(r->cak), prov_key_free(r->regk);
}

/* A register entry for key k by r's registrar. */
static void make_register(treg *r, prov_key *k, const char *name, const char *org, pbuf *out)
{
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REGISTER;
    e.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    assert_int_equal(reg_pub_from_key(&e.key_pub, k), 0);
    memcpy(e.key, e.key_pub.id, 32);
    prov_key_public(r->regk, e.registrar);
    e.name = (reg_str){name, strlen(name)};
    if (org) e.org = (reg_str){org, strlen(org)};
    e.checked_by = (reg_str){"in-person", 9};
    e.time = 1700000000;
    tlog_signer s[2];
    prov_signer ps;
    assert_int_equal(reg_signer_from_key(&s[0], &ps, k), 0);
    s[1] = r->reg;
    pbuf_init(out);
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    int rc = reg_entry_build(out, &e, s, 2, ctx);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
    prov_ctx_free(ctx);
}

static int append1(reg_log *l, const pbuf *e, uint64_t *idx, prov_ctx *ctx)
{
    const uint8_t *p = e->p;
    size_t n = e->len;
    return reg_log_append(l, &p, &n, 1, idx, NULL, ctx);
}

/* ---- entries ------------------------------------------------------------ */

static void test_entry_format(void **st)
{
    (void)st;
    treg r;
    mkreg(&r, "fmt");
    prov_key *k;
    assert_int_equal(prov_key_generate(&k), 0);
    pbuf b;
    make_register(&r, k, "Jane Doe", "Daily News", &b);
    reg_entry e;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    assert_int_equal(reg_entry_parse(b.p, b.len, true, &e, ctx), 0);
    assert_int_equal(e.kind, REG_REGISTER);
    assert_int_equal(e.nsigners, 2);
    assert_int_equal(e.name.n, 8);
    assert_memory_equal(e.name.p, "Jane Doe", 8);
    assert_true(!strncmp((char *)b.p, "prov-registry/v1 register\nlog " ORIGIN "\nkey ed25519:", 38 + 5 + sizeof ORIGIN - 1));
    assert_int_equal(e.log.n, sizeof ORIGIN - 1);
    /* an entry must name its log */
    reg_entry nolog = e;
    nolog.log = (reg_str){NULL, 0};
    pbuf nb;
    pbuf_init(&nb);
    tlog_signer ns;
    prov_signer nps;
    reg_signer_from_key(&ns, &nps, k);
    assert_int_equal(reg_entry_build(&nb, &nolog, &ns, 1, ctx), PROV_EINVAL);
    pbuf_free(&nb);
    /* any byte of the text changed: a signature fails or the format does */
    for (size_t i = 0; i < b.len; i += 7) {
        uint8_t *m = malloc(b.len);
        memcpy(m, b.p, b.len);
        m[i] ^= 0x01;
        assert_int_not_equal(reg_entry_parse(m, b.len, true, &e, ctx), 0);
        free(m);
    }
    /* only the key's signature (registrar's dropped): missing signature */
    const char *sep = strstr((char *)b.p, "\n\n");
    const char *last = strrchr((char *)b.p, 0x80) ? NULL : NULL;
    (void)last;
    size_t cut = (size_t)(strstr(sep + 2, "\n") - (char *)b.p) + 1;
    assert_int_equal(reg_entry_parse(b.p, cut, true, &e, ctx), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "lacks the signature"));
    /* fields out of order are malformed */
    reg_entry f;
    memset(&f, 0, sizeof f);
    f.kind = REG_REVOKE;
    f.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    prov_key_public(k, f.key);
    f.reason = (reg_str){" bad", 4};
    prov_signer ps;
    tlog_signer s;
    reg_signer_from_key(&s, &ps, k);
    pbuf o;
    pbuf_init(&o);
    assert_int_equal(reg_entry_build(&o, &f, &s, 1, ctx), PROV_EINVAL); /* leading space */
    f.reason = (reg_str){"key-compromise", 14};
    f.effective = 5, f.time = 6;
    assert_int_equal(reg_entry_build(&o, &f, &s, 1, ctx), 0);
    assert_int_equal(reg_entry_parse(o.p, o.len, true, &e, ctx), 0);
    assert_int_equal(e.kind, REG_REVOKE);
    assert_int_equal(e.effective, 5);
    static const char bad[] = "prov-registry/v1 revoke\nreason x\nkey ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                              "effective 1\ntime 1\n\n\xe2\x80\x94 x AAAAAAAA\n";
    assert_int_equal(reg_entry_parse((const uint8_t *)bad, sizeof bad - 1, false, &e, ctx), PROV_EFORMAT);
    pbuf_free(&o);
    pbuf_free(&b);
    prov_key_free(k);
    prov_ctx_free(ctx);
    rmreg(&r);
}

/* ---- the whole story ------------------------------------------------------ */

static void test_register_lookup_proof_sign(void **st)
{
    (void)st;
    treg r;
    mkreg(&r, "story");
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    reg_log *l;
    int rc = reg_log_open(&l, r.dir, &r.log, ctx);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
    prov_key *k[3];
    const char *names[3] = {"Alice Doe", "Bob Roe", "Carol, Jr."};
    uint64_t idx[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(prov_key_generate(&k[i]), 0);
        pbuf e;
        make_register(&r, k[i], names[i], "Daily News", &e);
        assert_int_equal(append1(l, &e, &idx[i], ctx), 0);
        assert_int_equal(idx[i], (uint64_t)i);
        /* the same key twice: refused */
        if (i == 0) assert_int_equal(append1(l, &e, NULL, ctx), PROV_EINVAL);
        pbuf_free(&e);
    }
    assert_int_equal(reg_log_size(l), 3);
    /* the log verifies */
    reg_walk_stats ws;
    assert_int_equal(reg_walk(r.dir, true, NULL, &ws, ctx), 0);
    assert_int_equal(ws.size, 3);
    /* the tlog-proof of entry 1 verifies offline */
    pbuf pr;
    pbuf_init(&pr);
    assert_int_equal(reg_log_proof(l, 1, &pr, ctx), 0);
    uint8_t *eb;
    size_t el;
    reg_entry e;
    assert_int_equal(reg_proof_verify(pr.p, pr.len, ORIGIN, &r.logv, &eb, &el, &e, ctx), 0);
    uint8_t pk[32];
    prov_key_public(k[1], pk);
    assert_memory_equal(e.key, pk, 32);
    free(eb);
    /* ... and not against another log key, nor once altered */
    treg other;
    mkreg(&other, "other");
    assert_int_not_equal(reg_proof_verify(pr.p, pr.len, ORIGIN, &other.logv, NULL, NULL, NULL, ctx), 0);
    char *idxl = strstr((char *)pr.p, "index 1");
    idxl[6] = '2';
    assert_int_not_equal(reg_proof_verify(pr.p, pr.len, ORIGIN, &r.logv, NULL, NULL, NULL, ctx), 0);
    pbuf_free(&pr);
    /* the leaf certificate chains to root.pem and passes the profile */
    char *pem;
    reg_pub bobp;
    reg_pub_ed25519(&bobp, pk);
    assert_int_equal(reg_ca_issue(ctx, r.dir, r.cak, &bobp, "Bob Roe", "Daily News, Inc.", 730, &pem), 0);
    prov_chain *chain;
    assert_int_equal(prov_chain_from_pem(ctx, pem, strlen(pem), &chain), 0);
    assert_int_equal(prov_chain_count(chain), 2);
    prov_signer s;
    prov_signer_from_key(&s, k[1]);
    const char *out = tu_path("signed.jpg");
    rc = prov_sign_file(ctx, NULL, &s, chain, "samples/teapot.jpg", out);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
    prov_trust *trust;
    char rootp[600];
    snprintf(rootp, sizeof rootp, "%s/root.pem", r.dir);
    assert_int_equal(prov_trust_new(&trust), 0);
    assert_int_equal(prov_trust_add_pem_file(ctx, trust, rootp), 0);
    prov_verify_opts vo = {.trust = trust};
    prov_report *rep;
    assert_int_equal(prov_verify_file(ctx, &vo, out, &rep), 0);
    assert_int_equal(prov_report_state(rep), PROV_STATE_TRUSTED);
    prov_report_free(rep);
    prov_trust_free(trust);
    prov_chain_free(chain);
    prov_free(pem);
    /* revoke (by the registrar), flag, rotate */
    tlog_signer sg[2];
    prov_signer ps[2];
    pbuf b;
    pbuf_init(&b);
    memset(&e, 0, sizeof e);
    e.kind = REG_REVOKE;
    e.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    prov_key_public(k[0], e.key);
    e.reason = (reg_str){"penalty: signed a deepfake", 26};
    e.time = 1700000100, e.effective = 1700000050;
    assert_int_equal(reg_entry_build(&b, &e, &r.reg, 1, ctx), 0);
    assert_int_equal(append1(l, &b, NULL, ctx), 0);
    b.len = 0;
    e.kind = REG_FLAG;
    e.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    prov_key_public(k[1], e.key);
    e.reason = (reg_str){"deepfake", 8};
    memset(e.media, 0xab, 32);
    prov_key_public(r.regk, e.flagger);
    assert_int_equal(reg_entry_build(&b, &e, &r.reg, 1, ctx), 0);
    assert_int_equal(append1(l, &b, NULL, ctx), 0);
    /* the same flag sent again (copied from the published bundles): refused */
    assert_int_equal(append1(l, &b, NULL, ctx), PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "the same flag is already entry"));
    /* a flag made for another log: refused (an entry is bound to its log) */
    b.len = 0;
    e.log = (reg_str){"other.example/log", 17};
    e.time = 1700000111;
    assert_int_equal(reg_entry_build(&b, &e, &r.reg, 1, ctx), 0);
    assert_int_equal(append1(l, &b, NULL, ctx), PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "not this log"));
    e.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    e.time = 0;
    /* a flag by a key the policy does not accredit: refused */
    b.len = 0;
    prov_key_public(k[2], e.flagger);
    reg_signer_from_key(&sg[0], &ps[0], k[2]);
    assert_int_equal(reg_entry_build(&b, &e, &sg[0], 1, ctx), 0);
    assert_int_equal(append1(l, &b, NULL, ctx), PROV_EINVAL);
    /* a revoke signed by another registered key: refused */
    b.len = 0;
    e.kind = REG_REVOKE;
    e.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    prov_key_public(k[1], e.key);
    e.reason = (reg_str){"spite", 5};
    assert_int_equal(reg_entry_build(&b, &e, &sg[0], 1, ctx), 0);
    assert_int_equal(append1(l, &b, NULL, ctx), TLOG_EVERIFY);
    /* rotate k2 -> k3 */
    prov_key *k3;
    assert_int_equal(prov_key_generate(&k3), 0);
    b.len = 0;
    memset(&e, 0, sizeof e);
    e.kind = REG_ROTATE;
    e.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    prov_key_public(k[2], e.key);
    prov_key_public(k3, e.new_key);
    e.time = 1700000200;
    reg_signer_from_key(&sg[1], &ps[1], k3);
    assert_int_equal(reg_entry_build(&b, &e, sg, 1, ctx), 0); /* old key only */
    assert_int_equal(append1(l, &b, NULL, ctx), TLOG_EVERIFY);
    b.len = 0;
    assert_int_equal(reg_entry_build(&b, &e, sg, 2, ctx), 0);
    assert_int_equal(append1(l, &b, NULL, ctx), 0);
    pbuf_free(&b);
    reg_log_close(l);
    /* lookup from the folder */
    reg_state *s2;
    assert_int_equal(reg_state_new(&s2), 0);
    assert_int_equal(reg_walk(r.dir, true, s2, &ws, ctx), 0);
    assert_int_equal(ws.size, 6);
    prov_key_public(k[0], pk);
    const reg_ident *d = reg_state_find(s2, pk);
    assert_non_null(d);
    assert_int_equal(d->status, REG_REVOKED);
    assert_string_equal(d->revoked_reason, "penalty: signed a deepfake");
    assert_int_equal(d->revoked_effective, 1700000050);
    prov_key_public(k[1], pk);
    d = reg_state_find(s2, pk);
    assert_int_equal(d->status, REG_ACTIVE);
    assert_int_equal(d->nflags, 1);
    assert_string_equal(d->flags[0].reason, "deepfake");
    prov_key_public(k[2], pk);
    assert_int_equal(reg_state_find(s2, pk)->status, REG_ROTATED);
    prov_key_public(k3, pk);
    d = reg_state_find(s2, pk);
    assert_int_equal(d->status, REG_ACTIVE);
    assert_string_equal(d->name, "Carol, Jr.");
    const reg_ident *hits[4];
    assert_int_equal(reg_state_search(s2, "bob roe", hits, 4), 1);
    char id[17];
    reg_key_id(id, hits[0]->key);
    id[8] = 0;
    assert_int_equal(reg_state_search(s2, id, hits, 4), 1);
    reg_state_free(s2);
    for (int i = 0; i < 3; i++) prov_key_free(k[i]);
    prov_key_free(k3);
    prov_ctx_free(ctx);
    rmreg(&r);
    rmreg(&other);
}

/* ---- crash safety --------------------------------------------------------- */

static void test_crash_recovery(void **st)
{
    (void)st;
    treg r;
    mkreg(&r, "crash");
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    reg_log *l;
    assert_int_equal(reg_log_open(&l, r.dir, &r.log, ctx), 0);
    enum { N1 = 300, N2 = 50 };
    pbuf es[N1 + N2];
    const uint8_t *ps[N1 + N2];
    size_t ls[N1 + N2];
    for (int i = 0; i < N1 + N2; i++) {
        prov_key *k;
        prov_key_generate(&k);
        char nm[32];
        snprintf(nm, sizeof nm, "person %d", i);
        make_register(&r, k, nm, NULL, &es[i]);
        ps[i] = es[i].p, ls[i] = es[i].len;
        prov_key_free(k);
    }
    assert_int_equal(reg_log_append(l, ps, ls, 10, NULL, NULL, ctx), 0);
    /* the process "dies" after the journal fsync, before tiles/checkpoint */
    reg_log_test_crash_after_journal = 1;
    assert_int_equal(reg_log_append(l, ps + 10, ls + 10, N1 - 10, NULL, NULL, ctx), 0);
    reg_log_test_crash_after_journal = 0;
    reg_log_close(l);
    /* what readers see still verifies: the old checkpoint */
    reg_walk_stats ws;
    assert_int_equal(reg_walk(r.dir, true, NULL, &ws, ctx), 0);
    assert_int_equal(ws.size, 10);
    /* plus a torn, unacknowledged record at the journal's end */
    char jp[600];
    snprintf(jp, sizeof jp, "%s/journal", r.dir);
    FILE *f = fopen(jp, "ab");
    fwrite("\0\0\1\0garbage", 1, 11, f);
    fclose(f);
    /* and the newest partial tiles lost too (removed) */
    assert_int_equal(tu_sh("rm -f %s/tile/0/000.p/10 %s/tile/entries/000.p/10", r.dir, r.dir), 0);
    assert_int_equal(reg_walk(r.dir, true, NULL, &ws, ctx), TLOG_EVERIFY);
    /* reopening recovers every accepted entry */
    int rc = reg_log_open(&l, r.dir, &r.log, ctx);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
    assert_int_equal(reg_log_size(l), N1);
    assert_int_equal(reg_log_append(l, ps + N1, ls + N1, N2, NULL, NULL, ctx), 0);
    reg_log_close(l);
    rc = reg_walk(r.dir, true, NULL, &ws, ctx);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
    assert_int_equal(ws.size, N1 + N2);
    /* the lost partial tile (size 10) is gone for good, but readers of the
     * size-350 checkpoint never need it */
    /* one writer at a time */
    assert_int_equal(reg_log_open(&l, r.dir, &r.log, ctx), 0);
    reg_log *l2;
    assert_int_equal(reg_log_open(&l2, r.dir, &r.log, ctx), PROV_EIO);
    reg_log_close(l);
    for (int i = 0; i < N1 + N2; i++) pbuf_free(&es[i]);
    prov_ctx_free(ctx);
    rmreg(&r);
}

/* ---- tampering -------------------------------------------------------------- */

static void flip(const char *dir, const char *rel, size_t off)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    size_t n;
    uint8_t *b = tu_read(p, &n);
    assert_true(off < n);
    b[off] ^= 0x20;
    tu_write(p, b, n);
    free(b);
}

static void test_tamper(void **st)
{
    (void)st;
    treg r;
    mkreg(&r, "tamper");
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    reg_log *l;
    assert_int_equal(reg_log_open(&l, r.dir, &r.log, ctx), 0);
    enum { N = 600 }; /* two full tiles and a partial one */
    pbuf es[N];
    const uint8_t *ps[N];
    size_t ls[N];
    for (int i = 0; i < N; i++) {
        prov_key *k;
        prov_key_generate(&k);
        make_register(&r, k, "someone", NULL, &es[i]);
        ps[i] = es[i].p, ls[i] = es[i].len;
        prov_key_free(k);
    }
    assert_int_equal(reg_log_append(l, ps, ls, 300, NULL, NULL, ctx), 0);
    assert_int_equal(reg_log_append(l, ps + 300, ls + 300, N - 300, NULL, NULL, ctx), 0);
    reg_log_close(l);
    reg_walk_stats ws;
    assert_int_equal(reg_walk(r.dir, true, NULL, &ws, ctx), 0);
    assert_int_equal(ws.tiles_checked, 3 + 1); /* level 0: 2 full + 1 partial; level 1: partial of 2 */
    const char *files[] = {"tile/0/000", "tile/0/002.p/88", "tile/1/000.p/2", "tile/entries/001",
                           "tile/entries/002.p/88", "checkpoint"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        flip(r.dir, files[i], 40);
        int rc = reg_walk(r.dir, true, NULL, &ws, ctx);
        assert_int_not_equal(rc, 0);
        flip(r.dir, files[i], 40);
        assert_int_equal(reg_walk(r.dir, true, NULL, &ws, ctx), 0);
    }
    /* the CLI says so too: exit 1 */
    flip(r.dir, "tile/entries/000", 100);
    assert_int_equal(tu_sh("%s registry verify %s >/dev/null 2>&1", tu_prov_bin(), r.dir), 1);
    flip(r.dir, "tile/entries/000", 100);
    assert_int_equal(tu_sh("%s registry verify %s >/dev/null 2>&1", tu_prov_bin(), r.dir), 0);
    for (int i = 0; i < N; i++) pbuf_free(&es[i]);
    prov_ctx_free(ctx);
    rmreg(&r);
}

/* ---- the command line ------------------------------------------------------- */

static void test_cli(void **st)
{
    (void)st;
    static char P[4096];
    const char *D = tu_path("cli");
    assert_non_null(realpath(tu_prov_bin(), P));
    assert_int_equal(tu_sh("mkdir -p %s && cp samples/teapot.jpg %s/", D, D), 0);
    assert_int_equal(tu_sh("cd %s && %s registry init reg --origin example.org/log --no-encrypt >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry init reg --origin example.org/log --no-encrypt 2>/dev/null", D, P), 2);
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s keygen -o a.key --subject A >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s register --registry reg --key a.key --name 'Ann Lee' "
                           "--org 'The Post' >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && test -s a.key.chain.pem && test -s a.key.proof", D), 0);
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s sign teapot.jpg -o s.jpg --key a.key >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s verify s.jpg --trust reg/root.pem | grep -q trusted", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry lookup reg 'ann lee' | grep -q 'status:   active'", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry flag reg --key a.key.pub --media s.jpg --reason fake >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry revoke reg --key a.key.pub --reason 'penalty: fake' >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry lookup --registry reg a.key.pub --json > l.json && "
                           "grep -q '\"status\":\"revoked\"' l.json && grep -q '\"manifest_sha256\":\"' l.json", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry lookup reg nobody >/dev/null 2>&1", D, P), 1);
    assert_int_equal(tu_sh("cd %s && %s registry verify reg >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && %s registry bogus reg 2>/dev/null", D, P), 2);
}

/* ---- speed -------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_speed(void **st)
{
    (void)st;
    treg r;
    mkreg(&r, "speed");
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    int N = getenv("REG_BENCH_N") ? atoi(getenv("REG_BENCH_N")) : 20000, B = 1000;
    pbuf *es = calloc((size_t)N, sizeof *es);
    const uint8_t **ps = calloc((size_t)N, sizeof *ps);
    size_t *ls = calloc((size_t)N, sizeof *ls);
    uint8_t(*keys)[32] = calloc((size_t)N, 32);
    for (int i = 0; i < N; i++) {
        prov_key *k;
        prov_key_generate(&k);
        make_register(&r, k, "bench person", "Bench Org", &es[i]);
        prov_key_public(k, keys[i]);
        ps[i] = es[i].p, ls[i] = es[i].len;
        prov_key_free(k);
    }
    reg_log *l;
    assert_int_equal(reg_log_open(&l, r.dir, &r.log, ctx), 0);
    double t0 = now();
    for (int i = 0; i < N; i += B)
        assert_int_equal(reg_log_append(l, ps + i, ls + i, (size_t)(N - i < B ? N - i : B), NULL, NULL, ctx), 0);
    double t1 = now();
    reg_log_close(l);
    reg_state *s;
    reg_state_new(&s);
    reg_walk_stats ws;
    double t2 = now();
    assert_int_equal(reg_walk(r.dir, true, s, &ws, ctx), 0);
    double t3 = now();
    assert_int_equal(ws.size, (uint64_t)N);
    int L = 1000000;
    size_t found = 0;
    for (int i = 0; i < L; i++) found += reg_state_find(s, keys[((size_t)i * 7919) % (size_t)N]) != NULL;
    double t4 = now();
    assert_int_equal(found, (size_t)L);
    printf("registry speed: %d entries appended in batches of %d: %.0f entries/s (each verified: 2 Ed25519)\n"
           "                whole log verified from the folder (checkpoint, tiles, every entry): %.0f entries/s\n"
           "                lookups by key in the state: %.0f lookups/s\n",
           N, B, N / (t1 - t0), N / (t3 - t2), L / (t4 - t3));
    reg_state_free(s);
    for (int i = 0; i < N; i++) pbuf_free(&es[i]);
    free(es), free(ps), free(ls), free(keys);
    prov_ctx_free(ctx);
    rmreg(&r);
}


/* ---- ECDSA keys ------------------------------------------------------------ */

static void set_key(reg_pub *kp, uint8_t handle[32], prov_key *k)
{
    assert_int_equal(reg_pub_from_key(kp, k), 0);
    memcpy(handle, kp->id, 32);
}

static void build_signed(const reg_entry *e, prov_key *a, prov_key *b, const tlog_signer *extra, pbuf *out,
                         prov_ctx *ctx)
{
    tlog_signer s[2];
    prov_signer ps[2];
    size_t n = 0;
    if (a) assert_int_equal(reg_signer_from_key(&s[n], &ps[n], a), 0), n++;
    if (b) assert_int_equal(reg_signer_from_key(&s[n], &ps[n], b), 0), n++;
    if (extra) s[n++] = *extra;
    pbuf_init(out);
    int rc = reg_entry_build(out, e, s, n, ctx);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
}

/* ES256 and ES384 keys in the registry: a register entry names the key by
 * its SPKI and is signed by it (a signed-note ECDSA line named by the
 * SPKI's hash); the key rotates to a P-384 key and that one revokes
 * itself; the log, the state, the CA and a certificate's key agree on one
 * handle; forged, foreign and non-canonical keys are refused. */
static void test_ecdsa_keys(void **st)
{
    (void)st;
    treg r;
    mkreg(&r, "ec");
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    prov_key *p256, *p384, *stranger;
    assert_int_equal(prov_key_generate_alg(PROV_ALG_ES256, &p256), 0);
    assert_int_equal(prov_key_generate_alg(PROV_ALG_ES384, &p384), 0);
    assert_int_equal(prov_key_generate_alg(PROV_ALG_ES256, &stranger), 0);
    uint8_t *der;
    size_t dl;
    assert_int_equal(prov_key_public_der(p256, &der, &dl), 0);

    pbuf b;
    make_register(&r, p256, "Cam One", "Daily News", &b);
    assert_non_null(strstr((char *)b.p, "\nkey ecdsa:MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"));
    assert_non_null(strstr((char *)b.p, "\xe2\x80\x94 ecdsa:"));
    reg_entry e;
    assert_int_equal(reg_entry_parse(b.p, b.len, true, &e, ctx), 0);
    assert_int_equal(e.nsigners, 2);
    assert_int_equal(e.key_pub.alg, PROV_ALG_ES256);
    assert_int_equal(e.key_pub.spki_len, dl);
    assert_memory_equal(e.key_pub.spki, der, dl);
    uint8_t h[32];
    crypto_hash_sha256(h, der, dl);
    assert_memory_equal(e.key, h, 32);
    prov_key_public(p256, h); /* prov_key_public names an ECDSA key the same way */
    assert_memory_equal(e.key, h, 32);
    /* any byte changed: refused */
    for (size_t i = 0; i < b.len; i += 5) {
        uint8_t *m = malloc(b.len);
        memcpy(m, b.p, b.len);
        m[i] ^= 0x01;
        assert_int_not_equal(reg_entry_parse(m, b.len, true, &e, ctx), 0);
        free(m);
    }
    /* the key's line signed by another ECDSA key: that key is not in the
     * entry, so the entry lacks its key's signature */
    reg_entry f;
    memset(&f, 0, sizeof f);
    f.kind = REG_REGISTER;
    f.log = (reg_str){ORIGIN, sizeof ORIGIN - 1};
    set_key(&f.key_pub, f.key, p256);
    prov_key_public(r.regk, f.registrar);
    f.name = (reg_str){"Mallory", 7};
    f.time = 1700000000;
    pbuf forged;
    build_signed(&f, stranger, NULL, &r.reg, &forged, ctx);
    assert_int_equal(reg_entry_parse(forged.p, forged.len, true, &e, ctx), TLOG_EVERIFY);
    pbuf_free(&forged);
    /* the stranger's signature line renamed to the key's name: its key ID
     * no longer matches, so it is not the key's signature either */
    build_signed(&f, stranger, NULL, &r.reg, &forged, ctx);
    char want[REG_SIGNAME_MAX], got[REG_SIGNAME_MAX];
    reg_sig_name(want, &f.key_pub);
    reg_pub sp;
    assert_int_equal(reg_pub_from_key(&sp, stranger), 0);
    reg_sig_name(got, &sp);
    char *at = strstr((char *)forged.p, got);
    assert_non_null(at);
    memcpy(at, want, strlen(want));
    assert_int_equal(reg_entry_parse(forged.p, forged.len, true, &e, ctx), TLOG_EVERIFY);
    pbuf_free(&forged);
    /* the key as a compressed point: the same key, but not its one text */
    EVP_PKEY *ek;
    const unsigned char *pp = der;
    assert_non_null(ek = d2i_PUBKEY(NULL, &pp, (long)dl));
    EVP_PKEY_set_utf8_string_param(ek, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed");
    unsigned char *cder = NULL;
    int cl = i2d_PUBKEY(ek, &cder);
    char cb64[200], ub64[200];
    sodium_bin2base64(cb64, sizeof cb64, cder, (size_t)cl, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(ub64, sizeof ub64, der, dl, sodium_base64_VARIANT_ORIGINAL);
    pbuf cmp;
    pbuf_init(&cmp);
    const char *kl = strstr((char *)b.p, ub64);
    assert_non_null(kl);
    pbuf_put(&cmp, b.p, (size_t)(kl - (char *)b.p));
    pbuf_puts(&cmp, cb64);
    pbuf_puts(&cmp, kl + strlen(ub64));
    assert_int_equal(reg_entry_parse(cmp.p, cmp.len, false, &e, ctx), PROV_EFORMAT);
    pbuf_free(&cmp);
    /* lookups take the compressed form (a certificate may carry it) to
     * the same handle */
    reg_pub cp;
    assert_int_equal(reg_pub_from_spki(&cp, cder, (size_t)cl), 0);
    assert_memory_equal(cp.id, h, 32);
    OPENSSL_free(cder);
    EVP_PKEY_free(ek);
    /* PEM (an ECDSA KEY.pub) and "ecdsa:<b64>" name it too */
    char kt[REG_KEYTEXT_MAX];
    reg_pub_text(kt, &cp);
    uint8_t hh[32];
    assert_int_equal(reg_key_parse(kt, strlen(kt), hh), 0);
    assert_memory_equal(hh, cp.id, 32);

    /* the log: register, rotate to P-384, revoke by the P-384 key itself */
    reg_log *l;
    assert_int_equal(reg_log_open(&l, r.dir, &r.log, ctx), 0);
    uint64_t idx;
    assert_int_equal(append1(l, &b, &idx, ctx), 0);
    reg_entry rot;
    memset(&rot, 0, sizeof rot);
    rot.kind = REG_ROTATE;
    rot.log = f.log;
    set_key(&rot.key_pub, rot.key, p256);
    set_key(&rot.new_key_pub, rot.new_key, p384);
    rot.time = 1700000100;
    pbuf rb;
    build_signed(&rot, p256, NULL, NULL, &rb, ctx); /* the new key's signature missing */
    assert_int_equal(reg_entry_parse(rb.p, rb.len, true, &e, ctx), TLOG_EVERIFY);
    pbuf_free(&rb);
    build_signed(&rot, p256, p384, NULL, &rb, ctx);
    assert_int_equal(append1(l, &rb, &idx, ctx), 0);
    assert_int_equal(idx, 1);
    reg_entry rev;
    memset(&rev, 0, sizeof rev);
    rev.kind = REG_REVOKE;
    rev.log = f.log;
    set_key(&rev.key_pub, rev.key, p384);
    rev.reason = (reg_str){"key-compromise", 14};
    rev.effective = 1700000150, rev.time = 1700000200;
    pbuf vb;
    build_signed(&rev, stranger, NULL, NULL, &vb, ctx); /* by a key with no role */
    assert_int_not_equal(append1(l, &vb, &idx, ctx), 0);
    pbuf_free(&vb);
    build_signed(&rev, p384, NULL, NULL, &vb, ctx);
    assert_int_equal(append1(l, &vb, &idx, ctx), 0);
    /* the state: rotated and revoked, each with its key in full */
    const reg_ident *d = reg_state_find(reg_log_state(l), rot.key);
    assert_non_null(d);
    assert_int_equal(d->status, REG_ROTATED);
    assert_memory_equal(d->rotated_to, rot.new_key, 32);
    d = reg_state_find(reg_log_state(l), rot.new_key);
    assert_non_null(d);
    assert_int_equal(d->status, REG_REVOKED);
    assert_string_equal(d->name, "Cam One");
    reg_pub np;
    reg_ident_pub(d, &np);
    assert_int_equal(np.alg, PROV_ALG_ES384);
    assert_memory_equal(np.id, rot.new_key, 32);
    reg_log_close(l);
    /* a reader walking the folder agrees */
    reg_state *rs;
    assert_int_equal(reg_state_new(&rs), 0);
    reg_walk_stats ws;
    assert_int_equal(reg_walk(r.dir, true, rs, &ws, ctx), 0);
    assert_int_equal(ws.size, 3);
    assert_int_equal(reg_state_find(rs, rot.new_key)->status, REG_REVOKED);
    reg_state_free(rs);
    /* the CA certifies the P-384 key; the certificate's key is the handle */
    char *pem;
    assert_int_equal(reg_ca_issue(ctx, r.dir, r.cak, &np, "Cam One", "Daily News", 30, &pem), 0);
    prov_chain *chain;
    assert_int_equal(prov_chain_from_pem(ctx, pem, strlen(pem), &chain), 0);
    size_t ll;
    const uint8_t *leaf = prov_chain_der(chain, 0, &ll);
    reg_pub lp;
    assert_int_equal(reg_handle_from_cert(leaf, ll, &lp), 0);
    assert_memory_equal(lp.id, np.id, 32);
    assert_int_equal(lp.alg, PROV_ALG_ES384);
    prov_chain_free(chain);
    prov_free(pem);
    /* registrars stay Ed25519: an ECDSA key there is malformed */
    static const char badreg[] = "prov-registry/v1 register\nlog " ORIGIN "\nkey ecdsa:AAAA\nname X\n"
                                 "registrar ecdsa:AAAA\ntime 1\n\n\xe2\x80\x94 x AAAAAAAA\n";
    assert_int_equal(reg_entry_parse((const uint8_t *)badreg, sizeof badreg - 1, false, &e, ctx), PROV_EFORMAT);
    pbuf_free(&b), pbuf_free(&rb), pbuf_free(&vb);
    prov_free(der);
    prov_key_free(p256), prov_key_free(p384), prov_key_free(stranger);
    prov_ctx_free(ctx);
    rmreg(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_format),
        cmocka_unit_test(test_register_lookup_proof_sign),
        cmocka_unit_test(test_crash_recovery),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_ecdsa_keys),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
