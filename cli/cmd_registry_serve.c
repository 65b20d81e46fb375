/* cmd_registry_serve.c - prov registry serve: the registry's write server
 * (lib/registry_server.h) in the foreground until SIGTERM or SIGINT. */
#include "mirror_cli.h"
#include "registry_cli.h"
#include "registry_server.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char SERVE_USAGE[] =
    "usage: prov registry serve DIR --listen 127.0.0.1:PORT [--batch-ms N]\n"
    "                           [--batch-max N] [--publish-ms N] [--threads N]\n"
    "                           [--timeout S] [--days N] [--request-days N]\n"
    "                           [--requests-per-addr N]\n"
    "                           [--witness URL --witness-key KEY ...] [--witness-ms N]\n"
    "\n"
    "Run the write server of the registry in DIR (HTTP, for nginx to proxy\n"
    "/v1/ to; docs/registry.md, \"The write server\").  It holds the log's lock:\n"
    "no other command may write DIR meanwhile.  Submissions are verified by\n"
    "--threads workers (default: one per CPU), then sequenced in batches: every\n"
    "--batch-ms milliseconds (default 2) or --batch-max entries (default 4096),\n"
    "one journal write and fdatasync per batch and a new signed checkpoint.\n"
    "A submission is answered only once its entry is durably in the journal,\n"
    "with a tlog-proof.  Tiles and the checkpoint are written when no\n"
    "submission waits, else every --publish-ms (default 200; 0: each batch).\n"
    "PORT 0 picks a free port; the address is printed on stdout.  SIGTERM or\n"
    "SIGINT: stop taking submissions, finish the batch, publish, exit 0.\n"
    "--timeout: idle connections are closed after S seconds (default 30).\n"
    "--days: validity of the leaf certificates issued (default 730).\n"
    "Registration requests: one undecided for --request-days (default 30) is\n"
    "deleted, an accepted or refused one 7 days after the decision; at most\n"
    "--requests-per-addr (default 20) wait from one client address (behind\n"
    "nginx on loopback, the X-Real-IP it sets).  Entries dated more than 24\n"
    "hours before or 5 minutes after the server's clock are refused.\n"
    "--witness URL --witness-key KEY (in pairs, repeatable): before each\n"
    "checkpoint is published, ask this tlog-witness to cosign it (KEY: its\n"
    "cosigner.pub, a file or the key's text) and publish DIR/checkpoint with\n"
    "the cosignatures received.  A witness that refuses or does not answer in\n"
    "--witness-ms milliseconds (default 3000) is logged, left out of that\n"
    "checkpoint and not asked again for 10 s; submissions go on (a mirror\n"
    "syncing with --quorum refuses such a checkpoint until enough witnesses\n"
    "are back).\n"
    "Keys: DIR/log.key and DIR/root.key (PROV_REGISTRY_PASSPHRASE, else\n"
    "PROV_PASSPHRASE, else a prompt).\n";

