/* test_mirror.c - the registry's SQLite mirror (prov registry sync), from a
 * folder and from nginx on loopback; hostile registries (each: a clear
 * error and the mirror file unchanged); the tlog-witness and quorums. */
#include "mirror.h"
#include "mirror_fixture.h"
#include "testutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static prov_ctx *ctx;

static int setup(void **st)
{
    (void)st;
    return prov_ctx_new(&ctx);
}

static int teardown(void **st)
{
    (void)st;
    prov_ctx_free(ctx);
    return 0;
}

/* SHA-256 of a file's bytes, the mirror closed (its WAL folded in). */
static void file_hash(const char *path, uint8_t h[32])
{
    size_t n;
    uint8_t *p = tu_read(path, &n);
    crypto_hash_sha256(h, p, n);
    free(p);
}

static int sync_once(const char *mpath, const char *src, const mirror_opts *o, mirror_stats *st)
{
    mirror *m;
    int rc = mirror_open(&m, mpath, true, ctx);
    if (rc) return rc;
    rc = mirror_sync(m, src, o, st, ctx);
    mirror_close(m);
    return rc;
}

static int lookup_status(const char *mpath, uint64_t user, reg_ident *out)
{
    mirror *m;
    uint8_t pk[32];
    mf_user_pk(user, pk);
    int rc = mirror_open(&m, mpath, false, ctx);
    if (!rc) rc = mirror_find(m, pk, out, ctx);
    mirror_close(m);
    return rc;
}

/* A folder log of 300 entries, synced; it grows to 600 with a revocation
 * and a flag; the second sync fetches only what is new. */
static void test_sync_dir_incremental(void **st)
{
    (void)st;
    mf_log g;
    const char *dir = tu_path("inc");
    assert_int_equal(mf_open(&g, dir, 1, true), 0);
    assert_int_equal(mf_register(&g, 0, 300, ctx), 0);
    const char *mp = tu_path("inc.sqlite");
    mirror_stats s;
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    assert_int_equal(s.size, 300);
    assert_int_equal(s.fetched, 300);
    assert_int_equal(s.bundles, 2);
    reg_ident d;
    assert_int_equal(lookup_status(mp, 7, &d), 0);
    assert_string_equal(d.name, "user 7");
    assert_int_equal(d.status, REG_ACTIVE);
    assert_int_equal(d.index, 7);
    mirror_ident_clear(&d);
    assert_int_equal(lookup_status(mp, 300, &d), PROV_ENOTFOUND);
    /* grow: 298 more, a revocation and a flag */
    assert_int_equal(mf_register(&g, 300, 298, ctx), 0);
    assert_int_equal(mf_revoke_flag(&g, 7, false, "key-compromise", ctx), 0);
    assert_int_equal(mf_revoke_flag(&g, 8, true, "deepfake", ctx), 0);
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    assert_int_equal(s.old_size, 300);
    assert_int_equal(s.size, 600);
    assert_int_equal(s.fetched, 300);
    assert_int_equal(s.bundles, 2); /* bundle 1 (was partial) and 2; not bundle 0 */
    assert_int_equal(lookup_status(mp, 7, &d), 0);
    assert_int_equal(d.status, REG_REVOKED);
    assert_string_equal(d.revoked_reason, "key-compromise");
    assert_int_equal(d.revoked_effective, 1740000000);
    mirror_ident_clear(&d);
    assert_int_equal(lookup_status(mp, 8, &d), 0);
    assert_int_equal(d.nflags, 1);
    assert_string_equal(d.flags[0].reason, "deepfake");
    assert_int_equal(d.flags[0].index, 599);
    mirror_ident_clear(&d);
    assert_int_equal(lookup_status(mp, 597, &d), 0);
    mirror_ident_clear(&d);
    /* up to date: nothing fetched, nothing changes */
    uint8_t h1[32], h2[32];
    file_hash(mp, h1);
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    assert_int_equal(s.fetched, 0);
    file_hash(mp, h2);
    assert_memory_equal(h1, h2, 32);
    /* search by name and key-ID prefix */
    mirror *m;
    assert_int_equal(mirror_open(&m, mp, false, ctx), 0);
    reg_ident hits[4];
    size_t n;
    assert_int_equal(mirror_search(m, "USER 42", hits, 4, &n, ctx), 0);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].index, 42);
    char kid[17];
    reg_key_id(kid, hits[0].key);
    mirror_ident_clear(&hits[0]);
    kid[8] = 0;
    assert_int_equal(mirror_search(m, kid, hits, 4, &n, ctx), 0);
    assert_true(n >= 1);
    assert_int_equal(hits[0].index, 42);
    for (size_t i = 0; i < n; i++) mirror_ident_clear(&hits[i]);
    mirror_close(m);
    mf_close(&g);
}

