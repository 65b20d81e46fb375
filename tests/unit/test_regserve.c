/* test_regserve.c - `prov registry serve` behind a real nginx on loopback:
 * registration with a registrar approving over the URL, proofs, signing,
 * revoking, bad requests, concurrent clients, kill -9 during a burst.
 * Load and checks of "every acknowledged entry is in the log once" are
 * done by build/regload (tests/bench/regload.c). */
#include "dl.h"
#include "mirror.h"
#include "registry.h"
#include "testutil.h"

#include <sodium.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char P[PATH_MAX], LOAD[PATH_MAX], NGX[PATH_MAX];

static void paths(void)
{
    assert_non_null(realpath(tu_prov_bin(), P));
    snprintf(LOAD, sizeof LOAD, "%s", P);
    strcpy(strrchr(LOAD, '/') + 1, "regload");
    assert_non_null(realpath("tools/nginx-run.sh", NGX));
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A server on DIR/reg, on port (0: any), with more options; its port. */
static unsigned start_server_with(const char *D, unsigned port, const char *more)
{
    /* a subshell waits for the server, to keep its exit status in serve.rc */
    assert_int_equal(tu_sh("cd %s && rm -f serve.out serve.rc && ( (%s registry serve reg --listen 127.0.0.1:%u "
                           "--batch-ms 1 %s > serve.out 2>> serve.err & echo $! > serve.pid; wait $!; echo $? > serve.rc) & )",
                           D, P, port, more), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/serve.out", D);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "r");
        char line[300] = "";
        if (f) {
            if (!fgets(line, sizeof line, f)) line[0] = 0;
            fclose(f);
        }
        const char *c = strstr(line, "127.0.0.1:");
        if (c) return (unsigned)atoi(c + 10);
        pause_ms(50);
    }
    fail_msg("the server did not start (see %s/serve.err)", D);
    return 0;
}

static unsigned start_server(const char *D, unsigned port) { return start_server_with(D, port, ""); }

/* Signal the server; its exit status (waits for it). */
static int stop_server(const char *D, const char *sig)
{
    return tu_sh("cd %s && pid=$(cat serve.pid) && kill -%s $pid && "
                 "for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done; "
                 "! kill -0 $pid 2>/dev/null", D, sig);
}

static unsigned start_nginx(const char *D, unsigned upstream)
{
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int i = 0; i < 10; i++) {
        unsigned port = 20000 + (unsigned)rand() % 40000;
        if (tu_sh("cd %s && bash %s start reg ngx %u 127.0.0.1:%u 2>>nginx.err", D, NGX, port, upstream) == 0)
            return port;
    }
    fail_msg("nginx did not start (see %s/ngx/error.log)", D);
    return 0;
}

static void stop_nginx(const char *D) { tu_sh("cd %s && bash %s stop ngx", D, NGX); }

/* HTTP with libcurl: the status; the body in out (may be NULL). */
static size_t sink(char *p, size_t sz, size_t nm, void *u)
{
    if (u) pbuf_put(u, p, sz * nm);
    return sz * nm;
}

