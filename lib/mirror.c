/* mirror.c - `prov registry sync`: a verified, incremental copy of a
 * registry log in SQLite.  What is checked and why: mirror.h. */
#include "mirror_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32 /* entry bundles fetched at once (two batches in memory) */
#define BUNDLE_MAX ((size_t)TLOG_TILE_WIDTH * (REG_ENTRY_MAX + 2))

/* ---- the right edge of the tree (compact range) --------------------------
 * edge[l] is the root of the perfect subtree of 2^l leaves for each set
 * bit l of size: enough to append leaves and compute the root without
 * keeping the tree. */
typedef struct edge {
    uint64_t size;
    uint8_t h[64][32];
} edge;

static int edge_append(edge *e, const uint8_t leaf[32])
{
    if (e->size == UINT64_MAX) return PROV_ELIMIT;
    uint8_t h[32];
    memcpy(h, leaf, 32);
    unsigned l = 0;
    while (e->size >> l & 1) tlog_node_hash(e->h[l], h, h), l++;
    memcpy(e->h[l], h, 32);
    e->size++;
    return 0;
}

static void edge_root(const edge *e, uint8_t out[32])
{
    if (!e->size) { tlog_empty_root(out); return; }
    unsigned l = (unsigned)__builtin_ctzll(e->size);
    memcpy(out, e->h[l], 32);
    for (l++; l < 64; l++)
        if (e->size >> l & 1) tlog_node_hash(e->h[l], out, out);
}

/* ---- entries verified on all CPUs ------------------------------------------
 * Ed25519 checks are most of a sync's cost, so they run on every CPU while
 * the main thread fetches the next batch and stores the previous one. */

typedef struct vjob {
    const uint8_t **p;
    const size_t *len;
    reg_entry *es;
    int *rc;
    size_t from, to;
    bool trust;
} vjob;

static int parse_one(bool trust, const uint8_t *p, size_t n, reg_entry *e, prov_ctx *ctx)
{
    return trust ? reg_entry_parse_trusted(p, n, e, ctx) : reg_entry_parse(p, n, true, e, ctx);
}

static void *vwork(void *arg)
{
    vjob *j = arg;
    for (size_t i = j->from; i < j->to; i++) j->rc[i] = parse_one(j->trust, j->p[i], j->len[i], &j->es[i], NULL);
    return NULL;
}

/* One batch of entry bundles with their level-0 tiles, and the entries
 * past the stored size. */
typedef struct batch {
    size_t nb;
    tlog_tile tb[BATCH], tt[BATCH];
    pbuf bb[BATCH], tout[BATCH];
    int rb[BATCH], rt[BATCH];
    bool fb[BATCH], ft[BATCH];
    const uint8_t **ep;
    size_t *el;
    reg_entry *es;
    int *erc;
    uint64_t *eidx;
    size_t ne;
    vjob jobs[16];
    pthread_t th[16];
    bool started[16];
    size_t nt;
    bool inflight, trust;
} batch;

static void verify_start(batch *b)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = b->ne;
    b->nt = n < 64 || ncpu < 2 ? 1 : (size_t)(ncpu > 16 ? 16 : ncpu);
    for (size_t t = 0; t < b->nt; t++) {
        b->jobs[t] = (vjob){b->ep, b->el, b->es, b->erc, n * t / b->nt, n * (t + 1) / b->nt, b->trust};
        b->started[t] = pthread_create(&b->th[t], NULL, vwork, &b->jobs[t]) == 0;
    }
    b->inflight = true;
}

static void verify_join(batch *b)
{
    if (!b->inflight) return;
    for (size_t t = 0; t < b->nt; t++) {
        if (b->started[t]) pthread_join(b->th[t], NULL);
        else vwork(&b->jobs[t]);
    }
    b->inflight = false;
}

static int batch_init(batch *b)
{
    memset(b, 0, sizeof *b);
    size_t cap = BATCH * TLOG_TILE_WIDTH;
    b->ep = malloc(cap * sizeof *b->ep);
    b->el = malloc(cap * sizeof *b->el);
    b->es = malloc(cap * sizeof *b->es);
    b->erc = malloc(cap * sizeof *b->erc);
    b->eidx = malloc(cap * sizeof *b->eidx);
    return b->ep && b->el && b->es && b->erc && b->eidx ? 0 : PROV_ENOMEM;
}

static void batch_free(batch *b)
{
    verify_join(b);
    for (size_t i = 0; i < BATCH; i++) pbuf_free(&b->bb[i]), pbuf_free(&b->tout[i]);
    free(b->ep), free(b->el), free(b->es), free(b->erc), free(b->eidx);
}

/* ---- one sync ---------------------------------------------------------------- */

typedef struct syncer {
    mirror *m;
    mfetch *f;
    const char *source;
    prov_ctx *ctx;
    tlog_verifier log;
    tlog_verifier wit[32];
    size_t nwit, quorum;
    reg_policy pol;
    bool have_pol;
    reg_state *st;
    edge e;
    uint64_t size0, size1;
    uint8_t root0[32], root1[32];
    pbuf note0, note1, policy, wtext;
    /* hashes of the full tiles of the level below, for checking the level
     * above: up[i] is the hash of tile (level, base + i) */
    pbuf up;
    uint64_t upbase;
    pbuf touched; /* keys whose identity changed, 32 bytes each */
    sqlite3_stmt *ins_entry, *ins_rev, *ins_flag, *put_ident;
    mirror_stats *stats;
    const mirror_opts *o;
} syncer;


