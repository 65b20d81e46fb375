/* test_pdq.c - soft binding: the PDQ hash (lib/pdq.c), the manifest
 * repository and its index (lib/repo*.c), and the CLI story: sign with
 * --publish, strip the manifest, verify --registry finds the original. */
#include "testutil.h"

#include "image.h"
#include "pdq.h"
#include "repo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEAPOT "samples/teapot.jpg"
#define KODIM "samples/kodim01.png"

static prov_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    return prov_ctx_new(&ctx);
}

static int teardown(void **state)
{
    (void)state;
    prov_ctx_free(ctx);
    return 0;
}

static int ones(const uint8_t h[32])
{
    uint8_t z[32] = {0};
    return prov_pdq_distance(h, z);
}

static void decode(const char *path, uint32_t min_side, prov_img *img)
{
    size_t n;
    uint8_t *p = tu_read(path, &n);
    int rc = img_decode(ctx, p, n, min_side, img);
    if (rc) fail_msg("%s: %d %s", path, rc, prov_errmsg(ctx));
    free(p);
}

/* Encode as JPEG q, decode as a verifier does, make the lookup hashes. */
static void query_jpeg(const prov_img *im, int q, uint8_t h[PDQ_QUERIES][32])
{
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(img_encode_jpeg(im, q, &b), 0);
    prov_img d;
    assert_int_equal(img_decode(ctx, b.p, b.len, PDQ_DECODE_SIDE, &d), 0);
    assert_int_equal(pdq_fit(&d), 0);
    assert_int_equal(pdq_queries(&d, h, NULL), 0);
    img_free(&d);
    pbuf_free(&b);
}

/* What a lookup sees: the nearest indexed hash to any lookup hash. */
static int nearest(const uint8_t v[PDQ_VARIANTS][32], const uint8_t h[PDQ_QUERIES][32])
{
    int best = 256;
    for (int i = 0; i < PDQ_VARIANTS; i++)
        for (int j = 0; j < PDQ_QUERIES; j++) {
            int d = prov_pdq_distance(v[i], h[j]);
            if (d < best) best = d;
        }
    return best;
}

static prov_img cut(const prov_img *im, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
    prov_img c = {w, h, malloc((size_t)w * h * 3)};
    assert_non_null(c.rgb);
    for (uint32_t y = 0; y < h; y++)
        memcpy(c.rgb + (size_t)y * w * 3, im->rgb + ((size_t)(y + y0) * im->w + x0) * 3, (size_t)w * 3);
    return c;
}

/* The hash's own properties: deterministic, half the bits set (median
 * threshold), quality high for a photo and zero for a flat picture, the
 * hex form, and unrelated photos far apart. */
