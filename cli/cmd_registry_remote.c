/* cmd_registry_remote.c - the registry commands over a URL: register
 * (file a request, wait for a registrar), approve, pending, revoke, flag.
 * The server: lib/registry_server.c; the endpoints: docs/registry.md. */
#include "http_client.h"
#include "registry_cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX (1u << 20)

static const char APPROVE_USAGE[] =
    "usage: prov registry approve URL REQUEST-ID --registrar-key KEY\n"
    "                             [--sha256 HEX] [--checked-by HOW] [--yes]\n"
    "       prov registry approve URL REQUEST-ID --registrar-key KEY --refuse REASON\n"
    "\n"
    "Approve a registration request waiting at the registry URL.  The request\n"
    "is fetched and shown (name, organisation, contact, key ID, and the\n"
    "SHA-256 of its exact bytes); you approve exactly that: with --sha256 HEX\n"
    "(the hash `prov registry pending` listed when you reviewed it) a request\n"
    "changed since is refused, else you are asked to confirm (--yes: do not\n"
    "ask).  The registrar's entry is then made from the request's key, name,\n"
    "organisation and contact, with your --checked-by (how you checked the\n"
    "person; default in-person) and the time now, signed with KEY, and sent\n"
    "with the request's hash; the server refuses it if the request changed.\n"
    "The applicant's `prov register` adds its own signature and submits the\n"
    "entry (within 24 hours, else the approval lapses).\n"
    "--refuse REASON refuses the request instead (signed by KEY); the\n"
    "applicant's `prov register` then stops with the reason.\n";

static const char PENDING_USAGE[] =
    "usage: prov registry pending URL --registrar-key KEY [--json]\n"
    "\n"
    "List the registration requests waiting for a registrar at URL: request\n"
    "ID, the SHA-256 of the request (give it to approve --sha256), name,\n"
    "organisation, contact, key ID.  The list holds applicants' names and\n"
    "contacts, so the server shows it only to an accredited registrar: the\n"
    "read is signed with KEY.\n";

int reg_is_url(const char *s) { return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8); }

/* GET or POST base+path; the body in out.  0 with *status, or EXIT_ERROR. */
static int call(const char *method, const char *base, const char *path, const void *body, size_t len,
                long *status, pbuf *out)
{
    char url[4200];
    http_url(url, sizeof url, base, path);
    pbuf_init(out);
    *status = 0;
    if (http_call(method, url, body, len, status, out, ANSWER_MAX)) {
        pbuf_free(out);
        return EXIT_ERROR;
    }
    pbuf_putc(out, 0), out->len--; /* NUL-terminated for printing */
    return 0;
}

/* The server's error message from an answer. */
static int server_err(const char *what, long status, const pbuf *b)
{
    char *m = json_str((const char *)b->p, b->len, "error");
    int rc = err("%s: HTTP %ld: %s", what, status, m ? m : "(no message)");
    free(m);
    return rc;
}

static int sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    return nanosleep(&ts, NULL);
}

/* ---- register ----------------------------------------------------------- */

/* The registrar a request names: --registrar (key ID prefix or key text)
 * among the policy's, else the policy's first. */
static int pick_registrar(const char *url, const char *sel, uint8_t out[32], char origin[TLOG_NAME_MAX + 1])
{
    long st;
    pbuf b;
    if (call("GET", url, "v1/policy", NULL, 0, &st, &b)) return EXIT_ERROR;
    reg_policy pol;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = 0;
    if (st != 200) rc = server_err("policy", st, &b);
    else if (reg_policy_parse((const char *)b.p, b.len, &pol, ctx)) rc = err("%s: policy: %s", url, prov_errmsg(ctx));
    else {
        size_t hit = pol.nregistrars;
        uint8_t pk[32];
        for (size_t i = 0; i < pol.nregistrars && hit == pol.nregistrars; i++) {
            char id[17];
            reg_key_id(id, pol.registrars[i]);
            if (!sel || (!reg_key_parse(sel, strlen(sel), pk) && !memcmp(pk, pol.registrars[i], 32)) ||
                (strlen(sel) >= 4 && !strncmp(id, sel, strlen(sel))))
                hit = i;
        }
        if (hit == pol.nregistrars) rc = err("%s: no accredited registrar%s%s", url, sel ? " matches " : "", sel ? sel : "");
        else if (out) memcpy(out, pol.registrars[hit], 32);
        if (!pol.origin[0]) rc = err("%s: the policy names no origin", url);
        else if (origin) memcpy(origin, pol.origin, sizeof pol.origin);
        reg_policy_free(&pol);
    }
    pbuf_free(&b);
    prov_ctx_free(ctx);
    return rc;
}

