/* cmd_serve.c - prov serve: verification over HTTP (libmicrohttpd, loaded
 * at run time through lib/dl.h) and the viewer page.
 *
 * libmicrohttpd's threads only move bytes: they read request bodies into a
 * bounded buffer, then suspend the connection and hand the body to a pool of
 * verification workers (one per core by default), which resume it with the
 * answer.  So a slow client or a long body never holds a verifier, and a
 * hostile file holds one verifier, not the server.  Bounds: the body size
 * (413, from Content-Length before reading, or as soon as it is exceeded),
 * the memory all bodies may take together (503), an idle timeout and a
 * whole-request deadline per connection, a cap on connections. */
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
    "  --timeout S       a connection idle this long is closed, and a request\n"
    "                    must arrive whole within 4x this (default 30)\n"
    "  --max-connections N  (default 1000)\n"
    "  --no-detect       do not run the AI-image detector on unsigned and\n"
    "                    invalid uploads;  --model FILE, --device: as prov scan\n"
    "SIGTERM or SIGINT: stop accepting, finish the requests under way, exit 0.\n"
    "See docs/serve.md.\n";

/* The page, built in by cli/web.c. */
extern const char prov_web_index[];
extern const unsigned long prov_web_index_len;

enum { RQ_RECEIVING, RQ_QUEUED, RQ_DONE };

typedef struct request {
    struct request *next; /* in the work queue */
    struct MHD_Connection *conn;
    int state;
    uint8_t *buf;
    size_t len, cap, reserved; /* reserved: bytes counted against max-memory */
    int thumbnails;
    char name[256];
    double deadline;
    char *json; /* the answer */
    size_t json_len;
    unsigned status;
    int queued; /* was handed to a worker (counted in inflight) */
} request;

typedef struct server {
    const struct prov_mhd_api *m;
    vo_config cfg;
    size_t max_body, max_memory;
    unsigned timeout;
    atomic_size_t mem_used;
    atomic_long inflight; /* requests handed to workers and not yet answered */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    request *head, *tail;
    int stopping;
} server;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Count n more bytes against the memory budget; 0 ok, -1 over it. */
static int reserve(server *s, request *r, size_t n)
{
    size_t used = atomic_fetch_add(&s->mem_used, n);
    if (used + n > s->max_memory) {
        atomic_fetch_sub(&s->mem_used, n);
        return -1;
    }
    r->reserved += n;
    return 0;
}

static void release(server *s, request *r)
{
    free(r->buf);
    r->buf = NULL;
    atomic_fetch_sub(&s->mem_used, r->reserved);
    r->reserved = 0;
}

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

/* ---------------------------------------------------------------- workers */
static void *worker(void *arg)
{
    server *s = arg;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return NULL;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping) pthread_cond_wait(&s->cv, &s->mu);
        request *r = s->head;
        if (r) {
            s->head = r->next;
            if (!s->head) s->tail = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (!r) break; /* stopping and nothing left */
        vo_input in = {.buf = r->buf, .len = r->len, .name = r->name, .thumbnails = r->thumbnails};
        vo_result res;
        if (verify_one(ctx, &s->cfg, &in, &res) == 0) {
            r->json = res.json; /* handed over: freed by the response */
            r->json_len = res.json_len;
            res.json = NULL;
            r->status = 200;
        } else {
            r->status = 500;
        }
        vo_result_free(&res);
        release(s, r); /* the body is no longer needed */
        r->state = RQ_DONE;
        s->m->MHD_resume_connection(r->conn);
    }
    prov_ctx_free(ctx);
    return NULL;
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
        r->deadline = now() + 4.0 * s->timeout;
        const char *q = s->m->MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "thumbnails");
        r->thumbnails = q && !strcmp(q, "1");
        q = s->m->MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
        snprintf(r->name, sizeof r->name, "%s", q && *q ? q : "upload");
        *con_cls = r;
        if (want) { /* the whole body at once, counted now: busy means 503 before reading it */
            if (reserve(s, r, (size_t)want) || !(r->buf = malloc((size_t)want))) {
                release(s, r);
                return respond_error(s, c, 503, "busy: too many bytes in flight, retry");
            }
            r->cap = (size_t)want;
        }
        return MHD_YES;
    }
    if (r->state == RQ_RECEIVING && *upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (now() > r->deadline) return MHD_NO; /* a trickling body: drop the connection */
        if (r->len + n > s->max_body) {
            /* no Content-Length (chunked) and over the limit: libmicrohttpd
             * 0.9 cannot answer before the body ends, and reading an
             * endless body to its end is what we refuse: close now */
            release(s, r);
            return MHD_NO;
        }
        if (r->len + n > r->cap) { /* no Content-Length (chunked): grow, counted */
            size_t cap = r->cap ? r->cap : 1 << 16;
            while (cap < r->len + n) cap *= 2;
            if (cap > s->max_body) cap = s->max_body;
            uint8_t *nb = reserve(s, r, cap - r->cap) ? NULL : realloc(r->buf, cap);
            if (!nb) {
                release(s, r);
                r->state = RQ_DONE;
                r->status = 503;
                return respond_error(s, c, 503, "busy: too many bytes in flight, retry");
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
    if (r->state == RQ_DONE && r->status == 500) return respond_error(s, c, 500, "out of memory");
    return MHD_YES; /* an answer is already queued */
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    request *r = *con_cls;
    if (!r) return;
    int queued = r->queued;
    release(s, r);
    free(r->json);
    free(r);
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
    long threads = 0, timeout = 30, maxconn = 1000;
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
    s->timeout = (unsigned)timeout;
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
    pthread_cond_init(&s->cv, NULL);
    pthread_t th[256];
    long started = 0;
    for (; started < threads; started++)
        if (pthread_create(&th[started], NULL, worker, s)) break;
    unsigned io = threads > 4 ? 4 : (unsigned)threads; /* I/O threads: bytes only */
    struct MHD_Daemon *d = NULL;
    if (started)
        d = s->m->MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler,
            s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, io,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxconn,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
            MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
    if (!d) {
        err("cannot listen on %s: %s", listen_at, started ? "address in use or not allowed" : "no threads");
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
    /* workers drain the queue (resuming what they finish), then stop */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (long i = 0; i < started; i++) pthread_join(th[i], NULL);
    if (d) s->m->MHD_stop_daemon(d);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
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