/* More bundles than one fetch batch (the fetch/verify/store pipeline),
 * then an incremental sync from the middle of a bundle. */
static void test_sync_many_batches(void **st)
{
    (void)st;
    enum { N1 = 8500, N2 = 8700 };
    mf_log g;
    const char *dir = tu_path("many");
    assert_int_equal(mf_open(&g, dir, 7, true), 0);
    mf_close(&g);
    pbuf *es = calloc(N2, sizeof *es);
    assert_non_null(es);
    for (uint64_t i = 0; i < N2; i++) assert_int_equal(mf_register_entry(&g, i, &es[i]), 0);
    assert_int_equal(mf_write_raw(&g, es, N1), 0);
    const char *mp = tu_path("many.sqlite");
    mirror_stats s;
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    assert_int_equal(s.size, N1);
    assert_int_equal(s.bundles, (N1 + 255) / 256);
    assert_int_equal(s.tiles, (N1 + 255) / 256 + 1); /* level 0, and the one level-1 tile */
    assert_int_equal(mf_write_raw(&g, es, N2), 0);
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    assert_int_equal(s.fetched, N2 - N1);
    assert_int_equal(s.bundles, 1 + (N2 - 256 * (N1 / 256) + 255) / 256 - 1);
    reg_ident d;
    for (uint64_t i = 0; i < N2; i += 997) {
        assert_int_equal(lookup_status(mp, i, &d), 0);
        assert_int_equal(d.index, i);
        mirror_ident_clear(&d);
    }
    assert_int_equal(lookup_status(mp, N2 - 1, &d), 0);
    mirror_ident_clear(&d);
    for (uint64_t i = 0; i < N2; i++) pbuf_free(&es[i]);
    free(es);
}

/* Lookups from the mirror: speed is measured by make bench; here, that
 * many lookups all answer right. */
static void test_lookup_many(void **st)
{
    (void)st;
    const char *mp = tu_path("inc.sqlite");
    mirror *m;
    assert_int_equal(mirror_open(&m, mp, false, ctx), 0);
    for (uint64_t i = 0; i < 600; i++) {
        uint8_t pk[32];
        reg_ident d;
        mf_user_pk(i % 598, pk);
        assert_int_equal(mirror_find(m, pk, &d, ctx), 0);
        assert_memory_equal(d.key, pk, 32);
        mirror_ident_clear(&d);
    }
    mirror_close(m);
}

/* ---- hostile registries ------------------------------------------------ */

typedef struct hostile {
    char good[512], mirror[600];
    uint8_t before[32];
} hostile;

/* A good log at 300 entries mirrored, then grown to 600; returns a copy of
 * the grown folder to spoil. */
static void hostile_setup(hostile *h, const char *name)
{
    char d[600];
    snprintf(h->good, sizeof h->good, "%s", tu_path(name));
    snprintf(h->mirror, sizeof h->mirror, "%s.sqlite", h->good);
    mf_log g;
    assert_int_equal(mf_open(&g, h->good, 1, true), 0);
    assert_int_equal(mf_register(&g, 0, 300, ctx), 0);
    mirror_stats s;
    assert_int_equal(sync_once(h->mirror, h->good, NULL, &s), 0);
    assert_int_equal(mf_register(&g, 300, 300, ctx), 0);
    mf_close(&g);
    file_hash(h->mirror, h->before);
    snprintf(d, sizeof d, "%s.bad", h->good);
    assert_int_equal(tu_sh("rm -rf %s && cp -r %s %s", d, h->good, d), 0);
}

/* Sync from the spoilt copy: an error naming what is wrong, the file unchanged. */
static void hostile_check(hostile *h, const char *msg_has)
{
    char d[600];
    snprintf(d, sizeof d, "%s.bad", h->good);
    mirror_stats s;
    int rc = sync_once(h->mirror, d, NULL, &s);
    assert_int_equal(rc, TLOG_EVERIFY);
    if (!strstr(prov_errmsg(ctx), msg_has)) fail_msg("error \"%s\" lacks \"%s\"", prov_errmsg(ctx), msg_has);
    uint8_t after[32];
    file_hash(h->mirror, after);
    assert_memory_equal(h->before, after, 32);
    reg_ident x;
    assert_int_equal(lookup_status(h->mirror, 400, &x), PROV_ENOTFOUND);
    /* the good log still syncs into the same mirror */
    assert_int_equal(sync_once(h->mirror, h->good, NULL, &s), 0);
    assert_int_equal(s.size, 600);
}