static void test_invariants(void **state)
{
    (void)state;
    uint8_t a[32], a2[32], b[32];
    int qa, qb;
    assert_int_equal(prov_pdq_file(ctx, TEAPOT, a, &qa), 0);
    assert_int_equal(prov_pdq_file(ctx, TEAPOT, a2, NULL), 0);
    assert_int_equal(prov_pdq_file(ctx, KODIM, b, &qb), 0);
    assert_int_equal(prov_pdq_distance(a, a2), 0);
    assert_memory_equal(a, a2, 32);
    assert_in_range(ones(a), 120, 128); /* > the lower median: at most 128 */
    assert_in_range(ones(b), 120, 128);
    assert_in_range(qa, 50, 100);
    assert_in_range(qb, 50, 100);
    assert_true(prov_pdq_distance(a, b) > 64);
    char hex[65];
    prov_pdq_hex(a, hex);
    assert_int_equal(strlen(hex), 64);
    assert_true(strspn(hex, "0123456789abcdef") == 64);

    /* the RGB entry point agrees with the file one (PNG: full size) */
    prov_img im;
    decode(KODIM, 0, &im);
    uint8_t c[32];
    assert_int_equal(prov_pdq_rgb(im.rgb, im.w, im.h, (size_t)im.w * 3, c, NULL), 0);
    assert_memory_equal(b, c, 32);
    /* a stride wider than the row: same pixels, same hash */
    uint8_t *wide = calloc((size_t)im.h, (size_t)im.w * 3 + 7);
    assert_non_null(wide);
    for (uint32_t y = 0; y < im.h; y++)
        memcpy(wide + (size_t)y * (im.w * 3 + 7), im.rgb + (size_t)y * im.w * 3, (size_t)im.w * 3);
    assert_int_equal(prov_pdq_rgb(wide, im.w, im.h, (size_t)im.w * 3 + 7, c, NULL), 0);
    assert_memory_equal(b, c, 32);
    free(wide);
    /* flipping the picture left-right changes the hash (PDQ is not
     * mirror-invariant without its dihedral variants) */
    for (uint32_t y = 0; y < im.h; y++)
        for (uint32_t x = 0; x < im.w / 2; x++)
            for (int k = 0; k < 3; k++) {
                uint8_t *l = im.rgb + ((size_t)y * im.w + x) * 3 + k, *r = im.rgb + ((size_t)y * im.w + im.w - 1 - x) * 3 + k;
                uint8_t t = *l;
                *l = *r;
                *r = t;
            }
    assert_int_equal(prov_pdq_rgb(im.rgb, im.w, im.h, (size_t)im.w * 3, c, NULL), 0);
    assert_true(prov_pdq_distance(b, c) > 64);
    img_free(&im);

    /* a picture past PDQ_HASH_SIDE is box-filtered down first: bounded
     * work, and nearly the same hash as at full size */
    prov_img big = {2400, 1600, malloc((size_t)2400 * 1600 * 3)};
    assert_non_null(big.rgb);
    for (uint32_t y = 0; y < big.h; y++)
        for (uint32_t x = 0; x < big.w; x++)
            for (int k = 0; k < 3; k++)
                big.rgb[((size_t)y * big.w + x) * 3 + k] = (uint8_t)((x * (k + 1) / 7 + y / 5 + (x * y) / 997) & 255);
    uint8_t full[32], fitted[32];
    assert_int_equal(prov_pdq_rgb(big.rgb, big.w, big.h, (size_t)big.w * 3, full, NULL), 0);
    assert_int_equal(pdq_fit(&big), 0);
    assert_true(big.w <= PDQ_HASH_SIDE && big.h <= PDQ_HASH_SIDE);
    assert_int_equal(big.w, PDQ_HASH_SIDE);
    assert_int_equal(prov_pdq_rgb(big.rgb, big.w, big.h, (size_t)big.w * 3, fitted, NULL), 0);
    assert_true(prov_pdq_distance(full, fitted) <= PROV_PDQ_MATCH_DISTANCE);
    img_free(&big);

    /* flat: nothing to hash, quality 0 */
    uint8_t flat[64 * 48 * 3];
    memset(flat, 128, sizeof flat);
    int qf = -1;
    assert_int_equal(prov_pdq_rgb(flat, 64, 48, 64 * 3, c, &qf), 0);
    assert_int_equal(qf, 0);
    /* tiny pictures hash; bad arguments do not */
    uint8_t px[3] = {1, 2, 3};
    assert_int_equal(prov_pdq_rgb(px, 1, 1, 3, c, NULL), 0);
    assert_int_equal(prov_pdq_rgb(px, 1, 1, 2, c, NULL), PROV_EINVAL);
    assert_int_equal(prov_pdq_rgb(NULL, 1, 1, 3, c, NULL), PROV_EINVAL);
    assert_int_equal(prov_pdq_rgb(px, 0, 1, 3, c, NULL), PROV_EINVAL);
    assert_int_equal(prov_pdq_file(ctx, "no/such/file.jpg", c, NULL), PROV_EIO);
    assert_int_equal(prov_pdq_file(ctx, "Makefile", c, NULL), PROV_EUNSUPPORTED);
}

/* What platforms do, on the samples and a spread-out subset of the real
 * photos (make bench runs all of them): JPEG q70, half size, a 5% centred
 * crop all match the original (the crop through the repository's crop
 * variants); unrelated photos do not. */
