/* cmd_serve.c - prov serve: verification over HTTP (libmicrohttpd, loaded
 * at run time through lib/dl.h) and the viewer page.
 *
 * libmicrohttpd's threads only move bytes: they read request bodies into a
 * buffer, then suspend the connection and hand the body to a pool of
 * verification workers (one per core by default), which resume it with the
 * answer.  So a slow client or a long body never holds a verifier, and a
 * hostile file holds one verifier, not the server.  Bounds (docs/serve.md):
 * the body size (413 from Content-Length, or as soon as it is exceeded);
 * memory, counted as bytes arrive (never from a declared length) and as
 * pictures are decoded, against --max-memory, a quarter of it per client
 * address; connections per client address; deadlines counted from the
 * accept (headers within --timeout, the whole request within 4x); the
 * pixels the detector decodes; and a time budget per verification, past
 * which the request is answered 503 and a fresh worker takes the place of
 * the one still busy. */
#include "cli.h"
#include "trust_opts.h"
#include "detect.h"
#include "dl.h"
#include "mirror.h"
#include "verify_one.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: prov serve --listen HOST:PORT [--registry DIR] [--trust ROOTS.pem]...\n"
    "                  [--max-body BYTES] [--max-memory BYTES] [--threads N]\n"
    "                  [--timeout S] [--max-connections N]\n"
    "                  [--no-detect] [--model FILE] [--device cpu|cuda|auto]\n"
    "                  [--mirror FILE] [--sync-every S]\n"
    "\n"
    "An HTTP service that verifies media, and a page to look at the result.\n"
    "  POST /v1/verify   the media bytes as the body; answers what `prov verify\n"
    "                    --json` prints for that file.  Query: name=NAME (the\n"
    "                    \"file\" field; default \"upload\"), thumbnails=1 (adds\n"
    "                    \"thumbnails\": the claim thumbnails as data: URIs)\n"
    "  GET /healthz      200 while the process runs\n"
    "  GET /readyz       200 when it can answer (registry readable), else 503\n"
    "  GET /             the viewer page: drop a file, see its credentials\n"
    "  --listen HOST:PORT  IPv4 address and port (port 0: any free port; the\n"
    "                    address taken is printed on stderr)\n"
    "  --registry DIR|URL  identity registry: a folder (read-only), or the URL\n"
    "                    of a published registry, kept in a SQLite mirror\n"
    "                    (--mirror FILE; default as prov registry sync) that a\n"
    "                    background thread syncs every --sync-every S (30);\n"
    "                    the first sync must succeed (pin the log key once\n"
    "                    with prov registry sync URL --log-key LOG.pub)\n"
 TRUST_USAGE
    "  --max-body BYTES  largest body accepted (default 200 MiB; 413 beyond)\n"
    "  --max-memory BYTES  all bodies held at once (default 1 GiB; 503 beyond)\n"
    "  --threads N       verification workers (default: the CPUs online)\n"
    "  --timeout S       a connection idle this long is closed; its headers must\n"
    "                    arrive within S of its accept, and the whole request\n"
    "                    within 4x S (default 30)\n"
    "  --max-connections N  (default 1000)\n"
    "  --max-per-client N  connections from one client address (default 256;\n"
    "                    0: no bound); one address also holds at most a quarter\n"
    "                    of --max-memory in bodies (at least --max-body)\n"
    "  --budget S        a verification running longer is answered 503 and\n"
    "                    another worker takes its place (default 30; 0: none)\n"
    "  --max-pixels N    the detector scores pictures up to N pixels (default\n"
    "                    40M; larger ones get a detector error saying so); the\n"
    "                    decoded picture counts against --max-memory\n"
    "  --no-detect       do not run the AI-image detector on unsigned and\n"
    "                    invalid uploads;  --model FILE, --device: as prov scan\n"
    "SIGTERM or SIGINT: stop accepting, finish the requests under way, exit 0.\n"
    "See docs/serve.md.\n";

/* The page, built in by cli/web.c. */
extern const char prov_web_index[];
extern const unsigned long prov_web_index_len;

