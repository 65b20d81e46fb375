/* registry_server.c - the registry's write server: HTTP (libmicrohttpd,
 * dlopen'd), the sequencer thread, registration requests.  Design:
 * registry_server.h; endpoints: docs/registry.md. */
#include "registry_server.h"
#include "dl.h"
#include "hash.h"
#include "mirror.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LIST_MAX 1000      /* pending requests listed at once */
#define PENDING_MAX 100000 /* requests kept: anyone can make keys, so bounded */
#define DECIDED_KEEP_S (7 * 86400) /* an accepted or refused request is kept this long
                                      (the applicant polls for the outcome), then deleted */
#define SWEEP_EVERY_S 3600.0

/* One queued entry, inside its connection's state. */
typedef struct sub {
    struct sub *next;
    struct MHD_Connection *mc;
    reg_entry e; /* verified, pointing into the connection's body */
    int rc;
    uint64_t index;
    char why[160];
    pbuf proof;
    bool done;
} sub;

enum { R_NONE, R_ENTRY, R_REQUEST, R_REFUSE, R_APPROVE };

/* Per connection (MHD's con_cls): the body read so far. */
typedef struct conn {
    int route;
    char id[17]; /* R_REFUSE, R_APPROVE */
    char addr[64]; /* the client's address (R_REQUEST) */
    pbuf body;
    bool too_big, queued;
    sub s;
} conn;

struct reg_server {
    const struct prov_mhd_api *mhd;
    struct MHD_Daemon *d;
    reg_server_opts o;
    char *dir;
    reg_log *log;
    reg_policy policy;
    reg_ca ca; /* loaded once: leaves are issued from several threads */
    pthread_mutex_t log_mu; /* the log and its state: sequencer vs readers */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv, idle_cv;
    sub *qhead, **qtail;
    size_t qn;
    bool stopping, seq_done;
    int broken; /* an I/O error: the log must be reopened; answer 503 */
    pthread_t seq;
    atomic_ulong inflight;
    atomic_ulong tmpseq;
    atomic_ulong npending; /* requests in DIR/pending */
    /* requests waiting per client address (a bound per applicant), and
     * the request files: req_mu */
    pthread_mutex_t req_mu;
    struct addrcount { char a[64]; unsigned n; } *addrs;
    size_t naddrs, capaddrs;
    double last_sweep;
    uint64_t nentries, nbatches;
    double t_append, t_publish; /* seconds spent, for the stats */
    bool unpublished;           /* signed, not yet written (sequencer's) */
    double last_publish;
    uint64_t npublish;
    uint64_t *wsize; /* per witness: the size it was last seen to have */
    double *wretry;  /* per witness: not asked again before this (mono) */
    uint64_t ncosig_missing; /* cosignatures a publish went without */
};

/* ---- small helpers ---------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum MHD_Result send_buf(reg_server *s, struct MHD_Connection *mc, unsigned code,
                                const char *type, const void *p, size_t n)
{
    struct MHD_Response *r = s->mhd->MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    s->mhd->MHD_add_response_header(r, "Content-Type", type);
    s->mhd->MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = s->mhd->MHD_queue_response(mc, code, r);
    s->mhd->MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(reg_server *s, struct MHD_Connection *mc, unsigned code, pbuf *b)
{
    pbuf_putc(b, '\n');
    enum MHD_Result ok = b->err ? send_buf(s, mc, 500, "application/json", "{\"error\":\"out of memory\"}\n", 26)
                                : send_buf(s, mc, code, "application/json", b->p, b->len);
    pbuf_free(b);
    return ok;
}

static enum MHD_Result send_err(reg_server *s, struct MHD_Connection *mc, unsigned code, const char *msg)
{
    pbuf b;
    pbuf_init(&b);
    pbuf_puts(&b, "{\"error\":");
    pbuf_json_str(&b, msg, strlen(msg));
    pbuf_putc(&b, '}');
    return send_json(s, mc, code, &b);
}

/* Which HTTP status a library error gets. */
static unsigned status_of(int rc)
{
    switch (rc) {
    case PROV_ELIMIT: return 413;
    case TLOG_EVERIFY: return 403;
    case PROV_EINVAL: return 409; /* a state rule: already registered, ... */
    case PROV_ENOMEM:
    case PROV_EIO: return 503;
    default: return 400;
    }
}

/* Write a file whole (temporary, fsync, rename, fsync of the folder). */
static int put_file(reg_server *s, const char *rel, const void *p, size_t n)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", s->dir, rel);
    snprintf(tmp, sizeof tmp, "%s.tmp.%lu", path, (unsigned long)atomic_fetch_add(&s->tmpseq, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = fd < 0;
    const uint8_t *q = p;
    while (!rc && n) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = 1;
        else q += w, n -= (size_t)w;
    }
    if (!rc) rc = fdatasync(fd) != 0;
    if (fd >= 0) close(fd);
    if (!rc) rc = rename(tmp, path) != 0;
    if (rc) {
        unlink(tmp);
        return PROV_EIO;
    }
    char *sl = strrchr(path, '/');
    *sl = 0;
    fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) rc = fsync(fd), close(fd);
    return rc ? PROV_EIO : 0;
}

static int get_file(reg_server *s, const char *rel, pbuf *out, size_t max)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO;
    uint8_t buf[8192];
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0 && out->len <= max) pbuf_put(out, buf, (size_t)k);
    close(fd);
    if (k < 0) return PROV_EIO;
    return out->len > max ? PROV_ELIMIT : out->err;
}

static bool is_id(const char *p, size_t n)
{
    if (n != 16) return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return false;
    return true;
}

static char *cstr(reg_str r)
{
    char *c = malloc(r.n + 1);
    if (c) memcpy(c, r.p, r.n), c[r.n] = 0;
    return c;
}

static void json_field(pbuf *b, const char *k, const char *v, size_t n)
{
    pbuf_printf(b, ",\"%s\":", k);
    pbuf_json_str(b, v, n);
}

/* The client's address: the peer's, or, when the peer is on loopback (the
 * nginx in front), the X-Real-IP it sets. */
static void client_addr(reg_server *s, struct MHD_Connection *mc, char out[64])
{
    snprintf(out, 64, "unknown");
    const union MHD_ConnectionInfo *ci = s->mhd->MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    bool loop = false;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, out, 64);
        loop = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, 64);
        loop = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    const char *xr = loop ? s->mhd->MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Real-IP") : NULL;
    if (xr && *xr && strlen(xr) < 64 && strspn(xr, "0123456789abcdefABCDEF.:") == strlen(xr)) snprintf(out, 64, "%s", xr);
}

