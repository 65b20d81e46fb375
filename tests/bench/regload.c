/* regload.c - load generator and checker for `prov registry serve`.
 *
 *   regload submit URL DIR [--clients N] [--seconds S] [--out FILE]
 *       N concurrent clients (libcurl multi, one connection each) post
 *       fresh register entries (a new key each, signed by the key and by
 *       DIR/registrar.key) to URL/v1/entries for S seconds.  Every
 *       accepted entry is written to FILE as "<key hex> <index>" as soon
 *       as its answer arrives (so the list survives a killed server).
 *       Prints accepted/s and latency percentiles.
 *   regload check DIR FILE
 *       Every entry in FILE is in DIR's published log at its index, none
 *       twice; the whole log verifies (reg_walk, as `prov registry
 *       verify`).  Exit 0 when so, 1 when not, 2 on errors.
 *   regload seqbench DIR1 DIR2 N [BATCH]
 *       The sequencer alone, no HTTP: N register entries are made, then
 *       appended to DIR1 as the server does (signatures verified first, on
 *       all cores, then reg_log_append_verified: state rules, journal,
 *       fdatasync, tiles, checkpoint) and to DIR2 (a copy of DIR1) with
 *       reg_log_append (which verifies inside the sequencer).  Both in
 *       batches of BATCH (default 1000); then both logs are verified.
 *
 * Used by tests/unit/test_regserve.c and tests/bench/registry_serve.sh. */
#include "dl.h"
#include "registry.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct slot {
    CURL *h;
    pbuf entry, answer;
    uint8_t key[32];
    double t0;
} slot;

