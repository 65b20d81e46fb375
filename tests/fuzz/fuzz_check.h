/* fuzz_check.h - CHECK(c): a failed expectation aborts, so the fuzzer
 * (or the replay driver) reports the input that broke it. */
#ifndef PROV_FUZZ_CHECK_H
#define PROV_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#endif
