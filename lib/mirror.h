/* mirror.h - the registry's client mirror (SQLite) and its fetcher, and the
 * witness (c2sp.org/tlog-witness); internal.  docs/registry.md, "Mirror"
 * and "Witness", describe them for users.
 *
 * A mirror is one SQLite file (WAL) holding a verified copy of a registry
 * log and the state its entries make (who holds which key).  A sync
 * fetches the checkpoint, opens it with the pinned log key (and counts
 * witness cosignatures when the trust policy asks for a quorum), fetches
 * the new entry bundles and hash tiles, and checks:
 *  - the new entries, appended to the stored right edge of the tree (the
 *    compact range of the last checkpoint), give the new checkpoint's
 *    root: every entry is in the signed tree and the new tree extends the
 *    stored one;
 *  - a consistency proof (built from the hash tiles) from the stored
 *    checkpoint to the new one;
 *  - every new level-0 tile equals its bundle's leaf hashes and every new
 *    tile above hashes from the full tiles below it;
 *  - every entry's signatures (unless trust_log_signatures) and the
 *    state rules (registry_entry.c).
 * All of it is written in one transaction, committed only when every check
 * passed.  A checkpoint that cannot be consistent with the stored one
 * (same size and another root, or a consistency proof that fails while the
 * entries do not hash to the new root) is evidence of a forked log: both
 * signed notes are kept verbatim in the `evidence` table (the only write a
 * failed sync makes) and the sync fails loudly. */
#ifndef PROV_MIRROR_H
#define PROV_MIRROR_H

#include "registry.h"

/* ---- fetching (mirror_fetch.c) --------------------------------------- */

/* A log's files from a folder or an http(s) base URL (libcurl, through
 * dl.h: many requests in parallel over kept-alive connections). */
typedef struct mfetch mfetch;
PROV_HIDDEN int mfetch_new(mfetch **out, const char *source, prov_ctx *ctx);
PROV_HIDDEN void mfetch_free(mfetch *f);
PROV_HIDDEN bool mfetch_is_url(const char *source);
/* Fetch n files (paths relative to the log prefix) into out[i] (appended;
 * at most max bytes each).  rcs[i]: 0, PROV_ENOTFOUND, PROV_ELIMIT,
 * PROV_EIO.  Returns 0 unless the transfer machinery itself failed. */
PROV_HIDDEN int mfetch_many(mfetch *f, size_t n, const char *const *paths, pbuf *out, int *rcs,
                            size_t max, prov_ctx *ctx);
/* One file (a tlog_read_fn, user = the mfetch). */
PROV_HIDDEN int mfetch_read(void *user, const char *path, uint8_t *buf, size_t cap, size_t *len);
/* POST body to url (a witness); *status the HTTP status, out the body. */
PROV_HIDDEN int mfetch_post(const char *url, const void *body, size_t len, long *status,
                            pbuf *out, size_t max, prov_ctx *ctx);
/* The same, the whole exchange bounded by timeout_ms. */
PROV_HIDDEN int mfetch_post_t(const char *url, const void *body, size_t len, long timeout_ms,
                              long *status, pbuf *out, size_t max, prov_ctx *ctx);

/* ---- the mirror (mirror.c, mirror_db.c) -------------------------------- */

typedef struct mirror mirror;

typedef struct mirror_opts {
    /* The log's note verifier key ("<origin>+<hex id>+<b64>"), pinned at
     * the first sync and stored; later syncs must give the same key or
     * none.  NULL at a first sync from a folder: DIR/log.pub. */
    const char *log_key;
    /* Trust policy: at least quorum cosignatures by these witnesses
     * (cosigner keys, alg 0x04; a plain 0x01 key is converted).  Stored
     * too: nwitnesses 0 keeps the stored policy. */
    const tlog_verifier *witnesses;
    size_t nwitnesses, quorum;
    void (*progress)(void *user, uint64_t done, uint64_t total);
    void *user;
    /* Do not re-check each entry's Ed25519 signatures (the log's signed
     * checkpoint commits to entries its sequencer checked); the signers'
     * names, the state rules, bundles, tiles, root, consistency proof,
     * checkpoint signature and quorum are all still checked. */
    bool trust_log_signatures;
} mirror_opts;

typedef struct mirror_stats {
    uint64_t old_size, size, fetched, tiles, bundles;
    uint8_t root[32];
} mirror_stats;