static int preload(syncer *s, const uint8_t pk[32]);

/* Fetch a hash tile or bundle; a missing partial one may be served full
 * (tlog-tiles allows it): *full_instead says so. */
static int fetch_tiles(syncer *s, size_t n, const tlog_tile *t, pbuf *out, int *rcs, bool *full)
{
    char (*paths)[TLOG_TILE_PATH_MAX] = malloc(n * TLOG_TILE_PATH_MAX + 1);
    const char **pp = malloc(n * sizeof *pp + 1);
    int rc = paths && pp ? 0 : PROV_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        tlog_tile_path(paths[i], TLOG_TILE_PATH_MAX, &t[i]);
        pp[i] = paths[i];
        full[i] = false;
        out[i].len = 0;
    }
    if (!rc) rc = mfetch_many(s->f, n, pp, out, rcs, t[0].level == TLOG_ENTRIES ? BUNDLE_MAX : TLOG_TILE_BYTES, s->ctx);
    /* partial tiles that are gone: the full one */
    size_t k = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (rcs[i] == PROV_ENOTFOUND && t[i].width < TLOG_TILE_WIDTH) {
            tlog_tile ft = t[i];
            ft.width = TLOG_TILE_WIDTH;
            tlog_tile_path(paths[i], TLOG_TILE_PATH_MAX, &ft);
            pp[k++] = paths[i];
        }
    if (!rc && k) {
        pbuf *o2 = calloc(k, sizeof *o2);
        int *r2 = calloc(k, sizeof *r2);
        if (!o2 || !r2) rc = PROV_ENOMEM;
        if (!rc) rc = mfetch_many(s->f, k, pp, o2, r2, t[0].level == TLOG_ENTRIES ? BUNDLE_MAX : TLOG_TILE_BYTES, s->ctx);
        size_t j = 0;
        for (size_t i = 0; !rc && i < n; i++)
            if (rcs[i] == PROV_ENOTFOUND && t[i].width < TLOG_TILE_WIDTH) {
                rcs[i] = r2[j];
                if (!r2[j]) pbuf_free(&out[i]), out[i] = o2[j], pbuf_init(&o2[j]), full[i] = true;
                j++;
            }
        for (size_t i = 0; o2 && i < k; i++) pbuf_free(&o2[i]);
        free(o2), free(r2);
    }
    for (size_t i = 0; !rc && i < n; i++)
        if (rcs[i] == PROV_EIO) {
            rc = PROV_EIO; /* ctx has the detail */
        } else if (rcs[i]) {
            tlog_tile_path(paths[i], TLOG_TILE_PATH_MAX, &t[i]);
            rc = prov_seterr(s->ctx, rcs[i] == PROV_ENOTFOUND ? TLOG_EVERIFY : rcs[i], "%s/%s: %s", s->source, paths[i],
                             rcs[i] == PROV_ENOTFOUND ? "missing" : rcs[i] == PROV_ELIMIT ? "too large" : "cannot fetch");
        }
    free(paths), free(pp);
    return rc;
}

static int tile_err(syncer *s, const tlog_tile *t, const char *why)
{
    char path[TLOG_TILE_PATH_MAX];
    tlog_tile_path(path, sizeof path, t);
    return prov_seterr(s->ctx, TLOG_EVERIFY, "%s/%s: %s", s->source, path, why);
}

static int put_key(syncer *s, const uint8_t k[32])
{
    pbuf_put(&s->touched, k, 32);
    return s->touched.err;
}

/* Store entry idx and what it adds to the revocations and flags. */
static int store_entry(syncer *s, const uint8_t *p, size_t n, const reg_entry *e, uint64_t idx)
{
    mirror *m = s->m;
    const struct prov_sqlite_api *S = m->S;
    int rc = mdb_prep(m, &s->ins_entry, "INSERT INTO entries(idx,data) VALUES(?,?)", s->ctx);
    if (rc) return rc;
    S->sqlite3_bind_int64(s->ins_entry, 1, (sqlite3_int64)idx);
    S->sqlite3_bind_blob(s->ins_entry, 2, p, (int)n, SQLITE_STATIC);
    if (S->sqlite3_step(s->ins_entry) != SQLITE_DONE) return mdb_err(m, PROV_EIO, s->ctx, "write entry");
    if ((rc = put_key(s, e->key))) return rc;
    if (e->kind == REG_ROTATE && (rc = put_key(s, e->new_key))) return rc;
    if (e->kind == REG_REVOKE) {
        if ((rc = mdb_prep(m, &s->ins_rev, "INSERT INTO revocations(idx,key,time,effective,reason) VALUES(?,?,?,?,?)", s->ctx)))
            return rc;
        S->sqlite3_bind_int64(s->ins_rev, 1, (sqlite3_int64)idx);
        S->sqlite3_bind_blob(s->ins_rev, 2, e->key, 32, SQLITE_STATIC);
        S->sqlite3_bind_int64(s->ins_rev, 3, (sqlite3_int64)e->time);
        S->sqlite3_bind_int64(s->ins_rev, 4, (sqlite3_int64)e->effective);
        S->sqlite3_bind_text(s->ins_rev, 5, e->reason.p, (int)e->reason.n, SQLITE_STATIC);
        if (S->sqlite3_step(s->ins_rev) != SQLITE_DONE) return mdb_err(m, PROV_EIO, s->ctx, "write revocation");
    } else if (e->kind == REG_FLAG) {
        if ((rc = mdb_prep(m, &s->ins_flag,
                           "INSERT INTO flags(idx,key,time,flagger,media,manifest,reason) VALUES(?,?,?,?,?,?,?)", s->ctx)))
            return rc;
        S->sqlite3_bind_int64(s->ins_flag, 1, (sqlite3_int64)idx);
        S->sqlite3_bind_blob(s->ins_flag, 2, e->key, 32, SQLITE_STATIC);
        S->sqlite3_bind_int64(s->ins_flag, 3, (sqlite3_int64)e->time);
        S->sqlite3_bind_blob(s->ins_flag, 4, e->flagger, 32, SQLITE_STATIC);
        S->sqlite3_bind_blob(s->ins_flag, 5, e->media, 32, SQLITE_STATIC);
        if (e->has_manifest) S->sqlite3_bind_blob(s->ins_flag, 6, e->manifest, 32, SQLITE_STATIC);
        S->sqlite3_bind_text(s->ins_flag, 7, e->reason.p, (int)e->reason.n, SQLITE_STATIC);
        if (S->sqlite3_step(s->ins_flag) != SQLITE_DONE) return mdb_err(m, PROV_EIO, s->ctx, "write flag");
    }
    return 0;
}