enum { RQ_RECEIVING, RQ_QUEUED, RQ_DONE };

struct ctrack;

typedef struct request {
    struct request *next; /* in the work queue */
    struct MHD_Connection *conn;
    struct ctrack *t;     /* its connection's record (client, start time) */
    int state;
    uint8_t *buf;
    size_t len, cap, want, reserved; /* reserved: bytes counted against max-memory */
    int thumbnails;
    char name[256];
    char *json; /* the answer */
    size_t json_len;
    unsigned status;
    int queued;    /* was handed to a worker (counted in inflight) */
    int refs;      /* the connection, and a worker while it runs (s->mu) */
    double vstart; /* when a worker took it (0: not yet) */
    int timed_out; /* answered 503 at its budget; the worker's result is dropped */
    int replaced;  /* ... and another worker was started in its worker's place */
    struct request *rprev, *rnext; /* among those the workers run (s->mu) */
} request;

/* Every connection from its accept (NOTIFY_CONNECTION), so that deadlines
 * count from the connection, not from its headers, and bytes and
 * connections are counted per client address. */
typedef struct ctrack {
    struct ctrack *prev, *next;
    int fd;
    double start;
    int headers, shut;
    request *r;
    struct client *cl;
} ctrack;

typedef struct client {
    char addr[64];
    size_t bytes;   /* body bytes held */
    unsigned conns;
} client;

typedef struct server {
    const struct prov_mhd_api *m;
    vo_config cfg;
    size_t max_body, max_memory, client_bytes;
    unsigned timeout, max_per_client;
    double budget;
    atomic_size_t mem_used;
    atomic_long inflight; /* requests handed to workers and not yet answered */
    pthread_mutex_t mu;   /* the queue, the workers, request states */
    pthread_cond_t cv, done_cv;
    request *head, *tail;
    request *running;
    int stopping;
    long workers, target, abandoned; /* running, wanted, left to finish a timed-out request */
    pthread_mutex_t cmu;  /* connections and clients */
    ctrack *conns;
    client *clients;
    size_t nclients, capclients;
    atomic_ulong n_timeouts, n_shut, n_client_refused;
} server;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Count n more bytes against the memory budget and the client's share;
 * 0 ok, -1 over either. */
static int reserve(server *s, request *r, size_t n)
{
    size_t used = atomic_fetch_add(&s->mem_used, n);
    if (used + n > s->max_memory) {
        atomic_fetch_sub(&s->mem_used, n);
        return -1;
    }
    if (r && r->t && r->t->cl) {
        pthread_mutex_lock(&s->cmu);
        int over = r->t->cl->bytes + n > s->client_bytes;
        if (!over) r->t->cl->bytes += n;
        pthread_mutex_unlock(&s->cmu);
        if (over) {
            atomic_fetch_sub(&s->mem_used, n);
            return -1;
        }
    }
    if (r) r->reserved += n;
    return 0;
}

static void release(server *s, request *r)
{
    free(r->buf);
    r->buf = NULL;
    atomic_fetch_sub(&s->mem_used, r->reserved);
    if (r->t && r->t->cl) {
        pthread_mutex_lock(&s->cmu);
        r->t->cl->bytes -= r->reserved < r->t->cl->bytes ? r->reserved : r->t->cl->bytes;
        pthread_mutex_unlock(&s->cmu);
    }
    r->reserved = 0;
}

/* the detector's decoded pictures count against --max-memory too */
static int mem_reserve_cb(void *user, size_t n) { return reserve(user, NULL, n); }
static void mem_release_cb(void *user, size_t n) { atomic_fetch_sub(&((server *)user)->mem_used, n); }

static enum MHD_Result respond(server *s, struct MHD_Connection *c, unsigned status, const char *type, const void *body,
                               size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = s->m->MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE) free((void *)body);
        return MHD_NO;
    }
    s->m->MHD_add_response_header(resp, "Content-Type", type);
    s->m->MHD_add_response_header(resp, "Cache-Control", "no-store");
    s->m->MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = s->m->MHD_queue_response(c, status, resp);
    s->m->MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result respond_error(server *s, struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *b = malloc(strlen(msg) + 32);
    if (!b) return MHD_NO;
    int n = sprintf(b, "{\"error\":\"%s\"}", msg); /* msg: our own constant text */
    return respond(s, c, status, "application/json", b, (size_t)n, MHD_RESPMEM_MUST_FREE);
}