/* per-address request counts (req_mu held) */
static struct addrcount *addr_slot(reg_server *s, const char *a, bool make)
{
    for (size_t i = 0; i < s->naddrs; i++)
        if (!strcmp(s->addrs[i].a, a)) return &s->addrs[i];
    if (!make) return NULL;
    if (s->naddrs == s->capaddrs) {
        size_t nc = s->capaddrs ? s->capaddrs * 2 : 64;
        struct addrcount *na = realloc(s->addrs, nc * sizeof *na);
        if (!na) return NULL;
        s->addrs = na, s->capaddrs = nc;
    }
    struct addrcount *c = &s->addrs[s->naddrs++];
    snprintf(c->a, sizeof c->a, "%s", a);
    c->n = 0;
    return c;
}

static void addr_add(reg_server *s, const char *a, int d)
{
    struct addrcount *c = addr_slot(s, a, d > 0);
    if (!c) return;
    if (d > 0) c->n += (unsigned)d;
    else c->n = c->n >= (unsigned)-d ? c->n - (unsigned)-d : 0;
    if (!c->n) *c = s->addrs[--s->naddrs]; /* keep the table to addresses with requests */
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t h[32];
    sha256(p, n, h);
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) out[2 * i] = x[h[i] >> 4], out[2 * i + 1] = x[h[i] & 15];
    out[64] = 0;
}

static uint64_t now_unix(void) { return (uint64_t)time(NULL); }

/* Delete request id and what goes with it (req_mu held). */
static void request_remove(reg_server *s, const char *id)
{
    static const char *const ext[] = {"", ".from", ".approved", ".refused", ".chain.pem"};
    char p[4300], from[64] = "";
    snprintf(p, sizeof p, "%s/pending/%s.from", s->dir, id);
    FILE *f = fopen(p, "r");
    if (f) {
        if (fgets(from, sizeof from, f)) from[strcspn(from, "\n")] = 0;
        fclose(f);
    }
    snprintf(p, sizeof p, "%s/pending/%s", s->dir, id);
    if (unlink(p) == 0) {
        atomic_fetch_sub(&s->npending, 1);
        if (*from) addr_add(s, from, -1);
    }
    for (int i = 1; i < 5; i++) {
        snprintf(p, sizeof p, "%s/pending/%s%s", s->dir, id, ext[i]);
        unlink(p);
    }
}

static int64_t mtime_of(const char *dir, const char *id, const char *ext)
{
    char p[4300];
    struct stat sb;
    snprintf(p, sizeof p, "%s/pending/%s%s", dir, id, ext);
    return stat(p, &sb) ? -1 : (int64_t)sb.st_mtime;
}

/* Expire requests (req_mu held): an accepted one once its key has been
 * in the log DECIDED_KEEP_S, a refused one DECIDED_KEEP_S after the
 * refusal, an undecided one after request_days; an approval the applicant
 * did not complete in REG_TIME_PAST is dropped (the request waits again). */
static void sweep(reg_server *s)
{
    char pd[4200];
    snprintf(pd, sizeof pd, "%s/pending", s->dir);
    DIR *dp = opendir(pd);
    if (!dp) return;
    int64_t now = (int64_t)now_unix(), ttl = (int64_t)s->o.request_days * 86400;
    char (*gone)[17] = NULL;
    size_t ng = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!is_id(de->d_name, strlen(de->d_name))) continue;
        char rel[64];
        snprintf(rel, sizeof rel, "pending/%.16s", de->d_name);
        pbuf req;
        pbuf_init(&req);
        reg_entry e;
        bool ok = !get_file(s, rel, &req, REG_ENTRY_MAX) && !reg_request_parse(req.p, req.len, &e, NULL);
        pbuf_free(&req);
        int64_t t0 = mtime_of(s->dir, de->d_name, ""), tr = mtime_of(s->dir, de->d_name, ".refused"),
                ta = mtime_of(s->dir, de->d_name, ".approved");
        uint64_t accepted_at = 0;
        if (ok) {
            pthread_mutex_lock(&s->log_mu);
            const reg_ident *d = reg_state_find(reg_log_state(s->log), e.key);
            if (d) accepted_at = d->time ? d->time : 1;
            pthread_mutex_unlock(&s->log_mu);
        }
        bool drop = !ok || (accepted_at && (int64_t)accepted_at + DECIDED_KEEP_S < now) ||
                    (!accepted_at && tr >= 0 && tr + DECIDED_KEEP_S < now) ||
                    (!accepted_at && tr < 0 && t0 >= 0 && t0 + ttl < now && (ta < 0 || ta + REG_TIME_PAST < now));
        if (drop) {
            if (ng == cap) {
                size_t nc = cap ? cap * 2 : 64;
                char(*g)[17] = realloc(gone, nc * sizeof *g);
                if (!g) break;
                gone = g, cap = nc;
            }
            memcpy(gone[ng], de->d_name, 16), gone[ng++][16] = 0;
        } else if (!accepted_at && ta >= 0 && ta + REG_TIME_PAST < now) {
            char p[4300];
            snprintf(p, sizeof p, "%s/pending/%.16s.approved", s->dir, de->d_name);
            unlink(p);
        }
    }
    closedir(dp);
    for (size_t i = 0; i < ng; i++) request_remove(s, gone[i]);
    free(gone);
    s->last_sweep = mono();
}

/* ---- the sequencer ---------------------------------------------------- */