static long http(const char *url, const void *body, size_t len, pbuf *out)
{
    const struct prov_curl_api *c = prov_curl(NULL, 0);
    assert_non_null(c);
    CURL *h = c->curl_easy_init();
    c->curl_easy_setopt(h, CURLOPT_URL, url);
    c->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    c->curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    c->curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (body) {
        c->curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        c->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    long st = 0;
    if (c->curl_easy_perform(h) == CURLE_OK) c->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    c->curl_easy_cleanup(h);
    return st;
}

/* HTTP with one more header (may be NULL). */
static long http_h(const char *url, const void *body, size_t len, const char *header, pbuf *out)
{
    const struct prov_curl_api *c = prov_curl(NULL, 0);
    assert_non_null(c);
    CURL *h = c->curl_easy_init();
    struct curl_slist *hd = header ? c->curl_slist_append(NULL, header) : NULL;
    c->curl_easy_setopt(h, CURLOPT_URL, url);
    c->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    c->curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    c->curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (hd) c->curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (body) {
        c->curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        c->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    long st = 0;
    if (c->curl_easy_perform(h) == CURLE_OK) c->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    if (hd) c->curl_slist_free_all(hd);
    c->curl_easy_cleanup(h);
    return st;
}

#define SERVE_ORIGIN "example.org/serve"

/* A register entry (kind register) for key k naming registrar rpk, signed
 * by the signers given (k alone: a request; the registrar alone: an
 * approval; both: an entry). */
static void reg_text(prov_key *k, const uint8_t rpk[32], const char *name, const char *checked, uint64_t t,
                     const char *log, const tlog_signer *sig, size_t nsig, pbuf *out)
{
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REGISTER;
    e.log = (reg_str){log, strlen(log)};
    prov_key_public(k, e.key);
    memcpy(e.registrar, rpk, 32);
    e.name = (reg_str){name, strlen(name)};
    if (checked) e.checked_by = (reg_str){checked, strlen(checked)};
    e.time = t;
    pbuf_init(out);
    assert_int_equal(reg_entry_build(out, &e, sig, nsig, NULL), 0);
}

static void key_sig(prov_key *k, tlog_signer *s, prov_signer *ps) { assert_int_equal(reg_signer_from_key(s, ps, k), 0); }

static void hex_sha256(const pbuf *b, char out[65])
{
    uint8_t h[32];
    crypto_hash_sha256(h, b->p, b->len);
    sodium_bin2hex(out, 65, h, 32);
}

/* The size of the published checkpoint in DIR. */
static uint64_t log_size(const char *dir)
{
    tlog_verifier v;
    assert_int_equal(reg_log_verifier(dir, &v, NULL), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    size_t n;
    uint8_t *b = tu_read(path, &n);
    tlog_note *note = malloc(sizeof *note);
    tlog_checkpoint cp;
    assert_int_equal(tlog_checkpoint_open(b, n, v.name, &v, NULL, 0, note, &cp, NULL), 0);
    free(note), free(b);
    return cp.size;
}

/* A register entry for a new key; registrar rk (or, when rk is NULL, a
 * stranger's key). */
static void entry_for(prov_key *k, prov_key *rk, pbuf *out)
{
    prov_key *stranger = NULL;
    if (!rk) assert_int_equal(prov_key_generate(&stranger), 0), rk = stranger;
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_REGISTER;
    e.log = (reg_str){"example.org/serve", 17};
    prov_key_public(k, e.key);
    prov_key_public(rk, e.registrar);
    e.name = (reg_str){"Eve Bad", 7};
    e.time = (uint64_t)time(NULL);
    tlog_signer s[2];
    prov_signer p0, p1;
    assert_int_equal(reg_signer_from_key(&s[0], &p0, k), 0);
    assert_int_equal(reg_signer_from_key(&s[1], &p1, rk), 0);
    pbuf_init(out);
    assert_int_equal(reg_entry_build(out, &e, s, 2, NULL), 0);
    prov_key_free(stranger);
}

static void make_registry(const char *D)
{
    assert_int_equal(tu_sh("mkdir -p %s && cp samples/teapot.jpg %s/ && cd %s && "
                           "%s registry init reg --origin example.org/serve --no-encrypt >/dev/null", D, D, D, P), 0);
}

/* ---- the whole story over nginx ----------------------------------------- */

static void test_register_over_url(void **st)
{
    (void)st;
    paths();
    const char *D = tu_path("flow");
    make_registry(D);
    unsigned sp = start_server(D, 0), np = start_nginx(D, sp);
    char U[64], url[200], dir[600];
    snprintf(U, sizeof U, "http://127.0.0.1:%u", np);
    snprintf(dir, sizeof dir, "%s/reg", D);

    /* file the request; a registrar sees it and approves it; the client resumes */
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s keygen -o alice.key --subject Alice >/dev/null", D, P), 0);
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s register --registry %s --key alice.key --name 'Alice Doe' "
                           "--org 'Daily News' --no-wait > filed.txt", D, P, U), 0);
    assert_int_equal(tu_sh("cd %s && grep -q 'waiting for a registrar' filed.txt && test ! -e alice.key.proof", D), 0);
    assert_int_equal(log_size(dir), 0);
    /* the list needs a registrar's signed read */
    assert_int_equal(tu_sh("cd %s && %s registry pending %s 2>/dev/null", D, P, U), 2);
    assert_int_equal(tu_sh("cd %s && %s registry pending %s --registrar-key reg/registrar.key > p.txt && "
                           "grep -q 'Alice Doe, Daily News' p.txt && grep -q 'sha256 [0-9a-f]\\{64\\}' p.txt", D, P, U), 0);
    /* a key the policy does not accredit can neither list nor approve */
    assert_int_equal(tu_sh("cd %s && %s keygen -o mallory.key --subject M --no-encrypt >/dev/null && "
                           "%s registry pending %s --registrar-key mallory.key 2>&1 | grep -q 'not an accredited registrar'",
                           D, P, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s registry approve %s $(awk 'NR==1{print $1}' p.txt) --yes "
                           "--registrar-key mallory.key 2>&1 | grep -q 'names another registrar'", D, P, U), 0);
    assert_int_equal(log_size(dir), 0);
    /* the registrar approves exactly what it reviewed (the hash) and says how it checked */
    assert_int_equal(tu_sh("cd %s && %s registry approve %s $(awk 'NR==1{print $1}' p.txt) "
                           "--sha256 $(awk '/sha256/{print $2; exit}' p.txt) --checked-by passport "
                           "--registrar-key reg/registrar.key | grep -q 'approved (checked: passport)'", D, P, U), 0);
    assert_int_equal(log_size(dir), 0); /* the applicant completes it */
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s register --registry %s --key alice.key --name 'Alice Doe' "
                           "--org 'Daily News' --wait 20 >/dev/null 2>&1", D, P, U), 0);
    assert_int_equal(tu_sh("cd %s && test -s alice.key.chain.pem && test -s alice.key.proof", D), 0);
    assert_int_equal(tu_sh("cd %s && %s registry pending %s --registrar-key reg/registrar.key | grep -q 'no pending'",
                           D, P, U), 0);

    /* the proof verifies with the log's key, and its checkpoint is the one
     * nginx serves */
    pbuf cp;
    pbuf_init(&cp);
    snprintf(url, sizeof url, "%s/checkpoint", U);
    for (int i = 0; i < 50 && log_size(dir) < 1; i++) pause_ms(20);
    assert_int_equal(http(url, NULL, 0, &cp), 200);
    char path[700];
    snprintf(path, sizeof path, "%s/alice.key.proof", D);
    size_t pl;
    uint8_t *proof = tu_read(path, &pl);
    tlog_verifier v;
    assert_int_equal(reg_log_verifier(dir, &v, NULL), 0);
    reg_entry e;
    uint8_t *ent = NULL;
    prov_ctx *ctx;
    prov_ctx_new(&ctx);
    int rc = reg_proof_verify(proof, pl, v.name, &v, &ent, NULL, &e, ctx);
    if (rc) fprintf(stderr, "%s\n", prov_errmsg(ctx));
    assert_int_equal(rc, 0);
    assert_int_equal(e.kind, REG_REGISTER);
    assert_int_equal(e.nsigners, 2);
    /* checked-by and time are the registrar's */
    assert_int_equal(e.checked_by.n, 8);
    assert_memory_equal(e.checked_by.p, "passport", 8);
    tlog_proof *pr = malloc(sizeof *pr);
    assert_int_equal(tlog_proof_parse(proof, pl, pr, NULL), 0);
    assert_int_equal(cp.len, pr->checkpoint_len);
    assert_memory_equal(cp.p, pr->checkpoint, cp.len);
    free(pr), free(ent), free(proof);
    pbuf_free(&cp);

    /* sign with the key; verify names the signer */
    assert_int_equal(tu_sh("cd %s && PROV_PASSPHRASE=pw %s sign teapot.jpg -o s.jpg --key alice.key >/dev/null", D, P), 0);
    /* verify reads the folder through its mirror in the cache (the log is
     * not re-read for every file) */
    assert_int_equal(tu_sh("cd %s && XDG_CACHE_HOME=%s/cache %s verify s.jpg --trust reg/root.pem --registry reg > v.txt && "
                           "grep -q 'identity: Alice Doe' v.txt && grep -q 'status:   active' v.txt && "
                           "ls cache/prov/registry-*.sqlite >/dev/null", D, D, P), 0);

    /* a refusal: the applicant is told why; --again files a new request */
    assert_int_equal(tu_sh("cd %s && %s keygen -o bob.key --subject Bob --no-encrypt >/dev/null && "
                           "%s register --registry %s --key bob.key --name 'Bob Roe' --no-wait >/dev/null 2>&1",
                           D, P, P, U), 0);
    /* approving without the reviewed hash, without a terminal and without --yes: not done */
    assert_int_equal(tu_sh("cd %s && %s registry pending %s --registrar-key reg/registrar.key > p2.txt && "
                           "%s registry approve %s $(awk 'NR==1{print $1}' p2.txt) --registrar-key reg/registrar.key "
                           "</dev/null 2>&1 | grep -q 'not approved'", D, P, U, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s registry approve %s $(awk 'NR==1{print $1}' p2.txt) --refuse 'not seen in person' "
                           "--registrar-key reg/registrar.key | grep -q refused", D, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s register --registry %s --key bob.key --name 'Bob Roe' --wait 5 2> bob.err",
                           D, P, U), 1);
    assert_int_equal(tu_sh("cd %s && grep -q 'refused: not seen in person' bob.err && test ! -e bob.key.proof", D), 0);
    assert_int_equal(tu_sh("cd %s && %s registry pending %s --registrar-key reg/registrar.key | grep -q 'no pending'",
                           D, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s register --registry %s --key bob.key --name 'Bob Roe' --again --no-wait "
                           ">/dev/null 2>&1 && %s registry pending %s --registrar-key reg/registrar.key | grep -q 'Bob Roe'",
                           D, P, U, P, U), 0);

    /* bad requests: 4xx, nothing appended */
    uint64_t before = log_size(dir);
    char ep[200], direct[200];
    snprintf(ep, sizeof ep, "%s/v1/entries", U);
    snprintf(direct, sizeof direct, "http://127.0.0.1:%u/v1/entries", sp);
    char *big = calloc(1, 9000);
    memset(big, 'a', 8999);
    assert_int_equal(http(ep, big, 9000, NULL), 413);
    assert_int_equal(http(direct, big, 9000, NULL), 413);
    free(big);
    assert_int_equal(http(ep, "garbage", 7, NULL), 400);
    snprintf(url, sizeof url, "%s/v1/requests", U);
    assert_int_equal(http(url, "garbage\n\n", 9, NULL), 400);
    prov_key *k, *rk;
    assert_int_equal(prov_key_generate(&k), 0);
    snprintf(path, sizeof path, "%s/registrar.key", dir);
    assert_int_equal(prov_key_load(NULL, path, NULL, &rk), 0);
    pbuf good, bad;
    entry_for(k, rk, &good);
    /* a changed name: the signatures fail */
    pbuf_init(&bad);
    pbuf_put(&bad, good.p, good.len);
    char *nm = memmem(bad.p, bad.len, "Eve Bad", 7);
    assert_non_null(nm);
    nm[0] = 'A';
    assert_int_equal(http(ep, bad.p, bad.len, NULL), 403);
    pbuf_free(&bad);
    /* an unaccredited registrar */
    entry_for(k, NULL, &bad);
    assert_int_equal(http(ep, bad.p, bad.len, NULL), 403);
    pbuf_free(&bad);
    /* alice's key again: a duplicate */
    prov_key *ak;
    snprintf(path, sizeof path, "%s/alice.key", D);
    assert_int_equal(prov_key_load(NULL, path, "pw", &ak), 0);
    entry_for(ak, rk, &bad);
    assert_int_equal(http(ep, bad.p, bad.len, NULL), 409);
    pbuf_free(&bad);
    /* the same entry twice: once in, then a duplicate */
    snprintf(url, sizeof url, "%s/v1/nothing", U);
    assert_int_equal(http(url, NULL, 0, NULL), 404);
    pause_ms(100);
    assert_int_equal(log_size(dir), before);
    assert_int_equal(http(ep, good.p, good.len, NULL), 200);
    assert_int_equal(http(ep, good.p, good.len, NULL), 409);
    pbuf_free(&good);
    prov_key_free(k), prov_key_free(rk), prov_key_free(ak);

    /* flag by key ID over the URL (the server looks the ID up) */
    assert_int_equal(tu_sh("cd %s && id=$(%s registry lookup reg alice.key.pub --json | sed 's/.*\"key_id\":\"\\([0-9a-f]*\\)\".*/\\1/') && "
                           "%s registry flag %s --key-id $(echo $id | cut -c1-8) --media s.jpg --reason fake "
                           "--registrar-key reg/registrar.key | grep -q flagged", D, P, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s registry flag %s --key-id 0000 --media s.jpg --reason fake "
                           "--registrar-key reg/registrar.key 2>/dev/null", D, P, U), 2);
    /* revoke over the URL; verify now fails */
    assert_int_equal(tu_sh("cd %s && %s registry revoke %s --key alice.key.pub --reason 'key lost' "
                           "--registrar-key reg/registrar.key >/dev/null", D, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s registry revoke %s --key alice.key.pub --reason 'again' "
                           "--registrar-key reg/registrar.key 2>/dev/null", D, P, U), 1);
    assert_int_equal(tu_sh("cd %s && XDG_CACHE_HOME=%s/cache %s verify s.jpg --trust reg/root.pem --registry reg > v2.txt",
                           D, D, P), 1);
    assert_int_equal(tu_sh("cd %s && grep -q 'status:   revoked' v2.txt", D), 0);
    /* the request's status no longer hands out a certificate for the revoked key */
    pbuf st2;
    pbuf_init(&st2);
    char aid[17];
    reg_key_id(aid, e.key);
    snprintf(url, sizeof url, "%s/v1/requests/%s", U, aid);
    assert_int_equal(http(url, NULL, 0, &st2), 200);
    pbuf_putc(&st2, 0);
    assert_non_null(strstr((char *)st2.p, "\"key_status\":\"revoked\""));
    assert_null(strstr((char *)st2.p, "\"chain\""));
    pbuf_free(&st2);

    /* SIGTERM: exit 0, everything published */
    assert_int_equal(stop_server(D, "TERM"), 0);
    assert_int_equal(tu_sh("cd %s && grep -q stopped serve.err", D), 0);
    for (int i = 0; i < 100 && tu_sh("test -s %s/serve.rc", D); i++) pause_ms(20);
    assert_int_equal(tu_sh("cd %s && test \"$(cat serve.rc)\" = 0", D), 0);
    assert_int_equal(log_size(dir), before + 3);
    assert_int_equal(tu_sh("%s registry verify %s >/dev/null", P, dir), 0);
    stop_nginx(D);
    prov_ctx_free(ctx);
}