/* An accepted answer: check the proof against the log's key (from the
 * same server) and that it holds our key's entry; write the files. */
static int save_accepted(const char *url, const char *keyp, const reg_pub *kp, const pbuf *ans)
{
    const char *j = (const char *)ans->p;
    char *proof = json_str(j, ans->len, "proof"), *chain = json_str(j, ans->len, "chain");
    uint64_t index = 0;
    json_u64(j, ans->len, "index", &index);
    int rc = EXIT_ERROR;
    long st;
    pbuf lp;
    pbuf_init(&lp);
    prov_ctx *ctx = NULL;
    tlog_verifier v;
    reg_entry e;
    uint8_t *ent = NULL;
    if (!proof || !chain) { err("%s: the answer lacks the proof or the chain", url); goto out; }
    if (call("GET", url, "v1/log.pub", NULL, 0, &st, &lp)) goto out;
    size_t n = lp.len;
    while (n && (lp.p[n - 1] == '\n' || lp.p[n - 1] == '\r')) n--;
    if (st != 200 || tlog_verifier_parse(&v, (const char *)lp.p, n)) { err("%s: cannot get the log's key", url); goto out; }
    if (prov_ctx_new(&ctx)) goto out;
    if (reg_proof_verify((const uint8_t *)proof, strlen(proof), v.name, &v, &ent, NULL, &e, ctx)) {
        err("%s: the proof does not verify: %s", url, prov_errmsg(ctx));
        goto out;
    }
    if (e.kind != REG_REGISTER || memcmp(e.key, kp->id, 32)) { err("%s: the proof is not of this key's entry", url); goto out; }
    char path[4200];
    snprintf(path, sizeof path, "%s.proof", keyp);
    if (write_pub(keyp, kp) || write_text(path, proof, strlen(proof), 0644)) goto out;
    snprintf(path, sizeof path, "%s.chain.pem", keyp);
    if (write_text(path, chain, strlen(chain), 0644)) goto out;
    char id[17];
    reg_key_id(id, kp->id);
    printf("registered %.*s (key ID %s) as entry %llu of %s\n  certificate chain: %s.chain.pem\n  proof: %s.proof\n",
           (int)e.name.n, e.name.p, id, (unsigned long long)index, url, keyp, keyp);
    rc = 0;
out:
    free(proof), free(chain), free(ent);
    pbuf_free(&lp);
    prov_ctx_free(ctx);
    return rc;
}

/* An "approved" answer: the registrar's entry must keep our request's key,
 * log, name, org and contact and name our registrar; we add our signature
 * and submit it.  *done gets the server's answer (index, proof, chain). */
