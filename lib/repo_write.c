/* repo_write.c - publishing to a manifest repository and reading a store
 * back: DIR/manifests/sha256/<hex>.c2pa (content-addressed, written
 * atomically) and one appended record in DIR/manifests/pdq.idx. */
#include "hash.h"
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void hexs(char *out, const uint8_t *p, size_t n)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int mkdir_one(prov_ctx *ctx, const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return prov_seterr(ctx, PROV_EIO, "%s: cannot create: %s", path, strerror(errno));
    return 0;
}

static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Write path whole: a temporary file beside it, fsync, rename. */
static int write_whole(prov_ctx *ctx, const char *path, const uint8_t *p, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return prov_seterr(ctx, PROV_EIO, "%s: cannot create a temporary file: %s", path, strerror(errno));
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, p + done, n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        done += (size_t)k;
    }
    int ok = done == n && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    int e = errno;
    if (close(fd)) ok = 0;
    if (!ok || rename(tmp, path)) {
        if (ok) e = errno;
        unlink(tmp);
        return prov_seterr(ctx, PROV_EIO, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}

int repo_pwrite_all(int fd, const uint8_t *p, size_t n, off_t at)
{
    while (n) {
        ssize_t k = pwrite(fd, p, n, at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
        at += k;
    }
    return 0;
}

/* Append records (one write) under an exclusive lock, first cutting off a torn
 * append (or writing the header of a new or torn-at-birth file). */
static int index_append(prov_ctx *ctx, const char *path, const uint8_t *rec, size_t nrec)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    if (flock(fd, LOCK_EX)) { rc = prov_seterr(ctx, PROV_EIO, "%s: cannot lock: %s", path, strerror(errno)); goto out; }
    struct stat st;
    if (fstat(fd, &st)) { rc = prov_seterr(ctx, PROV_EIO, "%s: %s", path, strerror(errno)); goto out; }
    uint64_t size = (uint64_t)st.st_size;
    if (size < REPO_HEADER) {
        uint8_t h[REPO_HEADER];
        memcpy(h, REPO_MAGIC, 8);
        wr32(h + 8, REPO_VERSION);
        wr32(h + 12, REPO_RECORD);
        if (ftruncate(fd, 0) || repo_pwrite_all(fd, h, sizeof h, 0)) {
            rc = prov_seterr(ctx, PROV_EIO, "%s: write failed: %s", path, strerror(errno));
            goto out;
        }
        size = REPO_HEADER;
    } else {
        uint8_t h[REPO_HEADER];
        const uint8_t *recs;
        size_t count;
        if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) { rc = prov_seterr(ctx, PROV_EIO, "%s: read failed", path); goto out; }
        if ((rc = repo_parse(ctx, h, sizeof h, &recs, &count))) {
            char m[sizeof ctx->msg];
            snprintf(m, sizeof m, "%s", ctx ? ctx->msg : "");
            rc = prov_seterr(ctx, rc, "%s: %s; not appending", path, m);
            goto out;
        }
        uint64_t whole = REPO_HEADER + (size - REPO_HEADER) / REPO_RECORD * REPO_RECORD;
        if (whole != size && ftruncate(fd, (off_t)whole)) { /* a torn append */
            rc = prov_seterr(ctx, PROV_EIO, "%s: cannot cut a torn record: %s", path, strerror(errno));
            goto out;
        }
        size = whole;
    }
    if (repo_pwrite_all(fd, rec, nrec * REPO_RECORD, (off_t)size) || fsync(fd))
        rc = prov_seterr(ctx, PROV_EIO, "%s: append failed: %s", path, strerror(errno));
out:
    close(fd); /* drops the lock */
    return rc;
}

