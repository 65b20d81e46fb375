/* verify_delta.h - validation results recorded by a store's ingredients. */
#ifndef PROV_VERIFY_DELTA_H
#define PROV_VERIFY_DELTA_H

#include "store.h"

typedef struct delta_set {
    struct {
        char code[80];
        size_t m; /* the manifest (index in the store) the status is about */
    } *e;
    size_t n, cap;
} delta_set;

/* Collect every status the store's ingredient assertions recorded (at most
 * 20,000).  0 or PROV_ENOMEM. */
PROV_HIDDEN int delta_build(c2pa_store *st, delta_set *d);
/* 1 when an ingredient recorded `code` about manifest m. */
PROV_HIDDEN int delta_has(const delta_set *d, const char *code, size_t m);
PROV_HIDDEN void delta_free(delta_set *d);

#endif