/* Fetch bundles [N, N + nb) and their level-0 tiles; check that each
 * bundle holds exactly the entries the checkpoint implies and that their
 * leaf hashes are the tile; collect the entries past the stored size. */
static int batch_fetch(syncer *s, batch *b, uint64_t N, size_t nb)
{
    uint8_t leaves[TLOG_TILE_BYTES];
    b->nb = nb, b->ne = 0;
    for (size_t i = 0; i < nb; i++) {
        unsigned w = tlog_tile_width(0, N + i, s->size1);
        b->tb[i] = (tlog_tile){TLOG_ENTRIES, N + i, w};
        b->tt[i] = (tlog_tile){0, N + i, w};
    }
    int rc = fetch_tiles(s, nb, b->tb, b->bb, b->rb, b->fb);
    if (!rc) rc = fetch_tiles(s, nb, b->tt, b->tout, b->rt, b->ft);
    for (size_t i = 0; !rc && i < nb; i++) {
        unsigned w = b->tb[i].width;
        if (s->stats) s->stats->bundles++, s->stats->tiles++;
        tlog_bundle_iter it;
        tlog_bundle_iter_init(&it, b->bb[i].p, b->bb[i].len);
        for (unsigned k = 0; k < w && !rc; k++) {
            const uint8_t *p;
            size_t n;
            if (tlog_bundle_next(&it, &p, &n) != 1) return tile_err(s, &b->tb[i], "truncated (fewer entries than the checkpoint needs)");
            if (n == 0 || n > REG_ENTRY_MAX) return tile_err(s, &b->tb[i], "an entry of a bad length");
            tlog_leaf_hash(p, n, leaves + 32 * k);
            uint64_t idx = (N + i) * TLOG_TILE_WIDTH + k;
            if (idx >= s->size0) b->ep[b->ne] = p, b->el[b->ne] = n, b->eidx[b->ne] = idx, b->ne++;
        }
        const uint8_t *p;
        size_t n;
        if (!b->fb[i] && tlog_bundle_next(&it, &p, &n) != 0) return tile_err(s, &b->tb[i], "holds more than the checkpoint's entries");
        size_t want = (size_t)w * 32;
        if ((b->ft[i] ? b->tout[i].len < want : b->tout[i].len != want) || memcmp(b->tout[i].p, leaves, want))
            return tile_err(s, &b->tt[i], "does not match its entry bundle");
        if (w == TLOG_TILE_WIDTH) {
            uint8_t h[32];
            tlog_tile_hash(b->tout[i].p, TLOG_TILE_BYTES, h);
            pbuf_put(&s->up, h, 32);
        }
    }
    return rc ? rc : s->up.err;
}

/* The verified entries of a batch: state rules, the tree's edge, SQLite. */
static int batch_apply(syncer *s, batch *b)
{
    int rc = 0;
    for (size_t j = 0; j < b->ne && !rc; j++) {
        uint8_t leaf[32];
        reg_entry *e = &b->es[j];
        if (b->erc[j]) {
            parse_one(b->trust, b->ep[j], b->el[j], e, s->ctx); /* again, for the detail */
            return prov_seterr(s->ctx, TLOG_EVERIFY, "entry %llu: %s", (unsigned long long)b->eidx[j], prov_errmsg(s->ctx));
        }
        if ((rc = preload(s, e->key)) || (e->kind == REG_ROTATE && (rc = preload(s, e->new_key)))) break;
        if ((rc = reg_state_check(s->st, &s->pol, e, s->ctx)) || (rc = reg_state_apply(s->st, e, b->eidx[j])))
            return prov_seterr(s->ctx, TLOG_EVERIFY, "entry %llu: %s", (unsigned long long)b->eidx[j], prov_errmsg(s->ctx));
        tlog_leaf_hash(b->ep[j], b->el[j], leaf);
        if ((rc = edge_append(&s->e, leaf))) break;
        rc = store_entry(s, b->ep[j], b->el[j], e, b->eidx[j]);
    }
    if (!rc && s->stats) s->stats->fetched += b->ne;
    if (!rc && s->o && s->o->progress) s->o->progress(s->o->user, s->e.size - s->size0, s->size1 - s->size0);
    return rc;
}