int repo_put_store(prov_ctx *ctx, const char *dir, const uint8_t *store, size_t len, uint8_t h[32])
{
    if (len > PROV_MAX_STORE)
        return prov_seterr(ctx, PROV_ELIMIT, "manifest store of %zu bytes, over the %u-byte limit", len, PROV_MAX_STORE);
    sha256(store, len, h);
    char path[4096], hex[65];
    int rc;
    if ((rc = mkdir_one(ctx, dir))) return rc;
    snprintf(path, sizeof path, "%s/manifests", dir);
    if ((rc = mkdir_one(ctx, path))) return rc;
    snprintf(path, sizeof path, "%s/manifests/sha256", dir);
    if ((rc = mkdir_one(ctx, path))) return rc;
    hexs(hex, h, 32);
    snprintf(path, sizeof path, "%s/manifests/sha256/%s.c2pa", dir, hex);
    struct stat st;
    if (stat(path, &st) || (uint64_t)st.st_size != len) { /* same name, same bytes: already there */
        if ((rc = write_whole(ctx, path, store, len))) return rc;
        snprintf(path, sizeof path, "%s/manifests/sha256", dir);
        sync_dir(path); /* the store is durable before a record names it */
    }
    return 0;
}

int prov_repo_publish(prov_ctx *ctx, const char *dir, const uint8_t *store, size_t len,
                      const uint8_t (*pdq)[PROV_PDQ_BYTES], size_t npdq, uint8_t digest[32])
{
    if (!dir || !store || !len || !pdq || !npdq || npdq > 64) return PROV_EINVAL;
    uint8_t h[32];
    int rc = repo_put_store(ctx, dir, store, len, h);
    if (rc) return rc;
    if (digest) memcpy(digest, h, 32);
    char path[4096];
    uint8_t rec[64 * REPO_RECORD];
    size_t k = 0;
    for (size_t i = 0; i < npdq; i++) {
        int dup = 0; /* a small picture's crops may hash alike */
        for (size_t j = 0; j < k && !dup; j++) dup = memcmp(rec + j * REPO_RECORD, pdq[i], 32) == 0;
        if (dup) continue;
        memcpy(rec + k * REPO_RECORD, pdq[i], 32);
        memcpy(rec + k * REPO_RECORD + 32, h, 32);
        k++;
    }
    snprintf(path, sizeof path, "%s/manifests/pdq.idx", dir);
    if ((rc = index_append(ctx, path, rec, k))) return rc;
    /* the sidecar is a cache: the records are published whatever becomes
     * of it, and readers scan what it does not cover */
    repo_mih_refresh(NULL, dir, 0);
    return 0;
}

int prov_repo_load(prov_ctx *ctx, const char *dir, const uint8_t digest[32], uint8_t **store, size_t *len)
{
    if (!dir || !digest || !store || !len) return PROV_EINVAL;
    *store = NULL;
    *len = 0;
    char path[4096], hex[65];
    hexs(hex, digest, 32);
    snprintf(path, sizeof path, "%s/manifests/sha256/%s.c2pa", dir, hex);
    FILE *f = fopen(path, "rb");
    if (!f) return prov_seterr(ctx, errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    uint8_t *p = NULL;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) rc = prov_seterr(ctx, PROV_EIO, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > PROV_MAX_STORE || st.st_size == 0)
        rc = prov_seterr(ctx, PROV_ELIMIT, "%s: %lld bytes, outside 1..%u", path, (long long)st.st_size, PROV_MAX_STORE);
    else if (!(p = malloc((size_t)st.st_size))) rc = PROV_ENOMEM;
    else if (fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) rc = prov_seterr(ctx, PROV_EIO, "%s: read failed", path);
    fclose(f);
    if (!rc) {
        uint8_t h[32];
        sha256(p, (size_t)st.st_size, h);
        if (memcmp(h, digest, 32)) rc = prov_seterr(ctx, PROV_EFORMAT, "%s: content does not match its name", path);
    }
    if (rc) { free(p); return rc; }
    *store = p;
    *len = (size_t)st.st_size;
    return 0;
}
