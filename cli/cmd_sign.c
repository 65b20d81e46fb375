/* cmd_sign.c - prov sign. */
#include "audio.h"
#include "cli.h"

#include "sign_batch.h"
#include "verify_one.h"
#include "tmpfile.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: prov sign IN -o OUT --key KEY [options]\n"
    "       prov sign IN --sidecar [-o OUT.c2pa] --key KEY [options]\n"
    "       prov sign FILE... -d OUTDIR --key KEY [--files-from LIST] [--jobs N] [options]\n"
    "\n"
    "Sign a JPEG, PNG, WebP, GIF, ISO BMFF (MP4, MOV, HEIC, AVIF, M4A), WAV, AVI,\n"
    "MP3 or FLAC file: embed a C2PA manifest signed with KEY.\n"
    "The input is never changed; OUT is written whole or not at all.\n"
    "  -o, --output OUT      the signed file (may equal IN only with --in-place)\n"
    "  -d, --output-dir DIR  batch: sign every FILE (and --files-from) into DIR\n"
    "                        under its own name, after one passphrase unlock, on\n"
    "                        all cores; a file that fails is reported, leaves no\n"
    "                        output, and the others go on (exit 2 if any failed)\n"
    "  --files-from LIST     batch inputs, one path a line (-: stdin)\n"
    "  --jobs N              batch workers (default: the CPUs online)\n"
    "  --in-place            replace IN atomically\n"
    "  --key KEY             the signing key (from prov keygen), or a key on a\n"
    "                        PKCS#11 token: an RFC 7512 URI such as\n"
    "                        'pkcs11:token=Cam;object=sign?module-path=/usr/lib/\n"
    "                        x86_64-linux-gnu/softhsm/libsofthsm2.so' (its PIN:\n"
    "                        pin-source= in the URI, PROV_PKCS11_PIN or a prompt;\n"
    "                        its chain: --chain, from prov certify)\n"
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
    "  --no-soft-binding     leave out the fingerprint (c2pa.soft-binding, by\n"
    "                        default: PDQ of a JPEG's or PNG's pixels; the\n"
    "                        prov.chroma.1 of an audio file's sound)\n"
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
    "  -m, --manifest DEF    a manifest definition (c2patool's JSON): title,\n"
    "                        claim_generator_info, actions (model, parameters,\n"
    "                        digitalSourceType), assertions such as\n"
    "                        stds.schema-org.CreativeWork; docs/manifest-definition.md\n"
    "  --sidecar             write the manifest store alone to OUT (default: IN's\n"
    "                        name with .c2pa) and leave IN as it is; the\n"
    "                        manifest binds all of IN; prov verify IN finds it;\n"
    "                        with -d, each FILE's NAME.c2pa goes into OUTDIR\n"
    "  --remote-url URL      a remote manifest: OUT carries only an XMP\n"
    "                        reference to URL (dcterms:provenance); the store,\n"
    "                        which binds all of OUT, goes to --manifest-out M\n"
    "                        (default: OUT's name with .c2pa) to publish at URL\n"
    "  --allow-expired       sign even though the certificate has expired or is\n"
    "                        not yet valid (verifiers will report it)\n"
    "  --insecure-key        use an unencrypted key file that others can read\n"
    "The key's passphrase comes from PROV_PASSPHRASE or a prompt.\n";

/* Batch inputs from LIST (one path a line; "-": stdin), appended to *v. */
static int read_list(const char *list, const char ***v, size_t *n, size_t *cap)
{
    FILE *f = strcmp(list, "-") ? fopen(list, "r") : stdin;
    if (!f) return err("%s: cannot open: %s", list, strerror(errno));
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&line, &lcap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            const char **nv = realloc(*v, nc * sizeof *nv);
            if (!nv) { rc = err("out of memory"); break; }
            *v = nv, *cap = nc;
        }
        if (!((*v)[*n] = strdup(line))) rc = err("out of memory");
        else (*n)++;
    }
    if (!rc && ferror(f)) rc = err("%s: read error", list);
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

/* The leaf's validity against now: refuse an expired or not yet valid
 * certificate unless the user said so. */