/* Entry bundles [size0, size1) with their level-0 tiles, pipelined: batch
 * k + 1 is fetched while batch k is verified, and stored while batch k + 1
 * is. */
static int sync_entries(syncer *s)
{
    uint64_t first = s->size0 / TLOG_TILE_WIDTH, end = (s->size1 + TLOG_TILE_WIDTH - 1) / TLOG_TILE_WIDTH;
    batch *bs = malloc(2 * sizeof *bs);
    if (!bs) return PROV_ENOMEM;
    int rc = batch_init(&bs[0]);
    int rc2 = batch_init(&bs[1]);
    if (!rc) rc = rc2;
    bs[0].trust = bs[1].trust = s->o && s->o->trust_log_signatures;
    s->upbase = first;
    batch *cur = &bs[0], *nxt = &bs[1];
    if (!rc && first < end) {
        rc = batch_fetch(s, cur, first, end - first < BATCH ? (size_t)(end - first) : BATCH);
        if (!rc) verify_start(cur);
    }
    for (uint64_t N = first; !rc && N < end; N += BATCH) {
        uint64_t M = N + BATCH;
        bool more = M < end;
        int frc = more ? batch_fetch(s, nxt, M, end - M < BATCH ? (size_t)(end - M) : BATCH) : 0;
        verify_join(cur);
        if ((rc = frc)) break;
        if (more) verify_start(nxt);
        rc = batch_apply(s, cur);
        batch *t = cur;
        cur = nxt, nxt = t;
    }
    batch_free(&bs[0]), batch_free(&bs[1]);
    free(bs);
    return rc;
}

/* Every new tile above level 0 against the hashes of the full tiles
 * below it. */
static int check_upper(syncer *s)
{
    int rc = 0;
    pbuf next;
    pbuf_init(&next);
    tlog_tile t[BATCH];
    pbuf out[BATCH];
    int rcs[BATCH];
    bool full[BATCH];
    memset(out, 0, sizeof out);
    for (int L = 1; L < 8 && !rc; L++) {
        unsigned h = 8u * (unsigned)L;
        uint64_t n1 = s->size1 >> h, n0 = s->size0 >> h;
        if (n1 <= n0) break;
        /* s->up holds the hashes at this level for indexes upbase.. */
        uint64_t base = s->upbase, have = s->up.len / 32;
        uint64_t first = n0 / TLOG_TILE_WIDTH, end = (n1 + TLOG_TILE_WIDTH - 1) / TLOG_TILE_WIDTH;
        next.len = 0;
        for (uint64_t N = first; N < end && !rc; N += BATCH) {
            size_t nb = end - N < BATCH ? (size_t)(end - N) : BATCH;
            for (size_t i = 0; i < nb; i++) t[i] = (tlog_tile){L, N + i, tlog_tile_width(L, N + i, s->size1)};
            if ((rc = fetch_tiles(s, nb, t, out, rcs, full))) break;
            for (size_t i = 0; i < nb && !rc; i++) {
                size_t want = (size_t)t[i].width * 32;
                if (full[i] ? out[i].len < want : out[i].len != want) { rc = tile_err(s, &t[i], "wrong size"); break; }
                for (unsigned k = 0; k < t[i].width; k++) {
                    uint64_t g = t[i].index * TLOG_TILE_WIDTH + k;
                    if (g < n0) continue;
                    if (g < base || g - base >= have) { rc = tile_err(s, &t[i], "cannot be checked"); break; }
                    if (memcmp(out[i].p + 32 * k, s->up.p + 32 * (g - base), 32)) {
                        rc = tile_err(s, &t[i], "does not match the tiles below it");
                        break;
                    }
                }
                if (s->stats) s->stats->tiles++;
                if (!rc && t[i].width == TLOG_TILE_WIDTH) {
                    uint8_t hh[32];
                    tlog_tile_hash(out[i].p, TLOG_TILE_BYTES, hh);
                    pbuf_put(&next, hh, 32);
                }
            }
        }
        pbuf tmp = s->up;
        s->up = next, next = tmp;
        s->upbase = first;
        if (!rc) rc = s->up.err;
    }
    for (size_t i = 0; i < BATCH; i++) pbuf_free(&out[i]);
    pbuf_free(&next);
    return rc;
}

/* A consistency proof from the stored checkpoint to the new one, built
 * from the server's hash tiles. */
static int check_consistency(syncer *s)
{
    if (s->size0 == 0) return 0;
    tlog_tilesrc *ts = NULL;
    uint8_t proof[TLOG_MAX_PROOF * 32];
    size_t np = 0;
    int rc = tlog_tilesrc_new(&ts, mfetch_read, s->f, s->size1);
    if (!rc) {
        tlog_hashsrc hs = tlog_tilesrc_hashsrc(ts);
        rc = tlog_prove_consistency(&hs, s->size0, s->size1, proof, &np);
        if (rc) rc = TLOG_EVERIFY;
    }
    if (!rc) rc = tlog_verify_consistency(s->size0, s->size1, proof, np, s->root0, s->root1);
    tlog_tilesrc_free(ts);
    return rc;
}

