/* stream.h - a buffered reader over a prov_stream. */
#ifndef PROV_STREAM_H
#define PROV_STREAM_H

#include "internal.h"

#define RDR_BUF (1u << 20)    /* large reads keep hashing at memory speed */
#define RDR_START (64u << 10) /* the buffer starts here: small files and header walks stay small */

typedef struct rdr {
    prov_stream *s;
    uint8_t *buf;
    size_t pos, end; /* valid bytes are buf[pos..end) */
    size_t cap;      /* buf's size, RDR_START growing to RDR_BUF */
    uint64_t base;   /* stream offset of buf[0] */
    int eof;
    int stale; /* the stream was used behind our back: seek before reading */
    prov_progress_fn progress;
    void *progress_user;
    uint64_t total, reported;
} rdr;

PROV_HIDDEN int rdr_init(rdr *r, prov_stream *s);
PROV_HIDDEN void rdr_free(rdr *r);
PROV_HIDDEN int rdr_fill(rdr *r, size_t want);
/* Exactly n bytes or PROV_EFORMAT (truncated) / PROV_EIO. */
PROV_HIDDEN int rdr_read(rdr *r, void *out, size_t n);
/* The next up to max buffered bytes without copying; *n == 0 at end. */
PROV_HIDDEN int rdr_next(rdr *r, const uint8_t **p, size_t *n, size_t max);
PROV_HIDDEN int rdr_seek(rdr *r, uint64_t off);
/* Drop the buffer: the stream was read by someone else. */
PROV_HIDDEN void rdr_forget(rdr *r);
/* Tell the progress callback, if any, that `done` bytes are through. */
PROV_HIDDEN void rdr_progress(rdr *r, uint64_t done);
static inline uint64_t rdr_tell(const rdr *r) { return r->base + r->pos; }

#endif