static int check_cert_time(const prov_chain *chain, const char *chainp, int allow)
{
    size_t len;
    const uint8_t *der = prov_chain_der(chain, 0, &len);
    int64_t nb, na;
    if (!der || prov_cert_validity(der, len, &nb, &na)) return err("%s: the certificate's dates do not parse", chainp);
    time_t t = time(NULL);
    if (t >= nb && t <= na) return 0;
    char when[32];
    time_t w = t < nb ? (time_t)nb : (time_t)na;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&w, &tm));
    if (allow) {
        fprintf(stderr, "prov: warning: %s: the certificate %s %s; signing anyway (--allow-expired)\n", chainp,
                t < nb ? "is valid only from" : "expired on", when);
        return 0;
    }
    return err("%s: the certificate %s %s: verifiers will reject what it signs; renew it (prov keygen --ca) "
               "or pass --allow-expired",
               chainp, t < nb ? "is valid only from" : "expired on", when);
}

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

/* A definition's ingredient files, opened relative to its folder (as
 * c2patool does); their file names are their titles.  Errors printed. */
static int open_ingredients(const char *defp, char **paths, size_t n, FILE **files, prov_stream *streams,
                            prov_ingredient *ings)
{
    const char *sl = strrchr(defp, '/');
    int dl = sl ? (int)(sl - defp) : 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        char p[8192];
        int pl = paths[i][0] == '/' || !dl ? snprintf(p, sizeof p, "%s", paths[i])
                                            : snprintf(p, sizeof p, "%.*s/%s", dl, defp, paths[i]);
        if (pl < 0 || (size_t)pl >= sizeof p) return err("%s: ingredient path too long", defp);
        if (!(files[i] = fopen(p, "rb"))) return err("%s: ingredient %s: %s", defp, p, strerror(errno));
        prov_stream_file(&streams[i], files[i]);
        ings[i] = (prov_ingredient){&streams[i], base_name(paths[i])};
    }
    return 0;
}

/* What signs: a key file or a token's key, its chain and registration. */
typedef struct signing {
    prov_key *k;
    prov_pkcs11_key *hk;
    prov_chain *chain;
    uint8_t *proof;
    prov_signer signer;
} signing;

static void signing_free(signing *g)
{
    free(g->proof);
    prov_key_free(g->k);
    prov_pkcs11_close(g->hk);
    prov_chain_free(g->chain);
}

/* The key (its passphrase asked once, or the token opened), its
 * registration proof (KEY.proof, embedded when present) and its chain,
 * checked for use.  Errors printed. */
static int load_signing(prov_ctx *ctx, const char *key, const char *chainp, int insecure_key, int allow_expired,
                        signing *g, prov_sign_opts *so)
{
    if (is_token_uri(key)) {
        if (!chainp) return err("a token's key needs --chain PEM (issue one with prov certify --key URI --ca DIR)");
        if (token_open(ctx, key, &g->hk)) return EXIT_ERROR;
        prov_signer_from_pkcs11(&g->signer, g->hk);
    } else {
        int enc = prov_key_file_encrypted(key);
        if (enc < 0) return err("%s: cannot read the key (make one with prov keygen)", key);
        struct stat st;
        if (!enc && stat(key, &st) == 0 && (st.st_mode & 077) && !insecure_key)
            return err("%s: an unencrypted key that other users can read (mode %04o): chmod 600 it, seal it with a "
                       "passphrase, or pass --insecure-key",
                       key, (unsigned)(st.st_mode & 07777));
        char *pass = NULL;
        if (enc && !(pass = get_passphrase("Passphrase of the signing key: ", 0, NULL))) return EXIT_ERROR;
        int r = prov_key_load(ctx, key, pass, &g->k);
        free_passphrase(pass);
        if (r) return err("%s", prov_errmsg(ctx));
        prov_signer_from_key(&g->signer, g->k);
        char proofp[4096];
        snprintf(proofp, sizeof proofp, "%s.proof", key);
        FILE *pr = fopen(proofp, "rb");
        if (pr) {
            g->proof = malloc(65536);
            size_t n = g->proof ? fread(g->proof, 1, 65536, pr) : 0;
            fclose(pr);
            if (!g->proof || n == 0 || n == 65536) return err("%s: unreadable or too large", proofp);
            so->registration = g->proof;
            so->registration_len = n;
        }
    }
    char defchain[4096];
    if (!chainp) {
        snprintf(defchain, sizeof defchain, "%s.chain.pem", key);
        chainp = defchain;
    }
    if (prov_chain_load_pem(ctx, chainp, &g->chain))
        return err("%s (a key needs a certificate: prov keygen --ca DIR, or --chain PEM)", prov_errmsg(ctx));
    return check_cert_time(g->chain, chainp, allow_expired);
}

