/* cmd_verify.c - prov verify, prov inspect. */
#include "bulk.h"
#include "cli.h"
#include "trust_opts.h"
#include "detect.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: prov verify FILE... [--trust ROOTS.pem] [--json]\n"
    "       prov verify -r DIR... | --files-from LIST [--jobs N] [--summary-json]\n"
    "\n"
    "Check each file's C2PA manifest: is it intact, who signed it, does the\n"
    "signer chain to a trusted root, what was done to the file.\n"
 TRUST_USAGE
    "  --registry DIR  an identity registry (local folder): adds who the signer\n"
    "                is, the key's status and flags; a revoked key is invalid;\n"
    "                its CA root (DIR/root.pem) is trusted;\n"
    "                an unsigned JPEG/PNG (PDQ) or sound (prov.chroma.1,\n"
    "                decoded with FFmpeg; Ogg/Opus too) is looked up by its\n"
    "                fingerprint in its manifest repository (derived from,\n"
    "                never signed)\n"
    "  --registry URL  the same through a SQLite mirror, synced first (pin the\n"
    "                log key once: prov registry sync URL --log-key LOG.pub)\n"
    "  --fragment F  FILE is an fMP4 init segment: check fragment F against it\n"
    "                (repeatable; one result per fragment)\n"
    "  --manifest M  check FILE against the manifest store M (a sidecar .c2pa)\n"
    "                instead of its own; without it, a FILE that carries no\n"
    "                store is checked against FILE's sidecar when one is there\n"
    "                (NAME.c2pa for NAME.EXT, or FILE.c2pa); the JSON names it\n"
    "                as manifest_source\n"
    "  --fetch-remote  a FILE that names a remote manifest (state remote) is\n"
    "                checked against the store fetched from its URL (http(s),\n"
    "                no redirects, 60 s, 48 MiB at most); without it the URL is\n"
    "                only reported\n"
    "  --json        one JSON object per file per line: file, state, codes\n"
    "                {success, failure, informational}, signer, actions,\n"
    "                ingredients\n"
    "Bulk (many files on many threads; JSON Lines in the order files finish):\n"
    "  -r, --recursive DIR  every file under DIR (repeatable; symlinks followed,\n"
    "                each folder once); files that are not media prov reads\n"
    "                (JPEG, PNG, BMFF, WebP, GIF, WAV, AVI, MP3, FLAC) by their\n"
    "                first bytes are skipped unread\n"
    "  --files-from LIST  the files named in LIST, one a line (- : stdin)\n"
    "  -j, --jobs N  threads (default: the CPUs online)\n"
    "  --summary-json  end with a {\"summary\":{...}} line on stdout instead of\n"
    "                the summary on stderr (counts by state, signer, detector\n"
    "                verdict; files, skipped, seconds)\n"
    "A progress count shows on stderr when it is a terminal.\n"
    "  --no-detect   do not run the AI-image detector on unsigned and invalid\n"
    "                files (it adds \"detector\": probability, logit, crops or\n"
    "                frames, device, model, verdict; see prov scan --help;\n"
    "                never on --fragment sets)\n"
    "  --model FILE  detector weights;  --device cpu|cuda|auto  where it runs\n"
    "States: trusted, valid (intact, signer not trusted), invalid, unsigned,\n"
    "remote (no manifest inside, only the URL of one elsewhere), error.  Exit 0 when every file is valid or trusted, 1 when any is invalid\n"
    "or unsigned, 2 on a usage or I/O error (in bulk: any file that could not\n"
    "be read, or an unreadable folder or list).\n";

static const char INSPECT_USAGE[] =
    "usage: prov inspect FILE [--json]\n"
    "\n"
    "Print what FILE holds: its media (container, duration, streams, read with\n"
    "FFmpeg) and its whole manifest store: every manifest, its claim, its\n"
    "assertions and its signature, as JSON (indented unless --json).  Exit 1\n"
    "when the file carries no manifest store.\n";

static void print_human(const prov_report *r, const char *file)
{
    int st = prov_report_state(r);
    printf("%s: %s\n", file, prov_state_name(st));
    if (st == PROV_STATE_REMOTE)
        printf("  remote:   its manifest is at %s (not fetched: --fetch-remote fetches it)\n", prov_report_remote_url(r));
    for (int kind = PROV_CODE_FAILURE; kind <= PROV_CODE_INFO; kind++) {
        size_t n = prov_report_status_count(r);
        for (size_t i = 0; i < n; i++) {
            const char *c, *m, *why;
            int k;
            prov_report_status(r, i, &c, &k, &m, &why);
            if (k != kind || !strcmp(c, "manifest.remote")) continue;
            if (!strcmp(c, "signingCredential.untrusted"))
                printf("  trust:    the signer's issuer is not among your --trust roots (%s)\n", c);
            else
                printf("  %s %s%s%s\n", kind == PROV_CODE_FAILURE ? "failure:" : "note:   ", c, why[0] ? ": " : "", why);
        }
    }
}