static void spoil(const char *dir, const char *rel, long off, int truncate)
{
    char p[700];
    snprintf(p, sizeof p, "%s.bad/%s", dir, rel);
    if (truncate) {
        assert_int_equal(tu_sh("truncate -s %ld %s", off, p), 0);
        return;
    }
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 1;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_hostile_wrong_tile(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_tile");
    spoil(h.good, "tile/0/001", 100 * 32 + 5, 0);
    hostile_check(&h, "tile/0/001: does not match its entry bundle");
}

static void test_hostile_wrong_upper_tile(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_tile1");
    spoil(h.good, "tile/1/000.p/2", 40, 0);
    hostile_check(&h, "tile/1/000.p/2");
}

static void test_hostile_truncated_bundle(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_trunc");
    spoil(h.good, "tile/entries/001", 5000, 1);
    hostile_check(&h, "tile/entries/001: truncated");
}

static void test_hostile_wrong_bundle(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_bundle");
    /* one byte of an entry in the (partial) last bundle */
    spoil(h.good, "tile/entries/002.p/88", 200, 0);
    hostile_check(&h, "tile/0/002.p/88: does not match its entry bundle");
}

static void test_hostile_unknown_key(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_key");
    /* the checkpoint re-signed by another key with the same origin */
    char d[600], p[700];
    snprintf(d, sizeof d, "%s.bad", h.good);
    snprintf(p, sizeof p, "%s/checkpoint", d);
    size_t n;
    uint8_t *cpb = tu_read(p, &n);
    tlog_note note;
    tlog_checkpoint cp;
    mf_log g;
    assert_int_equal(mf_open(&g, h.good, 1, false), 0);
    assert_int_equal(tlog_checkpoint_open(cpb, n, MF_ORIGIN, &g.logv, NULL, 0, &note, &cp, ctx), 0);
    mf_close(&g);
    tlog_signer other;
    assert_int_equal(tlog_keygen(&other, MF_ORIGIN, TLOG_ALG_ED25519), 0);
    pbuf out;
    pbuf_init(&out);
    assert_int_equal(tlog_checkpoint_sign(&out, &other, MF_ORIGIN, cp.size, cp.root, NULL, 0, ctx), 0);
    tu_write(p, out.p, out.len);
    pbuf_free(&out);
    free(cpb);
    hostile_check(&h, "not signed by the log key");
}

/* A forked view: the same log key signs another history. */
static void test_hostile_fork(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_fork");
    char d[600];
    snprintf(d, sizeof d, "%s.bad", h.good);
    assert_int_equal(tu_sh("rm -rf %s", d), 0);
    mf_log f;
    assert_int_equal(mf_open(&f, d, 1, true), 0);
    assert_int_equal(mf_register(&f, 0, 299, ctx), 0);
    assert_int_equal(mf_register(&f, 5000, 400, ctx), 0); /* entry 299 differs */
    mf_close(&f);
    mirror_stats s;
    mirror *m;
    assert_int_equal(mirror_open(&m, h.mirror, false, ctx), 0);
    assert_int_equal(mirror_sync(m, d, NULL, &s, ctx), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "INCONSISTENT LOG"));
    assert_non_null(strstr(prov_errmsg(ctx), "size 699"));
    assert_non_null(strstr(prov_errmsg(ctx), "size 300"));
    uint64_t ev;
    assert_int_equal(mirror_evidence_count(m, &ev), 0);
    assert_int_equal(ev, 1);
    assert_int_equal(mirror_size(m), 300);
    mirror_close(m);
    /* same size, another root */
    assert_int_equal(tu_sh("rm -rf %s", d), 0);
    assert_int_equal(mf_open(&f, d, 1, true), 0);
    assert_int_equal(mf_register(&f, 7000, 300, ctx), 0);
    mf_close(&f);
    assert_int_equal(mirror_open(&m, h.mirror, false, ctx), 0);
    assert_int_equal(mirror_sync(m, d, NULL, &s, ctx), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "same size, another root"));
    assert_int_equal(mirror_evidence_count(m, &ev), 0);
    assert_int_equal(ev, 2);
    mirror_close(m);
    reg_ident x;
    assert_int_equal(lookup_status(h.mirror, 7000, &x), PROV_ENOTFOUND);
    assert_int_equal(lookup_status(h.mirror, 299, &x), 0);
    mirror_ident_clear(&x);
}