static size_t on_data(char *p, size_t sz, size_t nm, void *user)
{
    slot *s = user;
    if (s->answer.len + sz * nm > 65536) return 0;
    pbuf_put(&s->answer, p, sz * nm);
    return sz * nm;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A fresh register entry for a new key, signed by it and the registrar. */
static char g_origin[TLOG_NAME_MAX + 1]; /* the log the entries are for */

static int load_origin(const char *dir)
{
    tlog_verifier v;
    if (reg_log_verifier(dir, &v, NULL)) return fprintf(stderr, "regload: %s: no log.pub\n", dir), -1;
    memcpy(g_origin, v.name, sizeof g_origin);
    return 0;
}

static int make_entry(slot *s, const tlog_signer *reg, const uint8_t regpk[32], unsigned long n)
{
    prov_key *k;
    if (prov_key_generate(&k)) return -1;
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REGISTER;
    e.log = (reg_str){g_origin, strlen(g_origin)};
    prov_key_public(k, e.key);
    memcpy(e.registrar, regpk, 32);
    char name[64];
    snprintf(name, sizeof name, "Load Client %lu", n);
    e.name = (reg_str){name, strlen(name)};
    e.org = (reg_str){"Load Test", 9};
    e.checked_by = (reg_str){"in-person", 9};
    e.time = (uint64_t)time(NULL);
    tlog_signer sig[2];
    prov_signer ps;
    int rc = reg_signer_from_key(&sig[0], &ps, k);
    sig[1] = *reg;
    s->entry.len = 0;
    if (!rc) rc = reg_entry_build(&s->entry, &e, sig, 2, NULL);
    memcpy(s->key, e.key, 32);
    tlog_signer_wipe(&sig[0]);
    prov_key_free(k);
    return rc;
}

static int submit(int argc, char **argv)
{
    if (argc < 4) return 2;
    const char *url = argv[2], *dir = argv[3], *out = NULL;
    if (load_origin(dir)) return 2;
    int clients = 8;
    double seconds = 2;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
    }
    if (clients < 1 || clients > 1000) return 2;
    char why[200], path[4096], full[4200];
    const struct prov_curl_api *c = prov_curl(why, sizeof why);
    if (!c) { fprintf(stderr, "regload: %s\n", why); return 2; }
    snprintf(path, sizeof path, "%s/registrar.key", dir);
    prov_key *rk;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    if (prov_key_load(ctx, path, getenv("PROV_REGISTRY_PASSPHRASE"), &rk)) {
        fprintf(stderr, "regload: %s\n", prov_errmsg(ctx));
        return 2;
    }
    uint8_t regpk[32];
    prov_key_public(rk, regpk);
    tlog_signer reg;
    prov_signer rps;
    reg_signer_from_key(&reg, &rps, rk);
    FILE *fo = out ? fopen(out, "a") : NULL;
    if (out && !fo) { perror(out); return 2; }
    snprintf(full, sizeof full, "%s/v1/entries", url);
    CURLM *m = c->curl_multi_init();
    slot *sl = calloc((size_t)clients, sizeof *sl);
    struct curl_slist *hd = c->curl_slist_append(NULL, "Content-Type: text/plain");
    size_t latcap = 1 << 16, nlat = 0;
    double *lat = malloc(latcap * sizeof *lat);
    unsigned long made = 0, ok = 0, refused = 0, failed = 0;
    double t0 = now(), end = t0 + seconds;
    for (int i = 0; i < clients; i++) {
        slot *s = &sl[i];
        pbuf_init(&s->entry), pbuf_init(&s->answer);
        s->h = c->curl_easy_init();
        c->curl_easy_setopt(s->h, CURLOPT_URL, full);
        c->curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, hd);
        c->curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_data);
        c->curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
        c->curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
        c->curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
        c->curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 30L);
        if (make_entry(s, &reg, regpk, made++)) return 2;
        c->curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->entry.p);
        c->curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)s->entry.len);
        s->t0 = now();
        c->curl_multi_add_handle(m, s->h);
    }
    int running = clients;
    while (running) {
        c->curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = c->curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            slot *s;
            c->curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long st = 0;
            c->curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &st);
            double t = now();
            if (msg->data.result != CURLE_OK) failed++;
            else if (st == 200) {
                const char *ix = memmem(s->answer.p, s->answer.len, "\"index\":", 8);
                unsigned long long idx = ix ? strtoull(ix + 8, NULL, 10) : 0;
                ok++;
                if (fo) {
                    char hx[65];
                    sodium_bin2hex(hx, sizeof hx, s->key, 32);
                    fprintf(fo, "%s %llu\n", hx, idx);
                    fflush(fo);
                }
                if (nlat == latcap) lat = realloc(lat, (latcap *= 2) * sizeof *lat);
                lat[nlat++] = t - s->t0;
            } else refused++;
            c->curl_multi_remove_handle(m, s->h);
            s->answer.len = 0;
            if (t < end) {
                /* a failed connection (server down) is retried after a pause */
                if (msg->data.result != CURLE_OK) {
                    struct timespec ts = {0, 20000000L};
                    nanosleep(&ts, NULL);
                }
                if (make_entry(s, &reg, regpk, made++)) return 2;
                c->curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->entry.p);
                c->curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)s->entry.len);
                s->t0 = now();
                c->curl_multi_add_handle(m, s->h);
                running++;
            }
        }
        if (running) c->curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    double el = now() - t0;
    qsort(lat, nlat, sizeof *lat, cmpd);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(size_t)(nlat * 0.99)] : 0;
    printf("regload: %d clients, %.1f s: %lu accepted (%.0f/s), %lu refused, %lu failed; latency p50 %.1f ms, p99 %.1f ms\n",
           clients, el, ok, ok / el, refused, failed, p50 * 1e3, p99 * 1e3);
    for (int i = 0; i < clients; i++) {
        c->curl_easy_cleanup(sl[i].h);
        pbuf_free(&sl[i].entry), pbuf_free(&sl[i].answer);
    }
    c->curl_multi_cleanup(m);
    c->curl_slist_free_all(hd);
    if (fo) fclose(fo);
    free(sl), free(lat);
    tlog_signer_wipe(&reg);
    prov_key_free(rk);
    prov_ctx_free(ctx);
    return ok ? 0 : 1;
}

typedef struct acc {
    uint8_t key[32];
    uint64_t index;
} acc;

static int cmpacc(const void *a, const void *b) { return memcmp(a, b, 32); }

static int cmpidx(const void *a, const void *b)
{
    uint64_t x = ((const acc *)a)->index, y = ((const acc *)b)->index;
    return x < y ? -1 : x > y;
}