static void b64(char *out, const uint8_t h[32])
{
    pbuf b;
    pbuf_init(&b);
    tlog_b64_encode(&b, h, 32);
    snprintf(out, 45, "%.*s", (int)b.len, b.p ? (char *)b.p : "");
    pbuf_free(&b);
}

/* Keep both checkpoints and fail loudly (outside any transaction). */
static int evidence(syncer *s, const char *why)
{
    mirror *m = s->m;
    const struct prov_sqlite_api *S = m->S;
    sqlite3_stmt *st = NULL;
    if (S->sqlite3_prepare_v2(m->db, "INSERT INTO evidence(time,source,old_size,old_root,old_note,new_size,new_root,"
                              "new_note,detail) VALUES(?,?,?,?,?,?,?,?,?)", -1, &st, NULL) == SQLITE_OK) {
        S->sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
        S->sqlite3_bind_text(st, 2, s->source, -1, SQLITE_STATIC);
        S->sqlite3_bind_int64(st, 3, (sqlite3_int64)s->size0);
        S->sqlite3_bind_blob(st, 4, s->root0, 32, SQLITE_STATIC);
        S->sqlite3_bind_blob(st, 5, s->note0.p, (int)s->note0.len, SQLITE_STATIC);
        S->sqlite3_bind_int64(st, 6, (sqlite3_int64)s->size1);
        S->sqlite3_bind_blob(st, 7, s->root1, 32, SQLITE_STATIC);
        S->sqlite3_bind_blob(st, 8, s->note1.p, (int)s->note1.len, SQLITE_STATIC);
        S->sqlite3_bind_text(st, 9, why, -1, SQLITE_STATIC);
        S->sqlite3_step(st);
        S->sqlite3_finalize(st);
    }
    char r0[48], r1[48];
    b64(r0, s->root0), b64(r1, s->root1);
    return prov_seterr(s->ctx, TLOG_EVERIFY,
                       "INCONSISTENT LOG: %s serves a checkpoint of size %llu, root %s, that is not consistent with "
                       "the mirror's checkpoint of size %llu, root %s (%s); both signed checkpoints are kept as "
                       "evidence in %s (table evidence)",
                       s->source, (unsigned long long)s->size1, r1, (unsigned long long)s->size0, r0, why, m->path);
}

static int load_stored(syncer *s)
{
    pbuf b;
    pbuf_init(&b);
    bool found;
    int rc = 0;
    s->size0 = s->m->size;
    tlog_empty_root(s->root0);
    if (!s->size0) return 0;
    if ((rc = mdb_meta_get(s->m, "checkpoint", &s->note0, &found, s->ctx))) return rc;
    if ((rc = mdb_meta_get(s->m, "root", &b, &found, s->ctx))) goto out;
    if (b.len != 32) { rc = prov_seterr(s->ctx, PROV_EFORMAT, "%s: damaged (root)", s->m->path); goto out; }
    memcpy(s->root0, b.p, 32);
    b.len = 0;
    if ((rc = mdb_meta_get(s->m, "edge", &b, &found, s->ctx))) goto out;
    if (b.len != sizeof s->e.h) { rc = prov_seterr(s->ctx, PROV_EFORMAT, "%s: damaged (edge)", s->m->path); goto out; }
    memcpy(s->e.h, b.p, sizeof s->e.h);
    s->e.size = s->size0;
    uint8_t r[32];
    edge_root(&s->e, r);
    if (memcmp(r, s->root0, 32)) rc = prov_seterr(s->ctx, PROV_EFORMAT, "%s: damaged (edge and root disagree)", s->m->path);
out:
    pbuf_free(&b);
    return rc;
}

/* An incremental sync checks new entries against the stored state: the
 * identity of each key a new entry names is loaded from the mirror into
 * the scratch state first (rebuilt through reg_state_apply, then its stored
 * status copied in), so a sync costs what is new, not the whole log. */
static reg_str rs(const char *c) { return (reg_str){c, c ? strlen(c) : 0}; }

static int preload(syncer *s, const uint8_t pk[32])
{
    if (!s->size0 || reg_state_find(s->st, pk)) return 0;
    reg_ident d;
    int rc = mirror_find(s->m, pk, &d, s->ctx);
    if (rc == PROV_ENOTFOUND) return 0;
    if (rc) return rc;
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REGISTER;
    memcpy(e.key, d.key, 32);
    reg_ident_pub(&d, &e.key_pub);
    memcpy(e.registrar, d.registrar, 32);
    e.name = rs(d.name), e.org = rs(d.org), e.contact = rs(d.contact), e.checked_by = rs(d.checked_by);
    e.time = d.time;
    rc = reg_state_apply(s->st, &e, d.index);
    reg_ident *x = (reg_ident *)reg_state_find(s->st, pk);
    if (!rc && x) {
        x->status = d.status;
        memcpy(x->rotated_to, d.rotated_to, 32);
        memcpy(x->rotated_from, d.rotated_from, 32);
        x->has_from = d.has_from;
        x->rotated_time = d.rotated_time;
        x->revoked_index = d.revoked_index, x->revoked_time = d.revoked_time;
        x->revoked_effective = d.revoked_effective;
        if (d.revoked_reason && !(x->revoked_reason = strdup(d.revoked_reason))) rc = PROV_ENOMEM;
    }
    for (size_t i = 0; !rc && i < d.nflags; i++) {
        const reg_flag *f = &d.flags[i];
        memset(&e, 0, sizeof e);
        e.kind = REG_FLAG;
        memcpy(e.key, d.key, 32);
        memcpy(e.flagger, f->flagger, 32);
        memcpy(e.media, f->media, 32);
        memcpy(e.manifest, f->manifest, 32);
        e.has_manifest = f->has_manifest;
        e.reason = rs(f->reason);
        e.time = f->time;
        rc = reg_state_apply(s->st, &e, f->index);
    }
    mirror_ident_clear(&d);
    return rc;
}

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

