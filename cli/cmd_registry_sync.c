/* cmd_registry_sync.c - prov registry sync: a verified SQLite mirror of a
 * registry (a folder or an http(s) URL).  lib/mirror.h says what is
 * checked. */
#include "cli.h"
#include "mirror.h"
#include "mirror_cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char SYNC_USAGE[] =
    "usage: prov registry sync URL|DIR [--mirror FILE] [--log-key LOG.pub]\n"
    "                          [--witness KEY ... [--quorum N]] [--trust-log-signatures]\n"
    "                          [--quiet]\n"
    "Mirror a registry's log into a SQLite file, checking the checkpoint's\n"
    "signature, a consistency proof from the last synced checkpoint, every\n"
    "new entry bundle against the hash tiles and the root, every entry's\n"
    "signatures and the state rules.  Nothing is written unless all of it\n"
    "checks out.  A checkpoint inconsistent with the stored one is kept with\n"
    "it as evidence (table `evidence`) and the sync fails.\n"
    "  --mirror FILE  the mirror (default $XDG_CACHE_HOME or ~/.cache:\n"
    "                 prov/registry-<hash of URL|DIR>.sqlite)\n"
    "  --log-key K    the log's key (log.pub, or its text), pinned in the mirror\n"
    "                 at the first sync; needed then for a URL (a folder's own\n"
    "                 log.pub is used otherwise); later syncs must match it\n"
    "  --witness K    a witness's cosigner key (file or text); repeat\n"
    "  --quorum N     valid cosignatures required (default: all the witnesses);\n"
    "                 witnesses and quorum are stored and enforced by later syncs\n"
    "  --trust-log-signatures  do not re-check each entry's two Ed25519\n"
    "                 signatures (most of a sync's CPU): the log's signed\n"
    "                 checkpoint commits to entries its sequencer checked.  The\n"
    "                 checkpoint, quorum, consistency, tiles, bundles, the\n"
    "                 signers each entry names and the state rules are still\n"
    "                 checked.  Default: every signature is checked\n"
    "Exit: 0 synced, 1 the registry failed a check, 2 usage or I/O error.\n";

/* A key argument: a file holding the key text, or the text itself. */
int read_key_arg(const char *arg, char *out, size_t cap)
{
    FILE *f = fopen(arg, "rb");
    if (!f) {
        snprintf(out, cap, "%s", arg);
        return 0;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    char *nl = strpbrk(out, "\r\n");
    if (nl) *nl = 0;
    if (!n) return err("%s: empty key file", arg);
    return 0;
}

/* Witness keys from arguments: "<name>+<id>+<b64>" vkeys. */
int parse_witness_args(char **args, size_t n, tlog_verifier *out)
{
    for (size_t i = 0; i < n; i++) {
        char buf[1024];
        if (read_key_arg(args[i], buf, sizeof buf)) return EXIT_ERROR;
        if (tlog_verifier_parse(&out[i], buf, strlen(buf)))
            return err("%s: not a witness key (<name>+<hex id>+<base64>)", args[i]);
    }
    return 0;
}

typedef struct sprog {
    progress p;
} sprog;

static void sync_progress(void *user, uint64_t done, uint64_t total)
{
    sprog *s = user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = ts.tv_sec + ts.tv_nsec / 1e9 - s->p.start;
    if (!s->p.tty || t < 0.5) return;
    int fill = total ? (int)(30.0 * (double)done / (double)total) : 0;
    char bar[31];
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\rsync [%s] %llu/%llu entries %.0f/s ", bar, (unsigned long long)done, (unsigned long long)total,
            t > 0 ? done / t : 0);
    s->p.shown = 1;
}

int exit_for(int rc) { return rc == TLOG_EVERIFY || rc == PROV_EFORMAT ? EXIT_INVALID : EXIT_ERROR; }