static int num(const char *s, long lo, long hi, long *out)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (!*s || *e || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int reg_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                          {"batch-ms", required_argument, 0, 'b'},
                                          {"batch-max", required_argument, 0, 'm'},
                                          {"publish-ms", required_argument, 0, 'p'},
                                          {"threads", required_argument, 0, 't'},
                                          {"timeout", required_argument, 0, 'T'},
                                          {"days", required_argument, 0, 'd'},
                                          {"witness", required_argument, 0, 'w'},
                                          {"witness-key", required_argument, 0, 'k'},
                                          {"witness-ms", required_argument, 0, 'W'},
                                          {"request-days", required_argument, 0, 'R'},
                                          {"requests-per-addr", required_argument, 0, 'A'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(SERVE_USAGE, stdout); return 0; }
    const char *listen = NULL;
    long batch_ms = 2, batch_max = 4096, publish_ms = 200, threads = 0, timeout = 30, days = 730, wms = 3000, v;
    long req_days = 30, per_addr = 20;
    char *wurls[32], *wkeys[32];
    size_t nwu = 0, nwk = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:b:m:p:t:T:d:w:k:W:R:A:h", opts, NULL)) != -1) {
        if (c == 'l') listen = optarg;
        else if (c == 'b' && !num(optarg, 0, 10000, &v)) batch_ms = v;
        else if (c == 'm' && !num(optarg, 1, 1000000, &v)) batch_max = v;
        else if (c == 'p' && !num(optarg, 0, 60000, &v)) publish_ms = v;
        else if (c == 't' && !num(optarg, 1, 64, &v)) threads = v;
        else if (c == 'T' && !num(optarg, 1, 3600, &v)) timeout = v;
        else if (c == 'd' && !num(optarg, 1, 36500, &v)) days = v;
        else if (c == 'w' && nwu < 32) wurls[nwu++] = optarg;
        else if (c == 'k' && nwk < 32) wkeys[nwk++] = optarg;
        else if (c == 'W' && !num(optarg, 1, 600000, &v)) wms = v;
        else if (c == 'R' && !num(optarg, 1, 3650, &v)) req_days = v;
        else if (c == 'A' && !num(optarg, 1, 1000000, &v)) per_addr = v;
        else die_usage(SERVE_USAGE);
    }
    if (argc - optind != 1 || !listen || nwu != nwk) die_usage(SERVE_USAGE);
    tlog_verifier wk[32];
    if (nwk && parse_witness_args(wkeys, nwk, wk)) return EXIT_ERROR;
    const char *dir = argv[optind];
    char host[64];
    const char *colon = strrchr(listen, ':');
    long port;
    if (!colon || (size_t)(colon - listen) >= sizeof host || num(colon + 1, 0, 65535, &port))
        return err("--listen %s: expected HOST:PORT, e.g. 127.0.0.1:8080", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;

    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    opkeys o = {.dir = dir, .ctx = ctx};
    oplog L;
    memset(&L, 0, sizeof L);
    prov_key *ck = NULL;
    reg_server *srv = NULL;
    int rc = EXIT_ERROR;
    if (log_signer(&L, &o) || !(ck = op_key(&o, "root.key"))) goto out;
    /* the signals are taken by sigwait below, never by the server's threads */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    reg_server_opts so = {.dir = dir, .host = host, .port = (unsigned)port, .batch_ms = (unsigned)batch_ms,
                          .batch_max = (size_t)batch_max, .publish_ms = (unsigned)publish_ms, .threads = (unsigned)threads,
                          .timeout_s = (unsigned)timeout, .log = &L.signer, .ca_key = ck, .cert_days = (int)days,
                          .witness_urls = (const char *const *)wurls, .witness_keys = wk, .nwitnesses = nwu,
                          .witness_ms = (unsigned)wms, .request_days = (unsigned)req_days,
                          .requests_per_addr = (unsigned)per_addr};
    if (reg_server_start(&srv, &so, ctx)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    printf("prov registry serve: %s on http://%s:%u/v1/\n", dir, host, reg_server_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    reg_server_stats st;
    int src = reg_server_stop(srv, &st);
    uint64_t ne = st.entries, nb = st.batches, np = st.publishes;
    fprintf(stderr, "prov registry serve: %s; stopped.  %llu entries in %llu batches (%.1f a batch, "
            "%.2f ms each: checks, journal, fdatasync, proofs); %llu publishes (%.2f ms each)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", (unsigned long long)ne, (unsigned long long)nb,
            nb ? (double)ne / (double)nb : 0.0, nb ? st.t_append * 1e3 / (double)nb : 0.0,
            (unsigned long long)np, np ? st.t_publish * 1e3 / (double)np : 0.0);
    if (nwu)
        fprintf(stderr, "prov registry serve: %llu witness cosignature(s) missed\n", (unsigned long long)st.cosigs_missing);
    rc = src ? err("%s: the log hit an I/O error (%s); restart to recover", dir, prov_strerror(src)) : 0;
out:
    close_log(&L);
    prov_key_free(ck);
    free_passphrase(o.pass);
    prov_ctx_free(ctx);
    return rc;
}