/* Drop one reference (s->mu held); the last frees the request. */
static void unref(server *s, request *r)
{
    if (--r->refs) return;
    release(s, r);
    free(r->json);
    free(r);
}

/* ---------------------------------------------------------------- workers */
static void *worker(void *arg)
{
    server *s = arg;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) {
        pthread_mutex_lock(&s->mu);
        s->workers--;
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping) pthread_cond_wait(&s->cv, &s->mu);
        request *r = s->head;
        if (!r) break; /* stopping and nothing left */
        s->head = r->next;
        if (!s->head) s->tail = NULL;
        r->refs++;
        r->vstart = now();
        r->rprev = NULL, r->rnext = s->running;
        if (s->running) s->running->rprev = r;
        s->running = r;
        pthread_mutex_unlock(&s->mu);
        vo_input in = {.buf = r->buf, .len = r->len, .name = r->name, .thumbnails = r->thumbnails};
        vo_result res;
        int ok = verify_one(ctx, &s->cfg, &in, &res) == 0;
        pthread_mutex_lock(&s->mu);
        release(s, r); /* the body is no longer needed (only the worker touches it once queued) */
        if (r->rprev) r->rprev->rnext = r->rnext;
        else s->running = r->rnext;
        if (r->rnext) r->rnext->rprev = r->rprev;
        struct MHD_Connection *resume = NULL;
        if (!r->timed_out) {
            if (ok) {
                r->json = res.json; /* handed over: freed by the response */
                r->json_len = res.json_len;
                res.json = NULL;
                r->status = 200;
            } else {
                r->status = 500;
            }
            r->state = RQ_DONE;
            resume = r->conn; /* after s->mu: the connection's reference keeps r until then */
        }
        vo_result_free(&res);
        int late = r->replaced;
        unref(s, r);
        if (resume) {
            pthread_mutex_unlock(&s->mu);
            s->m->MHD_resume_connection(resume);
            pthread_mutex_lock(&s->mu);
        }
        if (late) {
            /* a replacement took this worker's place when it ran over */
            s->abandoned--;
            if (s->workers > s->target) break;
        }
    }
    s->workers--;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->mu);
    prov_ctx_free(ctx);
    return NULL;
}

static int spawn_worker(server *s) /* s->mu held */
{
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &at, worker, s);
    pthread_attr_destroy(&at);
    if (!rc) s->workers++;
    return rc;
}