static int complete_approved(const char *url, ukey *uk, const reg_entry *mine, const pbuf *ans, pbuf *done)
{
    char *ent = json_str((const char *)ans->p, ans->len, "entry");
    prov_ctx *ctx = NULL;
    pbuf full;
    pbuf_init(&full);
    pbuf_init(done);
    int rc = EXIT_ERROR;
    reg_entry a;
    tlog_signer sig;
    memset(&sig, 0, sizeof sig);
    long st;
    if (!ent || prov_ctx_new(&ctx)) { err("%s: the approval holds no entry", url); goto out; }
    if (reg_approval_parse((const uint8_t *)ent, strlen(ent), &a, ctx)) {
        err("%s: the approval does not verify: %s", url, prov_errmsg(ctx));
        goto out;
    }
    /* resumed (filed by an earlier run): the log and registrar are the
     * request's; what we check is that our own fields are kept */
    reg_entry req = *mine;
    static const uint8_t zero[32];
    if (!mine->log.p) req.log = a.log;
    if (!memcmp(mine->registrar, zero, 32)) memcpy(req.registrar, a.registrar, 32);
    if (!reg_approval_matches(&req, &a)) {
        err("%s: the approval changes what you asked for (name, org, contact or key); not signed", url);
        rc = EXIT_INVALID;
        goto out;
    }
    fprintf(stderr, "prov: approved by the registrar (checked: %.*s); signing the entry\n", (int)a.checked_by.n,
            a.checked_by.p ? a.checked_by.p : "-");
    if (ukey_signer(uk, &sig) || reg_entry_cosign(&full, (const uint8_t *)ent, strlen(ent), &sig, ctx)) {
        err("%s: cannot sign the entry: %s", url, prov_errmsg(ctx));
        goto out;
    }
    pbuf_free(done);
    if (call("POST", url, "v1/entries", full.p, full.len, &st, done)) goto out;
    if (st != 200) { server_err("register", st, done); goto out; }
    rc = 0;
out:
    tlog_signer_wipe(&sig);
    free(ent);
    pbuf_free(&full);
    if (rc) pbuf_free(done);
    prov_ctx_free(ctx);
    return rc;
}

int reg_remote_register(const char *url, const char *keyp, ukey *uk, const reg_entry *e0,
                        const char *registrar_sel, int wait_s, int no_wait, int again)
{
    reg_entry e = *e0;
    char id[17], path[64];
    reg_request_id(id, e.key);
    snprintf(path, sizeof path, "v1/requests/%s", id);
    long st;
    pbuf ans, req;
    pbuf_init(&req);
    int rc = EXIT_ERROR;
    prov_ctx *ctx = NULL;
    /* a request filed before (this key): resume it */
    if (call("GET", url, path, NULL, 0, &st, &ans)) return EXIT_ERROR;
    char *st0 = st == 200 ? json_str((const char *)ans.p, ans.len, "status") : NULL;
    int refile = again && st0 && !strcmp(st0, "refused");
    free(st0);
    if (st == 404 || refile) {
        pbuf_free(&ans);
        tlog_signer sig;
        memset(&sig, 0, sizeof sig);
        char origin[TLOG_NAME_MAX + 1];
        if (pick_registrar(url, registrar_sel, e.registrar, origin)) return EXIT_ERROR;
        e.log = (reg_str){origin, strlen(origin)};
        if (prov_ctx_new(&ctx)) { err("out of memory"); goto out; }
        if (ukey_signer(uk, &sig)) goto out;
        int brc = reg_entry_build(&req, &e, &sig, 1, ctx);
        tlog_signer_wipe(&sig);
        if (brc) { err("%s", prov_errmsg(ctx)); goto out; }
        if (call("POST", url, "v1/requests", req.p, req.len, &st, &ans)) goto out;
        if (st != 202 && st != 200) { server_err("request", st, &ans); goto out; }
        fprintf(stderr, "prov: filed registration request %s at %s\n", id, url);
        pbuf_free(&ans);
        if (call("GET", url, path, NULL, 0, &st, &ans)) goto out;
    } else if (st == 200) {
        fprintf(stderr, "prov: request %s was filed before: resuming\n", id);
    }
    time_t t0 = time(NULL);
    long delay = 250;
    for (;;) {
        if (st != 200) { server_err("request", st, &ans); goto out; }
        char *status = json_str((const char *)ans.p, ans.len, "status");
        int acc = status && !strcmp(status, "accepted"), pend = status && !strcmp(status, "pending");
        if (status && !strcmp(status, "approved")) {
            /* the registrar's entry: ours once we check it keeps what we
             * asked for, and sign it */
            free(status);
            pbuf done;
            if (complete_approved(url, uk, &e, &ans, &done)) goto out;
            rc = save_accepted(url, keyp, &e.key_pub, &done);
            pbuf_free(&done);
            goto out;
        }
        if (status && !acc && !pend) {
            char *why = json_str((const char *)ans.p, ans.len, "reason");
            err("request %s: %s%s%s", id, status, why ? ": " : "", why ? why : "");
            if (!strcmp(status, "refused"))
                rc = EXIT_INVALID, fprintf(stderr, "prov: to file a new request, run register again with --again\n");
            free(why);
        }
        free(status);
        if (acc) { rc = save_accepted(url, keyp, &e.key_pub, &ans); goto out; }
        if (!pend) goto out;
        if (no_wait || time(NULL) - t0 >= wait_s) {
            printf("request %s is waiting for a registrar at %s\n"
                   "  a registrar reviews it (prov registry pending %s --registrar-key KEY) and\n"
                   "  approves it: prov registry approve %s %s --sha256 HASH --registrar-key KEY\n"
                   "  run this command again to fetch the certificate and proof once approved\n",
                   id, url, url, url, id);
            rc = no_wait ? 0 : EXIT_INVALID;
            goto out;
        }
        sleep_ms(delay);
        if (delay < 5000) delay *= 2;
        pbuf_free(&ans);
        if (call("GET", url, path, NULL, 0, &st, &ans)) goto out;
    }
out:
    pbuf_free(&ans), pbuf_free(&req);
    prov_ctx_free(ctx);
    return rc;
}

