/* mirror_int.h - what mirror.c and mirror_db.c share; internal. */
#ifndef PROV_MIRROR_INT_H
#define PROV_MIRROR_INT_H

#include "dl.h"
#include "mirror.h"

struct mirror {
    const struct prov_sqlite_api *S;
    sqlite3 *db;
    char *path;
    uint64_t size;
    sqlite3_stmt *q_meta_get, *q_meta_set, *q_find, *q_flags, *q_kid, *q_name;
};

PROV_HIDDEN int mdb_err(mirror *m, int code, prov_ctx *ctx, const char *what);
PROV_HIDDEN int mdb_exec(mirror *m, const char *sql, prov_ctx *ctx);
/* The mirror's memory map (lookups read pages in place). */
#define MDB_MMAP_PRAGMA "PRAGMA mmap_size=1073741824"
/* The idents table's indexes (a cold sync makes them after the rows:
 * sorting once beats a million random inserts). */
#define MDB_IDENT_INDEXES                                                                      \
    "CREATE INDEX IF NOT EXISTS idents_kid ON idents(kid);"                                    \
    "CREATE INDEX IF NOT EXISTS idents_name ON idents(name_lc)"
/* Prepare *st once (later: reset and clear its bindings). */
PROV_HIDDEN int mdb_prep(mirror *m, sqlite3_stmt **st, const char *sql, prov_ctx *ctx);
/* out gets the value, NUL-terminated (not counted in len). */
PROV_HIDDEN int mdb_meta_get(mirror *m, const char *k, pbuf *out, bool *found, prov_ctx *ctx);
PROV_HIDDEN int mdb_meta_set(mirror *m, const char *k, const void *v, size_t n, prov_ctx *ctx);
PROV_HIDDEN int mdb_put_ident(mirror *m, sqlite3_stmt **st, const reg_ident *d, prov_ctx *ctx);

#endif
