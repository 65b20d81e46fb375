/* stream.c - the prov_stream initialisers and the buffered reader used by
 * the format modules. */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* memory input: priv[0] = base, priv[1] = length, priv[2] = position */
static long mem_read(void *user, void *buf, size_t len)
{
    prov_stream *s = user;
    size_t size = s->priv[1], pos = s->priv[2];
    size_t n = pos < size ? size - pos : 0;
    if (n > len) n = len;
    memcpy(buf, (const uint8_t *)s->priv[0] + pos, n);
    s->priv[2] = pos + n;
    return (long)n;
}

static int mem_seek(void *user, uint64_t off)
{
    prov_stream *s = user;
    if (off > s->priv[1]) return -1;
    s->priv[2] = (uintptr_t)off;
    return 0;
}

void prov_stream_mem(prov_stream *s, const void *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->read = mem_read;
    s->seek = mem_seek;
    s->user = s;
    s->priv[0] = (uintptr_t)buf;
    s->priv[1] = len;
}

static long file_read(void *user, void *buf, size_t len)
{
    FILE *f = user;
    size_t n = fread(buf, 1, len, f);
    if (n == 0 && ferror(f)) return -1;
    return (long)n;
}

static int file_seek(void *user, uint64_t off)
{
    if (off > INT64_MAX) return -1;
    return fseeko(user, (off_t)off, SEEK_SET) ? -1 : 0;
}

static int file_write(void *user, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, user) == len ? 0 : -1;
}

void prov_stream_file(prov_stream *s, FILE *f)
{
    memset(s, 0, sizeof *s);
    s->read = file_read;
    s->seek = file_seek;
    s->write = file_write;
    s->user = f;
}

static int ob_write(void *user, const void *buf, size_t len)
{
    prov_outbuf *ob = user;
    if (len > SIZE_MAX - ob->pos) return -1;
    size_t end = ob->pos + len;
    if (end > ob->cap) {
        size_t cap = ob->cap ? ob->cap : 4096;
        while (cap < end) {
            if (cap > SIZE_MAX / 2) return -1;
            cap *= 2;
        }
        uint8_t *p = realloc(ob->data, cap);
        if (!p) return -1;
        ob->data = p;
        ob->cap = cap;
    }
    if (ob->pos > ob->len) memset(ob->data + ob->len, 0, ob->pos - ob->len);
    memcpy(ob->data + ob->pos, buf, len);
    ob->pos = end;
    if (end > ob->len) ob->len = end;
    return 0;
}

static int ob_seek(void *user, uint64_t off)
{
    prov_outbuf *ob = user;
    if (off > SIZE_MAX) return -1;
    ob->pos = (size_t)off;
    return 0;
}

static long ob_read(void *user, void *buf, size_t len)
{
    prov_outbuf *ob = user;
    size_t n = ob->pos < ob->len ? ob->len - ob->pos : 0;
    if (n > len) n = len;
    memcpy(buf, ob->data + ob->pos, n);
    ob->pos += n;
    return (long)n;
}

void prov_stream_outbuf(prov_stream *s, prov_outbuf *ob)
{
    memset(s, 0, sizeof *s);
    s->read = ob_read;
    s->seek = ob_seek;
    s->write = ob_write;
    s->user = ob;
}

/* ---- buffered reader ---- */

int rdr_init(rdr *r, prov_stream *s)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->cap = RDR_START;
    r->buf = malloc(r->cap);
    return r->buf ? 0 : PROV_ENOMEM;
}

void rdr_free(rdr *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Make at least want bytes available (fewer only at end of stream). */
int rdr_fill(rdr *r, size_t want)
{
    if (want > RDR_BUF) want = RDR_BUF;
    if (r->end - r->pos >= want) return 0;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->base += r->pos;
        r->pos = 0;
    }
    while (r->end < want && !r->eof) {
        if (r->end == r->cap) { /* grows while a large read is asked for */
            size_t nc = r->cap * 2 < RDR_BUF ? r->cap * 2 : RDR_BUF;
            uint8_t *nb = realloc(r->buf, nc);
            if (!nb) return PROV_ENOMEM;
            r->buf = nb;
            r->cap = nc;
        }
        long n = r->s->read(r->s->user, r->buf + r->end, r->cap - r->end);
        if (n < 0) return PROV_EIO;
        if (n == 0) r->eof = 1;
        r->end += (size_t)n;
    }
    return 0;
}

int rdr_read(rdr *r, void *out, size_t n)
{
    uint8_t *o = out;
    while (n) {
        if (r->pos == r->end) {
            int rc = rdr_fill(r, n < RDR_BUF ? n : RDR_BUF);
            if (rc) return rc;
            if (r->pos == r->end) return PROV_EFORMAT; /* truncated */
        }
        size_t k = r->end - r->pos;
        if (k > n) k = n;
        memcpy(o, r->buf + r->pos, k);
        r->pos += k;
        o += k;
        n -= k;
    }
    return 0;
}

int rdr_next(rdr *r, const uint8_t **p, size_t *n, size_t max)
{
    if (r->pos == r->end) {
        int rc = rdr_fill(r, RDR_BUF);
        if (rc) return rc;
    }
    size_t k = r->end - r->pos;
    if (k > max) k = max;
    *p = r->buf + r->pos;
    *n = k;
    r->pos += k;
    return 0;
}

#define PROGRESS_STEP (8u << 20)

void rdr_progress(rdr *r, uint64_t done)
{
    if (!r->progress || (done - r->reported < PROGRESS_STEP && done != r->total)) return;
    r->reported = done;
    r->progress(r->progress_user, done, r->total);
}

void rdr_forget(rdr *r)
{
    r->pos = r->end = 0;
    r->stale = 1;
}

int rdr_seek(rdr *r, uint64_t off)
{
    if (!r->stale && off >= r->base && off <= r->base + r->end) {
        r->pos = (size_t)(off - r->base);
        return 0;
    }
    if (!r->s->seek || r->s->seek(r->s->user, off)) return PROV_EIO;
    r->base = off;
    r->pos = r->end = 0;
    r->eof = 0;
    r->stale = 0;
    return 0;
}