static void enqueue(server *s, request *r)
{
    pthread_mutex_lock(&s->mu);
    r->next = NULL;
    if (s->tail) s->tail->next = r;
    else s->head = r;
    s->tail = r;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- deadlines */

/* The client address of a connection. */
static void conn_addr(server *s, struct MHD_Connection *c, char out[64])
{
    snprintf(out, 64, "unknown");
    const union MHD_ConnectionInfo *ci = s->m->MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
}

static client *client_get(server *s, const char *a) /* cmu held */
{
    for (size_t i = 0; i < s->nclients; i++)
        if (!strcmp(s->clients[i].addr, a)) return &s->clients[i];
    if (s->nclients == s->capclients) {
        size_t nc = s->capclients ? s->capclients * 2 : 64;
        client *n = realloc(s->clients, nc * sizeof *n);
        if (!n) return NULL;
        /* ctrack->cl point into the array: move them along */
        for (ctrack *t = s->conns; t; t = t->next)
            if (t->cl) t->cl = n + (t->cl - s->clients);
        s->clients = n, s->capclients = nc;
    }
    client *c = &s->clients[s->nclients++];
    memset(c, 0, sizeof *c);
    snprintf(c->addr, sizeof c->addr, "%s", a);
    return c;
}

static void client_put(server *s, client *c) /* cmu held: drop a client with nothing left */
{
    if (c->conns || c->bytes) return;
    size_t i = (size_t)(c - s->clients), last = s->nclients - 1;
    if (i != last) {
        s->clients[i] = s->clients[last];
        for (ctrack *t = s->conns; t; t = t->next)
            if (t->cl == &s->clients[last]) t->cl = &s->clients[i];
    }
    s->nclients--;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **sock_ctx, enum MHD_ConnectionNotificationCode toe)
{
    server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ctrack *t = calloc(1, sizeof *t);
        if (!t) return;
        const union MHD_ConnectionInfo *fi = s->m->MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = fi ? fi->connect_fd : -1;
        t->start = now();
        char a[64];
        conn_addr(s, c, a);
        pthread_mutex_lock(&s->cmu);
        t->cl = client_get(s, a);
        if (t->cl) t->cl->conns++;
        if (t->cl && s->max_per_client && t->cl->conns > s->max_per_client && t->fd >= 0) {
            /* over this client's share of connections: closed at once */
            shutdown(t->fd, SHUT_RDWR);
            t->shut = 1;
            atomic_fetch_add(&s->n_client_refused, 1);
        }
        t->next = s->conns;
        if (s->conns) s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->cmu);
        *sock_ctx = t;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        ctrack *t = *sock_ctx;
        if (!t) return;
        pthread_mutex_lock(&s->cmu);
        if (t->prev) t->prev->next = t->next;
        else s->conns = t->next;
        if (t->next) t->next->prev = t->prev;
        if (t->cl) {
            t->cl->conns--;
            client_put(s, t->cl);
        }
        pthread_mutex_unlock(&s->cmu);
        free(t);
        *sock_ctx = NULL;
    }
}

/* Every 200 ms: a connection whose headers have not arrived within
 * --timeout of its accept, or whose request has not arrived whole within
 * 4x --timeout, is shut (header bytes trickled one by one cannot hold it
 * longer); a request whose verification has run past --budget is answered
 * 503, and another worker takes the place of the one still busy with it. */
static void *reaper(void *arg)
{
    server *s = arg;
    for (;;) {
        usleep(200000);
        double t = now();
        pthread_mutex_lock(&s->mu);
        int stop = s->stopping && !s->workers;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        pthread_mutex_lock(&s->cmu);
        for (ctrack *c = s->conns; c; c = c->next) {
            if (c->shut || c->fd < 0) continue;
            int late = (!c->headers && t - c->start > s->timeout) ||
                       (c->headers && c->r && c->r->state == RQ_RECEIVING && t - c->start > 4.0 * s->timeout);
            if (late) {
                shutdown(c->fd, SHUT_RDWR);
                c->shut = 1;
                atomic_fetch_add(&s->n_shut, 1);
            }
        }
        pthread_mutex_unlock(&s->cmu);
        struct MHD_Connection *resume[64];
        size_t nres = 0;
        pthread_mutex_lock(&s->mu);
        for (request *r = s->running; r && s->budget > 0 && nres < 64; r = r->rnext) {
            if (r->timed_out || t - r->vstart <= s->budget) continue;
            r->timed_out = 1;
            r->state = RQ_DONE;
            r->status = 503;
            resume[nres++] = r->conn;
            atomic_fetch_add(&s->n_timeouts, 1);
            if (s->abandoned < s->target && !s->stopping && spawn_worker(s) == 0) s->abandoned++, r->replaced = 1;
        }
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < nres; i++) s->m->MHD_resume_connection(resume[i]);
    }
    return NULL;
}

/* ---------------------------------------------------------------- HTTP */
static const char CSP[] = "default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; "
                          "script-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; "
                          "frame-ancestors 'none'; base-uri 'none'";

static int ready(server *s)
{
    return !s->cfg.registry || access(s->cfg.registry, R_OK | X_OK) == 0;
}

