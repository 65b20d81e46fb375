/* witness.c - a c2sp.org/tlog-witness: cosigns a log's new checkpoint only
 * when it is consistent with the last one it cosigned for that log, and
 * the client side that asks witnesses for cosignatures.
 *
 * POST /add-checkpoint, body:
 *   old <size>\n  <base64 consistency-proof hash>\n ...  \n  <signed checkpoint>
 * Replies: 200 and the cosignature line (tlog-cosignature, Ed25519 0x04);
 * 400 malformed; 403 not signed by the log's key; 404 unknown log (origin);
 * 409 (text/x.tlog.size, "<size>\n") when old is not the size the witness
 * has, or a checkpoint of that size with another root; 422 when the proof
 * does not verify.  The state (the last cosigned checkpoint, one file per
 * log) is written crash-safely (temporary file, fsync, rename, fsync of the
 * folder) before the cosignature leaves, so a restart never cosigns a fork
 * of what it already cosigned. */
#include "dl.h"
#include "hash.h"
#include "mirror.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX (TLOG_NOTE_MAX + 8192)

struct witness {
    const struct prov_mhd_api *M;
    struct MHD_Daemon *d;
    char *state;
    tlog_signer cosigner;
    witness_log *logs;
    size_t nlogs;
    pthread_mutex_t mu;
};

static void state_path(const witness *w, const char *origin, char *out, size_t cap)
{
    uint8_t h[32];
    sha256(origin, strlen(origin), h);
    char hex[33];
    for (int i = 0; i < 16; i++) sprintf(hex + 2 * i, "%02x", h[i]);
    snprintf(out, cap, "%s/log-%s", w->state, hex);
}

/* The last cosigned checkpoint's size and root (0 and the empty root when
 * none). */
static int load_state(witness *w, const witness_log *lg, uint64_t *size, uint8_t root[32], prov_ctx *ctx)
{
    char path[4200];
    state_path(w, lg->log.name, path, sizeof path);
    *size = 0;
    tlog_empty_root(root);
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : prov_seterr(ctx, PROV_EIO, "%s: %s", path, strerror(errno));
    uint8_t *buf = malloc(TLOG_NOTE_MAX);
    tlog_note *note = malloc(sizeof *note);
    int rc = buf && note ? 0 : PROV_ENOMEM;
    size_t n = rc ? 0 : fread(buf, 1, TLOG_NOTE_MAX, f);
    fclose(f);
    tlog_checkpoint cp;
    if (!rc && (rc = tlog_checkpoint_open(buf, n, lg->log.name, &lg->log, NULL, 0, note, &cp, ctx)))
        rc = prov_seterr(ctx, PROV_EFORMAT, "%s: damaged witness state", path);
    if (!rc) *size = cp.size, memcpy(root, cp.root, 32);
    free(buf), free(note);
    return rc;
}