static void run_batch(reg_server *s, sub *list)
{
    size_t n = 0;
    for (sub *x = list; x; x = x->next) n++;
    const uint8_t **ps = malloc(n * sizeof *ps);
    size_t *ls = malloc(n * sizeof *ls);
    reg_entry *es = malloc(n * sizeof *es);
    int *rcs = malloc(n * sizeof *rcs);
    uint64_t *idx = malloc(n * sizeof *idx);
    char(*why)[160] = malloc(n * sizeof *why);
    sub **subs = malloc(n * sizeof *subs);
    int rc = ps && ls && es && rcs && idx && why && subs ? 0 : PROV_ENOMEM;
    size_t i = 0;
    for (sub *x = list; x && !rc; x = x->next, i++) {
        conn *c = (conn *)((char *)x - offsetof(conn, s));
        subs[i] = x, ps[i] = c->body.p, ls[i] = c->body.len, es[i] = x->e, rcs[i] = 0;
    }
    prov_ctx ctx = {{0}};
    double t0 = mono();
    pthread_mutex_lock(&s->log_mu);
    if (!rc && s->broken) rc = s->broken;
    if (!rc) rc = reg_log_append_verified(s->log, ps, ls, es, n, rcs, idx, why, true, &ctx);
    if (rc && !s->broken) s->broken = rc, fprintf(stderr, "prov registry serve: %s: %s\n", s->dir, ctx.msg);
    size_t m = 0;
    for (i = 0; i < n && !rc; i++) {
        if (rcs[i]) continue;
        s->nentries++, m++;
        pbuf_init(&subs[i]->proof);
        if (reg_log_proof(s->log, idx[i], &subs[i]->proof, NULL)) pbuf_free(&subs[i]->proof);
    }
    if (!rc) s->nbatches++;
    double t1 = mono();
    s->t_append += t1 - t0;
    pthread_mutex_unlock(&s->log_mu);
    i = 0;
    for (sub *x = list, *nx; x; x = nx, i++) {
        nx = x->next;
        if (rc) {
            x->rc = PROV_EIO;
            snprintf(x->why, sizeof x->why, "the log cannot be written; try again later");
        } else {
            x->rc = rcs[i], x->index = idx[i];
            if (rcs[i]) memcpy(x->why, why[i], sizeof x->why);
        }
        x->done = true;
        s->mhd->MHD_resume_connection(x->mc);
    }
    if (!rc && m) s->unpublished = true;
    free(ps), free(ls), free(es), free(rcs), free(idx), free(why), free(subs);
}

/* Entries are answered once journalled (durable), with proofs against the
 * checkpoint signed in memory; the tiles and that checkpoint are written
 * here: when no submission waits, else at most every publish_ms. */
static void publish(reg_server *s)
{
    prov_ctx ctx = {{0}};
    double t0 = mono();
    pthread_mutex_lock(&s->log_mu);
    int rc = s->broken ? 0 : reg_log_publish(s->log, &ctx);
    if (rc) s->broken = rc, fprintf(stderr, "prov registry serve: %s: %s\n", s->dir, ctx.msg);
    s->unpublished = false;
    s->last_publish = mono();
    s->t_publish += s->last_publish - t0;
    s->npublish++;
    pthread_mutex_unlock(&s->log_mu);
}

/* reg_log's cosign hook (the sequencer, log_mu held): each witness in
 * turn, each exchange bounded by witness_ms (a 409 adds one retry); a
 * publish goes without what it did not get, and a witness that failed is
 * left alone for WITNESS_BACKOFF_S, so that a dead one does not slow
 * every publish. */
#define WITNESS_BACKOFF_S 10.0
static void cosign(void *user, const char *dir, pbuf *note)
{
    reg_server *s = user;
    for (size_t i = 0; i < s->o.nwitnesses; i++) {
        if (mono() < s->wretry[i]) {
            s->ncosig_missing++;
            continue;
        }
        prov_ctx ctx = {{0}};
        int rc = witness_request_from(dir, s->o.witness_urls[i], &s->o.witness_keys[i], note, &s->wsize[i],
                                      (long)s->o.witness_ms, &ctx);
        if (rc) {
            s->ncosig_missing++;
            s->wsize[i] = 0; /* ask it from scratch next time (a 409 says its size) */
            s->wretry[i] = mono() + WITNESS_BACKOFF_S;
            fprintf(stderr, "prov registry serve: witness %s: %s; published without its cosignature "
                    "(asked again in %.0f s)\n", s->o.witness_urls[i], ctx.msg, WITNESS_BACKOFF_S);
        }
    }
}

static void *sequencer(void *arg)
{
    reg_server *s = arg;
    pthread_mutex_lock(&s->q_mu);
    for (;;) {
        while (!s->qhead && !s->stopping) {
            if (s->unpublished) {
                pthread_mutex_unlock(&s->q_mu);
                publish(s);
                pthread_mutex_lock(&s->q_mu);
                continue;
            }
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += 60;
            pthread_cond_timedwait(&s->q_cv, &s->q_mu, &dl);
            if (mono() - s->last_sweep >= SWEEP_EVERY_S) {
                pthread_mutex_unlock(&s->q_mu);
                pthread_mutex_lock(&s->req_mu);
                sweep(s);
                pthread_mutex_unlock(&s->req_mu);
                pthread_mutex_lock(&s->q_mu);
            }
        }
        if (!s->qhead) break; /* stopping, and all is answered */
        /* let a batch gather: batch_ms after its first entry, or batch_max */
        if (s->o.batch_ms && !s->stopping) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            long ns = dl.tv_nsec + (long)s->o.batch_ms * 1000000L;
            dl.tv_sec += ns / 1000000000L, dl.tv_nsec = ns % 1000000000L;
            while (s->qn < s->o.batch_max && !s->stopping &&
                   pthread_cond_timedwait(&s->q_cv, &s->q_mu, &dl) != ETIMEDOUT) {
            }
        }
        sub *list = s->qhead;
        s->qhead = NULL, s->qtail = &s->qhead, s->qn = 0;
        pthread_mutex_unlock(&s->q_mu);
        run_batch(s, list);
        if (s->unpublished && mono() - s->last_publish >= s->o.publish_ms / 1e3) publish(s);
        pthread_mutex_lock(&s->q_mu);
    }
    s->seq_done = true;
    pthread_mutex_unlock(&s->q_mu);
    if (s->unpublished) publish(s);
    return NULL;
}

/* Queue c's entry; false when the server is stopping. */
static bool enqueue(reg_server *s, conn *c, struct MHD_Connection *mc)
{
    pthread_mutex_lock(&s->q_mu);
    bool ok = !s->stopping;
    if (ok) {
        c->queued = true;
        c->s.mc = mc;
        c->s.next = NULL;
        *s->qtail = &c->s, s->qtail = &c->s.next;
        atomic_fetch_add(&s->inflight, 1);
        /* suspended before the sequencer can see it, so its resume is
         * never early */
        s->mhd->MHD_suspend_connection(mc);
        if (++s->qn == 1 || s->qn >= s->o.batch_max) pthread_cond_signal(&s->q_cv);
    }
    pthread_mutex_unlock(&s->q_mu);
    return ok;
}