static int write_state(syncer *s)
{
    mirror *m = s->m;
    size_t n = s->touched.len / 32;
    if (n) qsort(s->touched.p, n, 32, cmp32);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i && !memcmp(s->touched.p + 32 * i, s->touched.p + 32 * (i - 1), 32)) continue;
        const reg_ident *d = reg_state_find(s->st, s->touched.p + 32 * i);
        if (d) rc = mdb_put_ident(m, &s->put_ident, d, s->ctx);
    }
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->size1);
    if (!rc) rc = mdb_meta_set(m, "size", num, strlen(num), s->ctx);
    if (!rc) rc = mdb_meta_set(m, "root", s->root1, 32, s->ctx);
    if (!rc) rc = mdb_meta_set(m, "checkpoint", s->note1.p, s->note1.len, s->ctx);
    if (!rc) rc = mdb_meta_set(m, "edge", s->e.h, sizeof s->e.h, s->ctx);
    if (!rc) rc = mdb_meta_set(m, "policy", s->policy.p, s->policy.len, s->ctx);
    if (!rc) rc = mdb_meta_set(m, "source", s->source, strlen(s->source), s->ctx);
    if (!rc) {
        pbuf k;
        pbuf_init(&k);
        tlog_verifier_format(&k, &s->log);
        rc = k.err ? k.err : mdb_meta_set(m, "log_key", k.p, k.len, s->ctx);
        pbuf_free(&k);
    }
    if (!rc) rc = mdb_meta_set(m, "witnesses", s->wtext.p, s->wtext.len, s->ctx);
    snprintf(num, sizeof num, "%zu", s->quorum);
    if (!rc) rc = mdb_meta_set(m, "quorum", num, strlen(num), s->ctx);
    sqlite3_stmt *st = NULL;
    if (!rc && m->S->sqlite3_prepare_v2(m->db, "INSERT OR REPLACE INTO checkpoints(size,root,note,fetched) VALUES(?,?,?,?)",
                                        -1, &st, NULL) != SQLITE_OK)
        rc = mdb_err(m, PROV_EIO, s->ctx, "checkpoints");
    if (!rc) {
        m->S->sqlite3_bind_int64(st, 1, (sqlite3_int64)s->size1);
        m->S->sqlite3_bind_blob(st, 2, s->root1, 32, SQLITE_STATIC);
        m->S->sqlite3_bind_blob(st, 3, s->note1.p, (int)s->note1.len, SQLITE_STATIC);
        m->S->sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
        if (m->S->sqlite3_step(st) != SQLITE_DONE) rc = mdb_err(m, PROV_EIO, s->ctx, "checkpoints");
    }
    if (st) m->S->sqlite3_finalize(st);
    return rc;
}

/* The log key and the witness policy: given, stored, or (a folder's first
 * sync) DIR/log.pub. */
static int trust(syncer *s, const mirror_opts *o)
{
    pbuf b;
    pbuf_init(&b);
    bool found = false;
    int rc = mdb_meta_get(s->m, "log_key", &b, &found, s->ctx);
    tlog_verifier given;
    bool have_given = false;
    if (!rc && o && o->log_key) {
        size_t n = strlen(o->log_key);
        while (n && (o->log_key[n - 1] == '\n' || o->log_key[n - 1] == '\r')) n--;
        if (tlog_verifier_parse(&given, o->log_key, n) || given.alg != TLOG_ALG_ED25519)
            rc = prov_seterr(s->ctx, PROV_EINVAL, "the log key is not a note verifier key (<origin>+<id>+<base64>)");
        have_given = true;
    }
    if (!rc && found) {
        if (tlog_verifier_parse(&s->log, (char *)b.p, b.len)) rc = prov_seterr(s->ctx, PROV_EFORMAT, "%s: bad stored log key", s->m->path);
        else if (have_given && (given.id != s->log.id || memcmp(given.pub, s->log.pub, 32) || strcmp(given.name, s->log.name)))
            rc = prov_seterr(s->ctx, PROV_EINVAL, "%s: pinned to another log key (%s); use another mirror file", s->m->path, (char *)b.p);
    } else if (!rc && have_given) {
        s->log = given;
    } else if (!rc && !mfetch_is_url(s->source)) {
        rc = reg_log_verifier(s->source, &s->log, s->ctx);
    } else if (!rc) {
        rc = prov_seterr(s->ctx, PROV_EINVAL, "%s: the first sync needs the log's key (--log-key log.pub)", s->source);
    }
    /* witnesses */
    b.len = 0;
    if (!rc && o && o->nwitnesses) {
        if (o->nwitnesses > 32) return prov_seterr(s->ctx, PROV_ELIMIT, "at most 32 witnesses");
        for (size_t i = 0; i < o->nwitnesses; i++) {
            if (o->witnesses[i].alg == TLOG_ALG_ED25519) tlog_verifier_as_cosigner(&o->witnesses[i], &s->wit[i]);
            else s->wit[i] = o->witnesses[i];
            tlog_verifier_format(&s->wtext, &s->wit[i]);
            pbuf_putc(&s->wtext, '\n');
        }
        s->nwit = o->nwitnesses;
        s->quorum = o->quorum ? o->quorum : o->nwitnesses;
        if (s->quorum > s->nwit) rc = prov_seterr(s->ctx, PROV_EINVAL, "a quorum of %zu needs as many witnesses", s->quorum);
    } else if (!rc && !(rc = mdb_meta_get(s->m, "witnesses", &s->wtext, &found, s->ctx)) && found && s->wtext.len) {
        const char *p = (char *)s->wtext.p, *end = p + s->wtext.len;
        while (p < end && s->nwit < 32 && !rc) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end;
            if (tlog_verifier_parse(&s->wit[s->nwit++], p, (size_t)(nl - p))) rc = prov_seterr(s->ctx, PROV_EFORMAT, "%s: bad stored witness", s->m->path);
            p = nl + 1;
        }
        b.len = 0;
        if (!rc && !(rc = mdb_meta_get(s->m, "quorum", &b, &found, s->ctx)) && found) s->quorum = strtoul((char *)b.p, NULL, 10);
    }
    pbuf_free(&b);
    return rc;
}

