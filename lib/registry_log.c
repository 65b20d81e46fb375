/* registry_log.c - the registry's log in a local folder: the sequencer
 * (journal, tiles, checkpoint; crash-safe) and the reader that walks and
 * verifies a published log.  Formats and the crash argument: registry.h. */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define JMAGIC "PRJ1"
#define BUNDLE_MAX ((size_t)TLOG_TILE_WIDTH * (REG_ENTRY_MAX + 2))

int reg_log_test_crash_after_journal;

struct reg_log {
    char *dir;
    int lockfd, jfd;
    tlog_signer signer;
    tlog_verifier v;
    reg_policy policy;
    reg_state *state;
    tlog_memtree tree;
    pbuf ents;       /* every entry's bytes, back to back */
    uint64_t *off;   /* entry i at ents.p + off[i], off[i+1] - off[i] bytes */
    size_t offcap;
    uint64_t published; /* size of DIR/checkpoint */
    uint64_t signed_size; /* size of l->checkpoint: published, or signed
                             and about to be (reg_log_publish) */
    pbuf checkpoint;    /* the latest signed checkpoint's bytes */
    int broken;         /* an I/O error left memory and disk apart: reopen */
    reg_cosign_fn cosign; /* witnesses' cosignatures for DIR/checkpoint */
    void *cosign_user;
};

/* ---- files ------------------------------------------------------------ */

static char *join(const char *dir, const char *rel)
{
    size_t a = strlen(dir), b = strlen(rel);
    char *p = malloc(a + b + 2);
    if (p) memcpy(p, dir, a), p[a] = '/', memcpy(p + a + 1, rel, b + 1);
    return p;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return PROV_EIO;
    int rc = fsync(fd) ? PROV_EIO : 0;
    close(fd);
    return rc;
}

/* mkdir -p of path's parent folders (not path itself). */
static int mkparents(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        int r = mkdir(path, 0755);
        *s = '/';
        if (r && errno != EEXIST) return PROV_EIO;
    }
    return 0;
}

/* Write a file whole: temporary, fdatasync, rename; sync its folder when
 * dsync is 1.  dsync -1: no sync at all (the caller syncs the whole file
 * system once for many files: publish). */
static int write_atomic(const char *dir, const char *rel, const void *p, size_t n, int dsync,
                        prov_ctx *ctx)
{
    char *full = join(dir, rel), *tmp = full ? malloc(strlen(full) + 8) : NULL;
    int rc = 0, fd = -1;
    if (!tmp) { free(full); return PROV_ENOMEM; }
    sprintf(tmp, "%s.tmp", full);
    if ((rc = mkparents(full))) goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { rc = PROV_EIO; goto out; }
    const uint8_t *q = p;
    while (n) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { rc = PROV_EIO; goto out; }
        q += w, n -= (size_t)w;
    }
    if (dsync >= 0 && fdatasync(fd)) { rc = PROV_EIO; goto out; }
    close(fd);
    fd = -1;
    if (rename(tmp, full)) { rc = PROV_EIO; goto out; }
    if (dsync > 0) {
        char *sl = strrchr(full, '/');
        *sl = 0;
        rc = fsync_dir(full);
    }
out:
    if (fd >= 0) close(fd);
    if (rc) {
        unlink(tmp);
        rc = prov_seterr(ctx, rc, "%s/%s: cannot write: %s", dir, rel, strerror(errno));
    }
    free(tmp);
    free(full);
    return rc;
}

static int read_all(const char *dir, const char *rel, pbuf *out, size_t max, prov_ctx *ctx)
{
    char *full = join(dir, rel);
    if (!full) return PROV_ENOMEM;
    FILE *f = fopen(full, "rb");
    free(full);
    if (!f) return prov_seterr(ctx, errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO, "%s/%s: %s", dir, rel, strerror(errno));
    uint8_t buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        pbuf_put(out, buf, k);
        if (out->len > max) break;
    }
    int rc = ferror(f) ? PROV_EIO : out->len > max ? PROV_ELIMIT : out->err;
    fclose(f);
    if (rc) return prov_seterr(ctx, rc, "%s/%s: cannot read", dir, rel);
    return 0;
}