/* ---- endpoints -------------------------------------------------------- */

/* A leaf chain for key k named as its identity in the state says. */
static char *issue_chain(reg_server *s, const reg_pub *k, const char *name, const char *org)
{
    char *pem = NULL;
    prov_ctx ctx = {{0}};
    if (reg_ca_issue_with(&s->ca, &ctx, k, name, org, s->o.cert_days, &pem))
        fprintf(stderr, "prov registry serve: cannot issue a certificate: %s\n", ctx.msg);
    return pem;
}

/* The answer to a queued entry, once sequenced. */
static enum MHD_Result answer_entry(reg_server *s, struct MHD_Connection *mc, conn *c)
{
    sub *x = &c->s;
    atomic_fetch_sub(&s->inflight, 1);
    pthread_cond_broadcast(&s->idle_cv);
    if (x->rc) return send_err(s, mc, status_of(x->rc), x->why);
    pbuf b;
    pbuf_init(&b);
    pbuf_printf(&b, "{\"index\":%llu,\"kind\":\"%s\"", (unsigned long long)x->index, reg_kind_name(x->e.kind));
    if (x->proof.p) json_field(&b, "proof", (char *)x->proof.p, x->proof.len);
    pbuf_free(&x->proof);
    if (x->e.kind == REG_REGISTER || x->e.kind == REG_ROTATE) {
        char *name = NULL, *org = NULL, *pem = NULL;
        const uint8_t *pk = x->e.kind == REG_REGISTER ? x->e.key : x->e.new_key;
        const reg_pub *kp = x->e.kind == REG_REGISTER ? &x->e.key_pub : &x->e.new_key_pub;
        if (x->e.kind == REG_REGISTER) {
            name = cstr(x->e.name);
            if (x->e.org.p) org = cstr(x->e.org);
        } else {
            pthread_mutex_lock(&s->log_mu);
            const reg_ident *d = reg_state_find(reg_log_state(s->log), pk);
            if (d && d->name) name = strdup(d->name);
            if (d && d->org) org = strdup(d->org);
            pthread_mutex_unlock(&s->log_mu);
        }
        if (name) pem = issue_chain(s, kp, name, org);
        if (pem) json_field(&b, "chain", pem, strlen(pem));
        prov_free(pem);
        free(name), free(org);
    }
    pbuf_putc(&b, '}');
    return send_json(s, mc, 200, &b);
}

/* POST /v1/entries, once the body is in: verify here (in parallel, in
 * the worker threads), then queue for the sequencer. */
static enum MHD_Result post_entry(reg_server *s, struct MHD_Connection *mc, conn *c)
{
    prov_ctx ctx = {{0}};
    int rc = reg_entry_parse(c->body.p, c->body.len, true, &c->s.e, &ctx);
    if (rc) return send_err(s, mc, status_of(rc), ctx.msg);
    const reg_entry *e = &c->s.e;
    if (e->kind == REG_REGISTER && !reg_policy_registrar(&s->policy, e->registrar))
        return send_err(s, mc, 403, "register: the registrar is not accredited by the policy");
    if (e->kind == REG_FLAG && !reg_policy_flagger(&s->policy, e->flagger))
        return send_err(s, mc, 403, "flag: the flagger is not accredited by the policy");
    if (reg_entry_fresh(e, now_unix(), &ctx)) return send_err(s, mc, 400, ctx.msg);
    if (!enqueue(s, c, mc)) return send_err(s, mc, 503, "the server is shutting down");
    return MHD_YES;
}

/* The status of request id: pending (with the request), approved (with
 * the registrar's entry, for the applicant to sign), accepted (with chain
 * and proof), refused (with the reason); 404. */
static enum MHD_Result get_request(reg_server *s, struct MHD_Connection *mc, const char *id)
{
    char rel[64];
    snprintf(rel, sizeof rel, "pending/%s", id);
    pbuf req, b;
    pbuf_init(&req), pbuf_init(&b);
    int rc = get_file(s, rel, &req, REG_ENTRY_MAX);
    reg_entry e;
    if (rc == PROV_ENOTFOUND) {
        pbuf_free(&req);
        return send_err(s, mc, 404, "no such request");
    }
    if (!rc) rc = reg_request_parse(req.p, req.len, &e, NULL);
    if (rc) {
        pbuf_free(&req);
        return send_err(s, mc, 500, "the stored request is damaged");
    }
    char *name = NULL, *org = NULL;
    uint64_t index = 0;
    bool accepted = false;
    int kstatus = REG_ACTIVE;
    pbuf proof;
    pbuf_init(&proof);
    pthread_mutex_lock(&s->log_mu);
    const reg_ident *d = reg_state_find(reg_log_state(s->log), e.key);
    if (d && !d->has_from && !reg_log_proof(s->log, d->index, &proof, NULL)) {
        accepted = true;
        index = d->index;
        kstatus = d->status;
        name = d->name ? strdup(d->name) : NULL, org = d->org ? strdup(d->org) : NULL;
    }
    pthread_mutex_unlock(&s->log_mu);
    pbuf refusal, approval;
    pbuf_init(&refusal), pbuf_init(&approval);
    char rrel[80], arel[80], rid[17];
    reg_str reason = {NULL, 0};
    snprintf(rrel, sizeof rrel, "pending/%s.refused", id);
    snprintf(arel, sizeof arel, "pending/%s.approved", id);
    bool refused = !accepted && get_file(s, rrel, &refusal, REG_ENTRY_MAX) == 0 &&
                   reg_refusal_parse(refusal.p, refusal.len, e.registrar, rid, &reason, NULL) == 0;
    reg_entry ap;
    bool approved = !accepted && !refused && get_file(s, arel, &approval, REG_ENTRY_MAX) == 0 &&
                    reg_approval_parse(approval.p, approval.len, &ap, NULL) == 0 && reg_approval_matches(&e, &ap) &&
                    ap.time + REG_TIME_PAST >= now_unix();
    pbuf_printf(&b, "{\"id\":\"%s\",\"status\":\"%s\"", id,
                accepted ? "accepted" : refused ? "refused" : approved ? "approved" : "pending");
    if (refused) {
        json_field(&b, "reason", reason.p, reason.n);
    } else if (approved) {
        /* the registrar's entry: the applicant adds its signature and
         * submits it to /v1/entries */
        json_field(&b, "entry", (char *)approval.p, approval.len);
    } else if (!accepted) {
        json_field(&b, "entry", (char *)req.p, req.len);
    } else if (kstatus != REG_ACTIVE) {
        /* never a certificate for a key that is no longer active */
        pbuf_printf(&b, ",\"index\":%llu,\"key_status\":\"%s\"", (unsigned long long)index,
                    kstatus == REG_ROTATED ? "rotated" : "revoked");
    } else {
        /* the chain is issued once and kept, so every poll gets the same */
        char crel[80];
        snprintf(crel, sizeof crel, "pending/%s.chain.pem", id);
        pbuf chain;
        pbuf_init(&chain);
        if (get_file(s, crel, &chain, 65536)) {
            char *pem = name ? issue_chain(s, &e.key_pub, name, org) : NULL;
            pbuf_free(&chain);
            pbuf_init(&chain);
            if (pem) {
                pbuf_puts(&chain, pem);
                put_file(s, crel, pem, strlen(pem));
            }
            prov_free(pem);
        }
        pbuf_printf(&b, ",\"index\":%llu,\"key_status\":\"active\"", (unsigned long long)index);
        if (chain.len) json_field(&b, "chain", (char *)chain.p, chain.len);
        if (proof.len) json_field(&b, "proof", (char *)proof.p, proof.len);
        pbuf_free(&chain);
    }
    pbuf_putc(&b, '}');
    free(name), free(org);
    pbuf_free(&proof), pbuf_free(&req), pbuf_free(&refusal), pbuf_free(&approval);
    return send_json(s, mc, 200, &b);
}

