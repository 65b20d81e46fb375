/* repo.c - the manifest repository: content-addressed manifest stores and
 * a fingerprint index searched by Hamming distance.
 *
 * Search is exact.  Without prov_repo_index it is a scan of every record
 * (4 popcounts each; nothing to build, best for one query).  With it, a
 * multi-index (Norouzi et al., "Fast search in Hamming space with
 * multi-index hashing"): the 256 bits are cut into 16 chunks of 16 bits,
 * each chunk a table of record ids by chunk value; two hashes within d bits
 * agree within floor(d/16) bits on some chunk (pigeonhole), so probing each
 * table at every value within that radius finds every match. */
#include "repo.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int repo_parse(prov_ctx *ctx, const uint8_t *p, size_t n, const uint8_t **recs, size_t *count)
{
    *recs = NULL;
    *count = 0;
    if (n == 0) return 0;
    if (n < REPO_HEADER) return prov_seterr(ctx, PROV_EFORMAT, "fingerprint index: truncated header (%zu bytes)", n);
    if (memcmp(p, REPO_MAGIC, 8)) return prov_seterr(ctx, PROV_EFORMAT, "fingerprint index: bad magic (not a pdq.idx)");
    uint32_t ver = rd32(p + 8), rs = rd32(p + 12);
    if (ver != REPO_VERSION)
        return prov_seterr(ctx, PROV_EUNSUPPORTED, "fingerprint index: version %u (this reader knows %u)", ver,
                           REPO_VERSION);
    if (rs != REPO_RECORD)
        return prov_seterr(ctx, PROV_EFORMAT, "fingerprint index: record size %u (expected %u)", rs, REPO_RECORD);
    size_t k = (n - REPO_HEADER) / REPO_RECORD;
    if (k > REPO_MAX_RECORDS)
        return prov_seterr(ctx, PROV_ELIMIT, "fingerprint index: %zu records, over the %u limit", k, REPO_MAX_RECORDS);
    *recs = p + REPO_HEADER;
    *count = k;
    return 0;
}

int repo_from_mem(prov_ctx *ctx, const uint8_t *p, size_t n, prov_repo **out)
{
    *out = NULL;
    prov_repo *r = calloc(1, sizeof *r);
    if (!r) return PROV_ENOMEM;
    int rc = repo_parse(ctx, p, n, &r->recs, &r->count);
    if (rc) { free(r); return rc; }
    *out = r;
    return 0;
}

static void manifests_dir(char *out, size_t cap, const char *dir, const char *rest)
{
    snprintf(out, cap, "%s/manifests%s", dir, rest);
}

/* A scan reads every page: fault them in one batch rather than one by one. */
static void populate(const prov_repo *r)
{
#ifdef MADV_POPULATE_READ
    if (r->map && madvise(r->map, r->map_len, MADV_POPULATE_READ) == 0) return;
#endif
    if (r->map) madvise(r->map, r->map_len, MADV_WILLNEED);
}

/* Map DIR's pdq.mih when it fits the index (else leave r to be scanned). */
static void attach_sidecar(prov_repo *r, const char *dir)
{
    char path[4096];
    manifests_dir(path, sizeof path, dir, "/pdq.mih");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size >= MIH_HEADER &&
        (uint64_t)st.st_size <= repo_mih_size(r->count)) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            if (repo_mih_attach(r, m, (size_t)st.st_size) == 0) r->mih_len = (size_t)st.st_size;
            else munmap(m, (size_t)st.st_size);
        }
    }
    close(fd);
}

int prov_repo_open(prov_ctx *ctx, const char *dir, prov_repo **out)
{
    if (!dir || !out) return PROV_EINVAL;
    *out = NULL;
    char path[4096];
    manifests_dir(path, sizeof path, dir, "/pdq.idx");
    prov_repo *r = calloc(1, sizeof *r);
    if (!r) return PROV_ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) { *out = r; return 0; } /* nothing published yet */
        free(r);
        return prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        rc = prov_seterr(ctx, PROV_EIO, "%s: not a regular file", path);
    } else if (st.st_size > 0) {
        r->map_len = (size_t)st.st_size;
        /* mapped lazily: with the sidecar a search reads a few thousand
         * records; without it the scan populates the whole mapping */
        r->map = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, fd, 0);
        if (r->map == MAP_FAILED) {
            r->map = NULL;
            rc = prov_seterr(ctx, PROV_EIO, "%s: cannot map: %s", path, strerror(errno));
        } else {
            rc = repo_parse(ctx, r->map, r->map_len, &r->recs, &r->count);
            if (rc) {
                char m[sizeof ctx->msg];
                snprintf(m, sizeof m, "%s", ctx ? ctx->msg : "");
                prov_seterr(ctx, rc, "%s: %s", path, m);
            } else if (r->count) {
                attach_sidecar(r, dir);
                if (!r->mih) populate(r);
            }
        }
    }
    close(fd);
    if (rc) { prov_repo_free(r); return rc; }
    *out = r;
    return 0;
}