/* ---- what a hostile outsider tries (issue 13) ---------------------------- */

static void test_request_attacks(void **st)
{
    (void)st;
    paths();
    const char *D = tu_path("attack");
    make_registry(D);
    unsigned sp = start_server_with(D, 0, "--requests-per-addr 4"), np = start_nginx(D, sp);
    char U[64], url[300], dir[600], path[700];
    snprintf(U, sizeof U, "http://127.0.0.1:%u", np);
    snprintf(dir, sizeof dir, "%s/reg", D);
    prov_key *rk, *carol, *mal;
    snprintf(path, sizeof path, "%s/registrar.key", dir);
    assert_int_equal(prov_key_load(NULL, path, NULL, &rk), 0);
    assert_int_equal(prov_key_generate(&carol), 0);
    assert_int_equal(prov_key_generate(&mal), 0);
    uint8_t rpk[32];
    prov_key_public(rk, rpk);
    tlog_signer cs, rs, ms;
    prov_signer cps, rps, mps;
    key_sig(carol, &cs, &cps), key_sig(rk, &rs, &rps), key_sig(mal, &ms, &mps);
    uint64_t now = (uint64_t)time(NULL);
    char req_url[200], ent_url[200], cid[17];
    snprintf(req_url, sizeof req_url, "%s/v1/requests", U);
    snprintf(ent_url, sizeof ent_url, "%s/v1/entries", U);
    reg_key_id(cid, cs.pub);
    pbuf b, ans;

    /* a request may not set checked-by, a date outside the window, or another log */
    reg_text(carol, rpk, "Carol Good", "in-person", now, SERVE_ORIGIN, &cs, 1, &b);
    assert_int_equal(http(req_url, b.p, b.len, NULL), 400);
    pbuf_free(&b);
    reg_text(carol, rpk, "Carol Good", NULL, (uint64_t)INT64_MAX, SERVE_ORIGIN, &cs, 1, &b);
    assert_int_equal(http(req_url, b.p, b.len, NULL), 400);
    pbuf_free(&b);
    reg_text(carol, rpk, "Carol Good", NULL, now, "other.example/log", &cs, 1, &b);
    assert_int_equal(http(req_url, b.p, b.len, NULL), 400);
    pbuf_free(&b);

    /* swapped after review: the registrar reviewed "Carol Good" (its hash),
     * the applicant re-files as "Carol Evil" with the same key */
    pbuf good;
    reg_text(carol, rpk, "Carol Good", NULL, now, SERVE_ORIGIN, &cs, 1, &good);
    assert_int_equal(http(req_url, good.p, good.len, NULL), 202);
    char reviewed[65];
    hex_sha256(&good, reviewed);
    assert_int_equal(tu_sh("cd %s && %s registry pending %s --registrar-key reg/registrar.key | grep -q %s", D, P, U, reviewed), 0);
    reg_text(carol, rpk, "Carol Evil", NULL, now, SERVE_ORIGIN, &cs, 1, &b);
    assert_int_equal(http(req_url, b.p, b.len, NULL), 202);
    pbuf_free(&b);
    assert_int_equal(tu_sh("cd %s && %s registry approve %s %s --sha256 %s --registrar-key reg/registrar.key > sw.txt 2>&1",
                           D, P, U, cid, reviewed), 1);
    assert_int_equal(tu_sh("cd %s && grep -q 'changed since you reviewed it' sw.txt", D), 0);
    /* and at the server: an approval sent with the reviewed hash is refused (409) */
    char hdr[120];
    snprintf(url, sizeof url, "%s/v1/requests/%s/approve", U, cid);
    snprintf(hdr, sizeof hdr, "X-Request-SHA256: %s", reviewed);
    reg_text(carol, rpk, "Carol Evil", "in-person", now, SERVE_ORIGIN, &rs, 1, &b);
    assert_int_equal(http_h(url, b.p, b.len, hdr, NULL), 409);
    assert_int_equal(http_h(url, b.p, b.len, NULL, NULL), 400); /* no hash at all */
    pbuf_free(&b);
    /* an approval of the current request that changes its name: 409; one
     * not by the registrar: 403 */
    reg_text(carol, rpk, "Carol Evil", NULL, now, SERVE_ORIGIN, &cs, 1, &b);
    char cur[65];
    hex_sha256(&b, cur);
    pbuf_free(&b);
    snprintf(hdr, sizeof hdr, "X-Request-SHA256: %s", cur);
    reg_text(carol, rpk, "Carol Changed", "in-person", now, SERVE_ORIGIN, &rs, 1, &b);
    assert_int_equal(http_h(url, b.p, b.len, hdr, NULL), 409);
    pbuf_free(&b);
    reg_text(carol, rpk, "Carol Evil", "in-person", now, SERVE_ORIGIN, &ms, 1, &b);
    assert_int_equal(http_h(url, b.p, b.len, hdr, NULL), 403);
    pbuf_free(&b);
    assert_int_equal(log_size(dir), 0);
    pbuf_free(&good);

    /* entries: another log's (409), dated a day and more ago or far ahead
     * (400), a name no certificate can hold (400): nothing logged */
    reg_text(mal, rpk, "Mal", "in-person", now, "other.example/log", (tlog_signer[]){ms, rs}, 2, &b);
    assert_int_equal(http(ent_url, b.p, b.len, NULL), 409);
    pbuf_free(&b);
    reg_text(mal, rpk, "Mal", "in-person", now - 3 * 86400, SERVE_ORIGIN, (tlog_signer[]){ms, rs}, 2, &b);
    assert_int_equal(http(ent_url, b.p, b.len, NULL), 400);
    pbuf_free(&b);
    reg_text(mal, rpk, "Mal", "in-person", (uint64_t)INT64_MAX, SERVE_ORIGIN, (tlog_signer[]){ms, rs}, 2, &b);
    assert_int_equal(http(ent_url, b.p, b.len, NULL), 400);
    pbuf_free(&b);
    char longname[80];
    memset(longname, 'x', 65), longname[65] = 0;
    reg_text(mal, rpk, longname, "in-person", now, SERVE_ORIGIN, (tlog_signer[]){ms, rs}, 2, &b);
    assert_int_equal(http(ent_url, b.p, b.len, &ans), 400);
    pbuf_free(&b);
    pause_ms(100);
    assert_int_equal(log_size(dir), 0);

    /* a flag copied and sent again: once in, then 409 */
    reg_text(mal, rpk, "Mal Flagged", "in-person", now, SERVE_ORIGIN, (tlog_signer[]){ms, rs}, 2, &b);
    assert_int_equal(http(ent_url, b.p, b.len, NULL), 200);
    pbuf_free(&b);
    reg_entry f;
    memset(&f, 0, sizeof f);
    f.kind = REG_FLAG;
    f.log = (reg_str){SERVE_ORIGIN, sizeof SERVE_ORIGIN - 1};
    prov_key_public(mal, f.key);
    memset(f.media, 0x5a, 32);
    f.reason = (reg_str){"fabricated", 10};
    memcpy(f.flagger, rpk, 32);
    f.time = now;
    pbuf_init(&b);
    assert_int_equal(reg_entry_build(&b, &f, &rs, 1, NULL), 0);
    assert_int_equal(http(ent_url, b.p, b.len, NULL), 200);
    for (int i = 0; i < 3; i++) assert_int_equal(http(ent_url, b.p, b.len, NULL), 409);
    pbuf_free(&b);

    /* the list of requests: no signed read 401, a stranger's 403 */
    pbuf_init(&ans);
    assert_int_equal(http(req_url, NULL, 0, &ans), 401);
    pbuf_free(&ans);
    pbuf note;
    pbuf_init(&note);
    assert_int_equal(reg_readauth_build(&note, "requests", SERVE_ORIGIN, now, &ms, NULL), 0);
    char auth[1200];
    int an = snprintf(auth, sizeof auth, "Authorization: Prov-Registrar ");
    sodium_bin2base64(auth + an, sizeof auth - (size_t)an, note.p, note.len, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(http_h(req_url, NULL, 0, auth, NULL), 403);
    note.len = 0;
    assert_int_equal(reg_readauth_build(&note, "requests", SERVE_ORIGIN, now - 3600, &rs, NULL), 0);
    an = snprintf(auth, sizeof auth, "Authorization: Prov-Registrar ");
    sodium_bin2base64(auth + an, sizeof auth - (size_t)an, note.p, note.len, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(http_h(req_url, NULL, 0, auth, NULL), 403); /* an old read, replayed */
    note.len = 0;
    assert_int_equal(reg_readauth_build(&note, "requests", SERVE_ORIGIN, now, &rs, NULL), 0);
    an = snprintf(auth, sizeof auth, "Authorization: Prov-Registrar ");
    sodium_bin2base64(auth + an, sizeof auth - (size_t)an, note.p, note.len, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(http_h(req_url, NULL, 0, auth, NULL), 200);
    pbuf_free(&note);

    /* requests per client address: carol's is one; three more fill the
     * bound of 4, the next is 429 */
    prov_key *extra[5];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(prov_key_generate(&extra[i]), 0);
        tlog_signer es;
        prov_signer eps;
        key_sig(extra[i], &es, &eps);
        char nm[32];
        snprintf(nm, sizeof nm, "Filler %d", i);
        reg_text(extra[i], rpk, nm, NULL, now, SERVE_ORIGIN, &es, 1, &b);
        assert_int_equal(http(req_url, b.p, b.len, NULL), i < 3 ? 202 : 429);
        pbuf_free(&b);
        tlog_signer_wipe(&es);
    }
    /* requests expire: one filed 40 days ago (the server restarted since) is
     * deleted and its place freed; a refusal over 7 days old too */
    assert_int_equal(stop_server(D, "TERM"), 0);
    char xid[17];
    uint8_t xpk[32];
    prov_key_public(extra[0], xpk);
    reg_key_id(xid, xpk);
    assert_int_equal(tu_sh("cd %s/reg/pending && touch -d '40 days ago' %s && test -e %s.from", D, xid, xid), 0);
    sp = start_server_with(D, sp, "--requests-per-addr 4");
    assert_int_equal(tu_sh("cd %s/reg/pending && test ! -e %s && test ! -e %s.from", D, xid, xid), 0);
    {
        tlog_signer es;
        prov_signer eps;
        key_sig(extra[4], &es, &eps);
        reg_text(extra[4], rpk, "Filler 4", NULL, now, SERVE_ORIGIN, &es, 1, &b);
        assert_int_equal(http(req_url, b.p, b.len, NULL), 202);
        pbuf_free(&b);
        tlog_signer_wipe(&es);
    }
    for (int i = 0; i < 5; i++) prov_key_free(extra[i]);
    assert_int_equal(stop_server(D, "TERM"), 0);
    stop_nginx(D);
    assert_int_equal(log_size(dir), 2);
    assert_int_equal(tu_sh("%s registry verify %s >/dev/null", P, dir), 0);
    tlog_signer_wipe(&cs), tlog_signer_wipe(&rs), tlog_signer_wipe(&ms);
    prov_key_free(rk), prov_key_free(carol), prov_key_free(mal);
}

/* ---- concurrency and crashes ------------------------------------------- */

static void test_concurrent_clients(void **st)
{
    (void)st;
    paths();
    const char *D = tu_path("conc");
    make_registry(D);
    unsigned sp = start_server(D, 0), np = start_nginx(D, sp);
    assert_int_equal(tu_sh("cd %s && %s submit http://127.0.0.1:%u reg --clients 8 --seconds 2 --out acc.txt", D, LOAD, np), 0);
    assert_int_equal(stop_server(D, "TERM"), 0);
    stop_nginx(D);
    assert_int_equal(tu_sh("cd %s && test $(wc -l < acc.txt) -gt 8", D), 0);
    assert_int_equal(tu_sh("cd %s && %s check reg acc.txt", D, LOAD), 0);
    assert_int_equal(tu_sh("cd %s && %s registry verify reg >/dev/null", D, P), 0);
}

static void test_kill9_during_burst(void **st)
{
    (void)st;
    paths();
    const char *D = tu_path("kill");
    make_registry(D);
    unsigned sp = start_server(D, 0);
    /* the clients go straight to the server so they see it die and come back */
    assert_int_equal(tu_sh("cd %s && (%s submit http://127.0.0.1:%u reg --clients 8 --seconds 3 --out acc.txt "
                           "> load.txt 2>&1; echo $? > load.rc) & sleep 1; kill -9 $(cat %s/serve.pid)", D, LOAD, sp, D), 0);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/reg", D);
    pause_ms(300);
    assert_int_equal(start_server(D, sp), sp);
    for (int i = 0; i < 200 && tu_sh("test -s %s/load.rc", D); i++) pause_ms(50);
    assert_int_equal(tu_sh("cd %s && test \"$(cat load.rc)\" = 0", D), 0);
    /* the kill hit the burst: some submissions failed, later ones succeeded */
    assert_int_equal(tu_sh("cd %s && grep -Eq ', [1-9][0-9]* failed' load.txt", D), 0);
    assert_int_equal(stop_server(D, "TERM"), 0);
    assert_int_equal(tu_sh("cd %s && %s check reg acc.txt", D, LOAD), 0);
    assert_int_equal(tu_sh("cd %s && %s registry verify reg >/dev/null", D, P), 0);
    /* the journal may hold entries acknowledged to nobody; never fewer */
    assert_int_equal(tu_sh("cd %s && test $(wc -l < acc.txt) -le %llu", D, (unsigned long long)log_size(dir)), 0);
}

/* ---- witnesses ---------------------------------------------------------- */

/* Wait until DIR/reg/checkpoint is past size `past` and stays the same
 * for 300 ms (the server publishes when idle); its size. */
static uint64_t wait_published(const char *D, uint64_t past)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/reg", D);
    uint64_t n = 0, last = 0;
    for (int i = 0, same = 0; i < 200 && same < 6; i++) {
        pause_ms(50);
        n = log_size(dir);
        same = n > past && n == last ? same + 1 : 0;
        last = n;
    }
    return n;
}

/* The server asks a witness to cosign each checkpoint: a quorum sync
 * works against the live server; with the witness gone, entries are still
 * accepted, the newer checkpoint has no cosignature, and a quorum sync
 * refuses it and keeps the mirror as it was. */
static void test_witnessed_serve(void **st)
{
    (void)st;
    paths();
    const char *D = tu_path("wit");
    make_registry(D);
    assert_int_equal(tu_sh("cd %s && %s keygen -o w.key --subject CN=W --no-encrypt >/dev/null && "
                           "(%s registry witness --listen 127.0.0.1:0 --state ws --key w.key --name w.example "
                           "--log reg/log.pub >w.out 2>&1 & echo $! >w.pid) && "
                           "for i in $(seq 50); do [ -s ws/url ] && exit 0; sleep 0.1; done; exit 1", D, P, P), 0);
    char more[800];
    snprintf(more, sizeof more, "--witness $(cat ws/url) --witness-key ws/cosigner.pub --witness-ms 1000");
    unsigned sp = start_server_with(D, 0, more), np = start_nginx(D, sp);
    /* two rounds: the witness cosigns a first checkpoint, then a larger one (consistency proof) */
    uint64_t s1 = 0;
    for (int r = 0; r < 2; r++) {
        assert_int_equal(tu_sh("cd %s && %s submit http://127.0.0.1:%u reg --clients 2 --seconds 0.5 --out acc%d.txt "
                               ">/dev/null", D, LOAD, sp, r), 0);
        s1 = wait_published(D, s1);
        assert_true(s1 > 0);
    }
    assert_int_equal(tu_sh("grep -q -- '— w.example ' %s/reg/checkpoint", D), 0);
    assert_int_equal(tu_sh("cd %s && %s registry sync http://127.0.0.1:%u --log-key reg/log.pub --mirror m.sqlite "
                           "--witness ws/cosigner.pub --quorum 1 > sync1.out", D, P, np), 0);
    assert_int_equal(tu_sh("grep -q 'synced to size %llu ' %s/sync1.out", (unsigned long long)s1, D), 0);
    /* the witness dies: submissions are still accepted and published, without its cosignature */
    assert_int_equal(tu_sh("cd %s && kill $(cat w.pid)", D), 0);
    pause_ms(200);
    assert_int_equal(tu_sh("cd %s && %s submit http://127.0.0.1:%u reg --clients 2 --seconds 0.5 --out acc2.txt "
                           ">/dev/null && test -s acc2.txt", D, LOAD, sp), 0);
    uint64_t s2 = wait_published(D, s1);
    assert_true(s2 > s1);
    assert_int_not_equal(tu_sh("grep -q -- '— w.example ' %s/reg/checkpoint", D), 0);
    assert_int_equal(tu_sh("grep -q 'witness http://127.0.0.1:[0-9]*: .*published without its cosignature' %s/serve.err", D), 0);
    /* a quorum sync refuses the newer checkpoint (a failed check: exit 1) and keeps the old state */
    assert_int_equal(tu_sh("cd %s && %s registry sync http://127.0.0.1:%u --mirror m.sqlite > sync2.out 2> sync2.err", D, P, np), 1);
    assert_int_equal(tu_sh("grep -q 'valid witness cosignature(s), the trust policy needs 1' %s/sync2.err", D), 0);
    char mp[600];
    snprintf(mp, sizeof mp, "%s/m.sqlite", D);
    mirror *m = NULL;
    assert_int_equal(mirror_open(&m, mp, false, NULL), 0);
    assert_int_equal(mirror_size(m), s1);
    mirror_close(m);
    assert_int_equal(stop_server(D, "TERM"), 0);
    stop_nginx(D);
    assert_int_equal(tu_sh("grep -q 'witness cosignature(s) missed' %s/serve.err", D), 0);
    assert_int_equal(tu_sh("cd %s && cat acc0.txt acc1.txt acc2.txt > acc.txt && %s check reg acc.txt", D, LOAD), 0);
}


/* An ES256 key over the URL: the request is signed by the ECDSA key, a
 * registrar approves it, the applicant completes it and gets its chain
 * (for the ECDSA key) and proof; the key is looked up by ID through the
 * server and revokes itself there. */
static void test_ecdsa_over_url(void **st)
{
    (void)st;
    paths();
    const char *D = tu_path("ecurl");
    make_registry(D);
    unsigned sp = start_server(D, 0), np = start_nginx(D, sp);
    char U[64];
    snprintf(U, sizeof U, "http://127.0.0.1:%u", np);
    assert_int_equal(tu_sh("cd %s && %s keygen -o cam.key --alg es256 --subject Cam --no-encrypt >/dev/null && "
                           "%s register --registry %s --key cam.key --name 'Cam Eight' --no-wait >/dev/null 2>&1 && "
                           "%s registry pending %s --registrar-key reg/registrar.key > p.txt && grep -q 'Cam Eight' p.txt",
                           D, P, P, U, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s registry approve %s $(awk 'NR==1{print $1}' p.txt) "
                           "--sha256 $(awk '/sha256/{print $2; exit}' p.txt) --checked-by video-call "
                           "--registrar-key reg/registrar.key >/dev/null", D, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s register --registry %s --key cam.key --name 'Cam Eight' --wait 20 >/dev/null 2>&1 "
                           "&& test -s cam.key.chain.pem && test -s cam.key.proof", D, P, U), 0);
    /* the chain is for the ECDSA key: it signs, and verify names it */
    assert_int_equal(tu_sh("cd %s && %s sign teapot.jpg -o s.jpg --key cam.key >/dev/null && XDG_CACHE_HOME=%s/cache "
                           "%s verify s.jpg --registry reg > v.txt && grep -q 'identity: Cam Eight' v.txt && "
                           "grep -q 'status:   active' v.txt", D, P, D, P), 0);
    /* an ECDSA registrar key is refused before anything is sent */
    assert_int_equal(tu_sh("cd %s && %s registry pending %s --registrar-key cam.key 2>&1 | grep -q 'Ed25519 key'",
                           D, P, U), 0);
    /* revoked by the key itself, named by its key ID (the server's
     * /v1/keys answers the ECDSA key in full) */
    assert_int_equal(tu_sh("cd %s && id=$(%s registry lookup reg cam.key.pub --json | sed 's/.*\"key_id\":\"\\([0-9a-f]*\\)\".*/\\1/') && "
                           "%s registry flag %s --key-id $(echo $id | cut -c1-8) --media s.jpg --reason fake "
                           "--registrar-key reg/registrar.key | grep -q flagged", D, P, P, U), 0);
    assert_int_equal(tu_sh("cd %s && %s registry revoke %s --key cam.key --reason 'lost' | grep -q revoked", D, P, U), 0);
    for (int i = 0; i < 100 && tu_sh("cd %s && XDG_CACHE_HOME=%s/cache %s verify s.jpg --registry reg >/dev/null", D, D, P) != 1; i++)
        pause_ms(20);
    assert_int_equal(tu_sh("cd %s && XDG_CACHE_HOME=%s/cache %s verify s.jpg --registry reg | grep -q 'status:   revoked'",
                           D, D, P), 0);
    assert_int_equal(stop_server(D, "TERM"), 0);
    assert_int_equal(tu_sh("%s registry verify %s/reg >/dev/null", P, D), 0);
    stop_nginx(D);
}

/* A failed test leaves no server or nginx running. */
static int teardown(void **st)
{
    (void)st;
    const char *dirs[] = {"flow", "conc", "kill", "wit", "ecurl"};
    for (int i = 0; i < 5; i++) {
        const char *D = tu_path(dirs[i]);
        /* only our server: the pid may be stale */
        tu_sh("cd %s 2>/dev/null && p=$(cat serve.pid 2>/dev/null) && grep -q 'registry' /proc/$p/cmdline 2>/dev/null "
              "&& kill -9 $p; true", D);
        tu_sh("test -d %s/ngx && bash %s stop %s/ngx 2>/dev/null; true", D, NGX, D);
        tu_sh("cd %s 2>/dev/null && p=$(cat w.pid 2>/dev/null) && grep -q 'witness' /proc/$p/cmdline 2>/dev/null "
              "&& kill -9 $p; true", D);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_register_over_url, teardown),
        cmocka_unit_test_teardown(test_ecdsa_over_url, teardown),
        cmocka_unit_test_teardown(test_request_attacks, teardown),
        cmocka_unit_test_teardown(test_concurrent_clients, teardown),
        cmocka_unit_test_teardown(test_kill9_during_burst, teardown),
        cmocka_unit_test_teardown(test_witnessed_serve, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
