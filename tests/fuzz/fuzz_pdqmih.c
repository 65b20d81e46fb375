/* fuzz_pdqmih.c - libFuzzer harness for the persisted multi-index (pdq.mih,
 * lib/repo_mih.c and the checked table reads in lib/repo.c: probe).
 *
 * A fixed index of 600 records (seeded, with near-duplicates) is built in
 * memory with its valid sidecar image.  The input then damages that image:
 * byte 0 picks the mode, bit 0: the rest of the input is the whole image
 * (headers from scratch); else the rest is patches of 5 bytes (be32
 * position, xor byte) applied to the valid image, and with bit 1 the image
 * is cut at the first patch's position.  Invariants, any broken one aborts:
 *  - attaching answers 0 or a clear code, never a crash or read outside,
 *    and the undamaged image attaches;
 *  - whether attached or not, every search gives exactly the scan's
 *    answer (a damaged table turns into a scan, never a wrong answer). */
#include "fuzz_check.h"
#include "repo.h"

#include <string.h>
#include <unistd.h>

#define NREC 600

static uint8_t idx[REPO_HEADER + NREC * REPO_RECORD];
static uint8_t *img;
static size_t img_len;

static void setup(void)
{
    if (img) return;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    memcpy(idx, REPO_MAGIC, 8);
    wr32(idx + 8, REPO_VERSION);
    wr32(idx + 12, REPO_RECORD);
    for (size_t i = REPO_HEADER; i < sizeof idx; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        idx[i] = (uint8_t)s;
    }
    for (size_t i = 0; i + 1 < NREC; i += 3) { /* near-duplicates, 0..35 bits */
        uint8_t *a = idx + REPO_HEADER + i * REPO_RECORD;
        memcpy(a + REPO_RECORD, a, 32);
        for (size_t k = 0; k < i % 36; k++) a[REPO_RECORD + k % 32] ^= (uint8_t)(1u << (k % 8));
    }
    prov_repo *r;
    CHECK(repo_from_mem(NULL, idx, sizeof idx, &r) == 0 && prov_repo_index(r) == 0);
    char tmp[] = "/tmp/fuzz_pdqmih.XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    unlink(tmp);
    CHECK(repo_mih_write(fd, r) == 0);
    img_len = (size_t)repo_mih_size(NREC);
    img = malloc(img_len);
    CHECK(img && pread(fd, img, img_len, 0) == (ssize_t)img_len);
    close(fd);
    prov_repo_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    uint8_t *d;
    size_t n;
    if (size && (data[0] & 1)) {
        n = size - 1;
        d = malloc(n ? n : 1);
        CHECK(d);
        memcpy(d, data + 1, n);
    } else {
        n = img_len;
        d = malloc(n);
        CHECK(d);
        memcpy(d, img, n);
        for (size_t k = 1; k + 5 <= size; k += 5) d[rd32(data + k) % n] ^= data[k + 4];
        if (size >= 6 && (data[0] & 2)) n = rd32(data + 1) % n;
    }
    prov_repo *scan, *mih;
    CHECK(repo_from_mem(NULL, idx, sizeof idx, &scan) == 0);
    CHECK(repo_from_mem(NULL, idx, sizeof idx, &mih) == 0);
    int rc = repo_mih_attach(mih, d, n);
    CHECK(rc == 0 || rc == PROV_EFORMAT);
    CHECK(rc || (mih->tab_n >= 1 && mih->tab_n <= NREC));
    if (size == 1 && data[0] == 0) CHECK(rc == 0 && mih->tab_n == NREC); /* the valid image */
    for (size_t i = 0; i < 24; i++) {
        uint8_t q[9][32];
        for (int k = 0; k < 9; k++) {
            memcpy(q[k], idx + REPO_HEADER + ((i * 37 + (size_t)k * 101) % NREC) * REPO_RECORD, 32);
            q[k][(i + (size_t)k) % 32] ^= (uint8_t)(i * 29 + (size_t)k);
        }
        int thr = (int)(i * 7 % 48);
        prov_repo_match x[32], y[32];
        size_t nx, ny;
        size_t nq = i % 2 ? 9 : 1;
        CHECK(prov_repo_search_many(scan, (const uint8_t(*)[32])q, nq, thr, x, 32, &nx) == 0);
        CHECK(prov_repo_search_many(mih, (const uint8_t(*)[32])q, nq, thr, y, 32, &ny) == 0);
        CHECK(nx == ny);
        for (size_t j = 0; j < nx; j++)
            CHECK(x[j].distance == y[j].distance && !memcmp(x[j].manifest, y[j].manifest, 32));
    }
    /* the image is the caller's: detach before freeing it */
    for (int t = 0; t < MIH_TABLES; t++) mih->off[t] = mih->ids[t] = NULL;
    mih->mih = NULL;
    mih->tab_n = 0;
    prov_repo_free(scan);
    prov_repo_free(mih);
    free(d);
    return 0;
}
