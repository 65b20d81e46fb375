/* repo_audio.c - the manifest repository's index of sound: DIR/manifests/
 * afp.idx, one record per published sound (docs/soft-binding.md):
 *
 *   header, 16 bytes: "PROVAFP1", be32 version (1), be32 0
 *   record: SHA-256 of the manifest store (32), be32 n (1..65536),
 *           be32 check (FNV-1a of the digest, n and words), n be32 words
 *
 * Records vary in length, so a reader walks them; one running past the end
 * is a torn append, which readers ignore and the next writer cuts off.  A
 * record whose check fails is skipped; one whose count is impossible ends
 * what readers see, and writers refuse to append after it (cutting there
 * would drop the records behind it).  A search aligns the query against
 * every record (afp_match.c): no multi-index, linear in the sound indexed. */
#include "afp.h"
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define AFP_MAGIC "PROVAFP1"
#define AFP_VERSION 1
#define AFP_HEADER 16
#define AFP_REC_HEAD 40

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t rec_check(const uint8_t *digest, uint32_t n, const uint8_t *words)
{
    uint8_t nb[4];
    wr32(nb, n);
    uint32_t h = fnv(2166136261u, digest, 32);
    h = fnv(h, nb, 4);
    return fnv(h, words, (size_t)n * 4);
}

static int bad_header(const uint8_t *h)
{
    return memcmp(h, AFP_MAGIC, 8) || rd32(h + 8) != AFP_VERSION;
}

/* The end of the last whole record (a torn one is cut there). */
static int whole_end(prov_ctx *ctx, int fd, const char *path, uint64_t size, uint64_t *end)
{
    uint64_t at = AFP_HEADER;
    for (;;) {
        uint8_t h[AFP_REC_HEAD];
        if (at + AFP_REC_HEAD > size) break;
        if (pread(fd, h, sizeof h, (off_t)at) != (ssize_t)sizeof h)
            return prov_seterr(ctx, PROV_EIO, "%s: read failed", path);
        uint32_t n = rd32(h + 32);
        if (!n || n > PROV_AFP_MAX_WORDS) /* not torn but damaged: cutting here would lose what follows */
            return prov_seterr(ctx, PROV_EFORMAT, "%s: a record at offset %llu counts %u words; not appending", path,
                               (unsigned long long)at, n);
        if (at + AFP_REC_HEAD + (uint64_t)n * 4 > size) break; /* torn: cut */
        at += AFP_REC_HEAD + (uint64_t)n * 4;
    }
    *end = at;
    return 0;
}

int prov_repo_publish_audio(prov_ctx *ctx, const char *dir, const uint8_t *store, size_t len, const uint32_t *words,
                            size_t n, uint8_t digest[32])
{
    if (!dir || !store || !len || !words || !n) return PROV_EINVAL;
    if (n > PROV_AFP_MAX_WORDS)
        return prov_seterr(ctx, PROV_ELIMIT, "audio fingerprint of %zu words (at most %u)", n, PROV_AFP_MAX_WORDS);
    uint8_t h[32];
    int rc = repo_put_store(ctx, dir, store, len, h);
    if (rc) return rc;
    if (digest) memcpy(digest, h, 32);
    size_t rl = AFP_REC_HEAD + n * 4;
    uint8_t *rec = malloc(rl);
    if (!rec) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    memcpy(rec, h, 32);
    wr32(rec + 32, (uint32_t)n);
    for (size_t i = 0; i < n; i++) wr32(rec + AFP_REC_HEAD + 4 * i, words[i]);
    wr32(rec + 36, rec_check(h, (uint32_t)n, rec + AFP_REC_HEAD));
    char path[4096];
    snprintf(path, sizeof path, "%s/manifests/afp.idx", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(rec);
        return prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    uint64_t end = AFP_HEADER;
    if (flock(fd, LOCK_EX) || fstat(fd, &st)) {
        rc = prov_seterr(ctx, PROV_EIO, "%s: cannot lock: %s", path, strerror(errno));
    } else if ((uint64_t)st.st_size < AFP_HEADER) { /* new, or torn at birth */
        uint8_t hd[AFP_HEADER] = {0};
        memcpy(hd, AFP_MAGIC, 8);
        wr32(hd + 8, AFP_VERSION);
        if (ftruncate(fd, 0) || repo_pwrite_all(fd, hd, sizeof hd, 0))
            rc = prov_seterr(ctx, PROV_EIO, "%s: write failed: %s", path, strerror(errno));
    } else {
        uint8_t hd[AFP_HEADER];
        if (pread(fd, hd, sizeof hd, 0) != (ssize_t)sizeof hd || bad_header(hd))
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s: not an audio index (version %u); not appending", path,
                             AFP_VERSION);
        else if (!(rc = whole_end(ctx, fd, path, (uint64_t)st.st_size, &end)) && end != (uint64_t)st.st_size &&
                 ftruncate(fd, (off_t)end))
            rc = prov_seterr(ctx, PROV_EIO, "%s: cannot cut a torn record: %s", path, strerror(errno));
    }
    if (!rc && (repo_pwrite_all(fd, rec, rl, (off_t)end) || fsync(fd)))
        rc = prov_seterr(ctx, PROV_EIO, "%s: append failed: %s", path, strerror(errno));
    close(fd); /* drops the lock */
    free(rec);
    return rc;
}