/* POST /v1/requests: a register entry signed by its key alone, for this
 * log, dated now, without checked-by (the registrar's to set), at most
 * requests_per_addr waiting from one client address. */
static enum MHD_Result post_request(reg_server *s, struct MHD_Connection *mc, conn *c)
{
    prov_ctx ctx = {{0}};
    reg_entry e;
    int rc = reg_request_parse(c->body.p, c->body.len, &e, &ctx);
    if (rc) return send_err(s, mc, status_of(rc), ctx.msg);
    if (!reg_policy_registrar(&s->policy, e.registrar))
        return send_err(s, mc, 403, "request: the registrar it names is not accredited by the policy");
    size_t ol = strlen(s->policy.origin);
    if (e.log.n != ol || memcmp(e.log.p, s->policy.origin, ol))
        return send_err(s, mc, 400, "request: made for another log");
    if (e.checked_by.p)
        return send_err(s, mc, 400, "request: checked-by is set by the registrar who checks you, not in a request");
    if (reg_entry_fresh(&e, now_unix(), &ctx)) return send_err(s, mc, 400, ctx.msg);
    char id[17], rel[64];
    reg_request_id(id, e.key);
    pthread_mutex_lock(&s->log_mu);
    bool known = reg_state_find(reg_log_state(s->log), e.key) != NULL;
    pthread_mutex_unlock(&s->log_mu);
    if (known) return send_err(s, mc, 409, "the key is already in the registry");
    snprintf(rel, sizeof rel, "pending/%s", id);
    pthread_mutex_lock(&s->req_mu);
    pbuf old;
    pbuf_init(&old);
    int grc = get_file(s, rel, &old, REG_ENTRY_MAX);
    bool same = grc == 0 && old.len == c->body.len && !memcmp(old.p, c->body.p, old.len);
    bool fresh = grc == PROV_ENOTFOUND; /* else the key's own request is replaced */
    pbuf_free(&old);
    unsigned code = 0;
    const char *why = NULL;
    if (fresh) {
        struct addrcount *ac = addr_slot(s, c->addr, false);
        if (ac && ac->n >= s->o.requests_per_addr) {
            code = 429, why = "too many requests waiting from your address; wait for a registrar";
        } else {
            if (atomic_load(&s->npending) >= PENDING_MAX && mono() - s->last_sweep > 60) sweep(s);
            if (atomic_load(&s->npending) >= PENDING_MAX) code = 503, why = "too many pending requests; try again later";
        }
    }
    if (!code && !same) {
        char pd[4200];
        snprintf(pd, sizeof pd, "%s/pending", s->dir);
        char frel[80];
        snprintf(frel, sizeof frel, "pending/%s.from", id);
        if ((mkdir(pd, 0700) && errno != EEXIST) || (fresh && put_file(s, frel, c->addr, strlen(c->addr))) ||
            put_file(s, rel, c->body.p, c->body.len)) {
            code = 503, why = "cannot store the request";
        } else if (fresh) {
            atomic_fetch_add(&s->npending, 1);
            addr_add(s, c->addr, 1);
        }
    }
    if (!code) {
        /* filed (again): a refusal no longer holds, and an approval of
         * other content never does; the registrar looks anew */
        char rp[4300];
        snprintf(rp, sizeof rp, "%s/pending/%s.refused", s->dir, id);
        unlink(rp);
        if (!same) {
            snprintf(rp, sizeof rp, "%s/pending/%s.approved", s->dir, id);
            unlink(rp);
        }
    }
    pthread_mutex_unlock(&s->req_mu);
    if (code) return send_err(s, mc, code, why);
    pbuf b;
    pbuf_init(&b);
    pbuf_printf(&b, "{\"id\":\"%s\",\"status\":\"pending\"}", id);
    return send_json(s, mc, 202, &b);
}

/* The stored request id, parsed (its text in *buf). */
static int load_request(reg_server *s, const char *id, pbuf *buf, reg_entry *e)
{
    char rel[80];
    snprintf(rel, sizeof rel, "pending/%s", id);
    pbuf_init(buf);
    int rc = get_file(s, rel, buf, REG_ENTRY_MAX);
    if (!rc) rc = reg_request_parse(buf->p, buf->len, e, NULL) ? PROV_EFORMAT : 0;
    if (rc) pbuf_free(buf);
    return rc;
}

/* Store the registrar's decision (kind "approved" or "refused") for the
 * request with this key, replacing the other kind: 0, 409 when the key is
 * in the log already, 503 when it cannot be stored. */