int mirror_sync(mirror *m, const char *source, const mirror_opts *o, mirror_stats *stats, prov_ctx *ctx)
{
    syncer *s = calloc(1, sizeof *s);
    tlog_note *note = malloc(sizeof *note);
    if (!s || !note) { free(s), free(note); return PROV_ENOMEM; }
    s->m = m, s->source = source, s->ctx = ctx, s->stats = stats, s->o = o;
    pbuf_init(&s->note0), pbuf_init(&s->note1), pbuf_init(&s->policy), pbuf_init(&s->wtext);
    pbuf_init(&s->up), pbuf_init(&s->touched);
    if (stats) memset(stats, 0, sizeof *stats);
    bool in_tx = false, cold = false;
    int rc = mfetch_new(&s->f, source, ctx);
    if (!rc) rc = trust(s, o);
    if (!rc) rc = load_stored(s);
    /* the checkpoint and the policy */
    if (!rc) {
        const char *paths[3] = {"checkpoint", "policy", "root.pem"};
        pbuf outs[3];
        int rcs[3];
        pbuf_init(&outs[0]), pbuf_init(&outs[1]), pbuf_init(&outs[2]);
        rc = mfetch_many(s->f, 3, paths, outs, rcs, TLOG_NOTE_MAX, ctx);
        if (!rc && rcs[0] == PROV_EIO) rc = PROV_EIO; /* ctx has the detail */
        else if (!rc && rcs[0]) rc = prov_seterr(ctx, rcs[0], "%s/checkpoint: %s", source,
                                                 rcs[0] == PROV_ENOTFOUND ? "not found (not a registry?)" : prov_strerror(rcs[0]));
        if (!rc && rcs[1]) rc = prov_seterr(ctx, rcs[1], "%s/policy: %s", source, prov_strerror(rcs[1]));
        s->note1 = outs[0], s->policy = outs[1];
        /* the registry's CA root, pinned like the log key on the first
         * sync (a verifier that chose this registry trusts its CA) */
        if (!rc && rcs[2] == 0 && outs[2].len) {
            pbuf old;
            bool found;
            pbuf_init(&old);
            rc = mdb_meta_get(s->m, "ca_root", &old, &found, ctx);
            if (!rc && !found) rc = mdb_meta_set(s->m, "ca_root", outs[2].p, outs[2].len, ctx);
            else if (!rc && (old.len != outs[2].len || memcmp(old.p, outs[2].p, old.len)))
                rc = prov_seterr(ctx, TLOG_EVERIFY, "%s/root.pem: not the CA root pinned in %s (a registry's root does not change; use another mirror file)",
                                 source, s->m->path);
            pbuf_free(&old);
        }
        pbuf_free(&outs[2]);
    }
    tlog_checkpoint cp;
    if (!rc) {
        rc = tlog_checkpoint_open(s->note1.p, s->note1.len, s->log.name, &s->log, s->wit, s->nwit, note, &cp, ctx);
        if (rc == PROV_ENOTFOUND) rc = prov_seterr(ctx, TLOG_EVERIFY, "%s/checkpoint: not signed by the log key %s+%08x (signed by an unknown key)",
                                                   source, s->log.name, (unsigned)s->log.id);
        else if (rc) rc = prov_seterr(ctx, rc, "%s/checkpoint: %s", source, prov_errmsg(ctx));
    }
    if (!rc && s->quorum) {
        size_t got = tlog_note_count_by(note, s->wit, s->nwit);
        if (got < s->quorum)
            rc = prov_seterr(ctx, TLOG_EVERIFY, "%s/checkpoint: %zu valid witness cosignature(s), the trust policy needs %zu",
                             source, got, s->quorum);
    }
    if (!rc) {
        s->size1 = cp.size;
        memcpy(s->root1, cp.root, 32);
        if (stats) stats->old_size = s->size0, stats->size = s->size1, memcpy(stats->root, s->root1, 32);
    }
    if (!rc && s->size1 < s->size0)
        rc = prov_seterr(ctx, TLOG_EVERIFY, "%s/checkpoint: size %llu is older than the mirror's %llu (a rollback or a stale copy)",
                         source, (unsigned long long)s->size1, (unsigned long long)s->size0);
    if (!rc && s->size1 == s->size0 && memcmp(s->root1, s->root0, 32) && s->size0) rc = evidence(s, "same size, another root");
    if (!rc && s->size1 == 0 && memcmp(s->root1, s->root0, 32)) rc = prov_seterr(ctx, TLOG_EVERIFY, "%s/checkpoint: an empty tree with a non-empty root", source);
    if (!rc && s->size1 == s->size0 && s->size0) goto out; /* up to date */
    if (!rc) {
        if ((rc = reg_policy_parse((char *)s->policy.p, s->policy.len, &s->pol, ctx)))
            rc = prov_seterr(ctx, rc, "%s/policy: %s", source, prov_errmsg(ctx));
        else s->have_pol = true;
    }
    if (!rc && strcmp(s->pol.origin, s->log.name))
        rc = prov_seterr(ctx, TLOG_EVERIFY, "%s/policy: for origin %s, not %s", source, s->pol.origin, s->log.name);
    if (!rc) rc = reg_state_new(&s->st);
    /* A first sync writes the whole log: through a rollback journal (of an
     * empty file: nearly nothing to journal) it is written once, where WAL
     * would write it twice (the log, then the checkpoint into the file). */
    cold = !rc && s->size0 == 0;
    if (cold) rc = mdb_exec(m, "PRAGMA journal_mode=DELETE", ctx);
    /* nor does it read the file: mapped pages would only swell its RSS
     * (by about half the file), lookups get the map back below */
    if (cold && !rc) rc = mdb_exec(m, "PRAGMA mmap_size=0", ctx);
    if (!rc) rc = mdb_exec(m, "BEGIN IMMEDIATE", ctx);
    if (!rc) in_tx = true;
    if (!rc) { /* another process may have synced since we read the size */
        pbuf b;
        pbuf_init(&b);
        bool found = false;
        rc = mdb_meta_get(m, "size", &b, &found, ctx);
        if (!rc && (found ? strtoull((char *)b.p, NULL, 10) : 0) != s->size0)
            rc = prov_seterr(ctx, PROV_EIO, "%s: another sync changed the mirror meanwhile; run again", m->path);
        pbuf_free(&b);
    }
    if (!rc) rc = sync_entries(s);
    if (!rc) {
        uint8_t r[32];
        edge_root(&s->e, r);
        if (memcmp(r, s->root1, 32)) {
            mdb_exec(m, "ROLLBACK", NULL);
            in_tx = false;
            if (s->size0 && check_consistency(s)) rc = evidence(s, "the consistency proof fails");
            else rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: the entry bundles do not hash to the checkpoint's root", source);
        }
    }
    if (!rc && (rc = check_consistency(s)))
        rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: the consistency proof from size %llu to %llu (from its hash tiles) does not verify",
                         source, (unsigned long long)s->size0, (unsigned long long)s->size1);
    if (!rc) rc = check_upper(s);
    if (!rc && cold) rc = mdb_exec(m, "DROP INDEX IF EXISTS idents_kid; DROP INDEX IF EXISTS idents_name", ctx);
    if (!rc) rc = write_state(s);
    if (!rc && cold) rc = mdb_exec(m, MDB_IDENT_INDEXES, ctx);
    if (!rc) rc = mdb_exec(m, "COMMIT", ctx);
    if (!rc) in_tx = false, m->size = s->size1;