/* ---- pending, approve ------------------------------------------------- */

/* The objects of a {"pending":[...]} list: each starts at its "id". */
static size_t next_obj(const char *j, size_t n, size_t from, size_t *end)
{
    const char *p = memmem(j + from, n - from, "{\"id\":\"", 7);
    if (!p) return n;
    size_t s = (size_t)(p - j);
    const char *q = s + 7 < n ? memmem(j + s + 7, n - s - 7, "{\"id\":\"", 7) : NULL;
    *end = q ? (size_t)(q - j) : n;
    return s;
}

/* "Authorization: Prov-Registrar <b64>": a read of `what` signed by the
 * registrar's key, for the log at url (its origin from the policy). */
static int registrar_header(const char *url, const char *what, const tlog_signer *sig, char *out, size_t cap)
{
    char origin[TLOG_NAME_MAX + 1];
    if (pick_registrar(url, NULL, NULL, origin)) return EXIT_ERROR;
    pbuf note;
    pbuf_init(&note);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = reg_readauth_build(&note, what, origin, (uint64_t)time(NULL), sig, ctx);
    if (rc) rc = err("%s", prov_errmsg(ctx));
    else if (note.len * 4 / 3 + 40 > cap) rc = err("authorization too large");
    else {
        int n = snprintf(out, cap, "Authorization: Prov-Registrar ");
        sodium_bin2base64(out + n, cap - (size_t)n, note.p, note.len, sodium_base64_VARIANT_ORIGINAL);
    }
    pbuf_free(&note);
    prov_ctx_free(ctx);
    return rc;
}