int reg_log_verifier(const char *dir, tlog_verifier *v, prov_ctx *ctx)
{
    pbuf b;
    pbuf_init(&b);
    int rc = read_all(dir, "log.pub", &b, 4096, ctx);
    if (!rc) {
        size_t n = b.len;
        while (n && (b.p[n - 1] == '\n' || b.p[n - 1] == '\r')) n--;
        rc = tlog_verifier_parse(v, (char *)b.p, n);
        if (!rc && v->alg != TLOG_ALG_ED25519) rc = PROV_EUNSUPPORTED;
        if (rc) rc = prov_seterr(ctx, rc, "%s/log.pub: not a note verifier key", dir);
    }
    pbuf_free(&b);
    return rc;
}

/* ---- creating --------------------------------------------------------- */

static int sign_checkpoint(pbuf *out, const tlog_signer *s, uint64_t size, const uint8_t root[32],
                           prov_ctx *ctx)
{
    return tlog_checkpoint_sign(out, s, s->name, size, root, NULL, 0, ctx);
}

int reg_log_create(const char *dir, const tlog_signer *log, prov_ctx *ctx)
{
    tlog_verifier v;
    pbuf b, cp;
    pbuf_init(&b), pbuf_init(&cp);
    tlog_signer_verifier(log, &v);
    tlog_verifier_format(&b, &v);
    pbuf_putc(&b, '\n');
    uint8_t root[32];
    tlog_empty_root(root);
    int rc = b.err;
    if (!rc) rc = write_atomic(dir, "log.pub", b.p, b.len, false, ctx);
    if (!rc) rc = write_atomic(dir, "journal", JMAGIC, 4, false, ctx);
    if (!rc) rc = sign_checkpoint(&cp, log, 0, root, ctx);
    if (!rc) rc = write_atomic(dir, "checkpoint", cp.p, cp.len, true, ctx);
    pbuf_free(&b), pbuf_free(&cp);
    return rc;
}


/* ---- verifying many entries on all cores ------------------------------ */

typedef struct pjob {
    const uint8_t *const *p;
    const size_t *len;
    reg_entry *es;
    int *rc;
    size_t from, to;
} pjob;

static void *pwork(void *arg)
{
    pjob *j = arg;
    for (size_t i = j->from; i < j->to; i++) j->rc[i] = reg_entry_parse(j->p[i], j->len[i], true, &j->es[i], NULL);
    return NULL;
}

/* reg_entry_parse(verify) of n entries into es; the first failure's index
 * in *bad and its code returned (with ctx's detail).  Ed25519 checks are
 * the sequencer's and the reader's main cost, so big batches are split
 * over the CPUs. */
static int parse_many(const uint8_t *const *p, const size_t *len, size_t n, reg_entry *es,
                      size_t *bad, prov_ctx *ctx)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = n < 64 || ncpu < 2 ? 1 : (size_t)(ncpu > 16 ? 16 : ncpu);
    int *rcs = malloc((n ? n : 1) * sizeof *rcs);
    if (!rcs) return PROV_ENOMEM;
    pjob jobs[16];
    pthread_t th[16];
    bool started[16] = {false};
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (pjob){p, len, es, rcs, n * t / nt, n * (t + 1) / nt};
        if (t > 0) started[t] = pthread_create(&th[t], NULL, pwork, &jobs[t]) == 0;
    }
    pwork(&jobs[0]);
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else pwork(&jobs[t]);
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (rcs[i]) {
            rc = reg_entry_parse(p[i], len[i], true, &es[i], ctx); /* again, for the detail */
            if (!rc) rc = rcs[i];
            if (bad) *bad = i;
        }
    free(rcs);
    return rc;
}

/* ---- the sequencer ---------------------------------------------------- */

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

static int push_entry(reg_log *l, const uint8_t *p, size_t n, const uint8_t leaf[32])
{
    uint64_t count = l->tree.size;
    if (count + 2 > l->offcap) {
        size_t nc = l->offcap ? l->offcap * 2 : 1024;
        uint64_t *no = realloc(l->off, nc * sizeof *no);
        if (!no) return PROV_ENOMEM;
        l->off = no, l->offcap = nc;
    }
    if (count == 0) l->off[0] = 0;
    pbuf_put(&l->ents, p, n);
    if (l->ents.err) return l->ents.err;
    l->off[count + 1] = l->ents.len;
    return tlog_memtree_append(&l->tree, leaf);
}