static void test_robustness(void **state)
{
    (void)state;
    char *paths[64];
    size_t n = 0;
    paths[n++] = strdup(TEAPOT);
    paths[n++] = strdup(KODIM);
    const char *real = tu_fixture("../data/detector/real/imagenet-sample-images");
    DIR *d = opendir(real);
    if (d) {
        char *names[400];
        size_t k = 0;
        struct dirent *e;
        while ((e = readdir(d)) && k < 400)
            if (e->d_name[0] != '.') names[k++] = strdup(e->d_name);
        closedir(d);
        for (size_t i = 0; i < k; i++) { /* every 10th, in name order */
            size_t m = i;
            for (size_t j = i + 1; j < k; j++) if (strcmp(names[j], names[m]) < 0) m = j;
            char *t = names[i]; names[i] = names[m]; names[m] = t;
        }
        for (size_t i = 0; i < k; i++) {
            if (i % 10 == 0 && n < 64) {
                char p[1024];
                snprintf(p, sizeof p, "%s/%s", real, names[i]);
                paths[n++] = strdup(p);
            }
            free(names[i]);
        }
    }
    uint8_t(*var)[PDQ_VARIANTS][32] = calloc(n, sizeof *var);
    uint8_t(*self)[PDQ_QUERIES][32] = calloc(n, sizeof *self);
    assert_non_null(var);
    assert_non_null(self);
    int q70 = 0, half = 0, crop = 0, edge = 0;
    for (size_t i = 0; i < n; i++) {
        prov_img im, h2;
        decode(paths[i], PDQ_DECODE_SIDE, &im);
        assert_int_equal(pdq_fit(&im), 0);
        assert_int_equal(pdq_variants(&im, var[i], NULL), 0);
        assert_int_equal(pdq_queries(&im, self[i], NULL), 0);
        img_free(&im);
        decode(paths[i], 0, &im);
        uint8_t h[PDQ_QUERIES][32];
        query_jpeg(&im, 70, h);
        q70 += nearest(var[i], h) <= PROV_PDQ_MATCH_DISTANCE;
        uint32_t longer = im.w > im.h ? im.w : im.h;
        assert_int_equal(img_downscale(&im, longer / 2, &h2), 0);
        query_jpeg(&h2, 90, h);
        half += nearest(var[i], h) <= PROV_PDQ_MATCH_DISTANCE;
        img_free(&h2);
        /* 5% crops: 2.5% off each edge; 5% off the right and bottom */
        prov_img c = cut(&im, im.w / 40, im.h / 40, im.w - 2 * (im.w / 40), im.h - 2 * (im.h / 40));
        query_jpeg(&c, 90, h);
        crop += nearest(var[i], h) <= PROV_PDQ_MATCH_DISTANCE;
        img_free(&c);
        c = cut(&im, 0, 0, im.w - im.w / 20, im.h - im.h / 20);
        query_jpeg(&c, 90, h);
        edge += nearest(var[i], h) <= PROV_PDQ_MATCH_DISTANCE;
        img_free(&c);
        img_free(&im);
    }
    int fm = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j) {
                pairs++;
                fm += nearest(var[j], self[i]) <= PROV_PDQ_MATCH_DISTANCE;
            }
    printf("pdq on %zu photos: q70 %d/%zu, half %d/%zu, crop 5%% %d/%zu, edge crop 5%% %d/%zu, "
           "false matches %d of %d ordered pairs\n",
           n, q70, n, half, n, crop, n, edge, n, fm, pairs);
    assert_int_equal(q70, (int)n);
    assert_true(half >= (int)(n * 9 / 10));
    assert_true(crop >= (int)(n * 9 / 10));
    assert_true(edge >= (int)(n * 9 / 10));
    assert_int_equal(fm, 0);
    free(self);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(var);
}

static void rnd(uint8_t *p, size_t n)
{
    static uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (uint8_t)s;
    }
}

/* An index in memory: random records and planted near-duplicates; the
 * multi-index finds exactly what the full scan finds at every threshold. */