static enum MHD_Result on_get(server *s, struct MHD_Connection *c, const char *url)
{
    static const char OK[] = "{\"status\":\"ok\"}";
    static const char NOTREADY[] = "{\"status\":\"not ready\",\"error\":\"registry unreadable\"}";
    if (!strcmp(url, "/healthz"))
        return respond(s, c, 200, "application/json", OK, sizeof OK - 1, MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/readyz")) {
        int ok = ready(s);
        return respond(s, c, ok ? 200 : 503, "application/json", ok ? OK : NOTREADY,
                       ok ? sizeof OK - 1 : sizeof NOTREADY - 1, MHD_RESPMEM_PERSISTENT);
    }
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
        struct MHD_Response *resp = s->m->MHD_create_response_from_buffer(
            (size_t)prov_web_index_len, (void *)prov_web_index, MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        s->m->MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        s->m->MHD_add_response_header(resp, "Content-Security-Policy", CSP);
        s->m->MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        enum MHD_Result rc = s->m->MHD_queue_response(c, 200, resp);
        s->m->MHD_destroy_response(resp);
        return rc;
    }
    return respond_error(s, c, 404, "no such page: see docs/serve.md");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    server *s = cls;
    request *r = *con_cls;
    if (!r) { /* the headers have arrived */
        const union MHD_ConnectionInfo *si = s->m->MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        ctrack *t = si ? si->socket_context : NULL;
        if (t) {
            pthread_mutex_lock(&s->cmu);
            t->headers = 1;
            pthread_mutex_unlock(&s->cmu);
        }
        if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) return on_get(s, c, url);
        if (strcmp(url, "/v1/verify")) return respond_error(s, c, 404, "no such endpoint: POST /v1/verify");
        if (strcmp(method, "POST")) return respond_error(s, c, 405, "use POST");
        if (s->stopping) return respond_error(s, c, 503, "shutting down");
        const char *cl = s->m->MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        unsigned long long want = 0;
        if (cl) {
            char *end;
            errno = 0;
            want = strtoull(cl, &end, 10);
            if (errno || *end || want > s->max_body) return respond_error(s, c, 413, "body over --max-body");
        }
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->conn = c;
        r->refs = 1;
        r->want = (size_t)want;
        const char *q = s->m->MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "thumbnails");
        r->thumbnails = q && !strcmp(q, "1");
        q = s->m->MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
        snprintf(r->name, sizeof r->name, "%s", q && *q ? q : "upload");
        if (t) {
            pthread_mutex_lock(&s->cmu);
            t->r = r;
            r->t = t;
            pthread_mutex_unlock(&s->cmu);
        }
        *con_cls = r;
        /* nothing is reserved for a declared length: memory is counted as
         * the bytes arrive, so a client that only sends headers holds none */
        return MHD_YES;
    }
    if (r->state == RQ_RECEIVING && *upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->status) return MHD_YES; /* refused: the rest is dropped */
        if (r->len + n > s->max_body || (r->want && r->len + n > r->want)) {
            /* over the limit (or the declared length): libmicrohttpd 0.9
             * cannot answer before the body ends, and reading an endless
             * body to its end is what we refuse: close now */
            release(s, r);
            return MHD_NO;
        }
        if (r->len + n > r->cap) { /* grow (at most doubling), counted as it grows */
            size_t cap = r->cap ? r->cap : 1 << 16;
            while (cap < r->len + n) cap *= 2;
            size_t top = r->want ? r->want : s->max_body;
            if (cap > top) cap = top;
            uint8_t *nb = reserve(s, r, cap - r->cap) ? NULL : realloc(r->buf, cap);
            if (!nb) {
                release(s, r);
                r->status = 503;
                return MHD_NO; /* busy: the connection is closed; the client retries */
            }
            r->buf = nb;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->state == RQ_RECEIVING) { /* the body is complete: verify it */
        if (s->stopping) {
            r->state = RQ_DONE;
            return respond_error(s, c, 503, "shutting down");
        }
        r->state = RQ_QUEUED;
        r->queued = 1;
        atomic_fetch_add(&s->inflight, 1);
        s->m->MHD_suspend_connection(c);
        enqueue(s, r);
        return MHD_YES;
    }
    if (r->state == RQ_DONE && r->json) { /* resumed by a worker */
        char *j = r->json;
        r->json = NULL;
        return respond(s, c, r->status, "application/json", j, r->json_len, MHD_RESPMEM_MUST_FREE);
    }
    if (r->state == RQ_DONE && r->timed_out && !r->json_len) {
        r->json_len = 1; /* answered */
        return respond_error(s, c, 503, "verification ran past this service's time budget (--budget); retry later");
    }
    if (r->state == RQ_DONE && r->status == 500) return respond_error(s, c, 500, "out of memory");
    return MHD_YES; /* an answer is already queued */
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    request *r = *con_cls;
    if (!r) return;
    int queued = r->queued;
    /* the connection's record goes with the connection: the client's
     * bytes are given back now, even if a late worker still holds them */
    pthread_mutex_lock(&s->cmu);
    if (r->t) {
        if (r->t->cl) r->t->cl->bytes -= r->reserved < r->t->cl->bytes ? r->reserved : r->t->cl->bytes;
        r->t->r = NULL;
        r->t = NULL;
    }
    pthread_mutex_unlock(&s->cmu);
    pthread_mutex_lock(&s->mu);
    unref(s, r);
    pthread_mutex_unlock(&s->mu);
    *con_cls = NULL;
    if (queued) atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    fputs("prov serve: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---------------------------------------------------------------- main */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return -1;
    if (*end == 'K' || *end == 'k') v <<= 10, end++;
    else if (*end == 'M' || *end == 'm') v <<= 20, end++;
    else if (*end == 'G' || *end == 'g') v <<= 30, end++;
    if (*end == 'i' && end[-1] != 0) end++;
    if (*end == 'B') end++;
    if (*end || v == 0) return -1;
    *out = (size_t)v;
    return 0;
}