/* A rollback (an older checkpoint) and a pinned key that does not match. */
static void test_hostile_rollback_and_pin(void **st)
{
    (void)st;
    hostile h;
    hostile_setup(&h, "h_roll");
    mirror_stats s;
    assert_int_equal(sync_once(h.mirror, h.good, NULL, &s), 0);
    /* a folder at 300 entries, same key: older than the mirror */
    char d[600];
    snprintf(d, sizeof d, "%s.old", h.good);
    mf_log f;
    assert_int_equal(mf_open(&f, d, 1, true), 0);
    assert_int_equal(mf_register(&f, 0, 300, ctx), 0);
    mf_close(&f);
    assert_int_equal(sync_once(h.mirror, d, NULL, &s), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "older than the mirror"));
    /* another log key given for a pinned mirror */
    mf_log o;
    char d2[600];
    snprintf(d2, sizeof d2, "%s.other", h.good);
    assert_int_equal(mf_open(&o, d2, 2, true), 0);
    pbuf k;
    pbuf_init(&k);
    tlog_verifier_format(&k, &o.logv);
    pbuf_putc(&k, 0);
    mf_close(&o);
    mirror_opts opt = {(char *)k.p, NULL, 0, 0, NULL, NULL, false};
    assert_int_equal(sync_once(h.mirror, d2, &opt, &s), PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "pinned to another log key"));
    pbuf_free(&k);
}

/* A log operator that breaks the state rules after the mirror's last
 * sync: a key the mirror already holds registered again, then a revoke of
 * a stored key signed by a stranger.  The rules must hold across syncs. */
static void test_hostile_state_rules(void **st)
{
    (void)st;
    mf_log g;
    const char *dir = tu_path("h_rules");
    assert_int_equal(mf_open(&g, dir, 6, true), 0);
    mf_close(&g);
    pbuf es[302];
    for (uint64_t i = 0; i < 300; i++) assert_int_equal(mf_register_entry(&g, i, &es[i]), 0);
    assert_int_equal(mf_write_raw(&g, es, 300), 0);
    const char *mp = tu_path("h_rules.sqlite");
    mirror_stats s;
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    uint8_t before[32], after[32];
    file_hash(mp, before);
    /* entry 300 registers user 5 again */
    assert_int_equal(mf_register_entry(&g, 5, &es[300]), 0);
    assert_int_equal(mf_write_raw(&g, es, 301), 0);
    assert_int_equal(sync_once(mp, dir, NULL, &s), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "entry 300"));
    assert_non_null(strstr(prov_errmsg(ctx), "already in the registry"));
    file_hash(mp, after);
    assert_memory_equal(before, after, 32);
    /* entry 300 revokes user 9, signed by user 10 (neither it nor its registrar) */
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REVOKE;
    e.log = (reg_str){MF_ORIGIN, sizeof MF_ORIGIN - 1};
    mf_user_pk(9, e.key);
    e.reason = (reg_str){"spite", 5};
    e.time = e.effective = 1750000000;
    tlog_signer u10;
    assert_int_equal(mf_user(10, &u10), 0);
    pbuf_free(&es[300]);
    pbuf_init(&es[300]);
    assert_int_equal(reg_entry_build(&es[300], &e, &u10, 1, ctx), 0);
    assert_int_equal(mf_write_raw(&g, es, 301), 0);
    assert_int_equal(sync_once(mp, dir, NULL, &s), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "signed by neither"));
    file_hash(mp, after);
    assert_memory_equal(before, after, 32);
    /* the same revoke signed by the registrar passes, and user 9 is revoked */
    pbuf_free(&es[300]);
    pbuf_init(&es[300]);
    assert_int_equal(reg_entry_build(&es[300], &e, &g.reg, 1, ctx), 0);
    assert_int_equal(mf_write_raw(&g, es, 301), 0);
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    reg_ident d;
    assert_int_equal(lookup_status(mp, 9, &d), 0);
    assert_int_equal(d.status, REG_REVOKED);
    assert_string_equal(d.name, "user 9");
    assert_int_equal(d.index, 9);
    mirror_ident_clear(&d);
    for (int i = 0; i < 301; i++) pbuf_free(&es[i]);
}

/* ---- nginx on loopback -------------------------------------------------- */