static void test_index_search(void **state)
{
    (void)state;
    const size_t N = 20000;
    size_t len = REPO_HEADER + N * REPO_RECORD;
    uint8_t *p = malloc(len);
    assert_non_null(p);
    memcpy(p, REPO_MAGIC, 8);
    wr32(p + 8, REPO_VERSION);
    wr32(p + 12, REPO_RECORD);
    rnd(p + REPO_HEADER, N * REPO_RECORD);
    uint8_t q[32];
    rnd(q, 32);
    /* plant copies of q at distances 0, 5, 16, 31, 32, 47 */
    const int plant[] = {0, 5, 16, 31, 32, 47};
    for (size_t k = 0; k < 6; k++) {
        uint8_t *r = p + REPO_HEADER + (100 + k * 997) * REPO_RECORD;
        memcpy(r, q, 32);
        for (int b = 0; b < plant[k]; b++) r[(b * 37 % 256) / 8] ^= (uint8_t)(1u << ((b * 37 % 256) & 7));
        assert_int_equal(prov_pdq_distance(r, q), plant[k]);
        r[32] = (uint8_t)k; /* a distinct manifest each */
    }
    prov_repo *scan, *mih;
    assert_int_equal(repo_from_mem(ctx, p, len, &scan), 0);
    assert_int_equal(repo_from_mem(ctx, p, len, &mih), 0);
    assert_int_equal(prov_repo_index(mih), 0);
    assert_int_equal(prov_repo_count(mih), N);
    const int thr[] = {0, 4, 15, 16, 31, 32, 47, 70};
    for (size_t t = 0; t < 8; t++) {
        prov_repo_match a[64], b[64];
        size_t na, nb;
        assert_int_equal(prov_repo_search(scan, q, thr[t], a, 64, &na), 0);
        assert_int_equal(prov_repo_search(mih, q, thr[t], b, 64, &nb), 0);
        size_t want = 0;
        for (size_t k = 0; k < 6; k++) want += plant[k] <= thr[t];
        if (thr[t] < 60) assert_int_equal(na, want); /* random records are ~128 bits away */
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_int_equal(a[i].distance, b[i].distance);
            assert_memory_equal(a[i].manifest, b[i].manifest, 32);
            if (i) assert_true(a[i].distance >= a[i - 1].distance); /* nearest first */
        }
    }
    /* several queries at once (a picture's crops): each manifest once, at
     * its nearest, the same by scan and by multi-index */
    uint8_t qs[3][32];
    rnd(qs[0], 32);
    memcpy(qs[1], q, 32);
    qs[1][7] ^= 0x0f; /* 4 bits off q: the planted records move by up to 4 */
    rnd(qs[2], 32);
    for (size_t t = 0; t < 8; t++) {
        prov_repo_match a[64], b[64], c[64];
        size_t na, nb, nc;
        assert_int_equal(prov_repo_search_many(scan, (const uint8_t(*)[32])qs, 3, thr[t], a, 64, &na), 0);
        assert_int_equal(prov_repo_search_many(mih, (const uint8_t(*)[32])qs, 3, thr[t], b, 64, &nb), 0);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_int_equal(a[i].distance, b[i].distance);
            assert_memory_equal(a[i].manifest, b[i].manifest, 32);
            /* the nearest of the three single searches */
            int best = 257;
            for (int k = 0; k < 3; k++) {
                assert_int_equal(prov_repo_search(scan, qs[k], 256, c, 64, &nc), 0);
                for (size_t j = 0; j < nc; j++)
                    if (!memcmp(c[j].manifest, a[i].manifest, 32) && c[j].distance < best) best = c[j].distance;
            }
            assert_int_equal(a[i].distance, best);
        }
    }
    /* cap: the nearest only */
    prov_repo_match one;
    size_t n1;
    assert_int_equal(prov_repo_search(mih, q, 31, &one, 1, &n1), 0);
    assert_int_equal(n1, 1);
    assert_int_equal(one.distance, 0);
    prov_repo_free(scan);
    prov_repo_free(mih);

    /* damaged indexes are clear errors */
    const uint8_t *recs;
    size_t count;
    assert_int_equal(repo_parse(ctx, p, 10, &recs, &count), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "truncated header"));
    p[0] = 'X';
    assert_int_equal(repo_parse(ctx, p, len, &recs, &count), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "bad magic"));
    p[0] = 'P';
    wr32(p + 8, 2);
    assert_int_equal(repo_parse(ctx, p, len, &recs, &count), PROV_EUNSUPPORTED);
    wr32(p + 8, REPO_VERSION);
    wr32(p + 12, 65);
    assert_int_equal(repo_parse(ctx, p, len, &recs, &count), PROV_EFORMAT);
    wr32(p + 12, REPO_RECORD);
    /* a torn append: the partial record is not read */
    assert_int_equal(repo_parse(ctx, p, REPO_HEADER + 3 * REPO_RECORD + 17, &recs, &count), 0);
    assert_int_equal(count, 3);
    assert_int_equal(repo_parse(ctx, p, 0, &recs, &count), 0);
    assert_int_equal(count, 0);
    free(p);
}