out:
    if (in_tx) mdb_exec(m, "ROLLBACK", NULL);
    if (cold) mdb_exec(m, "PRAGMA journal_mode=WAL", NULL), mdb_exec(m, MDB_MMAP_PRAGMA, NULL);
    sqlite3_stmt *sts[] = {s->ins_entry, s->ins_rev, s->ins_flag, s->put_ident};
    for (size_t i = 0; i < 4; i++)
        if (sts[i]) m->S->sqlite3_finalize(sts[i]);
    mfetch_free(s->f);
    reg_state_free(s->st);
    if (s->have_pol) reg_policy_free(&s->pol);
    pbuf_free(&s->note0), pbuf_free(&s->note1), pbuf_free(&s->policy), pbuf_free(&s->wtext);
    pbuf_free(&s->up), pbuf_free(&s->touched);
    free(s), free(note);
    return rc;
}

int mirror_open_sync(mirror **out, const char *source, const char *path, const mirror_opts *o, mirror_stats *st,
                     prov_ctx *ctx)
{
    char *def = path ? NULL : mirror_default_path(source);
    if (!path && !def) return PROV_ENOMEM;
    mirror *m = NULL;
    int rc = mirror_open(&m, path ? path : def, true, ctx);
    if (!rc) rc = mirror_sync(m, source, o, st, ctx);
    free(def);
    if (rc) {
        mirror_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

int mirror_ca_root(mirror *m, pbuf *out, prov_ctx *ctx)
{
    bool found;
    int rc = mdb_meta_get(m, "ca_root", out, &found, ctx);
    if (!rc && !found) rc = prov_seterr(ctx, PROV_ENOTFOUND, "%s: no CA root pinned (sync it from a registry that serves root.pem)", m->path);
    return rc;
}
