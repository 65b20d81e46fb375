/* mirror_db.c - the mirror's SQLite file: schema, metadata, lookups.
 * SQLite is loaded at run time (dl.h).  Lookups use prepared statements on
 * the key (a WITHOUT ROWID primary key), so one costs a B-tree descent. */
#include "hash.h"
#include "mirror_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    MDB_MMAP_PRAGMA ";" /* lookups read pages in place */
    "PRAGMA cache_size=-65536;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL,"
    " note BLOB NOT NULL, fetched INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS entries(idx INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS idents(key BLOB PRIMARY KEY, kid TEXT NOT NULL, name TEXT,"
    " name_lc TEXT, org TEXT, contact TEXT, checked_by TEXT, registrar BLOB, idx INTEGER,"
    " time INTEGER, status INTEGER, rotated_to BLOB, rotated_from BLOB, rotated_time INTEGER,"
    " revoked_idx INTEGER, revoked_time INTEGER, revoked_effective INTEGER, revoked_reason TEXT,"
    " nflags INTEGER NOT NULL, spki BLOB) WITHOUT ROWID;"
    MDB_IDENT_INDEXES ";"
    "CREATE TABLE IF NOT EXISTS revocations(idx INTEGER PRIMARY KEY, key BLOB NOT NULL,"
    " time INTEGER, effective INTEGER, reason TEXT);"
    "CREATE TABLE IF NOT EXISTS flags(idx INTEGER PRIMARY KEY, key BLOB NOT NULL, time INTEGER,"
    " flagger BLOB, media BLOB, manifest BLOB, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS flags_key ON flags(key);"
    "CREATE TABLE IF NOT EXISTS evidence(id INTEGER PRIMARY KEY, time INTEGER, source TEXT,"
    " old_size INTEGER, old_root BLOB, old_note BLOB, new_size INTEGER, new_root BLOB,"
    " new_note BLOB, detail TEXT);";

#define IDENT_COLS                                                                             \
    "key,kid,name,org,contact,checked_by,registrar,idx,time,status,rotated_to,rotated_from,"   \
    "rotated_time,revoked_idx,revoked_time,revoked_effective,revoked_reason,nflags,spki"

int mdb_err(mirror *m, int code, prov_ctx *ctx, const char *what)
{
    return prov_seterr(ctx, code, "%s: %s: %s", m->path, what, m->S->sqlite3_errmsg(m->db));
}

int mdb_exec(mirror *m, const char *sql, prov_ctx *ctx)
{
    if (m->S->sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK) return mdb_err(m, PROV_EIO, ctx, sql);
    return 0;
}

int mdb_prep(mirror *m, sqlite3_stmt **st, const char *sql, prov_ctx *ctx)
{
    if (*st) {
        m->S->sqlite3_reset(*st);
        m->S->sqlite3_clear_bindings(*st);
        return 0;
    }
    if (m->S->sqlite3_prepare_v2(m->db, sql, -1, st, NULL) != SQLITE_OK) return mdb_err(m, PROV_EIO, ctx, "prepare");
    return 0;
}

int mdb_meta_get(mirror *m, const char *k, pbuf *out, bool *found, prov_ctx *ctx)
{
    int rc = mdb_prep(m, &m->q_meta_get, "SELECT v FROM meta WHERE k=?", ctx);
    if (rc) return rc;
    m->S->sqlite3_bind_text(m->q_meta_get, 1, k, -1, SQLITE_STATIC);
    int s = m->S->sqlite3_step(m->q_meta_get);
    *found = s == SQLITE_ROW;
    if (s == SQLITE_ROW) {
        const void *p = m->S->sqlite3_column_blob(m->q_meta_get, 0);
        int n = m->S->sqlite3_column_bytes(m->q_meta_get, 0);
        if (n > 0) pbuf_put(out, p, (size_t)n);
        pbuf_putc(out, 0), out->len--; /* NUL-terminated for text values */
    } else if (s != SQLITE_DONE) {
        rc = mdb_err(m, PROV_EIO, ctx, "read meta");
    }
    m->S->sqlite3_reset(m->q_meta_get);
    return rc ? rc : out->err;
}

int mdb_meta_set(mirror *m, const char *k, const void *v, size_t n, prov_ctx *ctx)
{
    int rc = mdb_prep(m, &m->q_meta_set, "INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)", ctx);
    if (rc) return rc;
    m->S->sqlite3_bind_text(m->q_meta_set, 1, k, -1, SQLITE_STATIC);
    m->S->sqlite3_bind_blob(m->q_meta_set, 2, n ? v : "", (int)n, SQLITE_STATIC);
    if (m->S->sqlite3_step(m->q_meta_set) != SQLITE_DONE) rc = mdb_err(m, PROV_EIO, ctx, "write meta");
    m->S->sqlite3_reset(m->q_meta_set);
    return rc;
}