/* Publishing: content-addressed stores, appended records, a torn tail cut
 * off by the next writer, a store that does not match its name refused. */
/* Both repositories give the same matches for queries near planted
 * records and for random ones, one at a time and nine at once. */
static void same_answers(prov_repo *a, prov_repo *b, const uint8_t *recs, size_t count)
{
    uint8_t q[9][32];
    for (size_t i = 0; i < 120; i++) {
        if (i % 2) {
            rnd(q[0], 32);
        } else { /* near a record: 0..40 bits flipped */
            memcpy(q[0], recs + (i * 7919 % count) * REPO_RECORD, 32);
            for (size_t k = 0; k < i % 41; k++) q[0][(k * 13 + i) % 32] ^= (uint8_t)(1u << (k % 8));
        }
        for (int k = 1; k < 9; k++) {
            memcpy(q[k], recs + ((i * 31 + (size_t)k * 104729) % count) * REPO_RECORD, 32);
            q[k][k] ^= 0x5a;
        }
        int thr = i % 3 ? PROV_PDQ_MATCH_DISTANCE : (int)(i % 48);
        prov_repo_match x[64], y[64];
        size_t nx, ny;
        assert_int_equal(prov_repo_search(a, q[0], thr, x, 64, &nx), 0);
        assert_int_equal(prov_repo_search(b, q[0], thr, y, 64, &ny), 0);
        assert_int_equal(nx, ny);
        for (size_t j = 0; j < nx; j++) {
            assert_int_equal(x[j].distance, y[j].distance);
            assert_memory_equal(x[j].manifest, y[j].manifest, 32);
        }
        assert_int_equal(prov_repo_search_many(a, (const uint8_t(*)[32])q, 9, thr, x, 64, &nx), 0);
        assert_int_equal(prov_repo_search_many(b, (const uint8_t(*)[32])q, 9, thr, y, 64, &ny), 0);
        assert_int_equal(nx, ny);
        assert_true(nx >= (thr >= 24 ? 8u : 0u)); /* the eight near crops are found */
        for (size_t j = 0; j < nx; j++) {
            assert_int_equal(x[j].distance, y[j].distance);
            assert_memory_equal(x[j].manifest, y[j].manifest, 32);
        }
    }
}

/* pdq.mih: the same answers as the scan, with records appended past it,
 * and a damaged sidecar is either ignored or read as a scan. */