static void drop_tables(prov_repo *r)
{
    for (int t = 0; t < MIH_TABLES; t++) {
        if (!r->mih) {
            free(r->off[t]);
            free(r->ids[t]);
        }
        r->off[t] = r->ids[t] = NULL;
    }
    if (r->mih) munmap(r->mih, r->mih_len);
    r->mih = NULL;
    r->mih_len = 0;
    r->tab_n = 0;
}

void prov_repo_free(prov_repo *r)
{
    if (!r) return;
    drop_tables(r);
    if (r->map) munmap(r->map, r->map_len);
    free(r);
}

size_t prov_repo_count(const prov_repo *r) { return r ? r->count : 0; }

static inline unsigned chunk(const uint8_t *h, int t) { return (unsigned)h[2 * t] << 8 | h[2 * t + 1]; }

int prov_repo_index(prov_repo *r)
{
    if (!r) return PROV_EINVAL;
    if ((r->off[0] && r->tab_n == r->count) || !r->count) return 0;
    if (r->count > UINT32_MAX) return PROV_ELIMIT;
    drop_tables(r); /* a sidecar covering part of the index: all in memory instead */
    for (int t = 0; t < MIH_TABLES; t++) {
        uint32_t *off = calloc(MIH_KEYS + 1, sizeof *off), *ids = malloc(r->count * sizeof *ids);
        if (!off || !ids) {
            free(off);
            free(ids);
            drop_tables(r);
            return PROV_ENOMEM;
        }
        /* counting sort of the record ids by this chunk */
        for (size_t i = 0; i < r->count; i++) off[chunk(r->recs + i * REPO_RECORD, t) + 1]++;
        for (unsigned k = 0; k < MIH_KEYS; k++) off[k + 1] += off[k];
        for (size_t i = 0; i < r->count; i++) ids[off[chunk(r->recs + i * REPO_RECORD, t)]++] = (uint32_t)i;
        memmove(off + 1, off, MIH_KEYS * sizeof *off); /* off[k] was the end of k: shift back to starts */
        off[0] = 0;
        r->off[t] = off;
        r->ids[t] = ids;
    }
    r->tab_n = r->count;
    return 0;
}

static int dist(const uint8_t *a, const uint8_t *b)
{
    uint64_t x[4], y[4];
    memcpy(x, a, 32);
    memcpy(y, b, 32);
    return __builtin_popcountll(x[0] ^ y[0]) + __builtin_popcountll(x[1] ^ y[1]) +
           __builtin_popcountll(x[2] ^ y[2]) + __builtin_popcountll(x[3] ^ y[3]);
}

/* Matches found so far (record id, distance), grown as needed. */
typedef struct hitrec {
    int d;
    uint32_t id;
} hitrec;
typedef struct hits {
    hitrec *v;
    size_t n, cap;
    int oom;
    int bad; /* a table contradicts the records: scan instead */
} hits;

static void hit(hits *h, size_t id, int d)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        hitrec *nv = realloc(h->v, cap * sizeof *nv);
        if (!nv) { h->oom = 1; return; }
        h->v = nv;
        h->cap = cap;
    }
    h->v[h->n++] = (hitrec){d, (uint32_t)id};
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
static void probe(const prov_repo *r, int t, unsigned key, const uint8_t *q, int maxd, hits *h)
{
    /* the tables may come from a file: every offset and id is checked, and
     * each entry must carry the key it is filed under */
    uint32_t lo = r->off[t][key], hi = r->off[t][key + 1];
    if (lo > hi || hi > r->tab_n) { h->bad = 1; return; }
    uint32_t prev = 0;
    for (uint32_t k = lo; k < hi; k++) {
        uint32_t id = r->ids[t][k];
        if (id >= r->tab_n || (k > lo && id <= prev)) { h->bad = 1; return; }
        prev = id;
        const uint8_t *rec = r->recs + (size_t)id * REPO_RECORD;
        if (chunk(rec, t) != key) { h->bad = 1; return; }
        /* found through an earlier table already: the first table where
         * the record is within the radius owns it */
        int seen = 0;
        int d = dist(q, rec);
        if (d > maxd) continue;
        for (int u = 0; u < t && !seen; u++) {
            unsigned a = chunk(q, u), b = chunk(rec, u);
            seen = __builtin_popcount(a ^ b) <= maxd / MIH_TABLES;
        }
        if (!seen) hit(h, id, d);
    }
}