static int nginx_port;
static char nginx_prefix[600];

static void nginx_start(const char *root)
{
    snprintf(nginx_prefix, sizeof nginx_prefix, "%s", tu_path("nginx"));
    /* nginx's workers may run as another user: let them in */
    assert_int_equal(tu_sh("chmod 755 %s", tu_tmpdir()), 0);
    for (int tries = 0; tries < 5; tries++) {
        nginx_port = 20000 + (int)(randombytes_uniform(30000));
        if (!tu_sh("bash tools/nginx-run.sh start %s %s %d 2>/dev/null", root, nginx_prefix, nginx_port)) return;
    }
    fail_msg("nginx did not start");
}

static void nginx_stop(void) { tu_sh("bash tools/nginx-run.sh stop %s", nginx_prefix); }

static void test_sync_nginx(void **st)
{
    (void)st;
    mf_log g;
    const char *dir = tu_path("web");
    assert_int_equal(mf_open(&g, dir, 3, true), 0);
    assert_int_equal(mf_register(&g, 0, 700, ctx), 0);
    nginx_start(dir);
    char url[100];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", nginx_port);
    const char *mp = tu_path("web.sqlite");
    mirror_stats s;
    /* a URL's first sync needs the pinned log key */
    assert_int_equal(sync_once(mp, url, NULL, &s), PROV_EINVAL);
    assert_non_null(strstr(prov_errmsg(ctx), "--log-key"));
    pbuf k;
    pbuf_init(&k);
    tlog_verifier_format(&k, &g.logv);
    pbuf_putc(&k, 0);
    mirror_opts o = {(char *)k.p, NULL, 0, 0, NULL, NULL, false};
    int rc = sync_once(mp, url, &o, &s);
    if (rc) fail_msg("sync %s: %s", url, prov_errmsg(ctx));
    assert_int_equal(s.size, 700);
    assert_int_equal(s.bundles, 3);
    reg_ident d;
    assert_int_equal(lookup_status(mp, 650, &d), 0);
    assert_string_equal(d.name, "user 650");
    mirror_ident_clear(&d);
    /* incremental over HTTP, the key now stored */
    assert_int_equal(mf_register(&g, 700, 100, ctx), 0);
    assert_int_equal(mf_revoke_flag(&g, 650, false, "lost", ctx), 0);
    assert_int_equal(sync_once(mp, url, NULL, &s), 0);
    assert_int_equal(s.size, 801);
    assert_int_equal(s.fetched, 101);
    assert_int_equal(lookup_status(mp, 650, &d), 0);
    assert_int_equal(d.status, REG_REVOKED);
    mirror_ident_clear(&d);
    /* the CLI: sync, lookup by name from the mirror, exit codes */
    const char *P = tu_prov_bin();
    assert_int_equal(tu_sh("%s registry sync %s --mirror %s -Q", P, url, mp), 0);
    assert_int_equal(tu_sh("%s registry lookup 'user 799' --mirror %s --json | grep -q '\"name\":\"user 799\"'", P, mp), 0);
    assert_int_equal(tu_sh("%s registry lookup 'nobody' --mirror %s 2>/dev/null", P, mp), 1);
    assert_int_equal(tu_sh("%s registry lookup 'user 650' --mirror %s | grep -q 'revoked since 1740000000 (reason: lost'", P, mp), 0);
    assert_int_equal(tu_sh("%s registry sync http://127.0.0.1:1 --mirror %s 2>/dev/null", P, tu_path("none.sqlite")), 2);
    assert_int_equal(access(tu_path("none.sqlite"), F_OK), -1); /* a failed first sync leaves nothing */
    nginx_stop();
    pbuf_free(&k);
    mf_close(&g);
}

/* --trust-log-signatures: an entry whose signature is bad but which the
 * signed checkpoint commits to fails a default sync and passes a trusting
 * one; the signers an entry names and the state rules are still checked. */
