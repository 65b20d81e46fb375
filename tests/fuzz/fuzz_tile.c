/* fuzz_tile.c - libFuzzer harness for tile paths, entry bundles, tile
 * hashing, hashes read from tiles, and proof generation and verification.
 *
 * The input is tried as: a tile path; an entry bundle; and a log whose
 * tiles are served from the input's bytes (the first 8 bytes give the
 * tree size, the rest is a pool of hash bytes: level-0 tile N is a window
 * of it chosen by N, a partial tile the prefix of the full one, upper
 * tiles the hashes of the full tiles below).  Invariants, any broken one aborts:
 *  - a path that parses formats back to exactly the input;
 *  - bundle iteration stays inside the input and agrees with
 *    tlog_bundle_hashes;
 *  - whatever leaf hashes the tiles hold, a root computed from them, and
 *    the inclusion and consistency proofs generated from them, verify:
 *    the generator and the verifier agree on every tree shape (and on
 *    trees up to 2^64 - 1 leaves with arbitrary upper tiles, nothing
 *    crashes and proof lengths are right);
 *  - proofs read raw from the input never crash the verifiers. */
#include "tlog.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

static void fuzz_path(const uint8_t *data, size_t size)
{
    tlog_tile t;
    int rc = tlog_tile_parse_path((const char *)data, size, &t);
    CHECK(rc == 0 || rc == PROV_EFORMAT);
    if (rc) return;
    char buf[TLOG_TILE_PATH_MAX];
    int n = tlog_tile_path(buf, sizeof buf, &t);
    CHECK(n > 0 && (size_t)n == size && !memcmp(buf, data, size));
    CHECK(t.width >= 1 && t.width <= 256);
    CHECK(t.level == TLOG_ENTRIES || (t.level >= 0 && t.level <= 63));
}

static void fuzz_bundle(const uint8_t *data, size_t size)
{
    tlog_bundle_iter it;
    tlog_bundle_iter_init(&it, data, size);
    const uint8_t *e;
    size_t el;
    unsigned n = 0;
    int rc;
    while ((rc = tlog_bundle_next(&it, &e, &el)) == 1) {
        CHECK(e >= data && el <= size && (size_t)(e - data) <= size - el);
        n++;
    }
    CHECK(rc == 0 || rc == PROV_EFORMAT);
    static uint8_t hashes[256 * 32];
    unsigned w = n >= 1 && n <= 256 ? n : 1;
    int hr = tlog_bundle_hashes(data, size, w, hashes);
    CHECK(hr == 0 || hr == PROV_EFORMAT);
    CHECK((hr == 0) == (rc == 0 && n == w));
    if (hr == 0 && size >= 2) {
        uint8_t h[32];
        tlog_leaf_hash(data + 2, rd16(data), h);
        CHECK(!memcmp(h, hashes, 32));
    }
}

typedef struct pool {
    const uint8_t *p;
    size_t n;
    bool real; /* upper tiles hash the tiles below (a real tree) */
} pool;

/* Level-0 tile N = 8192 bytes of the pool from an offset chosen by N
 * (wrapping); a partial tile is the prefix of the full one.  Upper tiles
 * are either made of the hashes of the full tiles below (real: the tiles
 * form one Merkle tree) or, for huge trees, pool bytes as well. */
static void pool_tile(const pool *pl, int level, uint64_t index, unsigned width, uint8_t *buf)
{
    size_t need = (size_t)width * 32;
    if (level > 0 && pl->real) {
        static uint8_t below[8][TLOG_TILE_BYTES]; /* one per level: recursion */
        for (unsigned j = 0; j < width; j++) {
            pool_tile(pl, level - 1, index * 256 + j, 256, below[level]);
            CHECK(tlog_tile_hash(below[level], TLOG_TILE_BYTES, buf + 32 * (size_t)j) == 0);
        }
        return;
    }
    if (pl->n == 0) {
        memset(buf, 0, need);
        return;
    }
    size_t off = (size_t)((index * 131 + (uint64_t)level * 977) % pl->n);
    for (size_t i = 0; i < need;) {
        size_t k = pl->n - off < need - i ? pl->n - off : need - i;
        memcpy(buf + i, pl->p + off, k);
        i += k;
        off = 0;
    }
}

