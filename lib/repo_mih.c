/* repo_mih.c - pdq.mih, the multi-index of pdq.idx persisted beside it, so
 * that a one-shot process (prov verify, a prov serve request) probes a few
 * thousand records instead of scanning them all.
 *
 * The sidecar is derived data: pdq.idx stays the truth.  It covers the
 * first N records (N is in its header with a copy of records 0 and N-1, so
 * one built for another index is not used); records appended since are
 * scanned, so appends stay one write and results stay exact.  Publishing
 * rebuilds it (temporary file, fsync, rename) once the unscanned tail
 * passes a sixteenth of N.  Tables are checked as they are read
 * (repo.c: probe), and any inconsistency turns that search into a scan. */
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIH_TAIL_MIN 4096 /* records scanned before a rebuild is worth it */

uint64_t repo_mih_size(uint64_t n)
{
    return MIH_HEADER + (uint64_t)MIH_TABLES * (MIH_KEYS + 1) * 4 + (uint64_t)MIH_TABLES * n * 4;
}

int repo_mih_attach(prov_repo *r, const uint8_t *p, size_t n)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    (void)r, (void)p, (void)n;
    return PROV_EUNSUPPORTED; /* the tables are used in place */
#else
    if (!r || !p || n < MIH_HEADER || ((uintptr_t)p & 3)) return PROV_EFORMAT;
    if (memcmp(p, MIH_MAGIC, 8) || rd32(p + 8) != MIH_VERSION || rd32(p + 12) != MIH_TABLES || rd32(p + 16) != 16)
        return PROV_EFORMAT;
    uint64_t cov = rd64(p + 24);
    if (cov == 0 || cov > r->count || cov > UINT32_MAX || repo_mih_size(cov) != n) return PROV_EFORMAT;
    /* built for this index: its first and last covered records */
    if (memcmp(p + 32, r->recs + (cov - 1) * REPO_RECORD, REPO_RECORD) || memcmp(p + 96, r->recs, 32))
        return PROV_EFORMAT;
    if (r->off[0]) return PROV_EINVAL; /* already has tables */
    const uint8_t *offs = p + MIH_HEADER, *ids = offs + (size_t)MIH_TABLES * (MIH_KEYS + 1) * 4;
    for (int t = 0; t < MIH_TABLES; t++) {
        r->off[t] = (uint32_t *)(uintptr_t)(offs + (size_t)t * (MIH_KEYS + 1) * 4);
        r->ids[t] = (uint32_t *)(uintptr_t)(ids + (size_t)t * cov * 4);
    }
    r->tab_n = (size_t)cov;
    r->mih = (void *)(uintptr_t)p;
    return 0;
#endif
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int repo_mih_write(int fd, const prov_repo *r)
{
    if (!r || !r->off[0] || !r->tab_n || r->tab_n > UINT32_MAX) return PROV_EINVAL;
    uint8_t h[MIH_HEADER] = {0};
    memcpy(h, MIH_MAGIC, 8);
    wr32(h + 8, MIH_VERSION);
    wr32(h + 12, MIH_TABLES);
    wr32(h + 16, 16);
    wr32(h + 24, (uint32_t)((uint64_t)r->tab_n >> 32));
    wr32(h + 28, (uint32_t)r->tab_n);
    memcpy(h + 32, r->recs + (r->tab_n - 1) * REPO_RECORD, REPO_RECORD);
    memcpy(h + 96, r->recs, 32);
    if (write_all(fd, h, sizeof h)) return PROV_EIO;
    for (int t = 0; t < MIH_TABLES; t++)
        if (write_all(fd, r->off[t], (MIH_KEYS + 1) * sizeof(uint32_t))) return PROV_EIO;
    for (int t = 0; t < MIH_TABLES; t++)
        if (write_all(fd, r->ids[t], r->tab_n * sizeof(uint32_t))) return PROV_EIO;
    return 0;
}

int repo_mih_refresh(prov_ctx *ctx, const char *dir, int force)
{
    prov_repo *r;
    int rc = prov_repo_open(ctx, dir, &r);
    if (rc) return rc;
    size_t tail = r->count - r->tab_n, min = r->tab_n / 16 > MIH_TAIL_MIN ? r->tab_n / 16 : MIH_TAIL_MIN;
    if (!tail || (!force && tail < min)) { prov_repo_free(r); return 0; }
    if ((rc = prov_repo_index(r))) { prov_repo_free(r); return prov_seterr(ctx, rc, "fingerprint index: cannot build the multi-index"); }
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/manifests/pdq.mih", dir);
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        prov_repo_free(r);
        return prov_seterr(ctx, PROV_EIO, "%s: cannot create a temporary file: %s", path, strerror(errno));
    }
    int ok = repo_mih_write(fd, r) == 0 && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    int e = errno;
    if (close(fd)) ok = 0;
    prov_repo_free(r);
    if (!ok || rename(tmp, path)) {
        if (ok) e = errno;
        unlink(tmp);
        return prov_seterr(ctx, PROV_EIO, "%s: write failed: %s", path, strerror(e));
    }
    snprintf(path, sizeof path, "%s/manifests", dir);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int prov_repo_reindex(prov_ctx *ctx, const char *dir)
{
    if (!dir) return PROV_EINVAL;
    return repo_mih_refresh(ctx, dir, 1);
}