static int check(int argc, char **argv)
{
    if (argc != 4) return 2;
    FILE *f = fopen(argv[3], "r");
    if (!f) { perror(argv[3]); return 2; }
    size_t n = 0, cap = 1024;
    acc *a = malloc(cap * sizeof *a);
    char hx[80];
    unsigned long long idx;
    while (fscanf(f, "%79s %llu", hx, &idx) == 2) {
        if (n == cap) a = realloc(a, (cap *= 2) * sizeof *a);
        if (reg_key_parse(hx, strlen(hx), a[n].key)) { fprintf(stderr, "regload: bad line %zu\n", n + 1); return 2; }
        a[n++].index = idx;
    }
    fclose(f);
    prov_ctx *ctx;
    reg_state *st;
    prov_ctx_new(&ctx);
    reg_state_new(&st);
    reg_walk_stats ws;
    if (reg_walk(argv[2], true, st, &ws, ctx)) {
        printf("regload check: the log does not verify: %s\n", prov_errmsg(ctx));
        return 1;
    }
    int bad = 0;
    qsort(a, n, sizeof *a, cmpacc);
    for (size_t i = 1; i < n; i++)
        if (!memcmp(a[i].key, a[i - 1].key, 32)) bad = printf("regload check: a key was acknowledged twice\n");
    qsort(a, n, sizeof *a, cmpidx);
    for (size_t i = 1; i < n; i++)
        if (a[i].index == a[i - 1].index) bad = printf("regload check: index %llu acknowledged twice\n", (unsigned long long)a[i].index);
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        const reg_ident *d = reg_state_find(st, a[i].key);
        if (!d || d->index != a[i].index) missing++;
    }
    if (missing) bad = printf("regload check: %zu acknowledged entries are not in the log at their index\n", missing);
    printf("regload check: %zu acknowledged entries, %s; the log holds %llu entries and verifies\n", n,
           bad ? "NOT all in the log once" : "each in the log exactly once at its index", (unsigned long long)ws.size);
    reg_state_free(st);
    prov_ctx_free(ctx);
    free(a);
    return bad ? 1 : 0;
}

/* ---- the sequencer alone ---------------------------------------------- */

typedef struct vjob {
    pbuf *es;
    reg_entry *out;
    size_t from, to;
    int bad;
} vjob;

static void *vwork(void *arg)
{
    vjob *j = arg;
    for (size_t i = j->from; i < j->to; i++)
        if (reg_entry_parse(j->es[i].p, j->es[i].len, true, &j->out[i], NULL)) j->bad++;
    return NULL;
}

static int open_log(const char *dir, prov_key **lk, prov_signer *ps, tlog_signer *ls, reg_log **l)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/log.key", dir);
    tlog_verifier v;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    int rc = prov_key_load(ctx, path, getenv("PROV_REGISTRY_PASSPHRASE"), lk);
    if (!rc) rc = reg_log_verifier(dir, &v, ctx);
    if (!rc) {
        uint8_t pk[32];
        prov_key_public(*lk, pk);
        prov_signer_from_key(ps, *lk);
        rc = tlog_signer_external(ls, v.name, TLOG_ALG_ED25519, pk, ps);
    }
    if (!rc) rc = reg_log_open(l, dir, ls, ctx);
    if (rc) fprintf(stderr, "regload: %s: %s\n", dir, prov_errmsg(ctx));
    prov_ctx_free(ctx);
    return rc;
}