/* Pull a string field out of our own JSON line for the human view. */
static void show_field(const char *json, const char *key, const char *label)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p) return;
    p += strlen(pat);
    const char *e = p;
    while (*e && !(*e == '"' && e[-1] != '\\')) e++;
    if (e > p) printf("  %-9s %.*s\n", label, (int)(e - p), p);
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {TRUST_LONG_OPTIONS,
                                          {"fragment", required_argument, 0, 'f'},
                                          {"registry", required_argument, 0, 'g'},
                                          {"json", no_argument, 0, 'J'},
                                          {"recursive", required_argument, 0, 'R'},
                                          {"files-from", required_argument, 0, 'F'},
                                          {"jobs", required_argument, 0, 'j'},
                                          {"summary-json", no_argument, 0, 'S'},
                                          {"help", no_argument, 0, 'h'},
                                          {"no-detect", no_argument, 0, 'N'},
                                          {"model", required_argument, 0, 'm'},
                                          {"device", required_argument, 0, 'd'},
                                          {"manifest", required_argument, 0, 'M'},
                                          {"fetch-remote", no_argument, 0, 'H'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(USAGE, stdout); return 0; }
    detect_cfg dc;
    int detect = 1;
    detect_init(&dc);
    prov_ctx *ctx;
    prov_trust *trust;
    if (prov_ctx_new(&ctx) || prov_trust_new(&trust)) return err("out of memory");
    int json = 0, ntrust = 0, c;
    const char **frags = calloc((size_t)argc, sizeof *frags);
    int nfrags = 0;
    const char *registry = NULL, *files_from = NULL, *manifest = NULL;
    char **dirs = calloc((size_t)argc, sizeof *dirs);
    size_t ndirs = 0;
    long jobs = 0;
    int summary_json = 0, fetch_remote = 0;
    if (!frags || !dirs) return err("out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:r:j:h", opts, NULL)) != -1) {
        int t = trust_opt(ctx, trust, c, optarg);
        if (t < 0) {
            prov_trust_free(trust);
            prov_ctx_free(ctx);
            free(frags);
            free(dirs);
            return EXIT_ERROR;
        }
        if (t) {
            ntrust++;
        } else if (c == 'J') {
            json = 1;
        } else if (c == 'R' || c == 'r') {
            dirs[ndirs++] = optarg;
        } else if (c == 'F') {
            files_from = optarg;
        } else if (c == 'j') {
            char *end;
            jobs = strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > BULK_MAX_JOBS) {
                err("--jobs: give a number from 1 to %d", BULK_MAX_JOBS);
                die_usage(USAGE);
            }
        } else if (c == 'S') {
            summary_json = 1;
        } else if (c == 'f') {
            frags[nfrags++] = optarg;
        } else if (c == 'g') {
            registry = optarg;
        } else if (c == 'M') {
            manifest = optarg;
        } else if (c == 'H') {
            fetch_remote = 1;
        } else if (c == 'N' || c == 'm' || c == 'd') {
            if (c == 'N') detect = 0;
            else if (c == 'm') dc.model = optarg;
            else if (detect_parse_device(&dc, optarg)) return EXIT_ERROR;
        } else {
            die_usage(USAGE);
        }
    }
    int tf = trust_finish(ctx, trust, registry);
    if (tf < 0) {
        prov_trust_free(trust);
        prov_ctx_free(ctx);
        free(frags);
        free(dirs);
        return EXIT_ERROR;
    }
    vo_config cfg = {.trust = tf ? trust : NULL, .registry = registry, .detect = detect ? &dc : NULL};
    if (ndirs || files_from) {
        if (nfrags) die_usage(USAGE);
        bulk_opts bo = {&cfg, (unsigned)jobs, summary_json, argv + optind, (size_t)(argc - optind),
                        dirs, ndirs, files_from};
        int rc = verify_bulk(&bo);
        free(frags);
        free(dirs);
        prov_trust_free(trust);
        prov_ctx_free(ctx);
        return rc;
    }
    if (optind >= argc || (nfrags && argc - optind != 1)) die_usage(USAGE);
    if (manifest) {
        struct stat ms;
        if (nfrags || argc - optind != 1) {
            err("--manifest verifies one file against it");
            die_usage(USAGE);
        }
        int bad = stat(manifest, &ms) || !S_ISREG(ms.st_mode) || access(manifest, R_OK)
                      ? err("%s: cannot read the manifest", manifest)
                  : ms.st_size > (48 << 20) ? err("%s: a manifest store is at most 48 MiB", manifest)
                                            : 0;
        if (bad) {
            free(frags);
            free(dirs);
            detect_free(&dc);
            prov_trust_free(trust);
            prov_ctx_free(ctx);
            return bad;
        }
    }
    prov_verify_opts vo = {0};
    vo.trust = cfg.trust;
    vo.registry = registry;
    progress pg;
    vo.progress = progress_cb;
    vo.progress_user = &pg;
    int worst = EXIT_OKAY;
    int count = nfrags ? nfrags : argc - optind;
    for (int k = 0; k < count; k++) {
        const char *name = nfrags ? frags[k] : argv[optind + k];
        vo_result res = {0};
        progress_start(&pg, name);
        if (nfrags) { /* a fragment against its init segment */
            int rc = prov_verify_fragment(ctx, &vo, argv[optind], name, &res.report);
            size_t n = res.report ? prov_report_json(res.report, name, NULL, 0) : 0;
            if (rc && !res.report) {
                progress_end(&pg);
                worst = err("%s: %s", name, prov_strerror(rc));
                break;
            }
            res.state = prov_report_state(res.report);
            if (n && (res.json = malloc(n + 1))) prov_report_json(res.report, name, res.json, n + 1);
        } else {
            vo_input in = {.path = name, .keep_report = 1, .progress = progress_cb, .progress_user = &pg,
                           .manifest_path = manifest, .find_sidecar = 1, .fetch_remote = fetch_remote};
            verify_one(ctx, &cfg, &in, &res);
        }
        progress_end(&pg);
        if (!res.json || !res.report) {
            vo_result_free(&res);
            worst = err("%s: out of memory", name);
            break;
        }
        prov_report *r = res.report;
        int st = res.state;
        char *buf = res.json;
        if (json) {
            puts(buf);
        } else {
            print_human(r, name);
            /* fingerprint candidates: shown apart, never as this file's signer */
            char *df = strstr(buf, ",\"derived_from\":[");
            for (const char *p = df ? df + 17 : NULL; p && (p = strstr(p, "{\"")) &&
                                                   (!strncmp(p, "{\"distance\":", 12) || !strncmp(p, "{\"ber\":", 7));
                 p++) {
                const char *t = strstr(p, "\"title\":\""), *sj = strstr(p, "\"subject\":\"");
                char how[160];
                if (p[2] == 'd') {
                    snprintf(how, sizeof how, "fingerprint %d of 256 bits apart", atoi(p + 12));
                } else { /* sound: how much lines up, and where in the original */
                    const char *o = strstr(p, "\"offset_s\":"), *v = strstr(p, "\"overlap_s\":");
                    snprintf(how, sizeof how, "sound fingerprint %.0f%% of bits apart over %.1f s, from %.1f s into it",
                             100 * atof(p + 7), v ? atof(v + 12) : 0.0, o ? atof(o + 11) : 0.0);
                }
                printf("  like:     \"%.*s\" signed by %.*s (%s; this file is not signed)\n",
                       t ? (int)strcspn(t + 9, "\"") : 1, t ? t + 9 : "?",
                       sj ? (int)strcspn(sj + 11, "\"") : 1, sj ? sj + 11 : "?", how);
                p = strstr(p, "\"failure\":[");
                if (!p) break;
            }
            if (df) *df = 0;
            show_field(buf, "name", "identity:");
            show_field(buf, "status", "status:");
            show_field(buf, "subject", "signer:");
            show_field(buf, "org", "org:");
            show_field(buf, "issuer", "issuer:");
            show_field(buf, "generator", "tool:");
            show_field(buf, "title", "title:");
            show_field(buf, "manifest_source", "manifest:"); /* a sidecar, or fetched */
            char *d = strstr(buf, "\"detector\":{");
            if (d) *d = 0; /* the detector's own error is shown on its line */
            show_field(buf, "error", "error:");
            if (d) *d = '"';
            if (d) {
                const char *pr = strstr(d, "\"probability\":"), *lg = strstr(d, "\"logit\":");
                const char *th = strstr(d, "\"threshold\":");
                char v[64] = "", e[600] = "", m[128] = "";
                vo_json_field(d, "verdict", v, sizeof v);
                vo_json_field(d, "model", m, sizeof m);
                const char *fp = strstr(d, "\"false_positive_rate\":");
                if (pr && fp)
                    printf("  detector: %s (probability %.3f, threshold %g, at which the model flags %.0f%% of real "
                           "photos; model %s, logit %.3f; a hint, not proof)\n",
                           !strcmp(v, "likely-ai-made") ? "likely AI-made" : "no finding", atof(pr + 14),
                           th ? atof(th + 12) : 0.5, 100 * atof(fp + 22), m, lg ? atof(lg + 8) : 0.0);
                else if (pr)
                    printf("  detector: %s (probability %.3f, threshold %g; model %s, logit %.3f; a hint, not proof)\n",
                           !strcmp(v, "likely-ai-made") ? "likely AI-made" : "no finding", atof(pr + 14),
                           th ? atof(th + 12) : 0.5, m, lg ? atof(lg + 8) : 0.0);
                else if (vo_json_field(d, "error", e, sizeof e)) printf("  detector: not run: %s\n", e);
            }
            const char *a = strstr(buf, "\"actions\":[");
            const char *g = strstr(buf, "\"ingredients\":[");
            for (const char *p = a; p && (p = strstr(p, "\"action\":\"")) && (!g || p < g); p += 10) {
                const char *e = strchr(p + 10, '"');
                if (e) printf("  action:   %.*s\n", (int)(e - p - 10), p + 10);
            }
            for (const char *p = g; p && (p = strstr(p, "{\"title\":\"")); p += 10) {
                const char *e = strchr(p + 10, '"');
                const char *rel = e ? strstr(e, "\"relationship\":\"") : NULL;
                int parent = rel && !strncmp(rel + 16, "parentOf\"", 9);
                if (e) printf("  %s %.*s\n", parent ? "parent:  " : "ingredient:", (int)(e - p - 10), p + 10);
            }
        }
        fflush(stdout);
        int ex = st == PROV_STATE_ERROR ? EXIT_ERROR
                 : st == PROV_STATE_VALID || st == PROV_STATE_TRUSTED ? EXIT_OKAY
                                                                       : EXIT_INVALID;
        if (ex > worst) worst = ex;
        if (st == PROV_STATE_ERROR && !json) fprintf(stderr, "prov: %s: %s\n", name, prov_errmsg(ctx));
        vo_result_free(&res);
    }
    free(frags);
    free(dirs);
    detect_free(&dc);
    prov_trust_free(trust);
    prov_ctx_free(ctx);
    return worst;
}

