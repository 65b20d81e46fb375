/* trust_config.c - a trust configuration file (docs/trust.md):
 *
 *   # who signs: roots (or intermediates) a signer's chain must reach
 *   anchors = roots.pem
 *   # end-entity certificates trusted as they are
 *   allowed = allowed.pem
 *   # the EKUs a signer's certificate may carry (replaces the default list)
 *   ekus = 1.3.6.1.5.5.7.3.4 1.3.6.1.5.5.7.3.36 1.3.6.1.4.1.62558.2.1
 *   # time-stamp authorities: their own roots, and the system CA bundle
 *   tsa_anchors = tsa-roots.pem
 *   system_tsa = yes
 *
 * One `key = value` a line, '#' comments, paths relative to the file's
 * folder; keys other than ekus and system_tsa may repeat. */
#include "x509.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG (1u << 20)

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int prov_trust_load_config(prov_ctx *ctx, prov_trust *t, const char *path)
{
    if (!t || !path) return prov_seterr(ctx, PROV_EINVAL, "prov_trust_load_config: NULL argument");
    uint8_t *txt;
    size_t len;
    int rc = prov_read_file(ctx, path, MAX_CONFIG, &txt, &len);
    if (rc) return rc;
    if (memchr(txt, 0, len)) {
        free(txt);
        return prov_seterr(ctx, PROV_EFORMAT, "%s: not a text file", path);
    }
    /* the folder paths are relative to */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl) sl[1] = 0;
    else dir[0] = 0;
    int line = 0;
    char *save = NULL;
    for (char *l = strtok_r((char *)txt, "\n", &save); l && !rc; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *h = strchr(l, '#');
        if (h) *h = 0;
        char *s = trim(l);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s:%d: expected key = value", path, line);
            break;
        }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        if (!*val) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s:%d: %s has no value", path, line, key);
            break;
        }
        char file[8192];
        snprintf(file, sizeof file, "%s%s", val[0] == '/' ? "" : dir, val);
        if (!strcmp(key, "anchors")) {
            rc = prov_trust_add_pem_file(ctx, t, file);
        } else if (!strcmp(key, "tsa_anchors")) {
            rc = prov_trust_add_tsa_pem_file(ctx, t, file);
        } else if (!strcmp(key, "allowed")) {
            uint8_t *pem;
            size_t pl;
            rc = prov_read_file(ctx, file, PROV_MAX_TRUST_FILE, &pem, &pl);
            if (!rc) {
                rc = prov_trust_add_allowed_pem(ctx, t, (const char *)pem, pl);
                free(pem);
            }
        } else if (!strcmp(key, "ekus")) {
            rc = prov_trust_set_ekus(ctx, t, val);
        } else if (!strcmp(key, "system_tsa")) {
            if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1")) prov_trust_system_tsa(t, 1);
            else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0")) prov_trust_system_tsa(t, 0);
            else rc = prov_seterr(ctx, PROV_EFORMAT, "%s:%d: system_tsa is yes or no", path, line);
        } else {
            rc = prov_seterr(ctx, PROV_EFORMAT, "%s:%d: unknown key %s (anchors, allowed, ekus, tsa_anchors, system_tsa)",
                             path, line, key);
        }
        if (rc && ctx && !strstr(ctx->msg, path)) {
            char m[sizeof ctx->msg];
            snprintf(m, sizeof m, "%s", ctx->msg);
            prov_seterr(ctx, rc, "%s:%d: %s", path, line, m);
        }
    }
    free(txt);
    return rc;
}
