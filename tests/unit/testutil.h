/* testutil.h - helpers shared by the cmocka unit tests. */
#ifndef PROV_TESTUTIL_H
#define PROV_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prov.h"

/* Read a whole file (malloc'd, NUL-terminated); fails the test if absent. */
uint8_t *tu_read(const char *path, size_t *len);
/* Write bytes to a file; fails the test on error. */
void tu_write(const char *path, const void *p, size_t len);
/* A fresh temporary folder for this test binary (removed at exit). */
const char *tu_tmpdir(void);
/* tu_tmpdir()/name in a static buffer ring. */
const char *tu_path(const char *name);
/* ../shared/fixtures/<rel>, found relative to the repo root (PROV_SHARED
 * overrides the shared folder). */
const char *tu_fixture(const char *rel);
/* Path of the built prov command (PROV_BIN, else build/prov). */
const char *tu_prov_bin(void);
/* Run a shell command; returns its exit status. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A throwaway issuer and signer: an Ed25519 root (root_subject) that
 * certifies *key (leaf_subject); *chain is the leaf, *trust the root.
 * Returns 0, or -1 on failure (for cmocka setups). */
typedef struct tu_identity {
    prov_key *ca_key, *key;
    prov_chain *chain;
    prov_trust *trust;
} tu_identity;
int tu_identity_make(prov_ctx *ctx, tu_identity *id, const char *root_subject, const char *leaf_subject);
void tu_identity_free(tu_identity *id);

#endif
