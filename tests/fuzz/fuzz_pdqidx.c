/* fuzz_pdqidx.c - libFuzzer harness for the fingerprint index (pdq.idx,
 * lib/repo.c).
 *
 * The input is parsed as an index file; when it parses, it is searched by
 * full scan and through the multi-index with queries taken from its own
 * records (flipped by a few bits) and from its first bytes.  Invariants,
 * any broken one aborts:
 *  - the parser answers 0 or a clear code, and a parsed index lies inside
 *    the input (header + whole records);
 *  - both searches return the same matches, nearest first, each within
 *    the threshold, each manifest once;
 *  - a record's own fingerprint finds it at distance 0;
 *  - several queries at once (prov_repo_search_many) agree both ways. */
#include "fuzz_check.h"
#include "repo.h"

#include <string.h>

static void same(const prov_repo *a, const prov_repo *b, const uint8_t q[32], int maxd)
{
    prov_repo_match x[16], y[16];
    size_t nx, ny;
    CHECK(prov_repo_search(a, q, maxd, x, 16, &nx) == 0);
    CHECK(prov_repo_search(b, q, maxd, y, 16, &ny) == 0);
    CHECK(nx == ny && nx <= 16);
    for (size_t i = 0; i < nx; i++) {
        CHECK(x[i].distance == y[i].distance && !memcmp(x[i].manifest, y[i].manifest, 32));
        CHECK(x[i].distance >= 0 && x[i].distance <= maxd);
        if (i) CHECK(x[i].distance >= x[i - 1].distance);
        for (size_t j = 0; j < i; j++) CHECK(memcmp(x[i].manifest, x[j].manifest, 32) != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *recs;
    size_t count;
    int rc = repo_parse(NULL, data, size, &recs, &count);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_EUNSUPPORTED || rc == PROV_ELIMIT);
    if (rc) return 0;
    CHECK(size == 0 || (recs == data + REPO_HEADER && REPO_HEADER + count * REPO_RECORD <= size &&
                        size - (REPO_HEADER + count * REPO_RECORD) < REPO_RECORD));
    prov_repo *scan, *mih;
    CHECK(repo_from_mem(NULL, data, size, &scan) == 0);
    CHECK(repo_from_mem(NULL, data, size, &mih) == 0);
    CHECK(prov_repo_index(mih) == 0);
    CHECK(prov_repo_count(scan) == count && prov_repo_count(mih) == count);
    uint8_t q[32] = {0};
    memcpy(q, data, size < 32 ? size : 32);
    same(scan, mih, q, 31);
    for (size_t i = 0; i < count && i < 8; i++) {
        const uint8_t *r = recs + i * REPO_RECORD;
        memcpy(q, r, 32);
        prov_repo_match m;
        size_t n;
        CHECK(prov_repo_search(mih, q, 0, &m, 1, &n) == 0 && n == 1 && m.distance == 0);
        q[i % 32] ^= (uint8_t)(0x11u << (i % 4));
        q[(i * 7 + 3) % 32] ^= 0x80;
        same(scan, mih, q, (int)(i * 9 % 48));
    }
    /* several queries at once: both ways agree, each manifest once */
    uint8_t qs[3][32];
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 32; b++) qs[k][b] = size ? data[(size_t)(k * 32 + b) % size] ^ (uint8_t)k : 0;
    prov_repo_match x[16], y[16];
    size_t nx, ny;
    CHECK(prov_repo_search_many(scan, (const uint8_t(*)[32])qs, 3, 40, x, 16, &nx) == 0);
    CHECK(prov_repo_search_many(mih, (const uint8_t(*)[32])qs, 3, 40, y, 16, &ny) == 0);
    CHECK(nx == ny);
    for (size_t i = 0; i < nx; i++) {
        CHECK(x[i].distance == y[i].distance && !memcmp(x[i].manifest, y[i].manifest, 32));
        for (size_t j = 0; j < i; j++) CHECK(memcmp(x[i].manifest, x[j].manifest, 32) != 0);
    }
    prov_repo_free(scan);
    prov_repo_free(mih);
    return 0;
}
