/* cawg.h - CAWG identity assertions (X.509 credentials). */
#ifndef PROV_CAWG_H
#define PROV_CAWG_H

#include "report.h"
#include "store.h"

PROV_HIDDEN void cawg_check_identity(const c2pa_assertion *a, c2pa_store *st, c2pa_manifest *m,
                                     prov_report *r, int ing);

/* The signature of an identity claims aggregation credential (cawg_ica.c);
 * sp is the assertion's signer_payload, ml the manifest's label. */
PROV_HIDDEN void cawg_check_ica(const uint8_t *sig, size_t sig_len, cval sp, prov_report *r, int ing,
                                const char *ml);
/* An RFC 3339 date-time as Unix seconds: 0, or -1 when it is not one. */
PROV_HIDDEN int cawg_rfc3339(const char *s, size_t n, int64_t *out);

#endif
