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

/* Check an index held in memory; *recs points at the first record (inside
 * p), *count is the number of whole records.  An empty buffer is an empty
 * index. */
PROV_HIDDEN int repo_parse(prov_ctx *ctx, const uint8_t *p, size_t n, const uint8_t **recs, size_t *count);
/* A repository over records in memory the caller keeps alive (the fuzz
 * harness and the tests); free with prov_repo_free. */
PROV_HIDDEN int repo_from_mem(prov_ctx *ctx, const uint8_t *p, size_t n, prov_repo **out);

#endif