int reg_cmd_pending(int argc, char **argv)
{
    static const struct option opts[] = {{"registrar-key", required_argument, 0, 'k'},
                                          {"json", no_argument, 0, 'j'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(PENDING_USAGE, stdout); return 0; }
    const char *keyp = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:jh", opts, NULL)) != -1) {
        if (c == 'k') keyp = optarg;
        else if (c == 'j') json = 1;
        else die_usage(PENDING_USAGE);
    }
    if (argc - optind != 1 || !reg_is_url(argv[optind]) || !keyp) die_usage(PENDING_USAGE);
    const char *url = argv[optind];
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    prov_key *rk = registrar_key(ctx, keyp);
    tlog_signer sig;
    prov_signer ps;
    memset(&sig, 0, sizeof sig);
    char hdr[2048];
    long st = 0;
    pbuf b;
    pbuf_init(&b);
    int rc = EXIT_ERROR;
    if (!rk || reg_signer_from_key(&sig, &ps, rk) || registrar_header(url, "requests", &sig, hdr, sizeof hdr)) goto out;
    char full[4200];
    http_url(full, sizeof full, url, "v1/requests");
    pbuf_free(&b);
    if (http_call_h("GET", full, NULL, 0, hdr, &st, &b, ANSWER_MAX)) goto out;
    pbuf_putc(&b, 0), b.len--;
    if (st != 200) {
        rc = server_err("pending", st, &b);
        if (st == 401 || st == 403) rc = EXIT_INVALID;
        goto out;
    }
    rc = 0;
    if (json) {
        fwrite(b.p, 1, b.len, stdout);
        goto out;
    }
    const char *j = (const char *)b.p;
    size_t end = 0, count = 0;
    for (size_t s0 = next_obj(j, b.len, 0, &end); s0 < b.len; s0 = next_obj(j, b.len, end, &end)) {
        const char *o = j + s0;
        size_t on = end - s0;
        char *id = json_str(o, on, "id"), *name = json_str(o, on, "name"), *org = json_str(o, on, "org");
        char *contact = json_str(o, on, "contact"), *key = json_str(o, on, "key"), *h = json_str(o, on, "sha256");
        uint8_t pk[32];
        char kid[17] = "?";
        if (key && !reg_key_parse(key, strlen(key), pk)) reg_key_id(kid, pk);
        bool appr = memmem(o, on, "\"approved\":true", 15) != NULL;
        printf("%s  %s%s%s (key ID %s%s%s)%s\n    sha256 %s\n", id ? id : "?", name ? name : "?", org ? ", " : "",
               org ? org : "", kid, contact ? ", contact: " : "", contact ? contact : "",
               appr ? " [approved; waiting for the applicant]" : "", h ? h : "?");
        free(id), free(name), free(org), free(contact), free(key), free(h);
        count++;
    }
    if (!count) printf("no pending requests at %s\n", url);
out:
    pbuf_free(&b);
    tlog_signer_wipe(&sig);
    prov_key_free(rk);
    prov_ctx_free(ctx);
    return rc;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t h[32];
    crypto_hash_sha256(h, p, n);
    sodium_bin2hex(out, 65, h, 32);
}

/* Ask on the terminal; no terminal: no. */
static int confirm(const char *q)
{
    if (!isatty(0)) return 0;
    fprintf(stderr, "%s [y/N] ", q);
    char a[16];
    if (!fgets(a, sizeof a, stdin)) return 0;
    return a[0] == 'y' || a[0] == 'Y';
}