static const uint8_t *entry_at(const reg_log *l, uint64_t i, size_t *n)
{
    *n = (size_t)(l->off[i + 1] - l->off[i]);
    return l->ents.p + l->off[i];
}

/* Write the tiles and bundles a tree growing from s0 to s1 adds. */
static int write_tiles(reg_log *l, uint64_t s0, uint64_t s1, prov_ctx *ctx)
{
    char path[TLOG_TILE_PATH_MAX];
    pbuf bundle;
    pbuf_init(&bundle);
    int rc = 0;
    for (int L = -1; L < 8 && !rc; L++) {
        unsigned h = L < 0 ? 0 : 8u * (unsigned)L;
        uint64_t n1 = s1 >> h, n0 = s0 >> h;
        if (n1 == n0) break;
        for (uint64_t N = n0 / TLOG_TILE_WIDTH; N * TLOG_TILE_WIDTH < n1 && !rc; N++) {
            tlog_tile t = {L < 0 ? TLOG_ENTRIES : L, N, tlog_tile_width(L < 0 ? 0 : L, N, s1)};
            if ((rc = tlog_tile_path(path, sizeof path, &t)) < 0) break;
            rc = 0;
            if (L < 0) {
                bundle.len = 0;
                for (uint64_t i = N * TLOG_TILE_WIDTH; i < N * TLOG_TILE_WIDTH + t.width; i++) {
                    size_t n;
                    const uint8_t *e = entry_at(l, i, &n);
                    tlog_bundle_put(&bundle, e, n);
                }
                rc = bundle.err;
                if (!rc) rc = write_atomic(l->dir, path, bundle.p, bundle.len, -1, ctx);
            } else {
                rc = write_atomic(l->dir, path, l->tree.lv[h] + N * TLOG_TILE_BYTES,
                                  (size_t)t.width * TLOG_HASH_LEN, -1, ctx);
            }
        }
    }
    pbuf_free(&bundle);
    return rc;
}

/* Sign the checkpoint of the whole tree, in memory (l->checkpoint): the
 * proofs of new entries can be made before it is published.  Ed25519 is
 * deterministic, so a crash before publishing and the recovery publish
 * the very same checkpoint. */
static int sign_next(reg_log *l, prov_ctx *ctx)
{
    uint64_t s1 = l->tree.size;
    if (s1 == l->signed_size) return 0;
    uint8_t root[32];
    tlog_hashsrc hs = tlog_memtree_hashsrc(&l->tree);
    pbuf cp;
    pbuf_init(&cp);
    int rc = tlog_tree_hash(&hs, s1, root);
    if (!rc) rc = sign_checkpoint(&cp, &l->signer, s1, root, ctx);
    if (rc) {
        pbuf_free(&cp);
        return rc;
    }
    pbuf_free(&l->checkpoint);
    l->checkpoint = cp;
    l->signed_size = s1;
    return 0;
}

/* Tiles and bundles (no sync each), one syncfs(2) for all of them, then
 * the checkpoint (fdatasync, rename, folder fsync): a crash leaves the
 * old checkpoint or the new one, and the new one's tiles are on disk. */
static int publish(reg_log *l, prov_ctx *ctx)
{
    int rc = sign_next(l, ctx);
    uint64_t s1 = l->signed_size;
    if (rc || s1 == l->published) return rc;
    rc = write_tiles(l, l->published, s1, ctx);
    if (!rc && syscall(SYS_syncfs, l->jfd))
        rc = prov_seterr(ctx, PROV_EIO, "%s: syncfs: %s", l->dir, strerror(errno));
    if (!rc && l->cosign) {
        /* the witnesses see the new tiles (their consistency proofs are
         * built from them); a crash from here on leaves the old checkpoint,
         * and a witness that cosigned the new one is simply ahead */
        pbuf note;
        pbuf_init(&note);
        pbuf_put(&note, l->checkpoint.p, l->checkpoint.len);
        if (!note.err) l->cosign(l->cosign_user, l->dir, &note);
        if (note.err || note.len > TLOG_NOTE_MAX) note.len = 0;
        if (note.len) rc = write_atomic(l->dir, "checkpoint", note.p, note.len, 1, ctx);
        else rc = write_atomic(l->dir, "checkpoint", l->checkpoint.p, l->checkpoint.len, 1, ctx);
        pbuf_free(&note);
    } else if (!rc) {
        rc = write_atomic(l->dir, "checkpoint", l->checkpoint.p, l->checkpoint.len, 1, ctx);
    }
    if (!rc) l->published = s1;
    return rc;
}