static int save_state(witness *w, const witness_log *lg, const uint8_t *p, size_t n, prov_ctx *ctx)
{
    char path[4200], tmp[4220];
    state_path(w, lg->log.name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? PROV_EIO : 0;
    while (!rc && n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) rc = PROV_EIO;
        else p += k, n -= (size_t)k;
    }
    if (!rc && fsync(fd)) rc = PROV_EIO;
    if (fd >= 0) close(fd);
    if (!rc && rename(tmp, path)) rc = PROV_EIO;
    if (!rc) {
        int dfd = open(w->state, O_RDONLY | O_DIRECTORY);
        if (dfd < 0 || fsync(dfd)) rc = PROV_EIO;
        if (dfd >= 0) close(dfd);
    }
    if (rc) {
        unlink(tmp);
        return prov_seterr(ctx, PROV_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}

static int reply(unsigned *status, unsigned code, pbuf *out, const char *msg)
{
    *status = code;
    if (msg) pbuf_puts(out, msg), pbuf_putc(out, '\n');
    return 0;
}

int witness_handle(witness *w, const uint8_t *body, size_t len, unsigned *status, pbuf *out, prov_ctx *ctx)
{
    /* old <size> */
    const uint8_t *end = body + len, *p = body;
    const uint8_t *nl = memchr(p, '\n', len);
    uint64_t old;
    if (len > BODY_MAX || !nl || nl - p < 5 || memcmp(p, "old ", 4) || tlog_parse_u64((const char *)p + 4, (size_t)(nl - p - 4), &old))
        return reply(status, 400, out, "malformed request: the first line must be old <size>");
    p = nl + 1;
    uint8_t proof[TLOG_MAX_PROOF * 32];
    size_t np = 0;
    for (;;) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return reply(status, 400, out, "malformed request: no blank line before the checkpoint");
        if (nl == p) { p++; break; }
        size_t got;
        if (np == TLOG_MAX_PROOF || tlog_b64_decode((const char *)p, (size_t)(nl - p), proof + 32 * np, 32, &got) || got != 32)
            return reply(status, 400, out, "malformed request: bad proof line");
        np++;
        p = nl + 1;
    }
    size_t nlen = (size_t)(end - p);
    const uint8_t *o_end = memchr(p, '\n', nlen);
    if (!o_end) return reply(status, 400, out, "malformed request: no checkpoint");
    const witness_log *lg = NULL;
    for (size_t i = 0; i < w->nlogs && !lg; i++)
        if (w->logs[i].log.name_len == (size_t)(o_end - p) && !memcmp(w->logs[i].log.name, p, w->logs[i].log.name_len)) lg = &w->logs[i];
    if (!lg) return reply(status, 404, out, "unknown log");
    tlog_note *note = malloc(sizeof *note);
    if (!note) return PROV_ENOMEM;
    tlog_checkpoint cp;
    int rc = tlog_checkpoint_open(p, nlen, lg->log.name, &lg->log, NULL, 0, note, &cp, ctx);
    if (rc) {
        free(note);
        return reply(status, rc == PROV_ENOTFOUND || rc == TLOG_EVERIFY ? 403 : 400, out, "the checkpoint is not signed by the log");
    }
    pthread_mutex_lock(&w->mu);
    uint64_t have;
    uint8_t root[32];
    if ((rc = load_state(w, lg, &have, root, ctx))) goto out;
    if (old != have) {
        *status = 409;
        pbuf_printf(out, "%llu\n", (unsigned long long)have);
        goto out;
    }
    if (cp.size < old) { reply(status, 400, out, "the checkpoint is smaller than old"); goto out; }
    if (cp.size == old) {
        if (memcmp(cp.root, root, 32)) { *status = 409, pbuf_printf(out, "%llu\n", (unsigned long long)have); goto out; }
        if (np) { reply(status, 422, out, "a proof between equal sizes must be empty"); goto out; }
    } else if (old == 0) {
        if (np) { reply(status, 422, out, "a proof from size 0 must be empty"); goto out; }
    } else if (tlog_verify_consistency(old, cp.size, proof, np, root, cp.root)) {
        reply(status, 422, out, "the consistency proof does not verify");
        goto out;
    }
    if (cp.size > have || old == 0) {
        if ((rc = save_state(w, lg, p, nlen, ctx))) goto out;
    }
    rc = tlog_cosig_line(out, &w->cosigner, (uint64_t)time(NULL), note->text, note->text_len);
    if (!rc) *status = 200;
out:
    pthread_mutex_unlock(&w->mu);
    free(note);
    return rc;
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct req {
    pbuf body;
    bool over;
} req;

static void done_cb(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    req *r = *con_cls;
    if (r) pbuf_free(&r->body), free(r);
    *con_cls = NULL;
}

static enum MHD_Result send_text(witness *w, struct MHD_Connection *c, unsigned code, const char *type, const void *p,
                                 size_t n)
{
    struct MHD_Response *res = w->M->MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!res) return MHD_NO;
    w->M->MHD_add_response_header(res, "Content-Type", type);
    enum MHD_Result ok = w->M->MHD_queue_response(c, code, res);
    w->M->MHD_destroy_response(res);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **con_cls)
{
    witness *w = cls;
    if (strcmp(url, "/add-checkpoint")) return send_text(w, c, 404, "text/plain", "not found\n", 10);
    if (strcmp(method, "POST")) return send_text(w, c, 405, "text/plain", "POST only\n", 10);
    req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        pbuf_init(&r->body);
        *con_cls = r;
        return MHD_YES;
    }
    if (*data_size) {
        if (r->body.len + *data_size > BODY_MAX) r->over = true;
        else pbuf_put(&r->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (r->over || r->body.err) return send_text(w, c, 413, "text/plain", "too large\n", 10);
    pbuf out;
    pbuf_init(&out);
    unsigned status = 500;
    prov_ctx ctx = {{0}};
    int rc = witness_handle(w, r->body.p ? r->body.p : (const uint8_t *)"", r->body.len, &status, &out, &ctx);
    enum MHD_Result ok;
    if (rc || out.err) ok = send_text(w, c, 500, "text/plain", ctx.msg, strlen(ctx.msg));
    else ok = send_text(w, c, status, status == 409 ? "text/x.tlog.size" : "text/plain; charset=utf-8", out.p ? (void *)out.p : "", out.len);
    pbuf_free(&out);
    return ok;
}

int witness_new(witness **out, const char *state, const tlog_signer *cosigner, const witness_log *logs,
                size_t nlogs, prov_ctx *ctx)
{
    if (cosigner->alg != TLOG_ALG_COSIG) return prov_seterr(ctx, PROV_EINVAL, "the witness key must be a cosigner (alg 0x04)");
    witness *w = calloc(1, sizeof *w);
    if (!w) return PROV_ENOMEM;
    w->state = strdup(state);
    w->cosigner = *cosigner;
    w->logs = malloc((nlogs ? nlogs : 1) * sizeof *logs);
    if (!w->state || !w->logs) { witness_stop(w); return PROV_ENOMEM; }
    memcpy(w->logs, logs, nlogs * sizeof *logs);
    w->nlogs = nlogs;
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return 0;
}

int witness_start(witness **out, const char *addr, unsigned port, unsigned *bound, const char *state,
                  const tlog_signer *cosigner, const witness_log *logs, size_t nlogs, prov_ctx *ctx)
{
    char why[200];
    const struct prov_mhd_api *M = prov_mhd(why, sizeof why);
    if (!M) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s", why);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) return prov_seterr(ctx, PROV_EINVAL, "%s: not an IPv4 address", addr);
    witness *w;
    int rc = witness_new(&w, state, cosigner, logs, nlogs, ctx);
    if (rc) return rc;
    w->M = M;
    w->d = M->MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, w,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, done_cb, w,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                               MHD_OPTION_END);
    if (!w->d) {
        witness_stop(w);
        return prov_seterr(ctx, PROV_EIO, "cannot listen on %s:%u", addr, port);
    }
    const union MHD_DaemonInfo *di = M->MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    if (bound) *bound = di ? di->port : port;
    *out = w;
    return 0;
}

void witness_stop(witness *w)
{
    if (!w) return;
    if (w->d) w->M->MHD_stop_daemon(w->d);
    free(w->state), free(w->logs);
    tlog_signer_wipe(&w->cosigner);
    free(w);
}

/* ---- client --------------------------------------------------------------- */

int witness_request(const char *dir, const char *url, const tlog_verifier *wkey, pbuf *note, prov_ctx *ctx)
{
    uint64_t old = 0;
    return witness_request_from(dir, url, wkey, note, &old, 30000, ctx);
}

int witness_request_from(const char *dir, const char *url, const tlog_verifier *wkey, pbuf *note, uint64_t *oldp,
                         long timeout_ms, prov_ctx *ctx)
{
    tlog_verifier lv, wk;
    if (wkey->alg == TLOG_ALG_ED25519) tlog_verifier_as_cosigner(wkey, &wk);
    else wk = *wkey;
    int rc = reg_log_verifier(dir, &lv, ctx);
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    tlog_checkpoint cp;
    if (!rc) rc = tlog_checkpoint_open(note->p, note->len, lv.name, &lv, NULL, 0, n, &cp, ctx);
    char full[4200];
    snprintf(full, sizeof full, "%s%sadd-checkpoint", url, url[0] && url[strlen(url) - 1] == '/' ? "" : "/");
    uint64_t old = *oldp;
    pbuf body, resp;
    pbuf_init(&body), pbuf_init(&resp);
    for (int attempt = 0; !rc && attempt < 2; attempt++) {
        uint8_t proof[TLOG_MAX_PROOF * 32];
        size_t np = 0;
        if (old > cp.size) { rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: the witness has size %llu, more than the log's %llu", url, (unsigned long long)old, (unsigned long long)cp.size); break; }
        if (old && old < cp.size) {
            tlog_tilesrc *ts = NULL;
            if (!(rc = tlog_tilesrc_new(&ts, tlog_dir_read, (void *)dir, cp.size))) {
                tlog_hashsrc hs = tlog_tilesrc_hashsrc(ts);
                rc = tlog_prove_consistency(&hs, old, cp.size, proof, &np);
            }
            tlog_tilesrc_free(ts);
            if (rc) { rc = prov_seterr(ctx, rc, "%s: cannot build the consistency proof from the tiles", dir); break; }
        }
        body.len = resp.len = 0;
        pbuf_printf(&body, "old %llu\n", (unsigned long long)old);
        for (size_t i = 0; i < np; i++) tlog_b64_encode(&body, proof + 32 * i, 32), pbuf_putc(&body, '\n');
        pbuf_putc(&body, '\n');
        pbuf_put(&body, note->p, note->len);
        long status = 0;
        if (body.err) { rc = body.err; break; }
        if ((rc = mfetch_post_t(full, body.p, body.len, timeout_ms, &status, &resp, 65536, ctx))) break;
        pbuf_putc(&resp, 0), resp.len--;
        if (status == 409 && attempt == 0) {
            if (tlog_parse_u64((char *)resp.p, resp.len && resp.p[resp.len - 1] == '\n' ? resp.len - 1 : resp.len, &old))
                rc = prov_seterr(ctx, PROV_EFORMAT, "%s: a 409 without a size", url);
            continue;
        }
        if (status != 200) {
            rc = prov_seterr(ctx, status == 409 || status == 422 ? TLOG_EVERIFY : PROV_EIO, "%s: the witness refused (HTTP %ld): %.200s", url,
                             status, resp.p ? (char *)resp.p : "");
            break;
        }
        /* the reply's line(s), checked against the witness key */
        pbuf nn;
        pbuf_init(&nn);
        pbuf_put(&nn, note->p, note->len);
        pbuf_put(&nn, resp.p, resp.len);
        tlog_checkpoint cp2;
        rc = nn.err ? nn.err : tlog_checkpoint_open(nn.p, nn.len, lv.name, &lv, &wk, 1, n, &cp2, ctx);
        if (!rc && tlog_note_count_by(n, &wk, 1) != 1) rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: no valid cosignature by %s in the reply", url, wk.name);
        if (!rc) {
            pbuf_free(note);
            *note = nn;
            *oldp = cp.size;
        } else {
            pbuf_free(&nn);
            if (rc != TLOG_EVERIFY) rc = prov_seterr(ctx, TLOG_EVERIFY, "%s: bad reply: %s", url, prov_errmsg(ctx));
        }
        break;
    }
    pbuf_free(&body), pbuf_free(&resp);
    free(n);
    return rc;
}
