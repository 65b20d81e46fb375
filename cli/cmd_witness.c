/* cmd_witness.c - prov registry witness (a tlog-witness server) and
 * witness-request (the log operator gathers cosignatures and publishes the
 * checkpoint with them).  lib/witness.c has the protocol. */
#include "mirror_cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char WITNESS_USAGE[] =
    "usage: prov registry witness --listen ADDR:PORT --state DIR --key KEY\n"
    "                             [--name NAME] --log [ORIGIN=]LOG.pub ...\n"
    "Run a c2sp.org/tlog-witness: POST /add-checkpoint cosigns a log's new\n"
    "checkpoint when a consistency proof shows it extends the last one this\n"
    "witness cosigned (kept in DIR, written crash-safely before replying).\n"
    "  --listen A:P  address (IPv4) and port; port 0 picks a free one\n"
    "  --state DIR   the witness's state (made if missing); DIR/cosigner.pub gets\n"
    "                its cosigner key (give it to clients: --witness), DIR/url its URL\n"
    "  --key KEY     the witness's Ed25519 key (prov keygen; passphrase from\n"
    "                PROV_PASSPHRASE or a prompt)\n"
    "  --name NAME   the witness's key name (default: witness.example)\n"
    "  --log FILE    a log to witness: its log.pub (the origin is its name)\n"
    "Runs until interrupted (SIGINT/SIGTERM).\n";

static const char REQUEST_USAGE[] =
    "usage: prov registry witness-request DIR --witness URL --witness-key KEY [...]\n"
    "Ask each witness to cosign DIR/checkpoint (sending a consistency proof from\n"
    "the size it last saw, built from DIR's tiles), check each cosignature with\n"
    "the witness's key, and publish DIR/checkpoint with the cosignatures added\n"
    "(only if the checkpoint did not change meanwhile).\n"
    "Exit: 0 published, 1 a witness refused or replied wrongly, 2 other errors.\n";

static volatile sig_atomic_t stop;
static void on_sig(int s) { stop = 1; }

static prov_key *load_key(prov_ctx *ctx, const char *path)
{
    int enc = prov_key_file_encrypted(path);
    if (enc < 0) {
        err("%s: not a key file", path);
        return NULL;
    }
    char *pass = NULL;
    if (enc && !(pass = get_passphrase("Passphrase of the witness key: ", 0, "PROV_WITNESS_PASSPHRASE"))) return NULL;
    prov_key *k = NULL;
    if (prov_key_load(ctx, path, pass, &k)) err("%s", prov_errmsg(ctx));
    free_passphrase(pass);
    if (k && prov_key_alg(k) != PROV_ALG_ED25519) { /* tlog-cosignature/v1 is Ed25519 */
        err("%s: an ECDSA key; a witness cosigns with an Ed25519 key (prov keygen --alg ed25519)", path);
        prov_key_free(k);
        k = NULL;
    }
    return k;
}