static int pool_read(void *user, const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    const pool *pl = user;
    tlog_tile t;
    *len = 0;
    CHECK(tlog_tile_parse_path(path, strlen(path), &t) == 0);
    CHECK(t.level >= 0 && t.level < 8);
    CHECK((size_t)t.width * 32 <= cap);
    pool_tile(pl, t.level, t.index, t.width, buf);
    *len = (size_t)t.width * 32;
    return 0;
}

static void fuzz_tiles(const uint8_t *data, size_t size)
{
    if (size < 8) return;
    uint64_t n = rd64(data);
    /* a real tree of up to 2048 leaves (two tile levels), or a huge one
     * whose upper tiles are arbitrary bytes */
    bool real = !(data[0] & 0x80);
    if (real) n %= 2048;
    if (n == 0) n = 1;
    pool pl = {data + 8, size - 8, real};
    tlog_tilesrc *ts;
    CHECK(tlog_tilesrc_new(&ts, pool_read, &pl, n) == 0);
    tlog_hashsrc src = tlog_tilesrc_hashsrc(ts);
    uint8_t root[32], r1[32], leaf[32];
    CHECK(tlog_tree_hash(&src, n, root) == 0);
    uint8_t proof[TLOG_MAX_PROOF * 32];
    size_t np;
    uint64_t picks[3] = {0, n - 1, size > 16 ? rd64(data + size - 8) % n : n / 2};
    for (int k = 0; k < 3; k++) {
        uint64_t i = picks[k];
        CHECK(src.get(src.user, 0, i, leaf) == 0);
        CHECK(tlog_prove_inclusion(&src, i, n, proof, &np) == 0);
        CHECK(np == tlog_inclusion_len(i, n));
        int rc = tlog_verify_inclusion(i, n, leaf, proof, np, root);
        CHECK(real ? rc == 0 : (rc == 0 || rc == TLOG_EVERIFY));
        uint64_t m = i + 1;
        CHECK(tlog_tree_hash(&src, m, r1) == 0);
        CHECK(tlog_prove_consistency(&src, m, n, proof, &np) == 0);
        CHECK(np == tlog_consistency_len(m, n) && np <= TLOG_MAX_PROOF);
        rc = tlog_verify_consistency(m, n, proof, np, r1, root);
        CHECK(real ? rc == 0 : (rc == 0 || rc == TLOG_EVERIFY));
    }
    /* the level-0 tile hash of a small tree is its root */
    if (n <= 256) {
        uint8_t tile[TLOG_TILE_BYTES], h[32];
        size_t tl;
        char path[TLOG_TILE_PATH_MAX];
        tlog_tile t = {0, 0, (unsigned)n};
        CHECK(tlog_tile_path(path, sizeof path, &t) > 0);
        CHECK(pool_read(&pl, path, tile, sizeof tile, &tl) == 0);
        CHECK(tlog_tile_hash(tile, tl, h) == 0 && !memcmp(h, root, 32));
    }
    tlog_tilesrc_free(ts);
}

static void fuzz_verify_raw(const uint8_t *data, size_t size)
{
    /* index, size, leaf, root, then proof hashes: all from the input */
    if (size < 80) return;
    uint64_t a = rd64(data), b = rd64(data + 8);
    const uint8_t *leaf = data + 16, *root = data + 48;
    const uint8_t *proof = data + 80;
    size_t np = (size - 80) / 32;
    int rc = tlog_verify_inclusion(a, b, leaf, proof, np, root);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == TLOG_EVERIFY);
    if (rc != PROV_EFORMAT) CHECK(np == tlog_inclusion_len(a, b));
    rc = tlog_verify_consistency(a, b, proof, np, leaf, root);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == TLOG_EVERIFY);
    if (rc != PROV_EFORMAT && a != b) CHECK(np == tlog_consistency_len(a, b));
    uint8_t h[32];
    rc = tlog_tile_hash(proof, np * 32, h);
    CHECK(rc == 0 || np == 0 || np > 256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_path(data, size);
    fuzz_bundle(data, size);
    fuzz_tiles(data, size);
    fuzz_verify_raw(data, size);
    return 0;
}