static void test_sidecar(void **state)
{
    (void)state;
    const size_t N = 30000, TAIL = 700;
    const char *dir = tu_path("mih");
    char path[1024], idx[1100], mih[1100];
    snprintf(path, sizeof path, "%s/manifests", dir);
    assert_int_equal(tu_sh("mkdir -p %s", path), 0);
    snprintf(idx, sizeof idx, "%s/pdq.idx", path);
    snprintf(mih, sizeof mih, "%s/pdq.mih", path);
    size_t len = REPO_HEADER + (N + TAIL) * REPO_RECORD;
    uint8_t *p = malloc(len);
    assert_non_null(p);
    memcpy(p, REPO_MAGIC, 8);
    wr32(p + 8, REPO_VERSION);
    wr32(p + 12, REPO_RECORD);
    rnd(p + REPO_HEADER, (N + TAIL) * REPO_RECORD);
    /* near-duplicates: record i+1 is record i with i % 40 bits flipped, in
     * the covered part and in the tail; each names its own manifest */
    for (size_t i = 0; i + 1 < N + TAIL; i += 50) {
        uint8_t *a = p + REPO_HEADER + i * REPO_RECORD;
        memcpy(a + REPO_RECORD, a, 32);
        for (size_t k = 0; k < i % 40; k++) a[REPO_RECORD + (k * 5 % 32)] ^= (uint8_t)(1u << (k % 8));
    }
    tu_write(idx, p, REPO_HEADER + N * REPO_RECORD);
    assert_int_equal(prov_repo_reindex(ctx, dir), 0);
    tu_write(idx, p, len); /* appended since */
    prov_repo *scan, *r;
    assert_int_equal(repo_from_mem(ctx, p, len, &scan), 0);
    assert_int_equal(prov_repo_open(ctx, dir, &r), 0);
    assert_non_null(r->mih);
    assert_int_equal(r->tab_n, N);
    assert_int_equal(prov_repo_count(r), N + TAIL);
    same_answers(scan, r, p + REPO_HEADER, N + TAIL);
    prov_repo_free(r);
    /* damaged sidecars: never a crash, never another answer */
    size_t mlen;
    uint8_t *m = tu_read(mih, &mlen);
    assert_int_equal(mlen, repo_mih_size(N));
    size_t offs = MIH_HEADER, ids = MIH_HEADER + (size_t)MIH_TABLES * (MIH_KEYS + 1) * 4;
    for (int c = 0; c < 7; c++) {
        uint8_t *d = malloc(mlen);
        assert_non_null(d);
        memcpy(d, m, mlen);
        size_t dl = mlen;
        int attached = 1; /* the header still fits: read, and found damaged */
        switch (c) {
        case 0: dl = mlen / 2; attached = 0; break;                  /* truncated */
        case 1: d[3] ^= 1; attached = 0; break;                      /* magic */
        case 2: d[31] ^= 1; attached = 0; break;                     /* N */
        case 3: d[40] ^= 1; attached = 0; break;                     /* not this index */
        case 4: for (size_t k = 0; k < 4096; k++) d[offs + (k * 2654435761u) % (ids - offs)] ^= 0xff; break;
        case 5: for (size_t k = 0; k < 4096; k++) d[ids + (k * 2654435761u) % (mlen - ids)] ^= 0x0f; break;
        case 6: memset(d + ids, 0, mlen - ids); break;               /* ids all 0 */
        }
        tu_write(mih, d, dl);
        free(d);
        assert_int_equal(prov_repo_open(ctx, dir, &r), 0);
        assert_int_equal(r->mih != NULL, attached);
        same_answers(scan, r, p + REPO_HEADER, N + TAIL);
        prov_repo_free(r);
    }
    free(m);
    /* publishing rebuilds the sidecar once the tail is long enough */
    unlink(mih);
    const uint8_t store[] = "a store";
    uint8_t h1[1][32];
    rnd(h1[0], 32);
    assert_int_equal(prov_repo_publish(ctx, dir, store, sizeof store, (const uint8_t(*)[32])h1, 1, NULL), 0);
    assert_int_equal(prov_repo_open(ctx, dir, &r), 0);
    assert_non_null(r->mih);
    assert_int_equal(r->tab_n, N + TAIL + 1);
    prov_repo_match x;
    size_t n;
    assert_int_equal(prov_repo_search(r, h1[0], 0, &x, 1, &n), 0);
    assert_int_equal(n, 1);
    prov_repo_free(r);
    prov_repo_free(scan);
    free(p);
}

