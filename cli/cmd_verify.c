/* cmd_verify.c - prov verify, prov inspect. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: prov verify FILE... [--trust ROOTS.pem] [--json]\n"
    "\n"
    "Check each file's C2PA manifest: is it intact, who signed it, does the\n"
    "signer chain to a trusted root, what was done to the file.\n"
    "  --trust PEM   trust anchors (repeatable): issuers' root.pem files\n"
    "  --registry DIR  an identity registry (local folder): adds who the signer\n"
    "                is, the key's status and flags; a revoked key is invalid;\n"
    "                an unsigned JPEG/PNG is looked up by fingerprint in its\n"
    "                manifest repository (derived from, never signed)\n"
    "  --fragment F  FILE is an fMP4 init segment: check fragment F against it\n"
    "                (repeatable; one result per fragment)\n"
    "  --json        one JSON object per file per line: file, state, codes\n"
    "                {success, failure, informational}, signer, actions,\n"
    "                ingredients\n"
    "States: trusted, valid (intact, signer not trusted), invalid, unsigned,\n"
    "error.  Exit 0 when every file is valid or trusted, 1 when any is invalid\n"
    "or unsigned, 2 on a usage or I/O error.\n";

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
    for (int kind = PROV_CODE_FAILURE; kind <= PROV_CODE_INFO; kind++) {
        size_t k = prov_report_code_count(r, kind);
        for (size_t i = 0; i < k; i++) {
            const char *c = prov_report_code(r, kind, i);
            if (!strcmp(c, "signingCredential.untrusted"))
                printf("  trust:    the signer's issuer is not among your --trust roots (%s)\n", c);
            else
                printf("  %s %s\n", kind == PROV_CODE_FAILURE ? "failure:" : "note:   ", c);
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
    static const struct option opts[] = {{"trust", required_argument, 0, 't'},
                                          {"fragment", required_argument, 0, 'f'},
                                          {"registry", required_argument, 0, 'r'},
                                          {"json", no_argument, 0, 'j'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(USAGE, stdout); return 0; }
    prov_ctx *ctx;
    prov_trust *trust;
    if (prov_ctx_new(&ctx) || prov_trust_new(&trust)) return err("out of memory");
    int json = 0, ntrust = 0, c;
    const char **frags = calloc((size_t)argc, sizeof *frags);
    int nfrags = 0;
    const char *registry = NULL;
    if (!frags) return err("out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:jh", opts, NULL)) != -1) {
        if (c == 't') {
            if (prov_trust_add_pem_file(ctx, trust, optarg)) {
                err("%s", prov_errmsg(ctx));
                prov_trust_free(trust);
                prov_ctx_free(ctx);
                free(frags);
                return EXIT_ERROR;
            }
            ntrust++;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'f') {
            frags[nfrags++] = optarg;
        } else if (c == 'r') {
            registry = optarg;
        } else {
            die_usage(USAGE);
        }
    }
    if (optind >= argc || (nfrags && argc - optind != 1)) die_usage(USAGE);
    prov_verify_opts vo = {0};
    vo.trust = ntrust ? trust : NULL;
    vo.registry = registry;
    progress pg;
    vo.progress = progress_cb;
    vo.progress_user = &pg;
    int worst = EXIT_OKAY;
    int count = nfrags ? nfrags : argc - optind;
    for (int k = 0; k < count; k++) {
        const char *name = nfrags ? frags[k] : argv[optind + k];
        prov_report *r = NULL;
        progress_start(&pg, name);
        int rc = nfrags ? prov_verify_fragment(ctx, &vo, argv[optind], name, &r) : prov_verify_file(ctx, &vo, name, &r);
        progress_end(&pg);
        int st = prov_report_state(r);
        if (rc && !r) {
            worst = err("%s: %s", name, prov_strerror(rc));
            break;
        }
        if (json) {
            size_t n = prov_report_json(r, name, NULL, 0);
            char *buf = malloc(n + 1);
            if (!buf) {
                prov_report_free(r);
                worst = err("out of memory");
                break;
            }
            prov_report_json(r, name, buf, n + 1);
            puts(buf);
            free(buf);
        } else {
            print_human(r, name);
            size_t n = prov_report_json(r, name, NULL, 0);
            char *buf = malloc(n + 1);
            if (buf && prov_report_json(r, name, buf, n + 1)) {
                /* fingerprint candidates: shown apart, never as this file's signer */
                char *df = strstr(buf, ",\"derived_from\":[");
                for (const char *p = df; p && (p = strstr(p, "{\"distance\":")); p++) {
                    const char *t = strstr(p, "\"title\":\""), *sj = strstr(p, "\"subject\":\"");
                    int d = atoi(p + 12);
                    printf("  like:     \"%.*s\" signed by %.*s (fingerprint %d of 256 bits apart; this file is not signed)\n",
                           t ? (int)strcspn(t + 9, "\"") : 1, t ? t + 9 : "?",
                           sj ? (int)strcspn(sj + 11, "\"") : 1, sj ? sj + 11 : "?", d);
                }
                if (df) *df = 0;
                show_field(buf, "name", "identity:");
                show_field(buf, "status", "status:");
                show_field(buf, "subject", "signer:");
                show_field(buf, "org", "org:");
                show_field(buf, "issuer", "issuer:");
                show_field(buf, "generator", "tool:");
                show_field(buf, "title", "title:");
                show_field(buf, "error", "error:");
                const char *a = strstr(buf, "\"actions\":[");
                for (const char *p = a; p && (p = strstr(p, "\"action\":\"")); p += 10) {
                    const char *e = strchr(p + 10, '"');
                    if (e) printf("  action:   %.*s\n", (int)(e - p - 10), p + 10);
                }
                const char *g = strstr(buf, "\"ingredients\":[");
                for (const char *p = g; p && (p = strstr(p, "{\"title\":\"")); p += 10) {
                    const char *e = strchr(p + 10, '"');
                    if (e) printf("  parent:   %.*s\n", (int)(e - p - 10), p + 10);
                }
            }
            free(buf);
        }
        fflush(stdout);
        int ex = st == PROV_STATE_ERROR ? EXIT_ERROR
                 : st == PROV_STATE_VALID || st == PROV_STATE_TRUSTED ? EXIT_OKAY
                                                                       : EXIT_INVALID;
        if (ex > worst) worst = ex;
        if (st == PROV_STATE_ERROR && !json) fprintf(stderr, "prov: %s: %s\n", name, prov_errmsg(ctx));
        prov_report_free(r);
    }
    free(frags);
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