static int approve_one(const char *url, const char *id, const prov_key *rk, const tlog_signer *sig,
                       const char *refuse, const char *want_hash, const char *checked, int yes)
{
    char path[64];
    snprintf(path, sizeof path, "v1/requests/%s", id);
    long st;
    pbuf ans, ent, post;
    pbuf_init(&ent), pbuf_init(&post);
    if (call("GET", url, path, NULL, 0, &st, &ans)) return EXIT_ERROR;
    int rc = EXIT_ERROR;
    prov_ctx *ctx = NULL;
    char *status = json_str((const char *)ans.p, ans.len, "status"), *req = NULL;
    if (st != 200) { server_err(id, st, &ans); goto out; }
    if (status && !strcmp(status, "accepted")) { printf("%s: already accepted\n", id); rc = 0; goto out; }
    if (status && !strcmp(status, "refused") && refuse) { printf("%s: refused before\n", id); rc = 0; goto out; }
    if (status && !strcmp(status, "approved")) {
        printf("%s: approved already; waiting for the applicant to complete it\n", id);
        rc = 0;
        goto out;
    }
    req = json_str((const char *)ans.p, ans.len, "entry");
    reg_entry e;
    if (prov_ctx_new(&ctx)) goto out;
    if (!req || reg_request_parse((const uint8_t *)req, strlen(req), &e, ctx)) {
        err("%s: not a valid request: %s", id, req ? prov_errmsg(ctx) : "no entry");
        goto out;
    }
    uint8_t rpk[32];
    prov_key_public(rk, rpk);
    if (memcmp(e.registrar, rpk, 32)) { err("%s: the request names another registrar", id); goto out; }
    char kid[17], hx[65];
    reg_key_id(kid, e.key);
    sha256_hex(req, strlen(req), hx);
    printf("%s: %.*s%s%.*s (key ID %s%s%.*s)\n    sha256 %s\n", id, (int)e.name.n, e.name.p, e.org.p ? ", " : "",
           (int)e.org.n, e.org.p ? e.org.p : "", kid, e.contact.p ? ", contact: " : "", (int)e.contact.n,
           e.contact.p ? e.contact.p : "", hx);
    if (want_hash && strcmp(want_hash, hx)) {
        err("%s: the request changed since you reviewed it (was sha256 %s); review it again", id, want_hash);
        rc = EXIT_INVALID;
        goto out;
    }
    if (refuse) {
        char rpath[80];
        snprintf(rpath, sizeof rpath, "v1/requests/%s/refuse", id);
        if (reg_refusal_build(&ent, id, refuse, (uint64_t)time(NULL), sig, ctx)) { err("%s", prov_errmsg(ctx)); goto out; }
        if (call("POST", url, rpath, ent.p, ent.len, &st, &post)) goto out;
        if (st != 200) { server_err(id, st, &post); goto out; }
        printf("  refused\n");
        rc = 0;
        goto out;
    }
    if (!want_hash && !yes && !confirm("approve exactly this request?")) {
        err("%s: not approved (give --sha256 HEX from your review, or --yes, or answer y)", id);
        rc = EXIT_INVALID;
        goto out;
    }
    /* the registrar's entry: the applicant's fields, our checked-by and time */
    reg_entry a;
    memset(&a, 0, sizeof a);
    a.kind = REG_REGISTER;
    a.log = e.log;
    memcpy(a.key, e.key, 32);
    a.key_pub = e.key_pub; /* an ECDSA key is written in full */
    memcpy(a.registrar, e.registrar, 32);
    a.name = e.name, a.org = e.org, a.contact = e.contact;
    a.checked_by = (reg_str){checked, strlen(checked)};
    a.time = (uint64_t)time(NULL);
    if (reg_entry_build(&ent, &a, sig, 1, ctx)) { err("%s: %s", id, prov_errmsg(ctx)); goto out; }
    char apath[80], hdr[128], full[4200];
    snprintf(apath, sizeof apath, "v1/requests/%s/approve", id);
    snprintf(hdr, sizeof hdr, "X-Request-SHA256: %s", hx);
    http_url(full, sizeof full, url, apath);
    pbuf_init(&post);
    if (http_call_h("POST", full, ent.p, ent.len, hdr, &st, &post, ANSWER_MAX)) goto out;
    pbuf_putc(&post, 0), post.len--;
    if (st != 200) {
        server_err(id, st, &post);
        if (st == 409 || st == 403) rc = EXIT_INVALID;
        goto out;
    }
    printf("  approved (checked: %s); the applicant's `prov register` completes the registration\n", checked);
    rc = 0;
out:
    free(status), free(req);
    pbuf_free(&ans), pbuf_free(&ent), pbuf_free(&post);
    prov_ctx_free(ctx);
    return rc;
}

int reg_cmd_approve(int argc, char **argv)
{
    static const struct option opts[] = {{"registrar-key", required_argument, 0, 'k'},
                                          {"refuse", required_argument, 0, 'x'},
                                          {"sha256", required_argument, 0, 's'},
                                          {"checked-by", required_argument, 0, 'B'},
                                          {"yes", no_argument, 0, 'y'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(APPROVE_USAGE, stdout); return 0; }
    const char *keyp = NULL, *refuse = NULL, *hash = NULL, *checked = "in-person";
    int yes = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:x:s:B:yh", opts, NULL)) != -1) {
        if (c == 'k') keyp = optarg;
        else if (c == 'x') refuse = optarg;
        else if (c == 's') hash = optarg;
        else if (c == 'B') checked = optarg;
        else if (c == 'y') yes = 1;
        else die_usage(APPROVE_USAGE);
    }
    if (!keyp || argc - optind != 2 || !reg_is_url(argv[optind])) die_usage(APPROVE_USAGE);
    if (hash && (strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64))
        return err("--sha256: 64 lower-case hex digits (from prov registry pending)");
    const char *url = argv[optind], *id = argv[optind + 1];
    if (strlen(id) != 16 || strspn(id, "0123456789abcdef") != 16) return err("%s: not a request ID (16 hex digits)", id);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    prov_key *rk = registrar_key(ctx, keyp);
    tlog_signer sig;
    prov_signer ps;
    memset(&sig, 0, sizeof sig);
    int rc = EXIT_ERROR;
    if (!rk) goto out;
    if (reg_signer_from_key(&sig, &ps, rk)) { err("%s: cannot sign", keyp); goto out; }
    rc = approve_one(url, id, rk, &sig, refuse, hash, checked, yes);
out:
    tlog_signer_wipe(&sig);
    prov_key_free(rk);
    prov_ctx_free(ctx);
    return rc;
}