static void test_publish(void **state)
{
    (void)state;
    const char *dir = tu_path("repo");
    uint8_t h[2][32], h3[1][32], dg[32], dg2[32];
    rnd(&h[0][0], 64);
    rnd(h3[0], 32);
    const uint8_t store[] = "not really a manifest store, but bytes";
    assert_int_equal(prov_repo_publish(ctx, dir, store, sizeof store, (const uint8_t(*)[32])h, 2, dg), 0);
    char path[1024], hex[65];
    prov_pdq_hex(dg, hex); /* any 32 bytes as hex */
    snprintf(path, sizeof path, "%s/manifests/sha256/%s.c2pa", dir, hex);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, sizeof store);
    char idx[1024];
    snprintf(idx, sizeof idx, "%s/manifests/pdq.idx", dir);
    assert_int_equal(stat(idx, &st), 0);
    assert_int_equal(st.st_size, REPO_HEADER + 2 * REPO_RECORD);
    /* a torn append (a crash mid-write), then another publish */
    assert_int_equal(tu_sh("printf 'partial' >> %s", idx), 0);
    prov_repo *r;
    assert_int_equal(prov_repo_open(ctx, dir, &r), 0);
    assert_int_equal(prov_repo_count(r), 2);
    prov_repo_free(r);
    const uint8_t store2[] = "another store";
    assert_int_equal(prov_repo_publish(ctx, dir, store2, sizeof store2, (const uint8_t(*)[32])h3, 1, dg2), 0);
    assert_int_equal(stat(idx, &st), 0);
    assert_int_equal(st.st_size, REPO_HEADER + 3 * REPO_RECORD);
    assert_int_equal(prov_repo_open(ctx, dir, &r), 0);
    assert_int_equal(prov_repo_count(r), 3);
    prov_repo_match m[4];
    size_t n;
    assert_int_equal(prov_repo_search(r, h[1], 0, m, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(m[0].manifest, dg, 32);
    assert_int_equal(prov_repo_search(r, h3[0], 0, m, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(m[0].manifest, dg2, 32);
    prov_repo_free(r);
    /* read back, checked against the name */
    uint8_t *back;
    size_t blen;
    assert_int_equal(prov_repo_load(ctx, dir, dg, &back, &blen), 0);
    assert_int_equal(blen, sizeof store);
    assert_memory_equal(back, store, blen);
    prov_free(back);
    assert_int_equal(tu_sh("chmod u+w %s && printf 'X' | dd of=%s bs=1 seek=3 conv=notrunc status=none", path, path), 0);
    assert_int_equal(prov_repo_load(ctx, dir, dg, &back, &blen), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "does not match its name"));
    uint8_t none[32] = {0};
    assert_int_equal(prov_repo_load(ctx, dir, none, &back, &blen), PROV_ENOTFOUND);
    /* a damaged index: opening names it, publishing will not append to it */
    assert_int_equal(tu_sh("printf 'GARBAGE!' | dd of=%s bs=1 seek=0 conv=notrunc status=none", idx), 0);
    assert_int_equal(prov_repo_open(ctx, dir, &r), PROV_EFORMAT);
    assert_non_null(strstr(prov_errmsg(ctx), "pdq.idx"));
    assert_int_equal(prov_repo_publish(ctx, dir, store2, sizeof store2, (const uint8_t(*)[32])h3, 1, NULL),
                     PROV_EFORMAT);
    /* an empty repository opens */
    assert_int_equal(prov_repo_open(ctx, tu_path("empty"), &r), 0);
    assert_int_equal(prov_repo_count(r), 0);
    prov_repo_free(r);
}

/* The story through the CLI. */
static const char *P;
static char D[512];

static int prov(const char *args)
{
    return tu_sh("cd %s && PROV_PASSPHRASE='t' PROV_REGISTRY_PASSPHRASE='t' %s %s >out.txt 2>&1", D, P, args);
}

static void assert_output_has(const char *s, int yes)
{
    char p[600];
    snprintf(p, sizeof p, "%s/out.txt", D);
    char *o = (char *)tu_read(p, NULL);
    if ((strstr(o, s) != NULL) != yes) fail_msg("output %s \"%s\":\n%s", yes ? "lacks" : "has", s, o);
    free(o);
}

/* Strip the manifest the way a platform does: decode the pixels and
 * re-encode them (JPEG q80), optionally halved. */
static void strip(const char *in, const char *out, int halve)
{
    char src[600], dst[600];
    snprintf(src, sizeof src, "%s/%s", D, in);
    snprintf(dst, sizeof dst, "%s/%s", D, out);
    prov_img im, h2;
    decode(src, 0, &im);
    if (halve) {
        assert_int_equal(img_downscale(&im, (im.w > im.h ? im.w : im.h) / 2, &h2), 0);
        img_free(&im);
        im = h2;
    }
    pbuf b;
    pbuf_init(&b);
    assert_int_equal(img_encode_jpeg(&im, 80, &b), 0);
    tu_write(dst, b.p, b.len);
    pbuf_free(&b);
    img_free(&im);
}

static void test_cli_story(void **state)
{
    (void)state;
    static char bin[600];
    const char *b = tu_prov_bin();
    if (b[0] == '/') snprintf(bin, sizeof bin, "%s", b);
    else {
        assert_non_null(getcwd(bin, sizeof bin - 100));
        strcat(bin, "/");
        strcat(bin, b);
    }
    P = bin;
    snprintf(D, sizeof D, "%s/cli", tu_tmpdir());
    assert_int_equal(tu_sh("mkdir -p %s && cp samples/teapot.jpg samples/kodim01.png %s/", D, D), 0);
    assert_int_equal(prov("registry init reg --origin example.org/soft --no-encrypt"), 0);
    assert_int_equal(prov("keygen -o ana.key --subject 'Ana Reporter'"), 0);
    assert_int_equal(prov("register --registry reg --key ana.key --name 'Ana Reporter' --org 'Daily News'"), 0);
    assert_int_equal(prov("sign teapot.jpg -o signed.jpg --key ana.key --title 'The teapot' --publish reg"), 0);
    assert_output_has("published", 1);
    /* the manifest carries the fingerprint */
    assert_int_equal(prov("inspect --json signed.jpg"), 0);
    assert_output_has("\"label\":\"c2pa.soft-binding\"", 1);
    assert_output_has("prov.pdq.1", 1);
    assert_int_equal(prov("verify --json signed.jpg --trust reg/root.pem --registry reg"), 0);
    assert_output_has("\"state\":\"trusted\"", 1);
    assert_output_has("derived_from", 0);
    /* stripped and re-encoded, stripped and halved: unsigned, derived from the original */
    strip("signed.jpg", "stripped.jpg", 0);
    strip("signed.jpg", "half.jpg", 1);
    assert_int_equal(prov("verify --json stripped.jpg half.jpg --trust reg/root.pem --registry reg"), 1);
    assert_output_has("\"file\":\"stripped.jpg\",\"state\":\"unsigned\"", 1);
    assert_output_has("\"file\":\"half.jpg\",\"state\":\"unsigned\"", 1);
    assert_output_has("\"derived_from\":[{\"distance\":", 1);
    assert_output_has("\"manifest_state\":\"trusted\",\"signer\":{\"subject\":\"Ana Reporter\"", 1);
    assert_output_has("\"name\":\"Ana Reporter\",\"org\":\"Daily News\"", 1);
    assert_output_has("\"title\":\"The teapot\"", 1);
    assert_output_has("\"state\":\"valid\"", 0);
    assert_output_has("\"state\":\"trusted\"", 0);
    /* people see it as a likeness, not a signer */
    assert_int_equal(prov("verify stripped.jpg --registry reg"), 1);
    assert_output_has("stripped.jpg: unsigned", 1);
    assert_output_has("\"The teapot\" signed by Ana Reporter", 1);
    assert_output_has("signer:", 0);
    /* an unrelated picture: looked up, nothing found */
    strip("kodim01.png", "other.jpg", 0);
    assert_int_equal(prov("verify --json other.jpg --registry reg"), 1);
    assert_output_has("\"derived_from\":[]", 1);
    /* without a registry: no lookup at all */
    assert_int_equal(prov("verify --json stripped.jpg"), 1);
    assert_output_has("derived_from", 0);
    /* opting out of the soft binding */
    assert_int_equal(prov("sign teapot.jpg -o plain.jpg --key ana.key --no-soft-binding"), 0);
    assert_int_equal(prov("inspect --json plain.jpg"), 0);
    assert_output_has("c2pa.soft-binding", 0);
    /* video: no fingerprint, and --publish says why it cannot */
    assert_int_equal(tu_sh("cp samples/clip.mp4 %s/", D), 0);
    assert_int_equal(prov("sign clip.mp4 -o c.mp4 --key ana.key"), 0);
    assert_int_equal(prov("sign clip.mp4 -o c2.mp4 --key ana.key --publish reg"), 2);
    assert_output_has("publishing needs a fingerprint", 1);
    /* a damaged index: the file is still reported (unsigned) with the reason */
    assert_int_equal(tu_sh("cd %s && printf 'BROKEN!!' | dd of=reg/manifests/pdq.idx conv=notrunc status=none", D), 0);
    assert_int_equal(prov("verify --json stripped.jpg --registry reg"), 1);
    assert_output_has("\"state\":\"unsigned\"", 1);
    assert_output_has("\"lookup_error\":", 1);
    assert_output_has("bad magic", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_robustness),
        cmocka_unit_test(test_index_search),
        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_sidecar),
        cmocka_unit_test(test_cli_story),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