int cmd_registry_witness(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'}, {"state", required_argument, 0, 's'},
                                          {"key", required_argument, 0, 'k'},    {"name", required_argument, 0, 'n'},
                                          {"log", required_argument, 0, 'L'},    {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *listen = NULL, *state = NULL, *keyp = NULL, *name = "witness.example";
    witness_log logs[64];
    size_t nlogs = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:s:k:n:L:h", opts, NULL)) != -1) {
        if (c == 'l') listen = optarg;
        else if (c == 's') state = optarg;
        else if (c == 'k') keyp = optarg;
        else if (c == 'n') name = optarg;
        else if (c == 'L') {
            if (nlogs == 64) return err("at most 64 logs");
            const char *eq = strchr(optarg, '='), *file = eq ? eq + 1 : optarg;
            char buf[1024];
            if (read_key_arg(file, buf, sizeof buf)) return EXIT_ERROR;
            if (tlog_verifier_parse(&logs[nlogs].log, buf, strlen(buf)) || logs[nlogs].log.alg != TLOG_ALG_ED25519)
                return err("%s: not a log key (log.pub)", file);
            if (eq && ((size_t)(eq - optarg) != logs[nlogs].log.name_len || memcmp(optarg, logs[nlogs].log.name, (size_t)(eq - optarg))))
                return err("%s: the key is for origin %s", optarg, logs[nlogs].log.name);
            nlogs++;
        } else if (c == 'h') { fputs(WITNESS_USAGE, stdout); return EXIT_OKAY; }
        else die_usage(WITNESS_USAGE);
    }
    if (optind != argc || !listen || !state || !keyp || !nlogs) die_usage(WITNESS_USAGE);
    char addr[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof addr) return err("--listen %s: want ADDR:PORT", listen);
    memcpy(addr, listen, (size_t)(colon - listen));
    addr[colon - listen] = 0;
    char *e;
    unsigned long port = strtoul(colon + 1, &e, 10);
    if (*e || port > 65535) return err("--listen %s: bad port", listen);
    if (mkdir(state, 0700) && access(state, W_OK)) return err("%s: cannot make or write the state folder", state);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    prov_key *k = load_key(ctx, keyp);
    if (!k) { prov_ctx_free(ctx); return EXIT_ERROR; }
    prov_signer ps;
    tlog_signer s;
    uint8_t pk[32];
    prov_key_public(k, pk);
    prov_signer_from_key(&ps, k);
    if (tlog_signer_external(&s, name, TLOG_ALG_COSIG, pk, &ps)) { prov_key_free(k), prov_ctx_free(ctx); return err("--name %s: not a valid key name", name); }
    tlog_verifier v;
    tlog_signer_verifier(&s, &v);
    pbuf vk;
    pbuf_init(&vk);
    tlog_verifier_format(&vk, &v);
    pbuf_putc(&vk, '\n');
    char path[4200];
    snprintf(path, sizeof path, "%s/cosigner.pub", state);
    int rc = write_text(path, (char *)vk.p, vk.len, 0644);
    witness *w = NULL;
    unsigned bound = 0;
    if (!rc && witness_start(&w, addr, (unsigned)port, &bound, state, &s, logs, nlogs, ctx)) rc = err("%s", prov_errmsg(ctx));
    if (!rc) {
        char url[128];
        int n = snprintf(url, sizeof url, "http://%s:%u\n", addr, bound);
        snprintf(path, sizeof path, "%s/url", state);
        rc = write_text(path, url, (size_t)n, 0644);
        printf("witness %s listening on %scosigner key: %.*s", name, url, (int)vk.len, (char *)vk.p);
        fflush(stdout);
    }
    if (!rc) {
        signal(SIGINT, on_sig);
        signal(SIGTERM, on_sig);
        while (!stop) pause();
    }
    witness_stop(w);
    pbuf_free(&vk);
    prov_key_free(k);
    prov_ctx_free(ctx);
    return rc;
}

int cmd_registry_witness_request(int argc, char **argv)
{
    static const struct option opts[] = {{"witness", required_argument, 0, 'w'},
                                          {"witness-key", required_argument, 0, 'k'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    char *urls[32], *keys[32];
    size_t nu = 0, nk = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:k:h", opts, NULL)) != -1) {
        if (c == 'w' && nu < 32) urls[nu++] = optarg;
        else if (c == 'k' && nk < 32) keys[nk++] = optarg;
        else if (c == 'h') { fputs(REQUEST_USAGE, stdout); return EXIT_OKAY; }
        else die_usage(REQUEST_USAGE);
    }
    if (argc - optind != 1 || !nu || nu != nk) die_usage(REQUEST_USAGE);
    const char *dir = argv[optind];
    tlog_verifier wk[32];
    if (parse_witness_args(keys, nk, wk)) return EXIT_ERROR;
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return err("%s: cannot read", path);
    pbuf note, orig;
    pbuf_init(&note), pbuf_init(&orig);
    uint8_t buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0 && note.len < TLOG_NOTE_MAX) pbuf_put(&note, buf, k);
    fclose(f);
    pbuf_put(&orig, note.p, note.len);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = 0;
    for (size_t i = 0; i < nu && !rc; i++) {
        int r = witness_request(dir, urls[i], &wk[i], &note, ctx);
        if (r) rc = exit_for(r), err("%s", prov_errmsg(ctx));
        else printf("%s: cosigned by %s\n", urls[i], wk[i].name);
    }
    if (!rc) {
        /* publish only over the checkpoint we started from */
        pbuf now;
        pbuf_init(&now);
        if ((f = fopen(path, "rb"))) {
            while ((k = fread(buf, 1, sizeof buf, f)) > 0 && now.len < TLOG_NOTE_MAX) pbuf_put(&now, buf, k);
            fclose(f);
        }
        if (now.len != orig.len || memcmp(now.p, orig.p, now.len))
            rc = err("%s: changed while the witnesses were asked; run again", path);
        else rc = write_text(path, (char *)note.p, note.len, 0644);
        pbuf_free(&now);
        len = note.len;
        if (!rc) printf("%s: published with %zu cosignature(s) (%zu bytes)\n", path, nu, len);
    }
    pbuf_free(&note), pbuf_free(&orig);
    prov_ctx_free(ctx);
    return rc;
}