/* ---- revoke, flag ------------------------------------------------------- */

int reg_remote_revoke_flag(const char *url, reg_kind kind, const char *keyarg, const char *keyid,
                           const char *reason, long long eff, const char *media, const char *signer_key)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    prov_key *self = NULL, *rk = NULL;
    pbuf ent, ans;
    pbuf_init(&ent), pbuf_init(&ans);
    tlog_signer sig;
    memset(&sig, 0, sizeof sig);
    prov_signer ps;
    int rc = EXIT_ERROR;
    reg_entry e;
    revoke_flag_entry(&e, kind, reason, eff);
    char origin[TLOG_NAME_MAX + 1];
    if (pick_registrar(url, NULL, NULL, origin)) goto out;
    e.log = (reg_str){origin, strlen(origin)};
    long st;
    if (keyarg) {
        if (key_arg(ctx, keyarg, &e.key_pub, kind == REG_REVOKE ? &self : NULL)) goto out;
        memcpy(e.key, e.key_pub.id, 32);
    } else {
        size_t kl = strlen(keyid);
        if (kl < 4 || kl > 16 || strspn(keyid, "0123456789abcdef") != kl) {
            err("--key-id %s: 4 to 16 lower-case hex digits", keyid);
            goto out;
        }
        char path[64];
        snprintf(path, sizeof path, "v1/keys/%s", keyid);
        if (call("GET", url, path, NULL, 0, &st, &ans)) goto out;
        char *k = st == 200 ? json_str((const char *)ans.p, ans.len, "key") : NULL;
        int bad = !k || reg_pub_parse(k, strlen(k), &e.key_pub);
        if (!bad) memcpy(e.key, e.key_pub.id, 32);
        free(k);
        if (bad) { server_err(keyid, st, &ans); goto out; }
        pbuf_free(&ans);
    }
    if (kind == REG_FLAG && reg_media_hashes(ctx, media, e.media, e.manifest, &e.has_manifest)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    if (!self) {
        if (!signer_key) {
            err("%s over a URL: give --registrar-key KEY (or, to revoke your own key, --key KEY)",
                kind == REG_REVOKE ? "revoke" : "flag");
            goto out;
        }
        if (!(rk = registrar_key(ctx, signer_key))) goto out;
    }
    if (kind == REG_FLAG) prov_key_public(rk, e.flagger);
    if (reg_signer_from_key(&sig, &ps, self ? self : rk)) { err("signer"); goto out; }
    if (reg_entry_build(&ent, &e, &sig, 1, ctx)) { err("%s", prov_errmsg(ctx)); goto out; }
    if (call("POST", url, "v1/entries", ent.p, ent.len, &st, &ans)) goto out;
    if (st != 200) {
        rc = server_err(kind == REG_REVOKE ? "revoke" : "flag", st, &ans);
        if (st == 403 || st == 409) rc = EXIT_INVALID;
        goto out;
    }
    uint64_t index = 0;
    json_u64((const char *)ans.p, ans.len, "index", &index);
    char id[17];
    reg_key_id(id, e.key);
    printf("%s key %s: entry %llu\n", kind == REG_REVOKE ? "revoked" : "flagged", id, (unsigned long long)index);
    rc = 0;
out:
    tlog_signer_wipe(&sig);
    pbuf_free(&ent), pbuf_free(&ans);
    prov_key_free(self), prov_key_free(rk);
    prov_ctx_free(ctx);
    return rc;
}
