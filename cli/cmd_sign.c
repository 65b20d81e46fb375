/* cmd_sign.c - prov sign. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char USAGE[] =
    "usage: prov sign IN -o OUT --key KEY [options]\n"
    "\n"
    "Sign a JPEG or PNG: embed a C2PA manifest signed with KEY.  The input is\n"
    "never changed; OUT is written whole or not at all.\n"
    "  -o, --output OUT      the signed file (may equal IN only with --in-place)\n"
    "  --in-place            replace IN atomically\n"
    "  --key KEY             the signing key (from prov keygen)\n"
    "  --chain PEM           its certificate chain (default KEY.chain.pem)\n"
    "  --parent ORIGINAL     the file this one was edited from: its manifests are\n"
    "                        kept and it becomes the parentOf ingredient (a signed\n"
    "                        IN is its own parent when --parent is not given)\n"
    "  --parent-title T      the ingredient's title (default: ORIGINAL's name)\n"
    "  --action A            c2pa.created (default), c2pa.edited (default with a\n"
    "                        parent), c2pa.color_adjustments, c2pa.cropped, ...\n"
    "  --source-type URI     IPTC digital source type of a created file (default\n"
    "                        " PROV_SOURCE_DIGITAL_CAPTURE ";\n"
    "                        AI output: " PROV_SOURCE_TRAINED_ALGORITHMIC ")\n"
    "  --title T             the title (default: OUT's file name)\n"
    "The key's passphrase comes from PROV_PASSPHRASE or a prompt.\n";

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                          {"key", required_argument, 0, 'k'},
                                          {"chain", required_argument, 0, 'c'},
                                          {"parent", required_argument, 0, 'p'},
                                          {"parent-title", required_argument, 0, 'P'},
                                          {"action", required_argument, 0, 'a'},
                                          {"source-type", required_argument, 0, 's'},
                                          {"title", required_argument, 0, 't'},
                                          {"in-place", no_argument, 0, 'i'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(USAGE, stdout); return 0; }
    const char *out = NULL, *key = NULL, *chainp = NULL, *parent = NULL;
    int inplace = 0, c;
    prov_sign_opts so = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'k': key = optarg; break;
        case 'c': chainp = optarg; break;
        case 'p': parent = optarg; break;
        case 'P': so.parent_title = optarg; break;
        case 'a': so.action = optarg; break;
        case 's': so.source_type = optarg; break;
        case 't': so.title = optarg; break;
        case 'i': inplace = 1; break;
        default: die_usage(USAGE);
        }
    }
    if (argc - optind != 1 || !key) die_usage(USAGE);
    const char *in = argv[optind];
    if (inplace) {
        if (out && strcmp(out, in)) return err("--in-place and -o name different files");
        out = in;
    }
    if (!out) die_usage(USAGE);
    struct stat si, so_;
    if (!inplace && stat(in, &si) == 0 && stat(out, &so_) == 0 && si.st_dev == so_.st_dev && si.st_ino == so_.st_ino)
        return err("%s: output is the input; use --in-place to replace it", out);
    if (!so.title) so.title = base_name(out);

    char defchain[4096];
    if (!chainp) {
        snprintf(defchain, sizeof defchain, "%s.chain.pem", key);
        chainp = defchain;
    }
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = EXIT_ERROR;
    prov_key *k = NULL;
    prov_chain *chain = NULL;
    char *pass = NULL;
    FILE *pf = NULL;
    prov_stream ps;
    int enc = prov_key_file_encrypted(key);
    if (enc < 0) { err("%s: cannot read the key (make one with prov keygen)", key); goto out; }
    if (enc && !(pass = get_passphrase("Passphrase of the signing key: ", 0, NULL))) goto out;
    if (prov_key_load(ctx, key, pass, &k)) { err("%s", prov_errmsg(ctx)); goto out; }
    if (prov_chain_load_pem(ctx, chainp, &chain)) {
        err("%s (a key needs a certificate: prov keygen --ca DIR, or --chain PEM)", prov_errmsg(ctx));
        goto out;
    }
    if (parent) {
        pf = fopen(parent, "rb");
        if (!pf) { err("%s: cannot open the parent", parent); goto out; }
        prov_stream_file(&ps, pf);
        so.parent = &ps;
        if (!so.parent_title) so.parent_title = base_name(parent);
    }
    prov_signer signer;
    prov_signer_from_key(&signer, k);
    progress pg;
    progress_start(&pg, in);
    so.progress = progress_cb;
    so.progress_user = &pg;
    int r = prov_sign_file(ctx, &so, &signer, chain, in, out);
    progress_end(&pg);
    if (r) {
        err("%s: %s", in, *prov_errmsg(ctx) ? prov_errmsg(ctx) : prov_strerror(r));
        goto out;
    }
    printf("signed %s -> %s\n", in, out);
    rc = 0;
out:
    if (pf) fclose(pf);
    free_passphrase(pass);
    prov_key_free(k);
    prov_chain_free(chain);
    prov_ctx_free(ctx);
    return rc;
}