int mirror_open(mirror **out, const char *path, bool create, prov_ctx *ctx)
{
    char why[200];
    const struct prov_sqlite_api *S = prov_sqlite(why, sizeof why);
    if (!S) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s", why);
    struct stat sb;
    if (!create && stat(path, &sb)) return prov_seterr(ctx, PROV_ENOTFOUND, "%s: no such mirror (run prov registry sync)", path);
    mirror *m = calloc(1, sizeof *m);
    if (!m) return PROV_ENOMEM;
    m->S = S;
    m->path = strdup(path);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    int rc = m->path ? 0 : PROV_ENOMEM;
    if (!rc && S->sqlite3_open_v2(path, &m->db, flags, NULL) != SQLITE_OK) {
        rc = prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", path, m->db ? S->sqlite3_errmsg(m->db) : "out of memory");
    }
    if (!rc) S->sqlite3_busy_timeout(m->db, 10000);
    if (!rc) rc = mdb_exec(m, SCHEMA, ctx);
    /* a mirror made before ECDSA keys: the column they need */
    if (!rc && S->sqlite3_exec(m->db, "SELECT spki FROM idents LIMIT 0", NULL, NULL, NULL) != SQLITE_OK)
        rc = mdb_exec(m, "ALTER TABLE idents ADD COLUMN spki BLOB", ctx);
    pbuf b;
    pbuf_init(&b);
    bool found = false;
    if (!rc) rc = mdb_meta_get(m, "size", &b, &found, ctx);
    if (!rc && found) m->size = strtoull((char *)b.p, NULL, 10);
    pbuf_free(&b);
    if (rc) {
        mirror_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void mirror_close(mirror *m)
{
    if (!m) return;
    sqlite3_stmt *sts[] = {m->q_meta_get, m->q_meta_set, m->q_find, m->q_flags, m->q_kid, m->q_name};
    for (size_t i = 0; i < sizeof sts / sizeof *sts; i++)
        if (sts[i]) m->S->sqlite3_finalize(sts[i]);
    if (m->db) m->S->sqlite3_close_v2(m->db);
    free(m->path);
    free(m);
}

uint64_t mirror_size(const mirror *m) { return m->size; }

int mirror_log_verifier(mirror *m, tlog_verifier *v, prov_ctx *ctx)
{
    pbuf b;
    pbuf_init(&b);
    bool found;
    int rc = mdb_meta_get(m, "log_key", &b, &found, ctx);
    if (!rc && !found) rc = prov_seterr(ctx, PROV_ENOTFOUND, "%s: never synced (no pinned log key)", m->path);
    if (!rc && tlog_verifier_parse(v, (char *)b.p, b.len)) rc = prov_seterr(ctx, PROV_EFORMAT, "%s: bad stored log key", m->path);
    pbuf_free(&b);
    return rc;
}

/* ---- writing an identity ------------------------------------------------ */

static void bind_str(mirror *m, sqlite3_stmt *st, int i, const char *s)
{
    if (s) m->S->sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else m->S->sqlite3_bind_null(st, i);
}

int mdb_put_ident(mirror *m, sqlite3_stmt **st, const reg_ident *d, prov_ctx *ctx)
{
    int rc = mdb_prep(m, st, "INSERT OR REPLACE INTO idents(" IDENT_COLS
                             ",name_lc) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ctx);
    if (rc) return rc;
    const struct prov_sqlite_api *S = m->S;
    char kid[17], lc[REG_FIELD_MAX + 1];
    reg_key_id(kid, d->key);
    size_t n = d->name ? strlen(d->name) : 0;
    if (n > REG_FIELD_MAX) n = REG_FIELD_MAX;
    for (size_t i = 0; i < n; i++) lc[i] = (char)tolower((unsigned char)d->name[i]);
    lc[n] = 0;
    S->sqlite3_bind_blob(*st, 1, d->key, 32, SQLITE_STATIC);
    S->sqlite3_bind_text(*st, 2, kid, 16, SQLITE_TRANSIENT);
    bind_str(m, *st, 3, d->name);
    bind_str(m, *st, 4, d->org);
    bind_str(m, *st, 5, d->contact);
    bind_str(m, *st, 6, d->checked_by);
    S->sqlite3_bind_blob(*st, 7, d->registrar, 32, SQLITE_STATIC);
    S->sqlite3_bind_int64(*st, 8, (sqlite3_int64)d->index);
    S->sqlite3_bind_int64(*st, 9, (sqlite3_int64)d->time);
    S->sqlite3_bind_int(*st, 10, d->status);
    if (d->status == REG_ROTATED) S->sqlite3_bind_blob(*st, 11, d->rotated_to, 32, SQLITE_STATIC);
    if (d->has_from) S->sqlite3_bind_blob(*st, 12, d->rotated_from, 32, SQLITE_STATIC);
    S->sqlite3_bind_int64(*st, 13, (sqlite3_int64)d->rotated_time);
    if (d->status == REG_REVOKED) {
        S->sqlite3_bind_int64(*st, 14, (sqlite3_int64)d->revoked_index);
        S->sqlite3_bind_int64(*st, 15, (sqlite3_int64)d->revoked_time);
        S->sqlite3_bind_int64(*st, 16, (sqlite3_int64)d->revoked_effective);
        bind_str(m, *st, 17, d->revoked_reason);
    }
    S->sqlite3_bind_int64(*st, 18, (sqlite3_int64)d->nflags);
    if (d->spki_len) S->sqlite3_bind_blob(*st, 19, d->spki, (int)d->spki_len, SQLITE_STATIC);
    S->sqlite3_bind_text(*st, 20, lc, (int)n, SQLITE_TRANSIENT);
    if (S->sqlite3_step(*st) != SQLITE_DONE) rc = mdb_err(m, PROV_EIO, ctx, "write identity");
    S->sqlite3_reset(*st);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

void mirror_ident_clear(reg_ident *d)
{
    free(d->name), free(d->org), free(d->contact), free(d->checked_by), free(d->revoked_reason), free(d->spki);
    for (size_t i = 0; i < d->nflags; i++) free(d->flags[i].reason);
    free(d->flags);
    memset(d, 0, sizeof *d);
}

static char *col_str(mirror *m, sqlite3_stmt *st, int i)
{
    const unsigned char *t = m->S->sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void col_key(mirror *m, sqlite3_stmt *st, int i, uint8_t out[32], bool *has)
{
    const void *p = m->S->sqlite3_column_blob(st, i);
    bool ok = p && m->S->sqlite3_column_bytes(st, i) == 32;
    if (ok) memcpy(out, p, 32);
    if (has) *has = ok;
}

static int load_flags(mirror *m, reg_ident *d, prov_ctx *ctx)
{
    int rc = mdb_prep(m, &m->q_flags, "SELECT idx,time,flagger,media,manifest,reason FROM flags WHERE key=? ORDER BY idx", ctx);
    if (rc) return rc;
    const struct prov_sqlite_api *S = m->S;
    S->sqlite3_bind_blob(m->q_flags, 1, d->key, 32, SQLITE_STATIC);
    size_t want = d->nflags;
    d->nflags = 0;
    d->flags = calloc(want ? want : 1, sizeof *d->flags);
    if (!d->flags) return PROV_ENOMEM;
    while (d->nflags < want && S->sqlite3_step(m->q_flags) == SQLITE_ROW) {
        reg_flag *f = &d->flags[d->nflags++];
        f->index = (uint64_t)S->sqlite3_column_int64(m->q_flags, 0);
        f->time = (uint64_t)S->sqlite3_column_int64(m->q_flags, 1);
        col_key(m, m->q_flags, 2, f->flagger, NULL);
        col_key(m, m->q_flags, 3, f->media, NULL);
        col_key(m, m->q_flags, 4, f->manifest, &f->has_manifest);
        f->reason = col_str(m, m->q_flags, 5);
    }
    S->sqlite3_reset(m->q_flags);
    return 0;
}

/* Fill d from the current row of st (IDENT_COLS). */
static int row_ident(mirror *m, sqlite3_stmt *st, reg_ident *d, prov_ctx *ctx)
{
    const struct prov_sqlite_api *S = m->S;
    memset(d, 0, sizeof *d);
    col_key(m, st, 0, d->key, NULL);
    d->name = col_str(m, st, 2);
    d->org = col_str(m, st, 3);
    d->contact = col_str(m, st, 4);
    d->checked_by = col_str(m, st, 5);
    col_key(m, st, 6, d->registrar, NULL);
    d->index = (uint64_t)S->sqlite3_column_int64(st, 7);
    d->time = (uint64_t)S->sqlite3_column_int64(st, 8);
    d->status = S->sqlite3_column_int(st, 9);
    col_key(m, st, 10, d->rotated_to, NULL);
    col_key(m, st, 11, d->rotated_from, &d->has_from);
    d->rotated_time = (uint64_t)S->sqlite3_column_int64(st, 12);
    d->revoked_index = (uint64_t)S->sqlite3_column_int64(st, 13);
    d->revoked_time = (uint64_t)S->sqlite3_column_int64(st, 14);
    d->revoked_effective = (uint64_t)S->sqlite3_column_int64(st, 15);
    d->revoked_reason = col_str(m, st, 16);
    d->nflags = (size_t)S->sqlite3_column_int64(st, 17);
    const void *k = S->sqlite3_column_blob(st, 18);
    int kl = S->sqlite3_column_bytes(st, 18);
    if (k && kl > 0 && kl <= REG_SPKI_MAX) { /* an ECDSA key in full */
        if (!(d->spki = malloc((size_t)kl))) return PROV_ENOMEM;
        memcpy(d->spki, k, (size_t)kl);
        d->spki_len = (size_t)kl;
    }
    return 0;
}

int mirror_find(mirror *m, const uint8_t pk[32], reg_ident *d, prov_ctx *ctx)
{
    int rc = mdb_prep(m, &m->q_find, "SELECT " IDENT_COLS " FROM idents WHERE key=?", ctx);
    if (rc) return rc;
    m->S->sqlite3_bind_blob(m->q_find, 1, pk, 32, SQLITE_STATIC);
    int s = m->S->sqlite3_step(m->q_find);
    if (s == SQLITE_ROW) rc = row_ident(m, m->q_find, d, ctx);
    else rc = s == SQLITE_DONE ? PROV_ENOTFOUND : mdb_err(m, PROV_EIO, ctx, "lookup");
    m->S->sqlite3_reset(m->q_find);
    if (!rc && d->nflags) rc = load_flags(m, d, ctx);
    if (rc && rc != PROV_ENOTFOUND) mirror_ident_clear(d);
    return rc;
}

int mirror_search(mirror *m, const char *q, reg_ident *out, size_t max, size_t *n, prov_ctx *ctx)
{
    size_t ql = strlen(q);
    bool hex = ql >= 4 && ql <= 16;
    char lo[REG_FIELD_MAX + 2], hi[20];
    for (size_t i = 0; i < ql && hex; i++) hex = isxdigit((unsigned char)q[i]) != 0;
    *n = 0;
    for (int pass = 0; pass < 2; pass++) {
        sqlite3_stmt **st = pass ? &m->q_kid : &m->q_name;
        if (pass && !hex) break;
        int rc = mdb_prep(m, st, pass ? "SELECT " IDENT_COLS " FROM idents WHERE kid>=? AND kid<? ORDER BY idx LIMIT 64"
                                      : "SELECT " IDENT_COLS " FROM idents WHERE name_lc=? ORDER BY idx LIMIT 64", ctx);
        if (rc) return rc;
        size_t k = ql < sizeof lo - 1 ? ql : sizeof lo - 1;
        for (size_t i = 0; i < k; i++) lo[i] = (char)tolower((unsigned char)q[i]);
        lo[k] = 0;
        m->S->sqlite3_bind_text(*st, 1, lo, -1, SQLITE_TRANSIENT);
        if (pass) {
            memcpy(hi, lo, k + 1);
            hi[k] = '~', hi[k + 1] = 0; /* after every hex digit */
            m->S->sqlite3_bind_text(*st, 2, hi, -1, SQLITE_TRANSIENT);
        }
        while (*n < max && m->S->sqlite3_step(*st) == SQLITE_ROW) {
            reg_ident d;
            row_ident(m, *st, &d, ctx);
            bool dup = false;
            for (size_t i = 0; i < *n && !dup; i++) dup = !memcmp(out[i].key, d.key, 32);
            if (dup) { mirror_ident_clear(&d); continue; }
            out[(*n)++] = d;
        }
        m->S->sqlite3_reset(*st);
    }
    for (size_t i = 0; i < *n; i++)
        if (out[i].nflags && load_flags(m, &out[i], ctx)) return PROV_ENOMEM;
    return 0;
}

int mirror_evidence_count(mirror *m, uint64_t *n)
{
    sqlite3_stmt *st = NULL;
    *n = 0;
    if (m->S->sqlite3_prepare_v2(m->db, "SELECT count(*) FROM evidence", -1, &st, NULL) != SQLITE_OK) return PROV_EIO;
    if (m->S->sqlite3_step(st) == SQLITE_ROW) *n = (uint64_t)m->S->sqlite3_column_int64(st, 0);
    m->S->sqlite3_finalize(st);
    return 0;
}

char *mirror_default_path(const char *source)
{
    uint8_t h[32];
    char hex[17];
    sha256(source, strlen(source), h);
    for (int i = 0; i < 8; i++) sprintf(hex + 2 * i, "%02x", h[i]);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    pbuf b;
    pbuf_init(&b);
    if (xdg && *xdg) pbuf_printf(&b, "%s/prov", xdg);
    else pbuf_printf(&b, "%s/.cache/prov", home && *home ? home : ".");
    pbuf_putc(&b, 0);
    if (b.err) { pbuf_free(&b); return NULL; }
    char *dir = (char *)b.p;
    for (char *s = dir + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(dir, 0700); *s = '/'; }
    mkdir(dir, 0700);
    char *out = malloc(strlen(dir) + 40);
    if (out) sprintf(out, "%s/registry-%s.sqlite", dir, hex);
    pbuf_free(&b);
    return out;
}