static int store_decision(reg_server *s, const conn *c, const uint8_t key[32], const char *kind, const char *other)
{
    pthread_mutex_lock(&s->log_mu);
    bool known = reg_state_find(reg_log_state(s->log), key) != NULL;
    pthread_mutex_unlock(&s->log_mu);
    if (known) return 409;
    char rel[80], op[4300];
    snprintf(rel, sizeof rel, "pending/%s.%s", c->id, kind);
    snprintf(op, sizeof op, "%s/pending/%s.%s", s->dir, c->id, other);
    pthread_mutex_lock(&s->req_mu);
    int prc = put_file(s, rel, c->body.p, c->body.len);
    if (!prc) unlink(op);
    pthread_mutex_unlock(&s->req_mu);
    return prc ? 503 : 0;
}

/* POST /v1/requests/ID/refuse: a refusal signed by the registrar the
 * request names. */
static enum MHD_Result post_refuse(reg_server *s, struct MHD_Connection *mc, conn *c)
{
    char rid[17];
    pbuf req;
    reg_entry e;
    int rc = load_request(s, c->id, &req, &e);
    pbuf_free(&req); /* e's keys are copies; its text is not used */
    if (rc) return send_err(s, mc, rc == PROV_ENOTFOUND ? 404 : 500, rc == PROV_ENOTFOUND ? "no such request" : "the stored request is damaged");
    prov_ctx ctx = {{0}};
    reg_str reason;
    if ((rc = reg_refusal_parse(c->body.p, c->body.len, e.registrar, rid, &reason, &ctx)))
        return send_err(s, mc, status_of(rc), ctx.msg);
    if (strcmp(rid, c->id)) return send_err(s, mc, 400, "refusal: names another request");
    if (!reg_policy_registrar(&s->policy, e.registrar))
        return send_err(s, mc, 403, "refusal: the registrar is no longer accredited by the policy");
    int st = store_decision(s, c, e.key, "refused", "approved");
    if (st) return send_err(s, mc, st, st == 409 ? "the request was accepted already" : "cannot store the refusal");
    pbuf b;
    pbuf_init(&b);
    pbuf_printf(&b, "{\"id\":\"%s\",\"status\":\"refused\"", c->id);
    json_field(&b, "reason", reason.p, reason.n);
    pbuf_putc(&b, '}');
    return send_json(s, mc, 200, &b);
}

/* POST /v1/requests/ID/approve: the registrar's entry for the request
 * (reg_approval_parse), with the header X-Request-SHA256 naming the exact
 * request the registrar reviewed: a request changed since is not approved. */
static enum MHD_Result approve_checked(reg_server *s, struct MHD_Connection *mc, conn *c, const reg_entry *ep,
                                       const char *hx);

static enum MHD_Result post_approve(reg_server *s, struct MHD_Connection *mc, conn *c)
{
    pbuf req;
    reg_entry e;
    int rc = load_request(s, c->id, &req, &e);
    if (rc) return send_err(s, mc, rc == PROV_ENOTFOUND ? 404 : 500, rc == PROV_ENOTFOUND ? "no such request" : "the stored request is damaged");
    char hx[65];
    sha256_hex(req.p, req.len, hx);
    /* e's strings point into req: it is freed on every way out */
    enum MHD_Result r = approve_checked(s, mc, c, &e, hx);
    pbuf_free(&req);
    return r;
}

static enum MHD_Result approve_checked(reg_server *s, struct MHD_Connection *mc, conn *c, const reg_entry *ep,
                                       const char *hx)
{
    const reg_entry e = *ep;
    reg_entry ap;
    int rc;
    const char *want = s->mhd->MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Request-SHA256");
    if (!want) return send_err(s, mc, 400, "approve: the X-Request-SHA256 header (the request reviewed) is missing");
    if (strcmp(want, hx)) {
        char m[200];
        snprintf(m, sizeof m, "approve: the request changed since it was reviewed (now sha256 %s); review it again", hx);
        return send_err(s, mc, 409, m);
    }
    prov_ctx ctx = {{0}};
    if ((rc = reg_approval_parse(c->body.p, c->body.len, &ap, &ctx))) return send_err(s, mc, status_of(rc), ctx.msg);
    if (memcmp(ap.registrar, e.registrar, 32) || !reg_policy_registrar(&s->policy, ap.registrar))
        return send_err(s, mc, 403, "approve: not by the accredited registrar the request names");
    if (!reg_approval_matches(&e, &ap))
        return send_err(s, mc, 409, "approve: the entry does not keep the request's key, name, org and contact");
    if (reg_entry_fresh(&ap, now_unix(), &ctx)) return send_err(s, mc, 400, ctx.msg);
    int st = store_decision(s, c, e.key, "approved", "refused");
    if (st) return send_err(s, mc, st, st == 409 ? "the request was accepted already" : "cannot store the approval");
    pbuf b;
    pbuf_init(&b);
    pbuf_printf(&b, "{\"id\":\"%s\",\"status\":\"approved\"}", c->id);
    return send_json(s, mc, 200, &b);
}

/* Is this request a read by an accredited registrar (the Authorization
 * header: "Prov-Registrar <base64 of a signed read note>")?  0, or the
 * HTTP status to answer with *why. */
static unsigned registrar_read(reg_server *s, struct MHD_Connection *mc, const char *what, char why[200])
{
    const char *h = s->mhd->MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Prov-Registrar ", 15)) {
        snprintf(why, 200, "a registrar's signed read is needed (prov registry pending URL --registrar-key KEY)");
        return 401;
    }
    uint8_t note[1024];
    size_t n;
    prov_ctx ctx = {{0}};
    uint8_t pk[32];
    if (tlog_b64_decode(h + 15, strlen(h + 15), note, sizeof note, &n) ||
        reg_readauth_check(note, n, what, s->policy.origin, now_unix(), pk, &ctx)) {
        snprintf(why, 200, "authorization: %.170s", ctx.msg[0] ? ctx.msg : "not base64");
        return 403;
    }
    if (!reg_policy_registrar(&s->policy, pk)) {
        snprintf(why, 200, "authorization: the key is not an accredited registrar");
        return 403;
    }
    return 0;
}

/* GET /v1/requests: the requests waiting for a registrar (their names and
 * contacts: for accredited registrars only). */