/* Keep the best cap matches, each manifest once. */
static void keep(prov_repo_audio_match *out, size_t cap, size_t *n, const uint8_t *digest, const afp_hit *h)
{
    for (size_t i = 0; i < *n; i++) {
        if (memcmp(out[i].manifest, digest, 32)) continue;
        if (h->ber >= out[i].ber) return;
        memmove(out + i, out + i + 1, (*n - i - 1) * sizeof *out); /* re-inserted below */
        (*n)--;
        break;
    }
    size_t at = *n;
    while (at > 0 && out[at - 1].ber > h->ber) at--;
    if (at >= cap) return;
    size_t move = (*n < cap ? *n : cap - 1) - at;
    memmove(out + at + 1, out + at, move * sizeof *out);
    memcpy(out[at].manifest, digest, 32);
    out[at].ber = h->ber;
    out[at].offset = h->offset;
    out[at].overlap = h->overlap;
    if (*n < cap) (*n)++;
}

int repo_audio_search_mem(prov_ctx *ctx, const uint8_t *p, size_t size, const uint32_t *words, size_t nwords,
                          double max_ber, prov_repo_audio_match *out, size_t cap, size_t *n)
{
    *n = 0;
    if (!size) return 0; /* an empty index */
    if (size < AFP_HEADER || bad_header(p))
        return prov_seterr(ctx, PROV_EFORMAT, "audio index: bad header (not PROVAFP1 version %u)", AFP_VERSION);
    afp_query *x = afp_query_new(words, nwords);
    uint32_t *scratch = malloc(((size_t)PROV_AFP_MAX_WORDS + nwords + 1) * sizeof *scratch);
    uint32_t *s = malloc((size_t)PROV_AFP_MAX_WORDS * sizeof *s);
    int rc = 0;
    if (!x || !scratch || !s) {
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t at = AFP_HEADER; at + AFP_REC_HEAD <= size;) {
        const uint8_t *r = p + at;
        uint32_t k = rd32(r + 32);
        if (!k || k > PROV_AFP_MAX_WORDS || (uint64_t)at + AFP_REC_HEAD + (uint64_t)k * 4 > size) break; /* torn */
        at += AFP_REC_HEAD + (size_t)k * 4;
        if (rec_check(r, k, r + AFP_REC_HEAD) != rd32(r + 36)) continue; /* damaged: skipped */
        for (uint32_t i = 0; i < k; i++) s[i] = rd32(r + AFP_REC_HEAD + 4 * (size_t)i);
        afp_hit h;
        if (afp_align(x, s, k, PROV_AFP_MIN_WORDS, scratch, &h) && h.ber <= max_ber) keep(out, cap, n, r, &h);
    }
out:
    afp_query_free(x);
    free(scratch);
    free(s);
    return rc;
}

int prov_repo_search_audio(prov_ctx *ctx, const char *dir, const uint32_t *words, size_t nwords, double max_ber,
                           prov_repo_audio_match *out, size_t cap, size_t *n)
{
    if (!dir || (!words && nwords) || !n || (!out && cap)) return PROV_EINVAL;
    *n = 0;
    if (nwords > PROV_AFP_MAX_WORDS)
        return prov_seterr(ctx, PROV_ELIMIT, "audio fingerprint of %zu words (at most %u)", nwords, PROV_AFP_MAX_WORDS);
    size_t sounding = 0;
    for (size_t i = 0; i < nwords; i++) sounding += words[i] != 0;
    if (sounding < PROV_AFP_MIN_WORDS)
        return prov_seterr(ctx, PROV_ELIMIT, "too little sound to look up (%.1f s; at least %.1f s)",
                           (double)sounding * AFP_HOP / PROV_AFP_RATE, (double)PROV_AFP_MIN_WORDS * AFP_HOP / PROV_AFP_RATE);
    if (max_ber <= 0) max_ber = PROV_AFP_MATCH_BER;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifests/afp.idx", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0; /* nothing published: an empty repository */
        return prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return prov_seterr(ctx, PROV_EIO, "%s: not a regular file", path);
    }
    if (!st.st_size) {
        close(fd);
        return 0;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return prov_seterr(ctx, PROV_EIO, "%s: cannot map: %s", path, strerror(errno));
    int rc = repo_audio_search_mem(ctx, m, (size_t)st.st_size, words, nwords, max_ber, out, cap, n);
    munmap(m, (size_t)st.st_size);
    if (rc) {
        char msg[sizeof ctx->msg];
        snprintf(msg, sizeof msg, "%s", ctx ? ctx->msg : prov_strerror(rc));
        prov_seterr(ctx, rc, "%s: %s", path, msg);
    }
    return rc;
}
