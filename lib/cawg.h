/* cawg.h - CAWG identity assertions (X.509 credentials). */
#ifndef PROV_CAWG_H
#define PROV_CAWG_H

#include "report.h"
#include "store.h"

PROV_HIDDEN void cawg_check_identity(const c2pa_assertion *a, c2pa_store *st, c2pa_manifest *m,
                                     prov_report *r, int ing);

#endif