void reg_log_set_cosign(reg_log *l, reg_cosign_fn fn, void *user)
{
    l->cosign = fn;
    l->cosign_user = user;
}

/* Read the journal into memory; cut a torn tail. */
static int load_journal(reg_log *l, uint64_t published, prov_ctx *ctx)
{
    pbuf j;
    pbuf_init(&j);
    int rc = read_all(l->dir, "journal", &j, SIZE_MAX / 2, ctx);
    if (rc) goto out;
    if (j.len < 4 || memcmp(j.p, JMAGIC, 4)) {
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s/journal: not a registry journal", l->dir);
        goto out;
    }
    size_t off = 4;
    while (off < j.len) {
        size_t left = j.len - off;
        uint32_t n = left >= 4 ? rd32(j.p + off) : 0;
        uint8_t leaf[32];
        bool ok = left >= 4 && n > 0 && n <= REG_ENTRY_MAX && left - 4 >= (size_t)n + 32;
        if (ok) {
            tlog_leaf_hash(j.p + off + 4, n, leaf);
            ok = !memcmp(leaf, j.p + off + 4 + n, 32);
        }
        if (!ok) {
            if (l->tree.size < published) {
                rc = prov_seterr(ctx, PROV_EFORMAT, "%s/journal: record %llu is damaged but published", l->dir,
                                 (unsigned long long)l->tree.size);
                goto out;
            }
            /* a torn tail: never acknowledged */
            if (ftruncate(l->jfd, (off_t)off) || fdatasync(l->jfd)) {
                rc = prov_seterr(ctx, PROV_EIO, "%s/journal: cannot cut the torn tail", l->dir);
                goto out;
            }
            break;
        }
        if ((rc = push_entry(l, j.p + off + 4, n, leaf))) goto out;
        off += 4 + (size_t)n + 32;
    }
    if (lseek(l->jfd, 0, SEEK_END) < 0) rc = PROV_EIO;
out:
    pbuf_free(&j);
    return rc;
}

