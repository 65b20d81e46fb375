/* trust_opts.c - see trust_opts.h. */
#include "trust_opts.h"
#include "cli.h"

static int used;

int trust_opt(prov_ctx *ctx, prov_trust *t, int c, const char *arg)
{
    int rc;
    switch (c) {
    case 't': rc = prov_trust_add_pem_file(ctx, t, arg); break;
    case OPT_TRUST_CONFIG: rc = prov_trust_load_config(ctx, t, arg); break;
    case OPT_TSA_TRUST: rc = prov_trust_add_tsa_pem_file(ctx, t, arg); break;
    case OPT_NO_SYSTEM_TSA: prov_trust_system_tsa(t, 0); rc = 0; break;
    default: return 0;
    }
    if (rc) {
        err("%s", prov_errmsg(ctx));
        return -1;
    }
    used = 1;
    return 1;
}

int trust_finish(prov_ctx *ctx, prov_trust *t, const char *registry)
{
    if (registry) {
        /* the user chose this registry: its CA root is a trust anchor */
        if (prov_trust_add_registry(ctx, t, registry)) {
            err("--registry %s: its CA root: %s", registry, prov_errmsg(ctx));
            return -1;
        }
        used = 1;
    }
    return used;
}
