/* mirror_fixture.h - registry logs made fast through the library, for the
 * mirror tests and the sync benchmark: keys from seeds, entries signed by
 * the key and one registrar, appended in batches by the real sequencer. */
#ifndef PROV_MIRROR_FIXTURE_H
#define PROV_MIRROR_FIXTURE_H

#include "registry.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MF_ORIGIN "example.com/registry"

typedef struct mf_log {
    char dir[512];
    tlog_signer log, reg;
    tlog_verifier logv;
    reg_log *l;
} mf_log;

static inline void mf_seed(uint64_t i, uint8_t seed[32])
{
    memset(seed, 0x5a, 32);
    for (int k = 0; k < 8; k++) seed[k] = (uint8_t)(i >> (8 * k));
}

/* the signer of user key i (named as registry entries name signers) */
static inline int mf_user(uint64_t i, tlog_signer *s)
{
    uint8_t seed[32], pk[32], sk[64];
    char name[80];
    mf_seed(i + 1000, seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    snprintf(name, sizeof name, "ed25519:");
    for (int k = 0; k < 32; k++) snprintf(name + 8 + 2 * k, 3, "%02x", pk[k]);
    return tlog_signer_from_seed(s, name, TLOG_ALG_ED25519, seed);
}

static inline void mf_user_pk(uint64_t i, uint8_t pk[32])
{
    tlog_signer s;
    mf_user(i, &s);
    memcpy(pk, s.pub, 32);
    tlog_signer_wipe(&s);
}

/* Make (or reopen) a log in dir, log key from log_seed. */
static inline int mf_open(mf_log *g, const char *dir, uint64_t log_seed, bool create)
{
    memset(g, 0, sizeof *g);
    snprintf(g->dir, sizeof g->dir, "%s", dir);
    uint8_t seed[32];
    mf_seed(log_seed, seed);
    if (tlog_signer_from_seed(&g->log, MF_ORIGIN, TLOG_ALG_ED25519, seed)) return -1;
    tlog_signer_verifier(&g->log, &g->logv);
    if (mf_user(999999999, &g->reg)) return -1; /* the registrar */
    if (create) {
        if (mkdir(dir, 0755)) return -1;
        char kt[53], pol[400], path[600];
        reg_key_text(kt, g->reg.pub);
        snprintf(pol, sizeof pol, REG_MAGIC " policy\norigin " MF_ORIGIN "\nregistrar %s op\nflagger %s op\n", kt, kt);
        snprintf(path, sizeof path, "%s/policy", dir);
        FILE *f = fopen(path, "wb");
        if (!f) return -1;
        fputs(pol, f);
        fclose(f);
        if (reg_log_create(dir, &g->log, NULL)) return -1;
    }
    return reg_log_open(&g->l, dir, &g->log, NULL) ? -1 : 0;
}

static inline void mf_close(mf_log *g)
{
    reg_log_close(g->l);
    g->l = NULL;
}

static inline int mf_append(mf_log *g, pbuf *es, size_t n, prov_ctx *ctx)
{
    const uint8_t **p = malloc((n ? n : 1) * sizeof *p);
    size_t *len = malloc((n ? n : 1) * sizeof *len);
    if (!p || !len) return PROV_ENOMEM;
    for (size_t i = 0; i < n; i++) p[i] = es[i].p, len[i] = es[i].len;
    int rc = reg_log_append(g->l, p, len, n, NULL, NULL, ctx);
    free(p), free(len);
    return rc;
}

/* Register users [from, from + n) as one batch ("user <i>"). */
static inline int mf_register(mf_log *g, uint64_t from, size_t n, prov_ctx *ctx)
{
    pbuf *es = calloc(n ? n : 1, sizeof *es);
    int rc = es ? 0 : PROV_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        tlog_signer s[2];
        if ((rc = mf_user(from + i, &s[0]))) break;
        s[1] = g->reg;
        reg_entry e;
        memset(&e, 0, sizeof e);
        e.kind = REG_REGISTER;
        e.log = (reg_str){MF_ORIGIN, sizeof MF_ORIGIN - 1};
        memcpy(e.key, s[0].pub, 32);
        memcpy(e.registrar, g->reg.pub, 32);
        char name[64];
        snprintf(name, sizeof name, "user %llu", (unsigned long long)(from + i));
        e.name = (reg_str){name, strlen(name)};
        e.org = (reg_str){"Daily News", 10};
        e.checked_by = (reg_str){"in-person", 9};
        e.time = 1700000000 + from + i;
        pbuf_init(&es[i]);
        rc = reg_entry_build(&es[i], &e, s, 2, ctx);
        tlog_signer_wipe(&s[0]);
    }
    if (!rc) rc = mf_append(g, es, n, ctx);
    for (size_t i = 0; es && i < n; i++) pbuf_free(&es[i]);
    free(es);
    return rc;
}

