/* pump.c - a three-stage pipeline (read, hash, write) over a ring of
 * buffers.  Inputs with under 1 MiB left skip the threads. */
#include "pump.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RING 4
#define CHUNK (1u << 20)

typedef struct ring {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *buf[RING];
    size_t len[RING];
    uint64_t nread, nhashed, nwritten; /* buffers through each stage */
    int eof, read_err, write_err, stop;
    uint64_t left; /* bytes the reader may still read */
    prov_stream *in, *out;
} ring;

static void *reader(void *arg)
{
    ring *g = arg;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        uint64_t behind = g->out ? g->nwritten : g->nhashed;
        while (!g->stop && g->nread - behind >= RING) {
            pthread_cond_wait(&g->cv, &g->mu);
            behind = g->out ? g->nwritten : g->nhashed;
        }
        int stop = g->stop;
        uint64_t slot = g->nread % RING;
        pthread_mutex_unlock(&g->mu);
        if (stop) return NULL;
        size_t want = g->left < CHUNK ? (size_t)g->left : CHUNK, got = 0;
        int err = 0;
        while (got < want) { /* fill the chunk: short reads are allowed */
            long n = g->in->read(g->in->user, g->buf[slot] + got, want - got);
            if (n < 0) { err = 1; break; }
            if (n == 0) break;
            got += (size_t)n;
        }
        g->left -= got;
        pthread_mutex_lock(&g->mu);
        g->len[slot] = got;
        if (err) g->read_err = 1;
        else if (got) g->nread++;
        int done = err || got < CHUNK || g->left == 0;
        if (done) g->eof = 1;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (done) return NULL;
    }
}

static void *writer(void *arg)
{
    ring *g = arg;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (!g->stop && g->nwritten == g->nhashed && !(g->eof && g->nhashed == g->nread))
            pthread_cond_wait(&g->cv, &g->mu);
        if (g->stop || g->nwritten == g->nhashed) { /* done or told to stop */
            pthread_mutex_unlock(&g->mu);
            return NULL;
        }
        uint64_t slot = g->nwritten % RING;
        pthread_mutex_unlock(&g->mu);
        int bad = g->out->write(g->out->user, g->buf[slot], g->len[slot]) != 0;
        pthread_mutex_lock(&g->mu);
        if (bad) {
            g->write_err = 1;
            g->stop = 1;
        } else {
            g->nwritten++;
        }
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (bad) return NULL;
    }
}

/* What the rdr already buffered goes first, on this thread. */
static int drain_buffered(rdr *r, uint64_t *left, pump_hash_fn hash, void *hu, prov_stream *out, uint64_t *total,
                          int *where)
{
    size_t n = r->end - r->pos;
    if (n > *left) n = (size_t)*left;
    if (!n) return 0;
    hash(hu, r->buf + r->pos, n);
    if (out && out->write(out->user, r->buf + r->pos, n)) {
        *where = 1;
        return PROV_EIO;
    }
    r->pos += n;
    *total += n;
    *left -= n;
    return 0;
}

static int pump_simple(rdr *r, uint64_t left, pump_hash_fn hash, void *hu, prov_stream *out, uint64_t *total,
                       int *where)
{
    while (left) {
        const uint8_t *p;
        size_t n;
        if (rdr_next(r, &p, &n, left < RDR_BUF ? (size_t)left : RDR_BUF)) {
            *where = 0;
            return PROV_EIO;
        }
        if (!n) return 0;
        hash(hu, p, n);
        if (out && out->write(out->user, p, n)) {
            *where = 1;
            return PROV_EIO;
        }
        *total += n;
        left -= n;
        rdr_progress(r, r->base + r->pos);
    }
    return 0;
}

int pump(rdr *r, uint64_t limit, pump_hash_fn hash, void *hu, prov_stream *out, uint64_t *total, int *where)
{
    *total = 0;
    *where = 0;
    uint64_t left = limit;
    int rc = drain_buffered(r, &left, hash, hu, out, total, where);
    if (rc || !left || r->eof) return rc;
    /* one more plain read tells a small input from a large one */
    if ((rc = rdr_fill(r, RDR_BUF))) return rc;
    /* Threads pay off when there is writing to overlap with the hashing
     * (signing: about 2x on large files here); a read-and-hash alone runs
     * at SHA-256's speed on one thread, and the hand-offs only cost. */
    if (r->eof || left <= RDR_BUF || !out) return pump_simple(r, left, hash, hu, out, total, where);
    if ((rc = drain_buffered(r, &left, hash, hu, out, total, where))) return rc;
    uint64_t resume = r->base + r->end; /* where the stream stands */

    ring g;
    memset(&g, 0, sizeof g);
    g.in = r->s;
    g.out = out;
    g.left = left;
    for (int i = 0; i < RING; i++)
        if (!(g.buf[i] = malloc(CHUNK))) {
            for (int j = 0; j < i; j++) free(g.buf[j]);
            return PROV_ENOMEM;
        }
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    pthread_t rt, wt;
    int have_w = 0;
    if (pthread_create(&rt, NULL, reader, &g)) {
        rc = PROV_ENOMEM;
        goto out;
    }
    if (out) have_w = pthread_create(&wt, NULL, writer, &g) == 0;
    if (out && !have_w) g.stop = 1;
    uint64_t threaded = 0;
    for (;;) {
        pthread_mutex_lock(&g.mu);
        while (!g.stop && g.nhashed == g.nread && !g.eof) pthread_cond_wait(&g.cv, &g.mu);
        if (g.stop || g.nhashed == g.nread) { /* eof (or error) with all hashed */
            pthread_mutex_unlock(&g.mu);
            break;
        }
        uint64_t slot = g.nhashed % RING;
        pthread_mutex_unlock(&g.mu);
        hash(hu, g.buf[slot], g.len[slot]);
        threaded += g.len[slot];
        rdr_progress(r, resume + threaded);
        pthread_mutex_lock(&g.mu);
        g.nhashed++;
        pthread_cond_broadcast(&g.cv);
        pthread_mutex_unlock(&g.mu);
    }
    if (have_w) pthread_join(wt, NULL);
    pthread_mutex_lock(&g.mu);
    g.stop = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(rt, NULL);
    *total += threaded;
    if (out && !have_w) rc = PROV_ENOMEM;
    else if (g.read_err) { rc = PROV_EIO; *where = 0; }
    else if (g.write_err) { rc = PROV_EIO; *where = 1; }
    /* the reader read past the rdr's buffer: the rdr resumes after it */
    r->base = resume + threaded;
    r->pos = r->end = 0;
    r->eof = threaded < left;
out:
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    for (int i = 0; i < RING; i++) free(g.buf[i]);
    return rc;
}