static int sign_many(int nargs, const char **args, const char **lists, size_t nlists, const char *outdir,
                     const char *key, const char *chainp, prov_sign_opts *so, unsigned jobs, int allow_expired,
                     int insecure_key)
{
    const char **in = NULL;
    size_t n = 0, cap = 0, nowned = 0;
    int rc = EXIT_ERROR;
    for (size_t i = 0; i < nlists; i++)
        if (read_list(lists[i], &in, &n, &cap)) goto early;
    nowned = n;
    if (n + (size_t)nargs > cap) {
        const char **nv = realloc(in, (n + (size_t)nargs + 1) * sizeof *nv);
        if (!nv) { err("out of memory"); goto early; }
        in = nv;
    }
    for (int i = 0; i < nargs; i++) in[n++] = args[i];
    if (!n) { err("no files to sign (name them, or --files-from LIST)"); goto early; }
    char **out = NULL;
    if (sign_batch_outputs(outdir, in, n, so->sidecar, &out)) goto early;
    prov_ctx *ctx = NULL;
    signing g = {0};
    if (prov_ctx_new(&ctx)) { err("out of memory"); goto done; }
    if (load_signing(ctx, key, chainp, insecure_key, allow_expired, &g, so)) goto done;
    sign_batch b = {.in = in, .out = out, .n = n, .dir = outdir, .so = so, .signer = &g.signer, .chain = g.chain,
                    .jobs = jobs, .verbose = 1};
    rc = sign_batch_run(&b);
done:
    for (size_t i = 0; i < n; i++) free(out[i]);
    free(out);
    signing_free(&g);
    prov_ctx_free(ctx);
early:
    for (size_t i = 0; i < nowned; i++) free((char *)in[i]);
    free(in);
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
                                          {"output-dir", required_argument, 0, 'd'},
                                          {"files-from", required_argument, 0, 'L'},
                                          {"jobs", required_argument, 0, 'j'},
                                          {"allow-expired", no_argument, 0, 'X'},
                                          {"insecure-key", no_argument, 0, 'I'},
                                          {"manifest", required_argument, 0, 'm'},
                                          {"sidecar", no_argument, 0, 'Y'},
                                          {"remote-url", required_argument, 0, 'U'},
                                          {"manifest-out", required_argument, 0, 'W'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(USAGE, stdout); return 0; }
    const char *out = NULL, *key = NULL, *chainp = NULL, *parent = NULL;
    int inplace = 0, c;
    prov_sign_opts so = {0};
    const char **frags = calloc((size_t)argc, sizeof *frags);
    size_t nfrags = 0;
    const char *fragdir = NULL, *outdir = NULL;
    const char **lists = calloc((size_t)argc, sizeof *lists);
    size_t nlists = 0;
    unsigned jobs = 0;
    int allow_expired = 0, insecure_key = 0;
    if (!frags || !lists) return free(frags), free(lists), err("out of memory");
    optind = 1;
    const char *defp = NULL, *manifest_out = NULL;
    while ((c = getopt_long(argc, argv, "o:k:d:m:h", opts, NULL)) != -1) {
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
        case 'd': outdir = optarg; break;
        case 'L': lists[nlists++] = optarg; break;
        case 'j': {
            char *e;
            unsigned long v = strtoul(optarg, &e, 10);
            if (*e || !*optarg || v < 1 || v > 256) return free(frags), free(lists), err("--jobs: 1 to 256");
            jobs = (unsigned)v;
            break;
        }
        case 'X': allow_expired = 1; break;
        case 'I': insecure_key = 1; break;
        case 'm': defp = optarg; break;
        case 'Y': so.sidecar = 1; break;
        case 'U': so.remote_url = optarg; break;
        case 'W': manifest_out = optarg; break;
        default: die_usage(USAGE);
        }
    }
    if (!key) die_usage(USAGE);
    char *deftext = NULL;
    if (defp) {
        FILE *df = fopen(defp, "rb");
        if (!df) return free(frags), free(lists), err("%s: cannot open the manifest definition: %s", defp, strerror(errno));
        deftext = malloc((1u << 20) + 1);
        size_t dn = deftext ? fread(deftext, 1, (1u << 20) + 1, df) : 0;
        int bad = !deftext || ferror(df) || dn > (1u << 20);
        fclose(df);
        if (bad) return free(deftext), free(frags), free(lists), err("%s: unreadable, or larger than 1 MiB", defp);
        so.definition = deftext;
        so.definition_len = dn;
    }
    char **ipaths = NULL;
    size_t nipaths = 0;
    if (deftext) {
        prov_ctx *c0;
        if (prov_ctx_new(&c0)) return free(deftext), free(frags), free(lists), err("out of memory");
        int r0 = prov_definition_ingredient_paths(c0, deftext, so.definition_len, &ipaths, &nipaths);
        if (r0) err("%s: %s", defp, prov_errmsg(c0));
        prov_ctx_free(c0);
        if (r0) return free(deftext), free(frags), free(lists), EXIT_ERROR;
    }
    if ((outdir || nlists) && nipaths)
        return prov_definition_paths_free(ipaths, nipaths), free(deftext), free(frags), free(lists),
               err("%s: a definition with ingredient_paths signs one file at a time (not with -d)", defp);
    if (so.sidecar && (inplace || nfrags))
        return free(frags), free(lists), free(deftext), err("--sidecar: not with --in-place or --fragment");
    if (so.remote_url && (outdir || nlists || inplace || nfrags))
        return free(frags), free(lists), free(deftext),
               err("--remote-url signs one file (not with -d, --files-from, --in-place or --fragment)");
    if (manifest_out && !so.remote_url)
        return free(frags), free(lists), free(deftext), err("--manifest-out goes with --remote-url");
    if (outdir || nlists) {
        if (!outdir) return free(frags), free(lists), err("--files-from needs -d OUTDIR");
        if (out || inplace || parent || nfrags || so.title || so.parent_title)
            return free(frags), free(lists), err("-d signs each file as its own: -o, --in-place, --parent, --title and --fragment do not apply");
        free(frags);
        int brc = sign_many(argc - optind, (const char **)argv + optind, lists, nlists, outdir, key, chainp, &so,
                            jobs, allow_expired, insecure_key);
        free(lists);
        free(deftext);
        return brc;
    }
    free(lists);
    if (argc - optind != 1) die_usage(USAGE);
    const char *in = argv[optind];
    if (inplace) {
        if (out && strcmp(out, in)) return free(frags), free(deftext), err("--in-place and -o name different files");
        out = in;
    }
    char *side_out = NULL;
    if (so.sidecar && !out) out = side_out = vo_sidecar_path(in); /* IN's name, .c2pa */
    if (!out) die_usage(USAGE);
    struct stat si, so_;
    if (!inplace && stat(in, &si) == 0 && stat(out, &so_) == 0 && si.st_dev == so_.st_dev && si.st_ino == so_.st_ino)
        return free(frags), free(deftext), err("%s: output is the input; use --in-place to replace it", out);
    if (!so.title && !so.definition) so.title = base_name(so.sidecar ? in : out); /* a definition may name it */

    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return free(frags), free(deftext), err("out of memory");
    int rc = EXIT_ERROR;
    signing g = {0};
    FILE *pf = NULL, *ing_files[16] = {0};
    prov_stream ps, ing_streams[16];
    prov_ingredient ings[16];
    if (load_signing(ctx, key, chainp, insecure_key, allow_expired, &g, &so)) goto out;
    if (nipaths && open_ingredients(defp, ipaths, nipaths, ing_files, ing_streams, ings)) goto out;
    so.ingredients = ings;
    so.ningredients = nipaths;
    if (parent) {
        pf = fopen(parent, "rb");
        if (!pf) { err("%s: cannot open the parent", parent); goto out; }
        prov_stream_file(&ps, pf);
        so.parent = &ps;
        if (!so.parent_title) so.parent_title = base_name(parent);
    }
    if (nfrags) {
        rc = sign_fragments(ctx, &so, &g.signer, g.chain, in, out, frags, nfrags, fragdir);
        goto out;
    }
    /* a remote manifest: its store to M (default OUT's name with .c2pa),
     * written beside it and renamed into place once OUT is */
    char *mpath = NULL, *mtmp = NULL;
    int mfd = -1;
    FILE *mf = NULL;
    prov_stream ms;
    if (so.remote_url) {
        mpath = manifest_out ? strdup(manifest_out) : vo_sidecar_path(out);
        struct stat mt;
        if (mpath && lstat(mpath, &mt) == 0 && !S_ISREG(mt.st_mode)) { /* a rename would replace a device */
            err("%s: exists and is not a regular file", mpath);
            free(mpath);
            goto out;
        }
        if (!mpath || tmp_create(mpath, &mtmp, &mfd) || !(mf = fdopen(mfd, "w+b"))) {
            err("%s: cannot create a file beside it", mpath ? mpath : "manifest");
            if (mfd >= 0) close(mfd);
            if (mtmp) unlink(mtmp);
            free(mtmp);
            free(mpath);
            goto out;
        }
        prov_stream_file(&ms, mf);
        so.manifest_out = &ms;
    }
    uint32_t *afp = NULL; /* the sound's fingerprint, for audio files */
    if (audio_for_sign(in, &so, &afp)) {
        if (mf) fclose(mf), unlink(mtmp);
        free(mpath), free(mtmp);
        goto out;
    }
    progress pg;
    progress_start(&pg, in);
    so.progress = progress_cb;
    so.progress_user = &pg;
    int r = prov_sign_file(ctx, &so, &g.signer, g.chain, in, out);
    if (r == PROV_ELIMIT && so.timestamp) { /* a token larger than the usual room: once more with more */
        so.timestamp_reserve = 65536;
        r = prov_sign_file(ctx, &so, &g.signer, g.chain, in, out);
    }
    progress_end(&pg);
    free(afp);
    int mfail = 0;
    if (mf) {
        if (!r && (fflush(mf) || fsync(fileno(mf)) || fchmod(fileno(mf), 0644) || rename(mtmp, mpath))) {
            err("%s: cannot write the manifest: %s", mpath, strerror(errno));
            unlink(out); /* the file names a manifest that is not there: neither stays */
            r = PROV_EIO;
            mfail = 1;
        }
        fclose(mf);
        if (r) unlink(mtmp);
        free(mtmp);
    }
    if (r) {
        if (!mfail) err("%s: %s", in, *prov_errmsg(ctx) ? prov_errmsg(ctx) : prov_strerror(r));
        free(mpath);
        goto out;
    }
    if (so.remote_url) {
        printf("signed %s -> %s (it names its manifest at %s)\n", in, out, so.remote_url);
        printf("manifest store: %s; publish it at %s\n", mpath, so.remote_url);
        free(mpath);
        rc = 0;
        goto out;
    }
    if (so.sidecar) printf("signed %s -> %s (a sidecar manifest; %s is unchanged)\n", in, out, in);
    else printf("signed %s -> %s\n", in, out);
    if (so.publish) printf("published its manifest to %s/manifests\n", so.publish);
    rc = 0;
out:
    free(side_out);
    free(deftext);
    free(frags);
    if (pf) fclose(pf);
    for (size_t i = 0; i < 16; i++)
        if (ing_files[i]) fclose(ing_files[i]);
    prov_definition_paths_free(ipaths, nipaths);
    signing_free(&g);
    prov_ctx_free(ctx);
    return rc;
}