/* A count: N, or N with K, M or G (thousands, millions, billions). */
static int parse_count(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v <= 0) return -1;
    if (*end == 'K' || *end == 'k') v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm') v *= 1e6, end++;
    else if (*end == 'G' || *end == 'g') v *= 1e9, end++;
    if (*end || v > 1e12) return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon - s >= 64) return -1;
    char host[64];
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* The background sync of a registry URL into its mirror file. */
typedef struct mirror_syncer {
    const char *url, *path;
    char *def;
    long every;
    pthread_t th;
    int running, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} mirror_syncer;

static int mirror_sync_once(mirror_syncer *ms, prov_ctx *ctx)
{
    mirror *m = NULL;
    mirror_stats st;
    int rc = mirror_open_sync(&m, ms->url, ms->path, NULL, &st, ctx);
    mirror_close(m);
    return rc;
}

static void *mirror_loop(void *arg)
{
    mirror_syncer *ms = arg;
    prov_ctx *ctx = NULL;
    if (prov_ctx_new(&ctx)) return NULL;
    pthread_mutex_lock(&ms->mu);
    while (!ms->stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += ms->every;
        pthread_cond_timedwait(&ms->cv, &ms->mu, &t);
        if (ms->stop) break;
        pthread_mutex_unlock(&ms->mu);
        /* a failed sync keeps the last verified state and says so; an
         * inconsistent log is kept as evidence by the mirror itself */
        if (mirror_sync_once(ms, ctx)) fprintf(stderr, "prov serve: registry sync %s: %s\n", ms->url, prov_errmsg(ctx));
        pthread_mutex_lock(&ms->mu);
    }
    pthread_mutex_unlock(&ms->mu);
    prov_ctx_free(ctx);
    return NULL;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                          {"registry", required_argument, 0, 'g'},
                                          TRUST_LONG_OPTIONS,
                                          {"max-body", required_argument, 0, 'b'},
                                          {"max-memory", required_argument, 0, 'M'},
                                          {"threads", required_argument, 0, 'n'},
                                          {"timeout", required_argument, 0, 'T'},
                                          {"max-connections", required_argument, 0, 'C'},
                                          {"help", no_argument, 0, 'h'},
                                          {"no-detect", no_argument, 0, 'N'},
                                          {"mirror", required_argument, 0, 'Y'},
                                          {"sync-every", required_argument, 0, 'E'},
                                          {"model", required_argument, 0, 'm'},
                                          {"device", required_argument, 0, 'd'},
                                          {"budget", required_argument, 0, 'B'},
                                          {"max-per-client", required_argument, 0, 'P'},
                                          {"max-pixels", required_argument, 0, 'X'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(USAGE, stdout); return 0; }
    detect_cfg dc;
    int detect = 1;
    detect_init(&dc);
    mirror_syncer ms = {.every = 30, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    server *s = calloc(1, sizeof *s);
    prov_ctx *ctx;
    prov_trust *trust;
    if (!s || prov_ctx_new(&ctx) || prov_trust_new(&trust)) return err("out of memory");
    const char *listen_at = NULL;
    int ntrust = 0, c, rc = EXIT_ERROR;
    long threads = 0, timeout = 30, maxconn = 1000, per_client = 256;
    double budget = 30;
    size_t max_pixels = 40000000;
    s->max_body = 200u << 20;
    s->max_memory = (size_t)1 << 30;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        if (c == 'l') listen_at = optarg;
        else if (c == 'N') detect = 0;
        else if (c == 'Y') ms.path = optarg;
        else if (c == 'E' && (ms.every = strtol(optarg, &end, 10)) >= 1 && ms.every <= 86400 && !*end) {
        }
        else if (c == 'm') dc.model = optarg;
        else if (c == 'd') {
            if (detect_parse_device(&dc, optarg)) goto out;
        }
        else if (c == 'g') s->cfg.registry = optarg;
        else if (c == 't' || c == OPT_TRUST_CONFIG || c == OPT_TSA_TRUST || c == OPT_NO_SYSTEM_TSA) {
            if (trust_opt(ctx, trust, c, optarg) < 0) goto out;
            ntrust++;
        } else if (c == 'b' && parse_size(optarg, &s->max_body) == 0) {
        } else if (c == 'M' && parse_size(optarg, &s->max_memory) == 0) {
        } else if (c == 'n' && (threads = strtol(optarg, &end, 10)) >= 1 && threads <= 256 && !*end) {
        } else if (c == 'T' && (timeout = strtol(optarg, &end, 10)) >= 1 && timeout <= 3600 && !*end) {
        } else if (c == 'C' && (maxconn = strtol(optarg, &end, 10)) >= 1 && maxconn <= 100000 && !*end) {
        } else if (c == 'B' && (budget = strtod(optarg, &end)) >= 0 && budget <= 86400 && !*end) {
        } else if (c == 'P' && (per_client = strtol(optarg, &end, 10)) >= 0 && per_client <= 100000 && !*end) {
        } else if (c == 'X' && parse_count(optarg, &max_pixels) == 0) {
        } else {
            if (c != '?' && c != 'h') err("bad value for an option: %s", optarg ? optarg : "");
            die_usage(USAGE);
        }
    }
    if (optind != argc || !listen_at) die_usage(USAGE);
    struct sockaddr_in sa;
    if (parse_listen(listen_at, &sa)) {
        err("--listen %s: give an IPv4 address and a port, e.g. 127.0.0.1:8080", listen_at);
        goto out;
    }
    if (s->cfg.registry && strstr(s->cfg.registry, "://")) {
        /* verify reads the mirror file; this thread keeps it in sync */
        ms.url = s->cfg.registry;
        if (!ms.path && !(ms.path = ms.def = mirror_default_path(ms.url))) {
            err("out of memory");
            goto out;
        }
        if (mirror_sync_once(&ms, ctx)) {
            err("--registry %s: %s", ms.url, prov_errmsg(ctx));
            goto out;
        }
        size_t pl = strlen(ms.path);
        if (pl < 7 || strcmp(ms.path + pl - 7, ".sqlite")) {
            err("--mirror %s: the file name must end in .sqlite", ms.path);
            goto out;
        }
        s->cfg.registry = ms.path;
        if (pthread_create(&ms.th, NULL, mirror_loop, &ms)) {
            err("cannot start the mirror thread");
            goto out;
        }
        ms.running = 1;
    }
    if (s->max_body > s->max_memory) s->max_memory = s->max_body;
    int tf = trust_finish(ctx, trust, s->cfg.registry);
    if (tf < 0) goto out;
    s->cfg.trust = tf ? trust : NULL;
    s->cfg.detect = detect ? &dc : NULL;
    s->cfg.detect_max_pixels = max_pixels;
    s->cfg.mem_reserve = mem_reserve_cb;
    s->cfg.mem_release = mem_release_cb;
    s->cfg.mem_user = s;
    s->timeout = (unsigned)timeout;
    s->budget = budget;
    s->max_per_client = (unsigned)per_client;
    /* one client's share of the memory for bodies: enough for the largest
     * body, and never the whole */
    s->client_bytes = s->max_memory / 4 > s->max_body ? s->max_memory / 4 : s->max_body;
    char why[200];
    if (!(s->m = prov_mhd(why, sizeof why))) {
        err("%s", why);
        goto out;
    }
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? n : 1;
    }
    /* SIGTERM and SIGINT are taken by sigwait below; every thread inherits
     * the mask.  SIGPIPE: a client gone mid-answer must not kill us. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->cmu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_lock(&s->mu);
    s->target = threads;
    long started = 0;
    for (; started < threads; started++)
        if (spawn_worker(s)) break;
    pthread_mutex_unlock(&s->mu);
    pthread_t reap;
    int reaping = started && pthread_create(&reap, NULL, reaper, s) == 0;
    unsigned io = threads > 4 ? 4 : (unsigned)threads; /* I/O threads: bytes only */
    struct MHD_Daemon *d = NULL;
    if (started)
        d = s->m->MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler,
            s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, io,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxconn,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, notify_conn, s, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
    if (!d || !reaping) {
        err("cannot listen on %s: %s", listen_at, started && reaping ? "address in use or not allowed" : "no threads");
    } else {
        const union MHD_DaemonInfo *inf = s->m->MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        char addr[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
        fprintf(stderr, "prov serve: listening on http://%s:%u/ (%ld workers, max body %zu bytes)\n", addr,
                inf ? inf->port : ntohs(sa.sin_port), started, s->max_body);
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, "prov serve: %s: finishing the requests under way\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        s->m->MHD_quiesce_daemon(d); /* no new connections */
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_mutex_unlock(&s->mu);
        double until = now() + 4.0 * timeout;
        while (atomic_load(&s->inflight) > 0 && now() < until) usleep(10000);
        rc = 0;
    }
    /* workers drain the queue (resuming what they finish), then stop; one
     * still busy past its budget is waited for 4x --timeout at most */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    double until2 = now() + 4.0 * timeout;
    while (s->workers > 0 && now() < until2) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 1;
        pthread_cond_timedwait(&s->done_cv, &s->mu, &dl);
    }
    long left = s->workers;
    pthread_mutex_unlock(&s->mu);
    if (reaping) pthread_join(reap, NULL);
    if (d) s->m->MHD_stop_daemon(d);
    if (left) {
        /* a worker stuck in a verification: the process exits under it */
        fprintf(stderr, "prov serve: %ld verification(s) still running at exit\n", left);
        fflush(stderr);
        _exit(rc == 0 ? 0 : EXIT_ERROR);
    }
    if (atomic_load(&s->n_timeouts) || atomic_load(&s->n_shut) || atomic_load(&s->n_client_refused))
        fprintf(stderr, "prov serve: %lu over the time budget, %lu connections shut at their deadline, "
                        "%lu over a client's share of connections\n",
                (unsigned long)atomic_load(&s->n_timeouts), (unsigned long)atomic_load(&s->n_shut),
                (unsigned long)atomic_load(&s->n_client_refused));
    free(s->clients);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->cmu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->done_cv);
out:
    if (ms.running) {
        pthread_mutex_lock(&ms.mu);
        ms.stop = 1;
        pthread_cond_signal(&ms.cv);
        pthread_mutex_unlock(&ms.mu);
        pthread_join(ms.th, NULL);
    }
    free(ms.def);
    detect_free(&dc);
    prov_trust_free(trust);
    prov_ctx_free(ctx);
    free(s);
    return rc;
}