/* Indent compact JSON for people. */
static void pretty(const char *s)
{
    int depth = 0, instr = 0;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (instr) {
            putchar(ch);
            if (ch == '\\' && p[1]) putchar(*++p);
            else if (ch == '"') instr = 0;
            continue;
        }
        if (ch == '"') { instr = 1; putchar(ch); }
        else if (ch == '{' || ch == '[') {
            putchar(ch);
            if (p[1] == '}' || p[1] == ']') { putchar(*++p); continue; }
            printf("\n%*s", ++depth * 2, "");
        } else if (ch == '}' || ch == ']') printf("\n%*s%c", --depth * 2, "", ch);
        else if (ch == ',') printf(",\n%*s", depth * 2, "");
        else if (ch == ':') printf(": ");
        else putchar(ch);
    }
    putchar('\n');
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(INSPECT_USAGE, stdout); return 0; }
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else die_usage(INSPECT_USAGE);
    }
    if (argc - optind != 1) die_usage(INSPECT_USAGE);
    const char *path = argv[optind];
    FILE *f = fopen(path, "rb");
    if (!f) return err("%s: cannot open", path);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    prov_stream s;
    prov_stream_file(&s, f);
    char *out = NULL;
    int rc = prov_inspect(ctx, &s, &out);
    fclose(f);
    if (rc && rc != PROV_ENOTFOUND && rc != PROV_EUNSUPPORTED) {
        err("%s: %s", path, *prov_errmsg(ctx) ? prov_errmsg(ctx) : prov_strerror(rc));
        prov_ctx_free(ctx);
        return EXIT_ERROR;
    }
    char *media = media_json(path);
    size_t cap = (out ? strlen(out) : 0) + (media ? strlen(media) : 0) + strlen(path) * 6 + 128;
    char *all = malloc(cap), *esc = malloc(strlen(path) * 6 + 1);
    if (!all || !esc) return err("out of memory");
    size_t k = 0; /* the file name as a JSON string */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '"' || *p == '\\') { esc[k++] = '\\'; esc[k++] = (char)*p; }
        else if (*p < 0x20) k += (size_t)sprintf(esc + k, "\\u%04x", *p);
        else esc[k++] = (char)*p;
    }
    esc[k] = 0;
    snprintf(all, cap, "{\"file\":\"%s\",\"media\":%s,\"manifest_store\":%s}", esc, media ? media : "null",
             out ? out : "null");
    if (json) puts(all);
    else pretty(all);
    if (!out) fprintf(stderr, "prov: %s: no manifest store (unsigned)\n", path);
    free(all);
    free(esc);
    free(media);
    prov_free(out);
    prov_ctx_free(ctx);
    return out ? 0 : EXIT_INVALID;
}