/* Open (create when create) the mirror file at path. */
PROV_HIDDEN int mirror_open(mirror **out, const char *path, bool create, prov_ctx *ctx);
PROV_HIDDEN void mirror_close(mirror *m);
PROV_HIDDEN int mirror_sync(mirror *m, const char *source, const mirror_opts *o, mirror_stats *st,
                            prov_ctx *ctx);
/* Open the mirror file path (NULL: mirror_default_path(source)), made if
 * need be, and sync it from source. */
PROV_HIDDEN int mirror_open_sync(mirror **out, const char *source, const char *path,
                                 const mirror_opts *o, mirror_stats *st, prov_ctx *ctx);
/* The registry's CA root (PEM) pinned at the first sync. */
PROV_HIDDEN int mirror_ca_root(mirror *m, pbuf *out, prov_ctx *ctx);
/* Stored size (0 before the first sync) and the pinned log key. */
PROV_HIDDEN uint64_t mirror_size(const mirror *m);
PROV_HIDDEN int mirror_log_verifier(mirror *m, tlog_verifier *v, prov_ctx *ctx);
/* Look a key up: 0 and *d filled (free with mirror_ident_clear), or
 * PROV_ENOTFOUND. */
PROV_HIDDEN int mirror_find(mirror *m, const uint8_t pk[32], reg_ident *d, prov_ctx *ctx);
/* By key-ID prefix (4..16 hex digits) or name (case-insensitive): up to
 * max hits into out (each mirror_ident_clear'd by the caller). */
PROV_HIDDEN int mirror_search(mirror *m, const char *q, reg_ident *out, size_t max, size_t *n,
                              prov_ctx *ctx);
PROV_HIDDEN void mirror_ident_clear(reg_ident *d);
/* Rows in the evidence table. */
PROV_HIDDEN int mirror_evidence_count(mirror *m, uint64_t *n);
/* The default mirror file for a source: $XDG_CACHE_HOME (else
 * ~/.cache)/prov/registry-<16 hex of SHA-256(source)>.sqlite; the folder
 * is made.  malloc'd. */
PROV_HIDDEN char *mirror_default_path(const char *source);

/* ---- the witness (witness.c) ----------------------------------------- */

typedef struct witness_log {
    tlog_verifier log; /* alg 0x01; its name is the origin */
} witness_log;

typedef struct witness witness;
/* Serve POST /add-checkpoint on 127.0.0.1:port (port 0: any; *bound
 * gets it).  state: a folder holding one file per log (the last cosigned
 * checkpoint), written crash-safely before a cosignature is returned. */
PROV_HIDDEN int witness_start(witness **out, const char *addr, unsigned port, unsigned *bound,
                              const char *state, const tlog_signer *cosigner,
                              const witness_log *logs, size_t nlogs, prov_ctx *ctx);
PROV_HIDDEN void witness_stop(witness *w);
/* The same without HTTP (witness_handle only; fuzzing); witness_stop frees. */
PROV_HIDDEN int witness_new(witness **out, const char *state, const tlog_signer *cosigner,
                            const witness_log *logs, size_t nlogs, prov_ctx *ctx);
/* What a request does, without HTTP (the server's core; tests, fuzzing):
 * *status gets 200 (out: the cosignature line), 400, 403, 404, 409 (out:
 * the size the witness has, "<size>\n"), 422. */
PROV_HIDDEN int witness_handle(witness *w, const uint8_t *body, size_t len, unsigned *status,
                               pbuf *out, prov_ctx *ctx);
/* Client: ask the witness at url to cosign DIR's checkpoint (consistency
 * proof from DIR's tiles, from the size the witness says it has), check
 * the cosignature with wkey (alg 0x04 or converted) and append it to
 * *note (the signed checkpoint, rewritten). */
PROV_HIDDEN int witness_request(const char *dir, const char *url, const tlog_verifier *wkey,
                                pbuf *note, prov_ctx *ctx);
/* The same, starting from *old (the size this witness was last seen to
 * have; 0 when unknown: a 409 says it), set to the checkpoint's size on
 * success; each HTTP exchange bounded by timeout_ms. */
PROV_HIDDEN int witness_request_from(const char *dir, const char *url, const tlog_verifier *wkey,
                                     pbuf *note, uint64_t *old, long timeout_ms, prov_ctx *ctx);

#endif
