/* tiles.c - tiled logs (c2sp.org/tlog-tiles): tile paths, tile widths,
 * tile hashes, entry bundles, and a hash source that reads hash tiles
 * through a callback, so proofs can be built from static files.  See
 * tlog.h.
 *
 * A tile at level L, index N holds up to 256 hashes of Merkle level 8L:
 * node (8L, 256N + i).  Any complete subtree at level 8L + r (r < 8) is
 * the root of 2^r consecutive hashes of one tile, so every hash a proof
 * needs comes from one tile read and at most 127 node hashes. */
#include "tlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- paths ----------------------------------------------------------- */

static bool tile_ok(const tlog_tile *t)
{
    return t && (t->level == TLOG_ENTRIES || (t->level >= 0 && t->level <= 63)) &&
           t->width >= 1 && t->width <= TLOG_TILE_WIDTH;
}

int tlog_tile_path(char *buf, size_t cap, const tlog_tile *t)
{
    if (!buf || !tile_ok(t)) return PROV_EINVAL;
    char tmp[TLOG_TILE_PATH_MAX];
    int n;
    if (t->level == TLOG_ENTRIES) n = snprintf(tmp, sizeof tmp, "tile/entries/");
    else n = snprintf(tmp, sizeof tmp, "tile/%d/", t->level);
    /* 3-digit groups, most significant first; all but the last get 'x' */
    unsigned g[7];
    int ng = 0;
    uint64_t v = t->index;
    do {
        g[ng++] = (unsigned)(v % 1000);
        v /= 1000;
    } while (v);
    for (int i = ng - 1; i > 0; i--) n += snprintf(tmp + n, sizeof tmp - (size_t)n, "x%03u/", g[i]);
    n += snprintf(tmp + n, sizeof tmp - (size_t)n, "%03u", g[0]);
    if (t->width < TLOG_TILE_WIDTH) n += snprintf(tmp + n, sizeof tmp - (size_t)n, ".p/%u", t->width);
    if ((size_t)n >= cap) return PROV_EINVAL;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

static bool digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

int tlog_tile_parse_path(const char *path, size_t len, tlog_tile *t)
{
    memset(t, 0, sizeof *t);
    if (!path || len >= TLOG_TILE_PATH_MAX || len < 5 || memcmp(path, "tile/", 5))
        return PROV_EFORMAT;
    const char *p = path + 5, *end = path + len;
    const char *sl = memchr(p, '/', (size_t)(end - p));
    if (!sl) return PROV_EFORMAT;
    tlog_tile r = {0, 0, TLOG_TILE_WIDTH};
    size_t ll = (size_t)(sl - p);
    uint64_t v;
    if (ll == 7 && !memcmp(p, "entries", 7)) r.level = TLOG_ENTRIES;
    else if (ll <= 2 && !tlog_parse_u64(p, ll, &v) && v <= 63) r.level = (int)v;
    else return PROV_EFORMAT;
    p = sl + 1;
    /* groups "xDDD/" then "DDD" */
    uint64_t idx = 0;
    for (int g = 0;; g++) {
        if (g >= 7) return PROV_EFORMAT;
        bool x = p < end && *p == 'x';
        if (x) p++;
        if (end - p < 3 || !digits(p, 3)) return PROV_EFORMAT;
        unsigned d = (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
        if (idx > (UINT64_MAX - d) / 1000) return PROV_EFORMAT;
        idx = idx * 1000 + d;
        p += 3;
        if (!x) break;
        if (p >= end || *p != '/') return PROV_EFORMAT;
        p++;
    }
    r.index = idx;
    if (p < end) {
        if (end - p < 4 || memcmp(p, ".p/", 3)) return PROV_EFORMAT;
        p += 3;
        if (tlog_parse_u64(p, (size_t)(end - p), &v) || v < 1 || v >= TLOG_TILE_WIDTH)
            return PROV_EFORMAT;
        r.width = (unsigned)v;
    }
    /* only the canonical spelling (no "x000/" groups in front) */
    char canon[TLOG_TILE_PATH_MAX];
    int cn = tlog_tile_path(canon, sizeof canon, &r);
    if (cn < 0 || (size_t)cn != len || memcmp(canon, path, len)) return PROV_EFORMAT;
    *t = r;
    return 0;
}

unsigned tlog_tile_width(int level, uint64_t index, uint64_t size)
{
    if (level == TLOG_ENTRIES) level = 0;
    if (level < 0 || level > 63 || level * TLOG_TILE_HEIGHT >= 64) return 0;
    uint64_t count = size >> (level * TLOG_TILE_HEIGHT); /* hashes at Merkle level 8L */
    uint64_t full = count / TLOG_TILE_WIDTH;
    if (index < full) return TLOG_TILE_WIDTH;
    if (index == full) return (unsigned)(count % TLOG_TILE_WIDTH);
    return 0;
}

int tlog_tile_for(unsigned level, uint64_t index, uint64_t size, tlog_tile *t)
{
    if (!t || level % TLOG_TILE_HEIGHT || level >= 64) return PROV_EINVAL;
    int L = (int)(level / TLOG_TILE_HEIGHT);
    uint64_t n = index / TLOG_TILE_WIDTH;
    unsigned w = tlog_tile_width(L, n, size);
    if (w == 0 || index % TLOG_TILE_WIDTH >= w) return PROV_ENOTFOUND;
    *t = (tlog_tile){L, n, w};
    return 0;
}

int tlog_tile_hash(const uint8_t *data, size_t len, uint8_t out[32])
{
    if (!data || len == 0 || len % TLOG_HASH_LEN || len > TLOG_TILE_BYTES) return PROV_EINVAL;
    return tlog_hashes_root(data, len / TLOG_HASH_LEN, out);
}

/* ---- entry bundles ----------------------------------------------------- */

int tlog_bundle_put(pbuf *b, const void *entry, size_t len)
{
    if (!b || (!entry && len)) return PROV_EINVAL;
    if (len > 0xffff) return PROV_ELIMIT;
    pbuf_be16(b, (uint16_t)len);
    pbuf_put(b, entry, len);
    return b->err;
}

void tlog_bundle_iter_init(tlog_bundle_iter *it, const uint8_t *p, size_t len)
{
    it->p = p;
    it->len = p ? len : 0;
    it->off = 0;
}

int tlog_bundle_next(tlog_bundle_iter *it, const uint8_t **entry, size_t *len)
{
    *entry = NULL;
    *len = 0;
    if (it->off >= it->len) return 0;
    if (it->len - it->off < 2) return PROV_EFORMAT;
    size_t n = rd16(it->p + it->off);
    if (it->len - it->off - 2 < n) return PROV_EFORMAT;
    *entry = it->p + it->off + 2;
    *len = n;
    it->off += 2 + n;
    return 1;
}

int tlog_bundle_hashes(const uint8_t *p, size_t len, unsigned width, uint8_t *hashes)
{
    if (width < 1 || width > TLOG_TILE_WIDTH || (!p && len)) return PROV_EINVAL;
    tlog_bundle_iter it;
    tlog_bundle_iter_init(&it, p, len);
    const uint8_t *e;
    size_t el;
    unsigned n = 0;
    int rc;
    while ((rc = tlog_bundle_next(&it, &e, &el)) == 1) {
        if (n == width) return PROV_EFORMAT; /* more entries than the width */
        if (hashes) tlog_leaf_hash(e, el, hashes + 32 * (size_t)n);
        n++;
    }
    if (rc) return rc;
    return n == width ? 0 : PROV_EFORMAT;
}

/* ---- reading files ----------------------------------------------------- */

int tlog_dir_read(void *user, const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    const char *dir = user;
    *len = 0;
    if (!dir || !path || !*path || path[0] == '/' || strstr(path, "..")) return PROV_EINVAL;
    size_t dl = strlen(dir), pl = strlen(path);
    char *full = malloc(dl + pl + 2);
    if (!full) return PROV_ENOMEM;
    memcpy(full, dir, dl);
    full[dl] = '/';
    memcpy(full + dl + 1, path, pl + 1);
    FILE *f = fopen(full, "rb");
    free(full);
    if (!f) return errno == ENOENT || errno == ENOTDIR ? PROV_ENOTFOUND : PROV_EIO;
    size_t n = cap ? fread(buf, 1, cap, f) : 0;
    int rc = 0;
    if (ferror(f)) rc = PROV_EIO;
    else if (fgetc(f) != EOF) rc = PROV_ELIMIT; /* more than cap */
    fclose(f);
    if (!rc) *len = n;
    return rc;
}

/* ---- hashes from tiles ------------------------------------------------- */

/* 32 tiles (264 KB): a proof in the largest tree touches at most two
 * tiles per level (8 levels) plus the right edge's partial tiles, so one
 * tree hash, inclusion and consistency proof together never refetch. */
#define TS_CACHE 32

typedef struct ts_slot {
    bool valid;
    int level;
    uint64_t index;
    unsigned width; /* hashes held */
    uint64_t used;  /* LRU stamp */
    uint8_t h[TLOG_TILE_BYTES];
} ts_slot;

struct tlog_tilesrc {
    tlog_read_fn read;
    void *user;
    uint64_t size, reads, clock;
    ts_slot c[TS_CACHE];
};

int tlog_tilesrc_new(tlog_tilesrc **out, tlog_read_fn read, void *user, uint64_t size)
{
    if (!out || !read) return PROV_EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out) return PROV_ENOMEM;
    (*out)->read = read;
    (*out)->user = user;
    (*out)->size = size;
    return 0;
}

void tlog_tilesrc_free(tlog_tilesrc *ts) { free(ts); }

uint64_t tlog_tilesrc_reads(const tlog_tilesrc *ts) { return ts ? ts->reads : 0; }

/* Tile (level, index) holding at least `need` hashes, through the cache. */
static int ts_tile(tlog_tilesrc *ts, int level, uint64_t index, unsigned need,
                   const uint8_t **out)
{
    ts_slot *s = &ts->c[0];
    for (int i = 0; i < TS_CACHE; i++) {
        ts_slot *c = &ts->c[i];
        if (c->valid && c->level == level && c->index == index && c->width >= need) {
            c->used = ++ts->clock;
            *out = c->h;
            return 0;
        }
        if (!c->valid || (s->valid && c->used < s->used)) s = c; /* least recently used */
    }
    unsigned w = tlog_tile_width(level, index, ts->size);
    if (w < need) return PROV_ENOTFOUND; /* the tree has no such hashes */
    s->valid = false;
    tlog_tile t = {level, index, w};
    char path[TLOG_TILE_PATH_MAX];
    size_t len;
    if (tlog_tile_path(path, sizeof path, &t) < 0) return PROV_EINVAL;
    ts->reads++;
    int rc = ts->read(ts->user, path, s->h, sizeof s->h, &len);
    if (rc == PROV_ENOTFOUND && w < TLOG_TILE_WIDTH) {
        /* partial tiles may be deleted once the full tile exists */
        t.width = TLOG_TILE_WIDTH;
        if (tlog_tile_path(path, sizeof path, &t) < 0) return PROV_EINVAL;
        ts->reads++;
        rc = ts->read(ts->user, path, s->h, sizeof s->h, &len);
        w = TLOG_TILE_WIDTH;
    }
    if (rc) return rc;
    if (len != (size_t)w * TLOG_HASH_LEN) return PROV_EFORMAT; /* wrong size for its path */
    s->valid = true;
    s->used = ++ts->clock;
    s->level = level;
    s->index = index;
    s->width = w;
    *out = s->h;
    return 0;
}

static int ts_get(void *user, unsigned level, uint64_t index, uint8_t out[32])
{
    tlog_tilesrc *ts = user;
    if (level >= 64 || index >= (ts->size >> level)) return PROV_ENOTFOUND;
    unsigned L = level / TLOG_TILE_HEIGHT, r = level % TLOG_TILE_HEIGHT;
    uint64_t first = index << r; /* first hash of Merkle level 8L under the node */
    uint64_t n = first / TLOG_TILE_WIDTH;
    unsigned pos = (unsigned)(first % TLOG_TILE_WIDTH), cnt = 1u << r;
    const uint8_t *tile;
    int rc = ts_tile(ts, (int)L, n, pos + cnt, &tile);
    if (rc) return rc;
    return tlog_hashes_root(tile + 32 * (size_t)pos, cnt, out);
}

tlog_hashsrc tlog_tilesrc_hashsrc(tlog_tilesrc *ts) { return (tlog_hashsrc){ts_get, ts}; }