/* One pass over the records for all the queries: the index is read once,
 * whatever nq.  Cloned for CPUs with POPCNT (x86-64's baseline lacks it,
 * and the bit-twiddling fallback is several times slower). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
static void scan(const prov_repo *r, size_t from, const uint8_t (*pdq)[PROV_PDQ_BYTES], size_t nq, int max_distance,
                 hits *h)
{
    uint64_t q[64][4];
    for (size_t k = 0; k < nq; k++) memcpy(q[k], pdq[k], 32);
    for (size_t i = from; i < r->count; i++) {
        uint64_t x[4];
        memcpy(x, r->recs + i * REPO_RECORD, 32);
        int best = 257;
        for (size_t k = 0; k < nq; k++) {
            /* the first half alone is usually past the threshold */
            int d = __builtin_popcountll(x[0] ^ q[k][0]) + __builtin_popcountll(x[1] ^ q[k][1]);
            if (d > max_distance) continue;
            d += __builtin_popcountll(x[2] ^ q[k][2]) + __builtin_popcountll(x[3] ^ q[k][3]);
            if (d < best) best = d;
        }
        if (best <= max_distance) hit(h, i, best);
    }
}

static int by_dist(const void *a, const void *b)
{
    const hitrec *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int prov_repo_search(const prov_repo *r, const uint8_t pdq[PROV_PDQ_BYTES], int max_distance, prov_repo_match *out,
                     size_t cap, size_t *n)
{
    if (!pdq) return PROV_EINVAL;
    return prov_repo_search_many(r, (const uint8_t(*)[PROV_PDQ_BYTES])pdq, 1, max_distance, out, cap, n);
}

int prov_repo_search_many(const prov_repo *r, const uint8_t (*pdq)[PROV_PDQ_BYTES], size_t nq, int max_distance,
                          prov_repo_match *out, size_t cap, size_t *n)
{
    if (!r || !pdq || !nq || nq > 64 || !n || (cap && !out)) return PROV_EINVAL;
    *n = 0;
    if (max_distance < 0) return 0;
    if (max_distance > 256) max_distance = 256;
    hits h = {0};
    int radius = max_distance / MIH_TABLES;
    if (r->off[0] && radius <= MIH_MAX_RADIUS) {
        for (size_t qi = 0; qi < nq && !h.bad; qi++) {
            const uint8_t *q = pdq[qi];
            for (int t = 0; t < MIH_TABLES; t++) {
                unsigned key = chunk(q, t);
                probe(r, t, key, q, max_distance, &h);
                for (int a = 0; radius >= 1 && a < 16; a++) {
                    probe(r, t, key ^ (1u << a), q, max_distance, &h);
                    for (int b = a + 1; radius >= 2 && b < 16; b++)
                        probe(r, t, key ^ (1u << a) ^ (1u << b), q, max_distance, &h);
                }
            }
        }
        if (h.bad) { /* a damaged sidecar: never a wrong answer, a scan */
            h.n = 0;
            scan(r, 0, pdq, nq, max_distance, &h);
        } else if (r->tab_n < r->count) {
            /* records appended since the sidecar was built; an id keeps
             * the nearest query's distance either way (deduplicated below) */
            scan(r, r->tab_n, pdq, nq, max_distance, &h);
        }
    } else {
        scan(r, 0, pdq, nq, max_distance, &h);
    }
    if (h.oom) { free(h.v); return PROV_ENOMEM; }
    /* nearest first; each manifest once (it may be published twice) */
    if (h.n > 1) qsort(h.v, h.n, sizeof *h.v, by_dist);
    size_t k = 0;
    for (size_t i = 0; i < h.n && k < cap; i++) {
        const uint8_t *m = r->recs + (size_t)h.v[i].id * REPO_RECORD + 32;
        int dup = 0;
        for (size_t j = 0; j < k && !dup; j++) dup = memcmp(out[j].manifest, m, 32) == 0;
        if (dup) continue;
        memcpy(out[k].manifest, m, 32);
        out[k++].distance = h.v[i].d;
    }
    *n = k;
    free(h.v);
    return 0;
}
