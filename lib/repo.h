/* repo.h - the manifest repository's fingerprint index (pdq.idx).
 *
 * Layout (docs/soft-binding.md), all fixed-size:
 *   header, 16 bytes: "PROVPDQ1", be32 version (1), be32 record size (64)
 *   records, 64 bytes each: PDQ hash (32), SHA-256 of the manifest store (32)
 * A file whose size is not 16 + 64k ends in a torn append, which readers
 * ignore and the next writer cuts off. */
#ifndef PROV_REPO_H
#define PROV_REPO_H

#include "internal.h"

#define REPO_MAGIC "PROVPDQ1"
#define REPO_VERSION 1
#define REPO_HEADER 16
#define REPO_RECORD 64
#define REPO_MAX_RECORDS (1u << 28) /* 16 GiB of index: far past any use */

#define MIH_TABLES 16
#define MIH_KEYS 65536
#define MIH_MAX_RADIUS 2 /* 137 probes a table; past that a scan is as quick */

/* pdq.mih, the persisted multi-index (docs/soft-binding.md): a header of
 * MIH_HEADER bytes, then MIH_TABLES offset tables of MIH_KEYS + 1 u32, then
 * MIH_TABLES id tables of N u32 (little-endian), N the records covered (the
 * first N of pdq.idx; later ones are scanned). */
#define MIH_MAGIC "PROVMIH1"
#define MIH_VERSION 1
#define MIH_HEADER 128

struct prov_repo {
    const uint8_t *recs; /* count records of REPO_RECORD bytes */
    size_t count;
    void *map;           /* the mapping, or NULL */
    size_t map_len;
    uint32_t *off[MIH_TABLES]; /* MIH_KEYS + 1 offsets into ids, per table */
    uint32_t *ids[MIH_TABLES];
    size_t tab_n;        /* records the tables cover: the first tab_n */
    void *mih;           /* the tables are mapped from pdq.mih (not owned) */
    size_t mih_len;
};

/* Write a manifest store to DIR/manifests/sha256/<hex>.c2pa (unless the
 * same bytes are there), durably; h gets its SHA-256. */
PROV_HIDDEN int repo_put_store(prov_ctx *ctx, const char *dir, const uint8_t *store, size_t len, uint8_t h[32]);

/* pwrite all n bytes at at (EINTR retried): 0 or -1 with errno. */
PROV_HIDDEN int repo_pwrite_all(int fd, const uint8_t *p, size_t n, off_t at);

/* Search an afp.idx image held in memory (repo_audio.c; the fuzz harness). */
PROV_HIDDEN int repo_audio_search_mem(prov_ctx *ctx, const uint8_t *p, size_t size, const uint32_t *words,
                                      size_t nwords, double max_ber, prov_repo_audio_match *out, size_t cap, size_t *n);

/* Size of a pdq.mih covering n records. */
PROV_HIDDEN uint64_t repo_mih_size(uint64_t n);
/* Use a pdq.mih image (kept alive by the caller) for r's first records:
 * 0, or a negative code when it does not fit r (then r is unchanged and is
 * scanned).  Only the header is checked here; the tables are checked as
 * they are read, and a damaged one turns the search into a scan. */
PROV_HIDDEN int repo_mih_attach(prov_repo *r, const uint8_t *p, size_t n);
/* Write r's tables (prov_repo_index) as a pdq.mih image to fd. */
PROV_HIDDEN int repo_mih_write(int fd, const prov_repo *r);
/* Rebuild DIR's pdq.mih when records past it are many (force: any). */
PROV_HIDDEN int repo_mih_refresh(prov_ctx *ctx, const char *dir, int force);

/* Check an index held in memory; *recs points at the first record (inside
 * p), *count is the number of whole records.  An empty buffer is an empty
 * index. */
PROV_HIDDEN int repo_parse(prov_ctx *ctx, const uint8_t *p, size_t n, const uint8_t **recs, size_t *count);
/* A repository over records in memory the caller keeps alive (the fuzz
 * harness and the tests); free with prov_repo_free. */
PROV_HIDDEN int repo_from_mem(prov_ctx *ctx, const uint8_t *p, size_t n, prov_repo **out);

#endif