static void test_trust_log_signatures(void **st)
{
    (void)st;
    mf_log g;
    const char *dir = tu_path("trust");
    assert_int_equal(mf_open(&g, dir, 7, true), 0);
    mf_close(&g);
    pbuf es[301];
    for (uint64_t i = 0; i < 300; i++) assert_int_equal(mf_register_entry(&g, i, &es[i]), 0);
    /* a byte of entry 150's last signature changed (its key ID left alone) */
    char *t = (char *)es[150].p;
    char *last = NULL;
    for (char *q = t; (q = strstr(q, "\n\xe2\x80\x94 ")); q++) last = q;
    assert_non_null(last);
    char *b = strrchr(last, ' ') + 1 + 40;
    *b = *b == 'A' ? 'B' : 'A';
    assert_int_equal(mf_write_raw(&g, es, 300), 0);
    mirror_stats s;
    assert_int_equal(sync_once(tu_path("trust0.sqlite"), dir, NULL, &s), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "entry 150"));
    assert_non_null(strstr(prov_errmsg(ctx), "invalid signature"));
    mirror_opts o = {NULL, NULL, 0, 0, NULL, NULL, true};
    const char *mp = tu_path("trust1.sqlite");
    assert_int_equal(sync_once(mp, dir, &o, &s), 0);
    assert_int_equal(s.size, 300);
    reg_ident d;
    assert_int_equal(lookup_status(mp, 150, &d), 0);
    assert_string_equal(d.name, "user 150");
    mirror_ident_clear(&d);
    /* entry 300 revokes user 9 signed by user 10: the state rules still refuse it */
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REVOKE;
    e.log = (reg_str){MF_ORIGIN, sizeof MF_ORIGIN - 1};
    mf_user_pk(9, e.key);
    e.reason = (reg_str){"spite", 5};
    e.time = e.effective = 1750000000;
    tlog_signer u10;
    assert_int_equal(mf_user(10, &u10), 0);
    pbuf_init(&es[300]);
    assert_int_equal(reg_entry_build(&es[300], &e, &u10, 1, ctx), 0);
    assert_int_equal(mf_write_raw(&g, es, 301), 0);
    assert_int_equal(sync_once(mp, dir, &o, &s), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "signed by neither"));
    for (int i = 0; i < 301; i++) pbuf_free(&es[i]);
}

/* ---- witness ------------------------------------------------------------ */

static void test_witness(void **st)
{
    (void)st;
    mf_log g;
    const char *dir = tu_path("wlog");
    assert_int_equal(mf_open(&g, dir, 4, true), 0);
    assert_int_equal(mf_register(&g, 0, 300, ctx), 0);
    tlog_signer ws;
    assert_int_equal(tlog_keygen(&ws, "witness.test", TLOG_ALG_COSIG), 0);
    tlog_verifier wv;
    tlog_signer_verifier(&ws, &wv);
    const char *state = tu_path("wstate");
    assert_int_equal(mkdir(state, 0700), 0);
    witness_log wl = {g.logv};
    witness *w;
    unsigned port;
    assert_int_equal(witness_start(&w, "127.0.0.1", 0, &port, state, &ws, &wl, 1, ctx), 0);
    char url[64], cpath[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    snprintf(cpath, sizeof cpath, "%s/checkpoint", dir);
    /* a first checkpoint: cosigned */
    pbuf note;
    pbuf_init(&note);
    size_t n;
    uint8_t *p = tu_read(cpath, &n);
    pbuf_put(&note, p, n);
    free(p);
    assert_int_equal(witness_request(dir, url, &wv, &note, ctx), 0);
    tlog_note tn;
    tlog_checkpoint cp;
    assert_int_equal(tlog_checkpoint_open(note.p, note.len, MF_ORIGIN, &g.logv, &wv, 1, &tn, &cp, ctx), 0);
    assert_int_equal(tlog_note_count_by(&tn, &wv, 1), 1);
    /* the trust policy: a quorum of 1 fails without the cosignature... */
    const char *mp = tu_path("w.sqlite");
    mirror_opts o = {NULL, &wv, 1, 1, NULL, NULL, false};
    mirror_stats s;
    assert_int_equal(sync_once(mp, dir, &o, &s), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "0 valid witness cosignature(s), the trust policy needs 1"));
    /* ...and passes with it published */
    tu_write(cpath, note.p, note.len);
    assert_int_equal(sync_once(mp, dir, &o, &s), 0);
    assert_int_equal(s.size, 300);
    /* the log grows: the witness says 409 (it has 300), the client sends a
     * consistency proof from 300 and gets the cosignature */
    assert_int_equal(mf_register(&g, 300, 100, ctx), 0);
    note.len = 0;
    p = tu_read(cpath, &n);
    pbuf_put(&note, p, n);
    free(p);
    /* the stored policy is enforced: no cosignature yet */
    assert_int_equal(sync_once(mp, dir, NULL, &s), TLOG_EVERIFY);
    assert_int_equal(witness_request(dir, url, &wv, &note, ctx), 0);
    tu_write(cpath, note.p, note.len);
    assert_int_equal(sync_once(mp, dir, NULL, &s), 0);
    assert_int_equal(s.size, 400);
    /* a fork signed by the same log key: refused */
    const char *fd = tu_path("wfork");
    mf_log f;
    assert_int_equal(mf_open(&f, fd, 4, true), 0);
    assert_int_equal(mf_register(&f, 9000, 450, ctx), 0);
    mf_close(&f);
    note.len = 0;
    snprintf(cpath, sizeof cpath, "%s/checkpoint", fd);
    p = tu_read(cpath, &n);
    pbuf_put(&note, p, n);
    free(p);
    assert_int_equal(witness_request(fd, url, &wv, &note, ctx), TLOG_EVERIFY);
    assert_non_null(strstr(prov_errmsg(ctx), "422"));
    /* the core, without HTTP: malformed, unknown log, stale old size */
    unsigned status;
    pbuf out;
    pbuf_init(&out);
    assert_int_equal(witness_handle(w, (const uint8_t *)"hello\n", 6, &status, &out, ctx), 0);
    assert_int_equal(status, 400);
    out.len = 0;
    pbuf req;
    pbuf_init(&req);
    pbuf_puts(&req, "old 7\n\n");
    pbuf_put(&req, note.p, note.len);
    assert_int_equal(witness_handle(w, req.p, req.len, &status, &out, ctx), 0);
    assert_int_equal(status, 409);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.p, "400\n", 4);
    /* a checkpoint by another log key: 403 */
    tlog_signer other;
    assert_int_equal(tlog_keygen(&other, MF_ORIGIN, TLOG_ALG_ED25519), 0);
    uint8_t root[32] = {1};
    req.len = 0;
    pbuf_puts(&req, "old 400\n\n");
    assert_int_equal(tlog_checkpoint_sign(&req, &other, MF_ORIGIN, 500, root, NULL, 0, ctx), 0);
    out.len = 0;
    assert_int_equal(witness_handle(w, req.p, req.len, &status, &out, ctx), 0);
    assert_int_equal(status, 403);
    witness_stop(w);
    /* the state survives a restart: still at 400 */
    assert_int_equal(witness_start(&w, "127.0.0.1", 0, &port, state, &ws, &wl, 1, ctx), 0);
    req.len = 0;
    pbuf_puts(&req, "old 0\n\n");
    pbuf_put(&req, note.p, note.len);
    out.len = 0;
    assert_int_equal(witness_handle(w, req.p, req.len, &status, &out, ctx), 0);
    assert_int_equal(status, 409);
    witness_stop(w);
    pbuf_free(&req), pbuf_free(&out), pbuf_free(&note);
    mf_close(&g);
}