static enum MHD_Result list_requests(reg_server *s, struct MHD_Connection *mc)
{
    char why[200];
    unsigned code = registrar_read(s, mc, "requests", why);
    if (code) return send_err(s, mc, code, why);
    char pd[4200];
    snprintf(pd, sizeof pd, "%s/pending", s->dir);
    pbuf b;
    pbuf_init(&b);
    pbuf_puts(&b, "{\"pending\":[");
    DIR *dp = opendir(pd);
    size_t n = 0;
    struct dirent *de;
    while (dp && n < LIST_MAX && (de = readdir(dp))) {
        if (!is_id(de->d_name, strlen(de->d_name))) continue;
        char rel[64];
        snprintf(rel, sizeof rel, "pending/%.16s", de->d_name);
        pbuf req;
        pbuf_init(&req);
        reg_entry e;
        if (get_file(s, rel, &req, REG_ENTRY_MAX) || reg_request_parse(req.p, req.len, &e, NULL)) {
            pbuf_free(&req);
            continue;
        }
        pthread_mutex_lock(&s->log_mu);
        bool known = reg_state_find(reg_log_state(s->log), e.key) != NULL;
        pthread_mutex_unlock(&s->log_mu);
        if (!known && mtime_of(s->dir, de->d_name, ".refused") < 0) {
            char kt[REG_KEYTEXT_MAX], rt[53], hx[65];
            reg_pub_text(kt, &e.key_pub);
            reg_key_text(rt, e.registrar);
            sha256_hex(req.p, req.len, hx);
            pbuf_printf(&b, "%s{\"id\":\"%.16s\",\"sha256\":\"%s\",\"key\":\"%s\",\"registrar\":\"%s\",\"time\":%llu",
                        n ? "," : "", de->d_name, hx, kt, rt, (unsigned long long)e.time);
            json_field(&b, "name", e.name.p, e.name.n);
            if (e.org.p) json_field(&b, "org", e.org.p, e.org.n);
            if (e.contact.p) json_field(&b, "contact", e.contact.p, e.contact.n);
            pbuf_printf(&b, ",\"approved\":%s}", mtime_of(s->dir, de->d_name, ".approved") >= 0 ? "true" : "false");
            n++;
        }
        pbuf_free(&req);
    }
    if (dp) closedir(dp);
    pbuf_puts(&b, "]}");
    return send_json(s, mc, 200, &b);
}

/* GET /v1/keys/<key ID prefix | 64 hex>: who a key is (for revoking and
 * flagging by key ID over a URL). */
static enum MHD_Result get_key(reg_server *s, struct MHD_Connection *mc, const char *q)
{
    const reg_ident *hits[2];
    uint8_t pk[32];
    size_t n = 0;
    pbuf b;
    pbuf_init(&b);
    pthread_mutex_lock(&s->log_mu);
    const reg_state *st = reg_log_state(s->log);
    if (!reg_key_parse(q, strlen(q), pk)) n = (hits[0] = reg_state_find(st, pk)) != NULL;
    else if (strlen(q) >= 4 && strlen(q) <= 16) n = reg_state_search(st, q, hits, 2);
    if (n == 1) {
        char kt[REG_KEYTEXT_MAX], id[17];
        reg_pub kp;
        reg_ident_pub(hits[0], &kp);
        reg_pub_text(kt, &kp);
        reg_key_id(id, hits[0]->key);
        const char *stn[] = {"active", "rotated", "revoked"};
        pbuf_printf(&b, "{\"key\":\"%s\",\"key_id\":\"%s\",\"status\":\"%s\",\"entry\":%llu", kt, id,
                    stn[hits[0]->status % 3], (unsigned long long)hits[0]->index);
        if (hits[0]->name) json_field(&b, "name", hits[0]->name, strlen(hits[0]->name));
        pbuf_putc(&b, '}');
    }
    pthread_mutex_unlock(&s->log_mu);
    if (n != 1) {
        pbuf_free(&b);
        return send_err(s, mc, n ? 409 : 404, n ? "ambiguous key ID: give more digits" : "no such key");
    }
    return send_json(s, mc, 200, &b);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    reg_server *s = cls;
    conn *c = *con_cls;
    bool post = !strcmp(method, "POST");
    if (!c) {
        /* first call: headers only */
        if (!(c = calloc(1, sizeof *c))) return MHD_NO;
        pbuf_init(&c->body);
        *con_cls = c;
        if (post && !strcmp(url, "/v1/entries")) c->route = R_ENTRY;
        else if (post && !strcmp(url, "/v1/requests")) c->route = R_REQUEST;
        else if (post && !strncmp(url, "/v1/requests/", 13) && strlen(url) > 29 && is_id(url + 13, 16) &&
                 (!strcmp(url + 29, "/refuse") || !strcmp(url + 29, "/approve")))
            c->route = url[30] == 'r' ? R_REFUSE : R_APPROVE, memcpy(c->id, url + 13, 16);
        if (c->route == R_REQUEST) client_addr(s, mc, c->addr);
        if (c->route) {
            const char *cl = s->mhd->MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > REG_ENTRY_MAX)
                return send_err(s, mc, 413, "entries are at most 8192 bytes");
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* bounded: what is beyond the limit is read and dropped */
        if (!c->route || c->too_big || c->body.len + *upload_size > REG_ENTRY_MAX) c->too_big = c->route != 0;
        else pbuf_put(&c->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->queued) return c->s.done ? answer_entry(s, mc, c) : MHD_YES;
    if (c->route) {
        if (c->too_big) return send_err(s, mc, 413, "entries are at most 8192 bytes");
        if (c->body.err) return send_err(s, mc, 503, "out of memory");
        if (!c->body.len) return send_err(s, mc, 400, "empty body: send the signed entry");
        switch (c->route) {
        case R_ENTRY: return post_entry(s, mc, c);
        case R_REQUEST: return post_request(s, mc, c);
        case R_APPROVE: return post_approve(s, mc, c);
        default: return post_refuse(s, mc, c);
        }
    }
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strncmp(url, "/v1/", 4) && !get && !post) return send_err(s, mc, 405, "method not allowed");
    if (get && !strcmp(url, "/v1/requests")) return list_requests(s, mc);
    if (get && !strncmp(url, "/v1/requests/", 13) && is_id(url + 13, strlen(url + 13)))
        return get_request(s, mc, url + 13);
    if (get && !strncmp(url, "/v1/keys/", 9) && strlen(url + 9) <= 64) return get_key(s, mc, url + 9);
    if (get && (!strcmp(url, "/v1/policy") || !strcmp(url, "/v1/log.pub"))) {
        /* the same files nginx serves, so that a client needs no nginx */
        pbuf p;
        pbuf_init(&p);
        enum MHD_Result r = get_file(s, url + 4, &p, 1 << 20) ? send_err(s, mc, 500, "cannot read the file")
                                                               : send_buf(s, mc, 200, "text/plain; charset=utf-8", p.p, p.len);
        pbuf_free(&p);
        return r;
    }
    if (!strcmp(url, "/v1/entries") || !strcmp(url, "/v1/requests")) return send_err(s, mc, 405, "method not allowed");
    return send_err(s, mc, 404, "no such endpoint (see docs/registry.md)");
}

