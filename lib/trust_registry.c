/* trust_registry.c - a verifier that chose an identity registry trusts its
 * CA root: the folder's root.pem, or the root a mirror pinned on its first
 * sync (the registry serves root.pem beside its log). */
#include "mirror.h"
#include "x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int prov_trust_add_registry(prov_ctx *ctx, prov_trust *t, const char *registry)
{
    if (!t || !registry) return prov_seterr(ctx, PROV_EINVAL, "prov_trust_add_registry: NULL argument");
    size_t n = strlen(registry);
    int is_mirror = n > 7 && !strcmp(registry + n - 7, ".sqlite");
    if (!mfetch_is_url(registry) && !is_mirror) {
        char p[4096];
        snprintf(p, sizeof p, "%s/root.pem", registry);
        return prov_trust_add_pem_file(ctx, t, p);
    }
    mirror *m = NULL;
    const char *mp = getenv("PROV_REGISTRY_MIRROR");
    int rc = is_mirror ? mirror_open(&m, registry, false, ctx)
                       : mirror_open_sync(&m, registry, mp && *mp ? mp : NULL, NULL, NULL, ctx);
    pbuf pem;
    pbuf_init(&pem);
    if (!rc) rc = mirror_ca_root(m, &pem, ctx);
    if (!rc) rc = prov_trust_add_pem(ctx, t, (const char *)pem.p, pem.len);
    pbuf_free(&pem);
    mirror_close(m);
    return rc;
}