/* The commands as a user runs them: verify --registry URL through the
 * mirror, a witness process, witness-request, a quorum in sync. */
static void test_cli_verify_witness(void **st)
{
    (void)st;
    const char *D = tu_path("cli");
    char P[600];
    const char *b = tu_prov_bin();
    if (b[0] == '/') snprintf(P, sizeof P, "%s", b);
    else if (getcwd(P, sizeof P - 100)) strcat(P, "/"), strcat(P, b);
    assert_int_equal(tu_sh("mkdir -p %s && cp samples/teapot.jpg %s/ && cd %s && export PROV_PASSPHRASE=x && "
                           "%s registry init reg --origin cli.example/reg --no-encrypt >/dev/null && "
                           "for k in alice bob; do %s keygen -o $k.key --subject CN=$k --no-encrypt >/dev/null && "
                           "%s register --registry reg --key $k.key --name $k >/dev/null && "
                           "%s sign teapot.jpg -o $k.jpg --key $k.key >/dev/null || exit 1; done && "
                           "%s registry revoke reg --key bob.key.pub --reason key-compromise >/dev/null",
                           D, D, D, P, P, P, P, P), 0);
    assert_int_equal(tu_sh("%s registry sync --help | grep -q 'usage: prov registry sync'", P), 0);
    assert_int_equal(tu_sh("%s registry witness --help | grep -q 'usage: prov registry witness'", P), 0);
    assert_int_equal(tu_sh("%s registry witness-request --help | grep -q 'usage: prov registry witness-request'", P), 0);
    assert_int_equal(tu_sh("%s registry sync 2>/dev/null", P), 2);
    nginx_start(tu_path("cli/reg"));
    char url[100];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", nginx_port);
    assert_int_equal(tu_sh("cd %s && %s registry sync %s --log-key reg/log.pub --mirror m.sqlite -Q", D, P, url), 0);
    assert_int_equal(tu_sh("cd %s && PROV_REGISTRY_MIRROR=m.sqlite %s verify --trust reg/root.pem --registry %s --json alice.jpg "
                           "| grep -q '\"name\":\"alice\",.*\"status\":\"active\"'", D, P, url), 0);
    /* the registry's CA root, pinned by the mirror, is trusted without --trust */
    assert_int_equal(tu_sh("cd %s && PROV_REGISTRY_MIRROR=m.sqlite %s verify --registry %s --json alice.jpg "
                           "| grep -q '\"state\":\"trusted\"'", D, P, url), 0);
    /* a registry (or a man in the middle) that swaps its CA root: refused */
    assert_int_equal(tu_sh("cd %s && cp reg/root.pem root.keep && %s ca init other --subject CN=Other --no-encrypt >/dev/null && "
                           "cp other/root.pem reg/root.pem && %s registry sync %s --mirror m.sqlite -Q 2>err.txt; rc=$?; "
                           "cp root.keep reg/root.pem; [ $rc -ne 0 ] && grep -q 'not the CA root pinned' err.txt", D, P, P, url), 0);
    assert_int_equal(tu_sh("cd %s && PROV_REGISTRY_MIRROR=m.sqlite %s verify --trust reg/root.pem --registry %s --json bob.jpg "
                           ">bob.json", D, P, url), 1);
    assert_int_equal(tu_sh("grep -q '\"status\":\"revoked\",\"revoked_at\":[0-9]*,\"reason\":\"key-compromise\"' %s/bob.json", D), 0);
    /* a witness process; the operator gathers its cosignature */
    assert_int_equal(tu_sh("cd %s && %s keygen -o w.key --subject CN=W --no-encrypt >/dev/null && "
                           "(%s registry witness --listen 127.0.0.1:0 --state ws --key w.key --name w.example "
                           "--log reg/log.pub >w.out 2>&1 & echo $! >w.pid) && "
                           "for i in $(seq 50); do [ -s ws/url ] && exit 0; sleep 0.1; done; exit 1", D, P, P), 0);
    int wrc = tu_sh("cd %s && %s registry witness-request reg --witness $(cat ws/url) --witness-key ws/cosigner.pub >wr.out 2>&1", D, P);
    /* a mirror that requires the witness: syncs the cosigned checkpoint */
    int src = tu_sh("cd %s && %s registry sync %s --log-key reg/log.pub --mirror m2.sqlite --witness ws/cosigner.pub "
                    "--quorum 1 -Q", D, P, url);
    /* and refuses when the quorum cannot be met (2 of 1 known) */
    int qrc = tu_sh("cd %s && %s registry sync %s --log-key reg/log.pub --mirror m3.sqlite --witness ws/cosigner.pub "
                    "--quorum 2 -Q 2>/dev/null", D, P, url);
    int trc = tu_sh("cd %s && %s registry sync %s --log-key reg/log.pub --mirror m4.sqlite --trust-log-signatures "
                    "| grep -q 'synced to size 3 '", D, P, url);
    tu_sh("kill $(cat %s/w.pid)", D);
    nginx_stop();
    assert_int_equal(trc, 0);
    assert_int_equal(wrc, 0);
    assert_int_equal(tu_sh("grep -q 'published with 1 cosignature' %s/wr.out", D), 0);
    assert_int_equal(tu_sh("grep -q -- '— w.example ' %s/reg/checkpoint", D), 0);
    assert_int_equal(src, 0);
    assert_int_equal(qrc, 2); /* a quorum above the witnesses given: a usage error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_dir_incremental),
        cmocka_unit_test(test_lookup_many),
        cmocka_unit_test(test_sync_many_batches),
        cmocka_unit_test(test_hostile_wrong_tile),
        cmocka_unit_test(test_hostile_wrong_upper_tile),
        cmocka_unit_test(test_hostile_truncated_bundle),
        cmocka_unit_test(test_hostile_wrong_bundle),
        cmocka_unit_test(test_hostile_unknown_key),
        cmocka_unit_test(test_hostile_fork),
        cmocka_unit_test(test_hostile_rollback_and_pin),
        cmocka_unit_test(test_hostile_state_rules),
        cmocka_unit_test(test_trust_log_signatures),
        cmocka_unit_test(test_sync_nginx),
        cmocka_unit_test(test_witness),
        cmocka_unit_test(test_cli_verify_witness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
