/* identity.h - who signed, according to an identity registry. */
#ifndef PROV_IDENTITY_H
#define PROV_IDENTITY_H

#include "report.h"
#include "store.h"

/* Look the active manifest's signing key up in the registry folder dir:
 * check the embedded registration proof (prov.registration) against the
 * log's key, read the key's status and flags, and write r->identity.
 * Returns 1 when the key was revoked and the signature cannot be shown to
 * be older (the caller records signingCredential.revoked), else 0. */
PROV_HIDDEN int identity_check(prov_ctx *ctx, const char *dir, c2pa_manifest *m, prov_report *r);

#endif