static void completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    conn *c = *con_cls;
    if (!c) return;
    pbuf_free(&c->body);
    pbuf_free(&c->s.proof);
    free(c);
    *con_cls = NULL;
}

/* ---- start and stop --------------------------------------------------- */

int reg_server_start(reg_server **out, const reg_server_opts *o, prov_ctx *ctx)
{
    char why[200];
    const struct prov_mhd_api *mhd = prov_mhd(why, sizeof why);
    if (!mhd) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s", why);
    reg_server *s = calloc(1, sizeof *s);
    if (!s) return PROV_ENOMEM;
    s->mhd = mhd;
    s->o = *o;
    if (!s->o.batch_max) s->o.batch_max = 4096;
    if (!s->o.timeout_s) s->o.timeout_s = 30;
    if (!s->o.cert_days) s->o.cert_days = 730;
    if (!s->o.request_days) s->o.request_days = 30;
    if (!s->o.requests_per_addr) s->o.requests_per_addr = 20;
    if (!s->o.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->o.threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    s->dir = strdup(o->dir);
    s->qtail = &s->qhead;
    pthread_mutex_init(&s->log_mu, NULL), pthread_mutex_init(&s->q_mu, NULL), pthread_mutex_init(&s->req_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL), pthread_cond_init(&s->idle_cv, NULL);
    int rc = s->dir ? 0 : PROV_ENOMEM;
    bool have_pol = false, have_seq = false, have_ca = false;
    if (!rc) rc = reg_log_open(&s->log, o->dir, o->log, ctx);
    if (!rc && o->nwitnesses) {
        if (!s->o.witness_ms) s->o.witness_ms = 3000;
        s->wsize = calloc(o->nwitnesses, sizeof *s->wsize);
        s->wretry = calloc(o->nwitnesses, sizeof *s->wretry);
        if (!s->wsize || !s->wretry) rc = PROV_ENOMEM;
        else reg_log_set_cosign(s->log, cosign, s);
    }
    if (!rc) {
        char pd[4200];
        snprintf(pd, sizeof pd, "%s/pending", o->dir);
        DIR *dp = opendir(pd);
        struct dirent *de;
        while (dp && (de = readdir(dp))) {
            if (!is_id(de->d_name, strlen(de->d_name))) continue;
            atomic_fetch_add(&s->npending, 1);
            char fp[4300], from[64] = "";
            snprintf(fp, sizeof fp, "%s/%.16s.from", pd, de->d_name);
            FILE *f = fopen(fp, "r");
            if (f) {
                if (fgets(from, sizeof from, f)) from[strcspn(from, "\n")] = 0;
                fclose(f);
            }
            if (*from) addr_add(s, from, 1);
        }
        if (dp) closedir(dp);
    }
    if (!rc && !(rc = reg_policy_load(o->dir, &s->policy, ctx))) have_pol = true;
    if (!rc && !(rc = reg_ca_open(&s->ca, ctx, o->dir, o->ca_key))) have_ca = true;
    if (!rc) sweep(s); /* what expired while the server was down */
    if (!rc) {
        rc = pthread_create(&s->seq, NULL, sequencer, s) ? PROV_ENOMEM : 0;
        have_seq = !rc;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    if (!rc && inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &sa.sin_addr) != 1)
        rc = prov_seterr(ctx, PROV_EINVAL, "--listen: %s is not an IPv4 address", o->host);
    if (!rc) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        s->d = mhd->MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, s,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                     MHD_OPTION_THREAD_POOL_SIZE, s->o.threads,
                                     MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout_s,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                                     MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
        if (!s->d)
            rc = prov_seterr(ctx, PROV_EIO, "cannot listen on %s:%u (in use?)", o->host ? o->host : "127.0.0.1",
                             o->port);
    }
    if (rc) {
        if (have_seq) {
            pthread_mutex_lock(&s->q_mu);
            s->stopping = true;
            pthread_cond_signal(&s->q_cv);
            pthread_mutex_unlock(&s->q_mu);
            pthread_join(s->seq, NULL);
        }
        if (have_pol) reg_policy_free(&s->policy);
        if (have_ca) reg_ca_close(&s->ca);
        reg_log_close(s->log);
        free(s->wsize), free(s->wretry), free(s->addrs);
        free(s->dir);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

unsigned reg_server_port(const reg_server *s)
{
    const union MHD_DaemonInfo *i = s->mhd->MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : s->o.port;
}

int reg_server_stop(reg_server *s, reg_server_stats *st)
{
    if (!s) return 0;
    /* no new entries; the sequencer drains what is queued */
    pthread_mutex_lock(&s->q_mu);
    s->stopping = true;
    pthread_cond_signal(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    pthread_join(s->seq, NULL);
    /* give the workers a moment to send the last answers */
    double t0 = mono();
    pthread_mutex_lock(&s->q_mu);
    while (atomic_load(&s->inflight) && mono() - t0 < 3) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 50000000L;
        if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->idle_cv, &s->q_mu, &dl);
    }
    pthread_mutex_unlock(&s->q_mu);
    s->mhd->MHD_stop_daemon(s->d);
    int rc = s->broken;
    if (st)
        st->entries = s->nentries, st->batches = s->nbatches, st->publishes = s->npublish,
        st->t_append = s->t_append, st->t_publish = s->t_publish, st->cosigs_missing = s->ncosig_missing;
    reg_log_close(s->log);
    reg_policy_free(&s->policy);
    reg_ca_close(&s->ca);
    pthread_mutex_destroy(&s->log_mu), pthread_mutex_destroy(&s->q_mu), pthread_mutex_destroy(&s->req_mu);
    pthread_cond_destroy(&s->q_cv), pthread_cond_destroy(&s->idle_cv);
    free(s->wsize), free(s->wretry), free(s->addrs);
    free(s->dir);
    free(s);
    return rc;
}