int cmd_registry_sync(int argc, char **argv)
{
    static const struct option opts[] = {{"mirror", required_argument, 0, 'm'},
                                          {"log-key", required_argument, 0, 'k'},
                                          {"witness", required_argument, 0, 'w'},
                                          {"quorum", required_argument, 0, 'q'},
                                          {"quiet", no_argument, 0, 'Q'},
                                          {"trust-log-signatures", no_argument, 0, 'T'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *path = NULL, *lk = NULL;
    bool trust_sigs = false;
    char *wargs[32];
    size_t nw = 0, quorum = 0;
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:k:w:q:QTh", opts, NULL)) != -1) {
        if (c == 'm') path = optarg;
        else if (c == 'k') lk = optarg;
        else if (c == 'w') {
            if (nw == 32) return err("at most 32 witnesses");
            wargs[nw++] = optarg;
        } else if (c == 'q') quorum = strtoul(optarg, NULL, 10);
        else if (c == 'Q') quiet = 1;
        else if (c == 'T') trust_sigs = true;
        else if (c == 'h') { fputs(SYNC_USAGE, stdout); return EXIT_OKAY; }
        else die_usage(SYNC_USAGE);
    }
    if (argc - optind != 1) die_usage(SYNC_USAGE);
    const char *src = argv[optind];
    if (quorum && !nw) return err("--quorum needs --witness keys");
    char key[1024];
    tlog_verifier wits[32];
    if (lk && read_key_arg(lk, key, sizeof key)) return EXIT_ERROR;
    if (parse_witness_args(wargs, nw, wits)) return EXIT_ERROR;
    char *def = path ? NULL : mirror_default_path(src);
    const char *mp = path ? path : def;
    if (!mp) return err("out of memory");
    struct stat sb;
    int existed = stat(mp, &sb) == 0;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    sprog sp;
    progress_start(&sp.p, "sync");
    mirror_opts o = {lk ? key : NULL, nw ? wits : NULL, nw, quorum, sync_progress, &sp, trust_sigs};
    mirror_stats st;
    mirror *m = NULL;
    int rc = mirror_open(&m, mp, true, ctx);
    if (!rc) rc = mirror_sync(m, src, &o, &st, ctx);
    if (sp.p.shown) fputc('\n', stderr);
    int ex = EXIT_OKAY;
    if (rc) {
        uint64_t ev = 0;
        if (m) mirror_evidence_count(m, &ev);
        err("%s", prov_errmsg(ctx));
        ex = exit_for(rc);
        mirror_close(m);
        m = NULL;
        if (!existed && !ev) { /* a first sync that failed leaves nothing */
            char p2[4200];
            unlink(mp);
            snprintf(p2, sizeof p2, "%s-wal", mp), unlink(p2);
            snprintf(p2, sizeof p2, "%s-shm", mp), unlink(p2);
        }
    } else if (!quiet) {
        char root[64];
        sodium_bin2base64(root, sizeof root, st.root, 32, sodium_base64_VARIANT_ORIGINAL);
        printf("%s: synced to size %llu (was %llu): %llu new entries, %llu bundles, %llu tiles checked; root %s\n"
               "mirror: %s\n",
               src, (unsigned long long)st.size, (unsigned long long)st.old_size, (unsigned long long)st.fetched,
               (unsigned long long)st.bundles, (unsigned long long)st.tiles, root, mp);
    }
    mirror_close(m);
    free(def);
    prov_ctx_free(ctx);
    return ex;
}

/* For `lookup`: the mirror of src (synced first when src is given) or the
 * file path. */
int open_mirror_for_lookup(const char *src, const char *path, mirror **out, prov_ctx *ctx)
{
    if (!src) return mirror_open(out, path, false, ctx);
    char key[1024];
    const char *env = getenv("PROV_REGISTRY_LOG_KEY");
    if (env && read_key_arg(env, key, sizeof key)) return PROV_EINVAL;
    mirror_opts o = {env ? key : NULL, NULL, 0, 0, NULL, NULL, false};
    return mirror_open_sync(out, src, path, &o, NULL, ctx);
}