/* Revoke user i (by the registrar), or flag it. */
static inline int mf_revoke_flag(mf_log *g, uint64_t i, bool flag, const char *reason, prov_ctx *ctx)
{
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = flag ? REG_FLAG : REG_REVOKE;
    e.log = (reg_str){MF_ORIGIN, sizeof MF_ORIGIN - 1};
    mf_user_pk(i, e.key);
    e.reason = (reg_str){reason, strlen(reason)};
    e.time = 1750000000;
    e.effective = 1740000000;
    if (flag) {
        memcpy(e.flagger, g->reg.pub, 32);
        memset(e.media, 0xab, 32);
    }
    pbuf b;
    pbuf_init(&b);
    int rc = reg_entry_build(&b, &e, &g->reg, 1, ctx);
    if (!rc) rc = mf_append(g, &b, 1, ctx);
    pbuf_free(&b);
    return rc;
}

static inline int mf_put(const char *dir, const char *rel, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *s = path + strlen(dir) + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(path, 0755); *s = '/'; }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(p, 1, n, f) != n;
    return fclose(f) || bad ? -1 : 0;
}

/* Publish entries as g's log straight to tiles and a signed checkpoint,
 * with no sequencer and so no state rules: a generator for benchmarks, and
 * for logs that break the rules (a hostile log operator). */
static inline int mf_write_raw(const mf_log *g, const pbuf *ents, uint64_t total)
{
    tlog_memtree tree;
    tlog_memtree_init(&tree);
    int rc = 0;
    for (uint64_t i = 0; i < total && !rc; i++) {
        uint8_t leaf[32];
        tlog_leaf_hash(ents[i].p, ents[i].len, leaf);
        rc = tlog_memtree_append(&tree, leaf);
    }
    char path[TLOG_TILE_PATH_MAX];
    pbuf b, cp;
    pbuf_init(&b), pbuf_init(&cp);
    for (int L = -1; L < 8 && !rc; L++) {
        unsigned h = L < 0 ? 0 : 8u * (unsigned)L;
        uint64_t n = total >> h;
        if (!n) break;
        for (uint64_t N = 0; N * TLOG_TILE_WIDTH < n && !rc; N++) {
            tlog_tile t = {L < 0 ? TLOG_ENTRIES : L, N, tlog_tile_width(L < 0 ? 0 : L, N, total)};
            tlog_tile_path(path, sizeof path, &t);
            if (L < 0) {
                b.len = 0;
                for (uint64_t i = N * TLOG_TILE_WIDTH; i < N * TLOG_TILE_WIDTH + t.width; i++)
                    tlog_bundle_put(&b, ents[i].p, ents[i].len);
                rc = b.err ? b.err : mf_put(g->dir, path, b.p, b.len);
            } else {
                rc = mf_put(g->dir, path, tree.lv[h] + N * TLOG_TILE_BYTES, (size_t)t.width * 32);
            }
        }
    }
    uint8_t root[32];
    tlog_hashsrc hs = tlog_memtree_hashsrc(&tree);
    if (!rc) rc = tlog_tree_hash(&hs, total, root);
    if (!rc) rc = tlog_checkpoint_sign(&cp, &g->log, MF_ORIGIN, total, root, NULL, 0, NULL);
    if (!rc) rc = mf_put(g->dir, "checkpoint", cp.p, cp.len);
    pbuf_free(&b), pbuf_free(&cp);
    tlog_memtree_free(&tree);
    return rc;
}

/* A register entry for user i (into *out, initialised here). */
static inline int mf_register_entry(const mf_log *g, uint64_t i, pbuf *out)
{
    tlog_signer s[2];
    int rc = mf_user(i, &s[0]);
    if (rc) return rc;
    s[1] = g->reg;
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REGISTER;
    e.log = (reg_str){MF_ORIGIN, sizeof MF_ORIGIN - 1};
    memcpy(e.key, s[0].pub, 32);
    memcpy(e.registrar, g->reg.pub, 32);
    char name[64];
    snprintf(name, sizeof name, "user %llu", (unsigned long long)i);
    e.name = (reg_str){name, strlen(name)};
    e.org = (reg_str){"Daily News", 10};
    e.checked_by = (reg_str){"in-person", 9};
    e.time = 1700000000 + i;
    pbuf_init(out);
    rc = reg_entry_build(out, &e, s, 2, NULL);
    tlog_signer_wipe(&s[0]);
    return rc;
}

#endif