int reg_log_open(reg_log **out, const char *dir, const tlog_signer *log, prov_ctx *ctx)
{
    reg_log *l = calloc(1, sizeof *l);
    if (!l) return PROV_ENOMEM;
    l->lockfd = l->jfd = -1;
    l->dir = strdup(dir);
    l->signer = *log;
    tlog_memtree_init(&l->tree);
    pbuf_init(&l->ents), pbuf_init(&l->checkpoint);
    int rc = l->dir ? 0 : PROV_ENOMEM;
    char *lp = NULL, *jp = NULL;
    tlog_note *note = malloc(sizeof *note);
    if (!rc && !note) rc = PROV_ENOMEM;
    if (!rc) {
        lp = join(dir, "lock"), jp = join(dir, "journal");
        if (!lp || !jp) rc = PROV_ENOMEM;
    }
    if (!rc) {
        l->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (l->lockfd < 0 || flock(l->lockfd, LOCK_EX | LOCK_NB))
            rc = prov_seterr(ctx, PROV_EIO, "%s: cannot lock (another sequencer runs?)", dir);
    }
    if (!rc) rc = reg_log_verifier(dir, &l->v, ctx);
    if (!rc && (l->v.id != log->id || memcmp(l->v.pub, log->pub, 32)))
        rc = prov_seterr(ctx, PROV_EINVAL, "%s: the log key does not match log.pub", dir);
    tlog_checkpoint cp;
    if (!rc) rc = read_all(dir, "checkpoint", &l->checkpoint, TLOG_NOTE_MAX, ctx);
    if (!rc) {
        rc = tlog_checkpoint_open(l->checkpoint.p, l->checkpoint.len, l->v.name, &l->v, NULL, 0, note, &cp, ctx);
        if (rc) rc = prov_seterr(ctx, rc, "%s/checkpoint: %s", dir, prov_errmsg(ctx));
    }
    if (!rc) {
        l->published = l->signed_size = cp.size;
        l->jfd = open(jp, O_RDWR | O_CLOEXEC);
        if (l->jfd < 0) rc = prov_seterr(ctx, PROV_EIO, "%s: %s", jp, strerror(errno));
    }
    if (!rc) rc = load_journal(l, cp.size, ctx);
    if (!rc && l->tree.size < cp.size)
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s: the journal holds %llu entries, the checkpoint %llu", dir,
                         (unsigned long long)l->tree.size, (unsigned long long)cp.size);
    if (!rc) {
        uint8_t root[32];
        tlog_hashsrc hs = tlog_memtree_hashsrc(&l->tree);
        rc = tlog_tree_hash(&hs, cp.size, root);
        if (!rc && memcmp(root, cp.root, 32))
            rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: the journal does not hash to the checkpoint's root", dir);
    }
    if (!rc) rc = reg_policy_load(dir, &l->policy, ctx);
    if (!rc) rc = reg_state_new(&l->state);
    for (uint64_t i = 0; !rc && i < l->tree.size; i++) {
        size_t n;
        const uint8_t *p = entry_at(l, i, &n);
        reg_entry e;
        rc = reg_entry_parse(p, n, false, &e, ctx);
        if (!rc) rc = reg_state_apply(l->state, &e, i);
        if (rc) rc = prov_seterr(ctx, rc, "%s/journal: entry %llu: %s", dir, (unsigned long long)i, prov_errmsg(ctx));
    }
    /* accepted entries the crash left unpublished */
    if (!rc) rc = publish(l, ctx);
    free(lp), free(jp), free(note);
    if (rc) {
        reg_log_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

void reg_log_close(reg_log *l)
{
    if (!l) return;
    if (l->jfd >= 0) close(l->jfd);
    if (l->lockfd >= 0) close(l->lockfd);
    reg_state_free(l->state);
    reg_policy_free(&l->policy);
    tlog_memtree_free(&l->tree);
    pbuf_free(&l->ents), pbuf_free(&l->checkpoint);
    free(l->off);
    free(l->dir);
    free(l);
}

uint64_t reg_log_size(const reg_log *l) { return l->published; }

int reg_log_publish(reg_log *l, prov_ctx *ctx)
{
    if (l->broken) return prov_seterr(ctx, l->broken, "the log hit an I/O error: reopen it");
    int rc = publish(l, ctx);
    if (rc) l->broken = rc;
    return rc;
}
const reg_state *reg_log_state(const reg_log *l) { return l->state; }

/* Journal n checked entries (one write, fdatasync: from then on they are
 * accepted), then publish them. */
static int commit(reg_log *l, const uint8_t *const *entries, const size_t *lens, size_t n,
                  uint64_t *first, bool defer, prov_ctx *ctx)
{
    int rc;
    /* 3. journal, one write, fdatasync: accepted */
    pbuf rec;
    pbuf_init(&rec);
    uint8_t *leaves = malloc((n ? n : 1) * 32);
    if (!leaves) { pbuf_free(&rec); return PROV_ENOMEM; }
    for (size_t i = 0; i < n; i++) {
        tlog_leaf_hash(entries[i], lens[i], leaves + 32 * i);
        pbuf_be32(&rec, (uint32_t)lens[i]);
        pbuf_put(&rec, entries[i], lens[i]);
        pbuf_put(&rec, leaves + 32 * i, 32);
    }
    rc = rec.err;
    off_t start = lseek(l->jfd, 0, SEEK_END);
    const uint8_t *q = rec.p;
    size_t left = rec.len;
    while (!rc && left) {
        ssize_t w = write(l->jfd, q, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = PROV_EIO;
        else q += w, left -= (size_t)w;
    }
    if (!rc && fdatasync(l->jfd)) rc = PROV_EIO;
    pbuf_free(&rec);
    if (rc) {
        /* not acknowledged: take the partial write back */
        if (start >= 0 && ftruncate(l->jfd, start) == 0) (void)0;
        l->broken = PROV_EIO;
        free(leaves);
        return prov_seterr(ctx, PROV_EIO, "%s/journal: cannot append: %s", l->dir, strerror(errno));
    }
    if (first) *first = l->tree.size;
    for (size_t i = 0; i < n && !rc; i++) rc = push_entry(l, entries[i], lens[i], leaves + 32 * i);
    free(leaves);
    if (rc) { l->broken = rc; return rc; }
    if (reg_log_test_crash_after_journal) return 0;
    /* 4. tiles, bundles, checkpoint (deferred: signed now, written by
     * reg_log_publish) */
    if ((rc = defer ? sign_next(l, ctx) : publish(l, ctx))) l->broken = rc;
    return rc;
}

int reg_log_append(reg_log *l, const uint8_t *const *entries, const size_t *lens, size_t n,
                   uint64_t *first, size_t *bad, prov_ctx *ctx)
{
    if (l->broken) return prov_seterr(ctx, l->broken, "the log hit an I/O error: reopen it");
    int rc = 0;
    reg_entry *es = malloc((n ? n : 1) * sizeof *es);
    if (!es) return PROV_ENOMEM;
    /* 1. every entry verified */
    rc = parse_many(entries, lens, n, es, bad, ctx);
    /* 2. the state rules, in order.  When no key appears twice in the
     * batch, each entry is checked against the live state alone; else a
     * scratch state (the log replayed, then the batch) decides.  Only a
     * wholly good batch touches the live state. */
    if (!rc) {
        uint8_t(*keys)[32] = malloc((2 * n + 1) * 32);
        size_t nk = 0;
        bool repeats = false;
        if (!keys) rc = PROV_ENOMEM;
        for (size_t i = 0; !rc && i < n; i++) {
            memcpy(keys[nk++], es[i].key, 32);
            if (es[i].kind == REG_ROTATE) memcpy(keys[nk++], es[i].new_key, 32);
        }
        if (!rc) {
            qsort(keys, nk, 32, cmp32);
            for (size_t i = 1; i < nk && !repeats; i++) repeats = !memcmp(keys[i - 1], keys[i], 32);
        }
        free(keys);
        if (!rc && !repeats) {
            for (size_t i = 0; i < n && !rc; i++)
                if ((rc = reg_state_check(l->state, &l->policy, &es[i], ctx)) && bad) *bad = i;
        } else if (!rc) {
            reg_state *scratch = NULL;
            rc = reg_state_new(&scratch);
            for (uint64_t k = 0; !rc && k < l->tree.size; k++) {
                size_t m;
                const uint8_t *p = entry_at(l, k, &m);
                reg_entry e;
                rc = reg_entry_parse(p, m, false, &e, ctx);
                if (!rc) rc = reg_state_apply(scratch, &e, k);
            }
            for (size_t i = 0; i < n && !rc; i++) {
                if ((rc = reg_state_check(scratch, &l->policy, &es[i], ctx)) && bad) *bad = i;
                if (!rc) rc = reg_state_apply(scratch, &es[i], l->tree.size + i);
            }
            reg_state_free(scratch);
        }
        for (size_t i = 0; i < n && !rc; i++)
            if ((rc = reg_state_apply(l->state, &es[i], l->tree.size + i))) l->broken = rc;
    }
    free(es);
    if (rc) return rc;
    return commit(l, entries, lens, n, first, false, ctx);
}

int reg_log_append_verified(reg_log *l, const uint8_t *const *entries, const size_t *lens,
                            const reg_entry *es, size_t n, int *rcs, uint64_t *idx,
                            char (*why)[160], bool defer, prov_ctx *ctx)
{
    if (l->broken) return prov_seterr(ctx, l->broken, "the log hit an I/O error: reopen it");
    const uint8_t **acc = malloc((n ? n : 1) * sizeof *acc);
    size_t *accl = malloc((n ? n : 1) * sizeof *accl), m = 0;
    prov_ctx one;
    int rc = acc && accl ? 0 : PROV_ENOMEM;
    /* the state rules in order, each entry on its own: later entries see
     * the earlier ones (a key registered twice in a batch: the second is
     * refused) */
    for (size_t i = 0; i < n && !rc; i++) {
        one.msg[0] = 0;
        rcs[i] = reg_state_check(l->state, &l->policy, &es[i], &one);
        if (rcs[i]) {
            if (why) snprintf(why[i], 160, "%s", one.msg);
            continue;
        }
        if ((rc = reg_state_apply(l->state, &es[i], l->tree.size + m))) {
            l->broken = rc;
            break;
        }
        idx[i] = l->tree.size + m;
        acc[m] = entries[i], accl[m++] = lens[i];
    }
    if (!rc && m) rc = commit(l, acc, accl, m, NULL, defer, ctx);
    free(acc), free(accl);
    return rc;
}

int reg_log_proof(reg_log *l, uint64_t index, pbuf *out, prov_ctx *ctx)
{
    if (index >= l->signed_size)
        return prov_seterr(ctx, PROV_EINVAL, "entry %llu is not in the checkpoint", (unsigned long long)index);
    uint8_t proof[TLOG_MAX_PROOF * 32];
    size_t np, n;
    tlog_hashsrc hs = tlog_memtree_hashsrc(&l->tree);
    int rc = tlog_prove_inclusion(&hs, index, l->signed_size, proof, &np);
    const uint8_t *e = entry_at(l, index, &n);
    if (!rc) rc = tlog_proof_format(out, index, proof, np, true, e, n, l->checkpoint.p, l->checkpoint.len);
    return rc;
}

int reg_proof_verify(const uint8_t *p, size_t len, const char *origin, const tlog_verifier *log,
                     uint8_t **entry_buf, size_t *entry_len, reg_entry *e, prov_ctx *ctx)
{
    tlog_proof *pr = malloc(sizeof *pr);
    tlog_note *note = malloc(sizeof *note);
    uint8_t *ent = malloc(REG_ENTRY_MAX + 1);
    int rc = pr && note && ent ? 0 : PROV_ENOMEM;
    size_t n = 0;
    if (!rc) rc = tlog_proof_parse(p, len, pr, ctx);
    if (!rc && !pr->has_extra) rc = prov_seterr(ctx, PROV_EFORMAT, "proof: no entry in its extra data");
    if (!rc && (tlog_b64_decode(pr->extra, pr->extra_len, ent, REG_ENTRY_MAX, &n) || n > REG_ENTRY_MAX))
        rc = prov_seterr(ctx, PROV_EFORMAT, "proof: bad extra data");
    uint8_t leaf[32];
    if (!rc) {
        tlog_leaf_hash(ent, n, leaf);
        rc = tlog_proof_verify(p, len, leaf, origin, log, NULL, 0, pr, note, NULL, ctx);
    }
    reg_entry tmp;
    if (!rc) rc = reg_entry_parse(ent, n, true, e ? e : &tmp, ctx);
    free(pr), free(note);
    if (rc || !entry_buf) {
        free(ent);
        if (e && entry_buf == NULL) memset(e, 0, sizeof *e); /* would dangle */
    } else {
        *entry_buf = ent;
        if (entry_len) *entry_len = n;
    }
    return rc;
}

/* ---- reading a published log ------------------------------------------ */

static int read_tile(const char *dir, const tlog_tile *t, uint8_t *buf, size_t cap, size_t *len,
                     bool *full_instead)
{
    char path[TLOG_TILE_PATH_MAX];
    *full_instead = false;
    if (tlog_tile_path(path, sizeof path, t) < 0) return PROV_EINVAL;
    int rc = tlog_dir_read((void *)dir, path, buf, cap, len);
    if (rc == PROV_ENOTFOUND && t->width < TLOG_TILE_WIDTH) {
        tlog_tile f = *t;
        f.width = TLOG_TILE_WIDTH;
        tlog_tile_path(path, sizeof path, &f);
        rc = tlog_dir_read((void *)dir, path, buf, cap, len);
        *full_instead = rc == 0;
    }
    return rc;
}

int reg_walk(const char *dir, bool full, reg_state *st, reg_walk_stats *stats, prov_ctx *ctx)
{
    tlog_verifier v;
    tlog_checkpoint cp;
    reg_policy pol;
    pbuf cpb;
    pbuf_init(&cpb);
    tlog_memtree tree;
    tlog_memtree_init(&tree);
    tlog_note *note = malloc(sizeof *note);
    uint8_t *buf = malloc(BUNDLE_MAX);
    reg_entry *ents = malloc(TLOG_TILE_WIDTH * sizeof *ents);
    bool have_pol = false;
    char path[TLOG_TILE_PATH_MAX];
    int rc = note && buf && ents ? 0 : PROV_ENOMEM;
    if (!rc) rc = reg_log_verifier(dir, &v, ctx);
    if (!rc) rc = read_all(dir, "checkpoint", &cpb, TLOG_NOTE_MAX, ctx);
    if (!rc && (rc = tlog_checkpoint_open(cpb.p, cpb.len, v.name, &v, NULL, 0, note, &cp, ctx)))
        rc = prov_seterr(ctx, rc, "checkpoint: %s", prov_errmsg(ctx));
    if (!rc && !(rc = reg_policy_load(dir, &pol, ctx))) have_pol = true;
    reg_state *own = NULL;
    if (!rc && !st) rc = reg_state_new(&own), st = own;
    if (stats) memset(stats, 0, sizeof *stats);
    for (uint64_t N = 0; !rc && N * TLOG_TILE_WIDTH < cp.size; N++) {
        tlog_tile t = {TLOG_ENTRIES, N, tlog_tile_width(0, N, cp.size)};
        size_t len;
        bool fi;
        tlog_tile_path(path, sizeof path, &t);
        if ((rc = read_tile(dir, &t, buf, BUNDLE_MAX, &len, &fi))) {
            rc = prov_seterr(ctx, rc == PROV_ENOTFOUND ? TLOG_EVERIFY : rc, "%s: %s", path,
                             rc == PROV_ENOTFOUND ? "missing" : prov_strerror(rc));
            break;
        }
        if (stats) stats->bundles_read++;
        tlog_bundle_iter it;
        tlog_bundle_iter_init(&it, buf, len);
        const uint8_t *eps[TLOG_TILE_WIDTH];
        size_t els[TLOG_TILE_WIDTH];
        for (unsigned k = 0; k < t.width && !rc; k++) {
            if (tlog_bundle_next(&it, &eps[k], &els[k]) != 1)
                rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: holds fewer than %u entries", path, t.width);
        }
        size_t badk = 0;
        if (!rc && (rc = parse_many(eps, els, t.width, ents, &badk, ctx)))
            rc = prov_seterr(ctx, TLOG_EVERIFY, "entry %llu: %s", (unsigned long long)(N * TLOG_TILE_WIDTH + badk),
                             prov_errmsg(ctx));
        for (unsigned k = 0; k < t.width && !rc; k++) {
            uint64_t idx = N * TLOG_TILE_WIDTH + k;
            uint8_t leaf[32];
            tlog_leaf_hash(eps[k], els[k], leaf);
            if ((rc = tlog_memtree_append(&tree, leaf))) break;
            rc = reg_state_check(st, &pol, &ents[k], ctx);
            if (!rc) rc = reg_state_apply(st, &ents[k], idx);
            if (rc) rc = prov_seterr(ctx, TLOG_EVERIFY, "entry %llu: %s", (unsigned long long)idx, prov_errmsg(ctx));
        }
        if (!rc && !fi) {
            const uint8_t *ep;
            size_t el;
            if (tlog_bundle_next(&it, &ep, &el) != 0)
                rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: more than %u entries", path, t.width);
        }
    }
    uint8_t root[32];
    tlog_hashsrc hs = tlog_memtree_hashsrc(&tree);
    if (!rc) rc = tlog_tree_hash(&hs, cp.size, root);
    if (!rc && memcmp(root, cp.root, 32))
        rc = prov_seterr(ctx, TLOG_EVERIFY, "the entries do not hash to the checkpoint's root");
    /* every hash tile against the tree the entries make */
    for (int L = 0; full && !rc && L < 8; L++) {
        unsigned h = 8u * (unsigned)L;
        uint64_t nh = cp.size >> h;
        if (!nh) break;
        for (uint64_t N = 0; !rc && N * TLOG_TILE_WIDTH < nh; N++) {
            tlog_tile t = {L, N, tlog_tile_width(L, N, cp.size)};
            size_t len;
            bool fi;
            tlog_tile_path(path, sizeof path, &t);
            rc = read_tile(dir, &t, buf, BUNDLE_MAX, &len, &fi);
            if (rc) {
                rc = prov_seterr(ctx, rc == PROV_ENOTFOUND ? TLOG_EVERIFY : rc, "%s: %s", path,
                                 rc == PROV_ENOTFOUND ? "missing" : prov_strerror(rc));
                break;
            }
            size_t want = (size_t)t.width * 32;
            if ((fi ? len < want : len != want) || memcmp(buf, tree.lv[h] + N * TLOG_TILE_BYTES, want))
                rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: does not match the entries", path);
            if (stats) stats->tiles_checked++;
        }
    }
    if (!rc && stats) stats->size = cp.size, memcpy(stats->root, cp.root, 32);
    reg_state_free(own);
    if (have_pol) reg_policy_free(&pol);
    tlog_memtree_free(&tree);
    pbuf_free(&cpb);
    free(note), free(buf), free(ents);
    return rc;
}