static int seqbench(int argc, char **argv)
{
    if (argc < 5) return 2;
    const char *d1 = argv[2], *d2 = argv[3];
    size_t n = (size_t)atol(argv[4]), B = argc > 5 ? (size_t)atol(argv[5]) : 1000;
    if (n < 1 || B < 1 || load_origin(d1)) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/registrar.key", d1);
    prov_key *rk;
    if (prov_key_load(NULL, path, getenv("PROV_REGISTRY_PASSPHRASE"), &rk)) return 2;
    uint8_t regpk[32];
    prov_key_public(rk, regpk);
    tlog_signer reg;
    prov_signer rps;
    reg_signer_from_key(&reg, &rps, rk);
    pbuf *es = calloc(n, sizeof *es);
    const uint8_t **ps = calloc(n, sizeof *ps);
    size_t *ls = calloc(n, sizeof *ls);
    reg_entry *pe = calloc(n, sizeof *pe);
    int *rcs = calloc(n, sizeof *rcs);
    uint64_t *idx = calloc(n, sizeof *idx);
    double t = now();
    for (size_t i = 0; i < n; i++) {
        slot s;
        memset(&s, 0, sizeof s);
        pbuf_init(&s.entry);
        if (make_entry(&s, &reg, regpk, i)) return 2;
        es[i] = s.entry, ps[i] = es[i].p, ls[i] = es[i].len;
    }
    printf("seqbench: %zu register entries made in %.1f s\n", n, now() - t);
    /* (1) verification on all cores, as the server's workers do */
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = nc < 1 ? 1 : nc > 64 ? 64 : (size_t)nc;
    pthread_t th[64];
    vjob jobs[64];
    t = now();
    for (size_t k = 0; k < nt; k++) {
        jobs[k] = (vjob){es, pe, n * k / nt, n * (k + 1) / nt, 0};
        pthread_create(&th[k], NULL, vwork, &jobs[k]);
    }
    int bad = 0;
    for (size_t k = 0; k < nt; k++) pthread_join(th[k], NULL), bad += jobs[k].bad;
    double tv = now() - t;
    if (bad) { fprintf(stderr, "regload: %d entries do not verify\n", bad); return 2; }
    /* (2) the sequencer with verified entries */
    prov_key *lk1, *lk2;
    prov_signer lps1, lps2;
    tlog_signer ls1, ls2;
    reg_log *l1, *l2;
    if (open_log(d1, &lk1, &lps1, &ls1, &l1) || open_log(d2, &lk2, &lps2, &ls2, &l2)) return 2;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    t = now();
    for (size_t i = 0; i < n; i += B) {
        size_t m = n - i < B ? n - i : B;
        if (reg_log_append_verified(l1, ps + i, ls + i, pe + i, m, rcs + i, idx + i, NULL, false, ctx)) {
            fprintf(stderr, "regload: %s\n", prov_errmsg(ctx));
            return 2;
        }
        for (size_t k = i; k < i + m; k++)
            if (rcs[k]) { fprintf(stderr, "regload: entry %zu refused\n", k); return 2; }
    }
    double ta = now() - t;
    /* (3) the old path: verification inside the sequencer */
    t = now();
    for (size_t i = 0; i < n; i += B) {
        size_t m = n - i < B ? n - i : B;
        if (reg_log_append(l2, ps + i, ls + i, m, NULL, NULL, ctx)) {
            fprintf(stderr, "regload: %s\n", prov_errmsg(ctx));
            return 2;
        }
    }
    double tb = now() - t;
    reg_log_close(l1), reg_log_close(l2);
    /* (4) both logs verify */
    reg_walk_stats w1, w2;
    t = now();
    int r1 = reg_walk(d1, true, NULL, &w1, ctx), r2 = r1 ? r1 : reg_walk(d2, true, NULL, &w2, ctx);
    double tw = now() - t;
    if (r1 || r2 || w1.size != n || w2.size != n || memcmp(w1.root, w2.root, 32)) {
        printf("seqbench: the logs do NOT verify: %s\n", prov_errmsg(ctx));
        return 1;
    }
    printf("seqbench: signature checks (2 Ed25519 a register entry) on %zu threads: %.0f entries/s\n", nt, n / tv);
    printf("seqbench: sequencer, entries verified beforehand (state rules, journal + fdatasync, tiles, checkpoint;\n"
           "          batches of %zu): %.0f entries/s\n", B, n / ta);
    printf("seqbench: sequencer verifying inside (reg_log_append, baseline): %.0f entries/s\n", n / tb);
    printf("seqbench: both logs verify (%zu entries each, same root; %.0f entries/s verifying)\n", n, 2 * n / tw);
    for (size_t i = 0; i < n; i++) pbuf_free(&es[i]);
    free(es), free(ps), free(ls), free(pe), free(rcs), free(idx);
    tlog_signer_wipe(&reg), tlog_signer_wipe(&ls1), tlog_signer_wipe(&ls2);
    prov_key_free(rk), prov_key_free(lk1), prov_key_free(lk2);
    prov_ctx_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 2;
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "submit")) rc = submit(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "check")) rc = check(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "seqbench")) rc = seqbench(argc, argv);
    else
        fprintf(stderr, "usage: regload submit URL DIR [--clients N] [--seconds S] [--out FILE]\n"
                        "       regload check DIR FILE\n"
                        "       regload seqbench DIR1 DIR2 N [BATCH]\n");
    return rc;
}
