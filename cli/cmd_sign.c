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
    "  --chain PEM           its certificate chain (default KEY.chain.pem); a\n"
    "                        registry proof at KEY.proof is embedded too\n"
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
    "  --thumbnail           embed a 512-pixel JPEG thumbnail (JPEG and PNG)\n"
    "  --no-soft-binding     leave out the PDQ fingerprint of the pixels (JPEG\n"
    "                        and PNG get a c2pa.soft-binding by default)\n"
    "  --publish DIR         also store the manifest in DIR's manifest repository\n"
    "                        (a registry folder: DIR/manifests), indexed by\n"
    "                        fingerprint, so a stripped copy can be traced back\n"
    "  --fragment F          fragmented media (DASH/HLS fMP4): IN is the init\n"
    "                        segment, F a media fragment (repeat, in order);\n"
    "                        each is written with its proof to --fragments-dir\n"
    "  --fragments-dir DIR   where signed fragments go (default: OUT's folder)\n"
    "  --tsa URL             time-stamp the signature at this RFC 3161 authority\n"
    "                        (C2PA sigTst2), so it verifies after the certificate\n"
    "                        expires; e.g. http://timestamp.digicert.com\n"
    "The key's passphrase comes from PROV_PASSPHRASE or a prompt.\n";

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int same_file(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int sign_fragments(prov_ctx *ctx, const prov_sign_opts *so, const prov_signer *signer,
                          const prov_chain *chain, const char *in, const char *out, const char **frags, size_t n,
                          const char *dir)
{
    char outdir[4096];
    if (!dir) {
        const char *sl = strrchr(out, '/');
        snprintf(outdir, sizeof outdir, "%.*s", sl ? (int)(sl - out) : 1, sl ? out : ".");
        dir = outdir;
    }
    char **fout = calloc(n, sizeof *fout);
    if (!fout) return err("out of memory");
    int rc = EXIT_ERROR;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(base_name(frags[i])) + 2;
        if (!(fout[i] = malloc(len))) { err("out of memory"); goto done; }
        snprintf(fout[i], len, "%s/%s", dir, base_name(frags[i]));
        if (same_file(fout[i], frags[i])) {
            err("%s: the signed fragment would replace it; choose another --fragments-dir", frags[i]);
            goto done;
        }
    }
    progress pg;
    progress_start(&pg, in);
    int r = prov_sign_fragments(ctx, so, signer, chain, in, out, frags, (const char *const *)fout, n);
    progress_end(&pg);
    if (r) {
        err("%s", *prov_errmsg(ctx) ? prov_errmsg(ctx) : prov_strerror(r));
        goto done;
    }
    printf("signed %s -> %s and %zu fragment%s -> %s/\n", in, out, n, n == 1 ? "" : "s", dir);
    rc = 0;
done:
    for (size_t i = 0; i < n; i++) free(fout[i]);
    free(fout);
    return rc;
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
                                          {"thumbnail", no_argument, 0, 'T'},
                                          {"fragment", required_argument, 0, 'f'},
                                          {"fragments-dir", required_argument, 0, 'F'},
                                          {"no-soft-binding", no_argument, 0, 'N'},
                                          {"publish", required_argument, 0, 'B'},
                                          {"tsa", required_argument, 0, 'A'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(USAGE, stdout); return 0; }
    const char *out = NULL, *key = NULL, *chainp = NULL, *parent = NULL;
    int inplace = 0, c;
    prov_sign_opts so = {0};
    const char **frags = calloc((size_t)argc, sizeof *frags);
    size_t nfrags = 0;
    const char *fragdir = NULL;
    if (!frags) return err("out of memory");
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
        case 'T': so.thumbnail = 1; break;
        case 'f': frags[nfrags++] = optarg; break;
        case 'F': fragdir = optarg; break;
        case 'N': so.no_soft_binding = 1; break;
        case 'B': so.publish = optarg; break;
        case 'A':
            if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
                return free(frags), err("--tsa %s: an http:// or https:// URL of an RFC 3161 time-stamp authority", optarg);
            so.timestamp = prov_tsa_http;
            so.timestamp_user = optarg;
            break;
        default: die_usage(USAGE);
        }
    }
    if (argc - optind != 1 || !key) die_usage(USAGE);
    const char *in = argv[optind];
    if (inplace) {
        if (out && strcmp(out, in)) return free(frags), err("--in-place and -o name different files");
        out = in;
    }
    if (!out) die_usage(USAGE);
    struct stat si, so_;
    if (!inplace && stat(in, &si) == 0 && stat(out, &so_) == 0 && si.st_dev == so_.st_dev && si.st_ino == so_.st_ino)
        return free(frags), err("%s: output is the input; use --in-place to replace it", out);
    if (!so.title) so.title = base_name(out);

    char defchain[4096];
    if (!chainp) {
        snprintf(defchain, sizeof defchain, "%s.chain.pem", key);
        chainp = defchain;
    }
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return free(frags), err("out of memory");
    int rc = EXIT_ERROR;
    prov_key *k = NULL;
    prov_chain *chain = NULL;
    char *pass = NULL;
    uint8_t *proof = NULL;
    FILE *pf = NULL;
    prov_stream ps;
    int enc = prov_key_file_encrypted(key);
    if (enc < 0) { err("%s: cannot read the key (make one with prov keygen)", key); goto out; }
    if (enc && !(pass = get_passphrase("Passphrase of the signing key: ", 0, NULL))) goto out;
    if (prov_key_load(ctx, key, pass, &k)) { err("%s", prov_errmsg(ctx)); goto out; }
    /* a registered key: its registration proof goes into the manifest */
    char proofp[4096];
    snprintf(proofp, sizeof proofp, "%s.proof", key);
    FILE *pr = fopen(proofp, "rb");
    if (pr) {
        proof = malloc(65536);
        size_t n = proof ? fread(proof, 1, 65536, pr) : 0;
        fclose(pr);
        if (!proof || n == 0 || n == 65536) {
            err("%s: unreadable or too large", proofp);
            goto out;
        }
        so.registration = proof;
        so.registration_len = n;
    }
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
    if (nfrags) {
        rc = sign_fragments(ctx, &so, &signer, chain, in, out, frags, nfrags, fragdir);
        goto out;
    }
    progress pg;
    progress_start(&pg, in);
    so.progress = progress_cb;
    so.progress_user = &pg;
    int r = prov_sign_file(ctx, &so, &signer, chain, in, out);
    if (r == PROV_ELIMIT && so.timestamp) { /* a token larger than the usual room: once more with more */
        so.timestamp_reserve = 65536;
        r = prov_sign_file(ctx, &so, &signer, chain, in, out);
    }
    progress_end(&pg);
    if (r) {
        err("%s: %s", in, *prov_errmsg(ctx) ? prov_errmsg(ctx) : prov_strerror(r));
        goto out;
    }
    printf("signed %s -> %s\n", in, out);
    if (so.publish) printf("published its manifest to %s/manifests\n", so.publish);
    rc = 0;
out:
    free(proof);
    free(frags);
    if (pf) fclose(pf);
    free_passphrase(pass);
    prov_key_free(k);
    prov_chain_free(chain);
    prov_ctx_free(ctx);
    return rc;
}
