/* registry.h - the identity registry: entries, the local log, the CA;
 * internal.
 *
 * DESIGN.md, "Identity: a transparency-log registry".  The registry is a
 * C2SP transparency log (tlog.h) whose entries are signed notes saying who
 * holds a key.  docs/registry.md describes the same formats for users.
 *
 * ------------------------------------------------------------------
 * Entries.  Each entry is one signed note (c2sp.org/signed-note), at most
 * REG_ENTRY_MAX bytes.  The text is LF-terminated lines "<field> <value>"
 * in a fixed order; optional fields may be left out but never reordered or
 * repeated; no other field is allowed.  The first line names the kind, the
 * second the log the entry is for (its origin, as in the checkpoint): a
 * log refuses an entry made for another.
 *
 *   prov-registry/v1 register          prov-registry/v1 rotate
 *   log <origin>                       log <origin>
 *   key ed25519:<b64>                  key ed25519:<b64 old key>
 *   name <text>                        new-key ed25519:<b64 new key>
 *   [org <text>]                       time <unix seconds>
 *   [contact <text>]                   signed by: old key AND new key
 *   [checked-by <text>]
 *   registrar ed25519:<b64>          prov-registry/v1 revoke
 *   time <unix seconds>                log <origin>
 *                                      key ed25519:<b64>
 *   signed by: the key (proof of       reason <text>
 *   possession) AND the registrar      effective <unix seconds>
 *   (one signature when they are the   time <unix seconds>
 *   same key)                          signed by: the key OR the registrar
 *                                      that registered it (checked
 *   prov-registry/v1 flag              against the log's state)
 *   log <origin>
 *   key ed25519:<b64>
 *   media sha256:<64 hex>            A penalty is a revoke whose reason
 *   manifest sha256:<64 hex>|none    starts with "penalty".
 *   reason <text>
 *   flagger ed25519:<b64>
 *   time <unix seconds>
 *   signed by: the flagger             A flag identical to one in the log
 *                                      is refused (a replay adds nothing).
 *
 *  - <b64>: canonical padded base64 of the 32-byte Ed25519 public key
 *    (the same text as KEY.pub, "ed25519 <b64>");
 *  - <text>: 1..REG_FIELD_MAX bytes of UTF-8, no control characters, no
 *    leading or trailing space;
 *  - numbers: canonical decimal (no leading zeros), at most 2^63 - 1;
 *  - hex: lower case.
 * Signature lines: the note key name of an Ed25519 key K is
 * "ed25519:<64 lower-case hex of K>" (note key names may not hold '+', so
 * not base64), alg 0x01, so each signature names its own key and is
 * verified without a key list.  Every signature line must verify and be
 * by a key the entry names in a signing role; at most 2 lines.
 *
 * Key IDs (for people): the first 8 bytes of SHA-256(public key), 16
 * lower-case hex digits.
 *
 * ------------------------------------------------------------------
 * The folder (`prov registry init DIR --origin NAME`):
 *   DIR/checkpoint            signed checkpoint (c2sp.org/tlog-checkpoint)
 *   DIR/tile/<L>/<N>[.p/<W>]  hash tiles (c2sp.org/tlog-tiles)
 *   DIR/tile/entries/<N>[.p/<W>]  entry bundles
 *   DIR/log.pub               the log's note verifier key "<origin>+<id>+<b64>"
 *   DIR/log.key               the log's Ed25519 key (prov key file)
 *   DIR/root.pem, root.key    the CA: leaf certificates for x5chain
 *   DIR/registrar.key, .pub   the operator's own registrar key
 *   DIR/policy                who may register and flag (below)
 *   DIR/journal               the sequencer's append-only journal (private)
 *   DIR/lock                  flock(2) held by the one writer
 *
 * Policy (text, one item a line, '#' comments):
 *   prov-registry/v1 policy
 *   origin <origin>
 *   registrar ed25519:<b64> <label>    accredited registrar (any number)
 *   flagger ed25519:<b64> <label>      accredited flagger (any number)
 *
 * Journal records: "PRJ1" magic once at the start, then per entry
 * be32 length || entry || SHA-256(0x00 || entry) (its leaf hash).  An
 * append writes the whole batch with one write(2) and fdatasync(2)s it
 * before anything is acknowledged; only then are tiles, bundles and the
 * checkpoint written (tiles and bundles each a temporary file renamed, one
 * syncfs(2) for all of them; then the checkpoint, fsync'd and renamed,
 * last).  A crash leaves either the old or the new checkpoint,
 * and the tiles for both exist (full tiles never change; a partial tile
 * of a new width gets a new path).  On open the journal's torn tail (a
 * record cut short: never acknowledged) is cut off, the journal's first
 * `checkpoint size` leaves must hash to the checkpoint's root, and any
 * accepted entries beyond the checkpoint are published.
 */
#ifndef PROV_REGISTRY_H
#define PROV_REGISTRY_H

#include "tlog.h"

#define REG_ENTRY_MAX 8192
#define REG_FIELD_MAX 256
#define REG_MAGIC "prov-registry/v1"

typedef enum { REG_REGISTER = 1, REG_ROTATE, REG_REVOKE, REG_FLAG } reg_kind;

/* A text field: points into the entry. */
typedef struct reg_str {
    const char *p;
    size_t n;
} reg_str;

/* A key the registry names.  id is the 32-byte handle every table and
 * lookup keys on: an Ed25519 key itself, or SHA-256 of an ECDSA key's
 * DER SubjectPublicKeyInfo (P-256 or P-384, named curve, uncompressed:
 * one encoding per key).  Registrars and flaggers are Ed25519 keys; the
 * keys that sign media (register, rotate, revoke, flag's "key") may be
 * either. */
#define REG_SPKI_MAX TLOG_SPKI_MAX
typedef struct reg_pub {
    int alg;          /* PROV_ALG_ED25519, PROV_ALG_ES256, PROV_ALG_ES384 */
    uint8_t id[32];
    uint8_t spki_len; /* ECDSA: > 0 */
    uint8_t spki[REG_SPKI_MAX];
} reg_pub;
static inline bool reg_pub_is_ecdsa(const reg_pub *k) { return k->spki_len > 0; }
/* "ed25519:<b64 key>" or "ecdsa:<b64 SPKI>" (the entry's text of a key) */
#define REG_KEYTEXT_MAX 168
/* a note key name: "ed25519:<hex key>" or "ecdsa:<hex id>" */
#define REG_SIGNAME_MAX 73

typedef struct reg_entry {
    reg_kind kind;
    uint8_t key[32];       /* handles (reg_pub.id) */
    uint8_t new_key[32];   /* rotate */
    reg_pub key_pub, new_key_pub; /* the same keys in full (parse fills them;
                                     build writes an ECDSA key from them) */
    uint8_t registrar[32]; /* register */
    uint8_t flagger[32];   /* flag */
    reg_str name, org, contact, checked_by; /* register (n 0: absent) */
    reg_str reason;                         /* revoke, flag */
    reg_str log;                            /* every kind: the log's origin */
    uint64_t time, effective;
    uint8_t media[32], manifest[32]; /* flag */
    bool has_manifest;
    /* signers whose signature verified (parse with verification) */
    size_t nsigners;
    uint8_t signers[2][32];
    const char *text; /* the signed text, in the input */
    size_t text_len;
} reg_entry;

/* Parse an entry.  With verify, every signature line is checked and the
 * kind's required signers enforced (revoke: at least one signature; who
 * may sign it depends on the log, see reg_state_check).  Without verify
 * (the sequencer's own journal) the signature lines are only parsed.
 * 0, PROV_EFORMAT (malformed; the detail names the line), TLOG_EVERIFY
 * (a signature fails or a required one is missing), PROV_ELIMIT. */
PROV_HIDDEN int reg_entry_parse(const uint8_t *msg, size_t len, bool verify, reg_entry *e,
                                prov_ctx *ctx);
/* As a verifying parse (the signers named, required and allowed, filled
 * in), but the Ed25519 signatures themselves are not checked: for entries
 * a log's signed checkpoint commits to (the sequencer checked them), read
 * by a mirror told to trust that (`sync --trust-log-signatures`). */
PROV_HIDDEN int reg_entry_parse_trusted(const uint8_t *msg, size_t len, reg_entry *e, prov_ctx *ctx);
/* Was e signed by key pk?  (after a verifying parse) */
PROV_HIDDEN bool reg_entry_signed_by(const reg_entry *e, const uint8_t pk[32]);
/* Format e's text (the fields of its kind; text/signers ignored) and sign
 * it with the signers (reg_signer_from_key), in order.  Checks every field
 * (PROV_EINVAL with the detail). */
PROV_HIDDEN int reg_entry_build(pbuf *out, const reg_entry *e, const tlog_signer *signers,
                                size_t nsigners, prov_ctx *ctx);
PROV_HIDDEN const char *reg_kind_name(reg_kind k);
/* What a writer checks of a new entry before it is logged (readers do
 * not: history is as it was): its time within REG_TIME_PAST seconds
 * before and REG_TIME_FUTURE after now (a registration dated 2^63 - 1 or
 * last year is refused), a revocation not effective after its own time,
 * and a register's name and org no longer than a certificate can hold
 * (REG_CERT_FIELD_MAX bytes: X.509's upper bound for CN and O), so that
 * nothing is logged that cannot get its certificate.  0 or PROV_EINVAL
 * with the reason. */
#define REG_TIME_PAST (24 * 3600)
#define REG_TIME_FUTURE 300
#define REG_CERT_FIELD_MAX 64
PROV_HIDDEN int reg_entry_fresh(const reg_entry *e, uint64_t now, prov_ctx *ctx);

/* Keys (registry_key.c).  A note signer for a prov key, named
 * "ed25519:<hex key>" or "ecdsa:<hex id>".  ps is filled and must outlive
 * s (as must key). */
PROV_HIDDEN int reg_signer_from_key(tlog_signer *s, prov_signer *ps, const prov_key *key);
/* A note signer for k signing through ps (a token, a secure element). */
PROV_HIDDEN int reg_signer(tlog_signer *s, const prov_signer *ps, const reg_pub *k);
PROV_HIDDEN void reg_sig_name(char out[REG_SIGNAME_MAX], const reg_pub *k);
/* "ed25519:<b64>" of an Ed25519 key, and the key ID of any handle. */
PROV_HIDDEN void reg_key_text(char out[53], const uint8_t pk[32]);
PROV_HIDDEN void reg_key_id(char out[17], const uint8_t pk[32]);
/* Parse a key's handle from "ed25519:<b64>", "ed25519 <b64>" (an
 * Ed25519 .pub file's line, trailing newline allowed), "ecdsa:<b64>", a
 * PEM public key (an ECDSA .pub file) or 64 hex digits (a handle).  0 or
 * PROV_EFORMAT. */
PROV_HIDDEN int reg_key_parse(const char *s, size_t n, uint8_t pk[32]);
/* The same texts but 64 hex digits (a handle names no key in full).  0, PROV_EFORMAT,
 * PROV_EUNSUPPORTED (an RSA or P-521 key). */
PROV_HIDDEN int reg_pub_parse(const char *s, size_t n, reg_pub *k);
PROV_HIDDEN void reg_pub_text(char out[REG_KEYTEXT_MAX], const reg_pub *k);
PROV_HIDDEN void reg_pub_ed25519(reg_pub *k, const uint8_t pk[32]);
/* From a DER SubjectPublicKeyInfo (Ed25519, or EC re-encoded in the one
 * form), a prov key, a certificate's key. */
PROV_HIDDEN int reg_pub_from_spki(reg_pub *k, const uint8_t *der, size_t len);
PROV_HIDDEN int reg_pub_from_key(reg_pub *k, const prov_key *key);
PROV_HIDDEN int reg_handle_from_cert(const uint8_t *der, size_t len, reg_pub *k);
PROV_HIDDEN int reg_hex32(const char *s, size_t n, uint8_t out[32]);
PROV_HIDDEN int reg_b64key(const char *s, size_t n, uint8_t pk[32]);

/* ------------------------------------------------------------------ */
/* Policy. */
typedef struct reg_policy {
    char origin[TLOG_NAME_MAX + 1];
    size_t nregistrars, nflaggers;
    uint8_t (*registrars)[32];
    uint8_t (*flaggers)[32];
} reg_policy;
PROV_HIDDEN int reg_policy_parse(const char *text, size_t len, reg_policy *p, prov_ctx *ctx);
PROV_HIDDEN int reg_policy_load(const char *dir, reg_policy *p, prov_ctx *ctx);
PROV_HIDDEN void reg_policy_free(reg_policy *p);
PROV_HIDDEN bool reg_policy_registrar(const reg_policy *p, const uint8_t pk[32]);
PROV_HIDDEN bool reg_policy_flagger(const reg_policy *p, const uint8_t pk[32]);

/* ------------------------------------------------------------------ */
/* State: what the entries so far say of each key.  This is the lookup
 * interface; today it is built by walking the log (reg_walk), later the
 * SQLite mirror answers the same questions. */
enum { REG_ACTIVE = 0, REG_ROTATED = 1, REG_REVOKED = 2 };

typedef struct reg_flag {
    uint64_t index, time;
    uint8_t flagger[32], media[32], manifest[32];
    bool has_manifest;
    char *reason;
} reg_flag;

typedef struct reg_ident {
    uint8_t key[32];
    uint8_t *spki; /* an ECDSA key's SPKI (spki_len > 0), else NULL */
    size_t spki_len;
    char *name, *org, *contact, *checked_by;
    uint8_t registrar[32];
    uint64_t index, time; /* the register (or rotate) entry */
    int status;           /* REG_* */
    uint8_t rotated_to[32], rotated_from[32];
    bool has_from;
    uint64_t rotated_time;
    uint64_t revoked_index, revoked_time, revoked_effective;
    char *revoked_reason;
    size_t nflags;
    reg_flag *flags;
} reg_ident;

typedef struct reg_state reg_state;
PROV_HIDDEN int reg_state_new(reg_state **out);
PROV_HIDDEN void reg_state_free(reg_state *s);
/* Would entry e (verified) be accepted next under policy p?  0, or
 * PROV_EINVAL with the reason (unknown key, already registered, registrar
 * not accredited, revoke not signed by the key or its registrar, ...). */
PROV_HIDDEN int reg_state_check(const reg_state *s, const reg_policy *p, const reg_entry *e,
                                prov_ctx *ctx);
/* Apply entry e at index (no checks: reg_state_check first). */
PROV_HIDDEN int reg_state_apply(reg_state *s, const reg_entry *e, uint64_t index);
PROV_HIDDEN const reg_ident *reg_state_find(const reg_state *s, const uint8_t pk[32]);
/* The identity's key in full. */
PROV_HIDDEN void reg_ident_pub(const reg_ident *d, reg_pub *k);
/* Keys whose ID starts with a hex prefix (>= 4 digits) or whose name
 * equals name (case-insensitive): up to max matches; returns the count. */
PROV_HIDDEN size_t reg_state_search(const reg_state *s, const char *query,
                                    const reg_ident **out, size_t max);
PROV_HIDDEN size_t reg_state_count(const reg_state *s);

/* ------------------------------------------------------------------ */
/* Reading a published log (any reader: static files in a folder). */

typedef struct reg_walk_stats {
    uint64_t size;
    uint8_t root[32];
    uint64_t tiles_checked, bundles_read;
} reg_walk_stats;

/* Open DIR's checkpoint with DIR/log.pub, read every entry bundle, check
 * that the entries hash to the checkpoint's root, verify each entry
 * (signatures, and the state rules under DIR/policy) and apply it to st
 * (may be NULL).  With full, also check every hash tile against the tree
 * the entries make (what `prov registry verify` does).  Errors name the
 * first bad file or entry: TLOG_EVERIFY for tampering. */
PROV_HIDDEN int reg_walk(const char *dir, bool full, reg_state *st, reg_walk_stats *stats,
                         prov_ctx *ctx);
/* The log's verifier from DIR/log.pub. */
PROV_HIDDEN int reg_log_verifier(const char *dir, tlog_verifier *v, prov_ctx *ctx);

/* ------------------------------------------------------------------ */
/* The sequencer (one writer per folder: flock on DIR/lock). */
typedef struct reg_log reg_log;

/* Create the log files in DIR (exists, empty of log files): the log's
 * signer must be named origin; writes log.pub, an empty journal and the
 * size-0 checkpoint. */
PROV_HIDDEN int reg_log_create(const char *dir, const tlog_signer *log, prov_ctx *ctx);
/* Open for writing: lock, recover (see above), load the policy and the
 * state.  The signer is copied (an external signer's key must outlive
 * the log). */
PROV_HIDDEN int reg_log_open(reg_log **out, const char *dir, const tlog_signer *log,
                             prov_ctx *ctx);
PROV_HIDDEN void reg_log_close(reg_log *l);
/* Append n entries as one batch: each is verified and checked against the
 * state (the batch is all-or-nothing: the first bad entry fails it, index
 * *bad), journalled and fsync'd, then published.  *first gets the index
 * of the first. */
PROV_HIDDEN int reg_log_append(reg_log *l, const uint8_t *const *entries,
                               const size_t *lens, size_t n, uint64_t *first, size_t *bad,
                               prov_ctx *ctx);
/* Append entries verified beforehand (es[i]: reg_entry_parse(verify) of
 * entries[i]; the server checks signatures in its worker threads, so the
 * sequencer only applies the state rules, hashes and writes).  Each entry
 * stands alone: one that breaks a state rule is left out, its code in
 * rcs[i] and the reason in why[i] (why may be NULL); the others are
 * journalled as one batch (one write, one fdatasync), published, and get
 * their index in idx[i].  With defer, the new checkpoint is only signed
 * (reg_log_proof works at once) and reg_log_publish writes the tiles and
 * the checkpoint later: the server answers between the two.  Returns 0,
 * or an I/O error (then none of the batch is accepted and the log must be
 * reopened). */
PROV_HIDDEN int reg_log_append_verified(reg_log *l, const uint8_t *const *entries,
                                        const size_t *lens, const reg_entry *es, size_t n,
                                        int *rcs, uint64_t *idx, char (*why)[160], bool defer,
                                        prov_ctx *ctx);
/* Write the tiles, bundles and checkpoint of what is signed but not yet
 * published (after a deferred append). */
PROV_HIDDEN int reg_log_publish(reg_log *l, prov_ctx *ctx);
/* Called by each publish once the new tiles are on disk and before
 * DIR/checkpoint is written: may append cosignature lines to note (a copy
 * of the signed checkpoint; the file gets it, proofs keep the bare one).
 * Its failures are its own to report: the checkpoint is published with
 * what note holds.  (The write server asks its witnesses here.) */
typedef void (*reg_cosign_fn)(void *user, const char *dir, pbuf *note);
PROV_HIDDEN void reg_log_set_cosign(reg_log *l, reg_cosign_fn fn, void *user);
PROV_HIDDEN uint64_t reg_log_size(const reg_log *l);
PROV_HIDDEN const reg_state *reg_log_state(const reg_log *l);
/* A c2sp.org/tlog-proof of entry index against the current checkpoint,
 * with the entry itself as the proof's extra data. */
PROV_HIDDEN int reg_log_proof(reg_log *l, uint64_t index, pbuf *out, prov_ctx *ctx);
/* Test hook: when set, appends stop after the journal fsync (as if the
 * process died there): entries are accepted but not published. */
PROV_HIDDEN extern int reg_log_test_crash_after_journal;

/* Verify a tlog-proof made by reg_log_proof offline: the checkpoint is
 * signed by log and the entry in its extra data is included.  *e (may be
 * NULL) gets the entry, pointing into *entry_buf (free it). */
PROV_HIDDEN int reg_proof_verify(const uint8_t *p, size_t len, const char *origin,
                                 const tlog_verifier *log, uint8_t **entry_buf,
                                 size_t *entry_len, reg_entry *e, prov_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Registration requests (registry_request.c).  A request is a register
 * entry signed by its key alone (proof of possession), naming the
 * registrar that is asked to approve it; the registrar approves by adding
 * its signature line (reg_entry_cosign), which makes a full entry. */

/* Parse a request: a register entry whose one signature is by its key,
 * which verifies; the registrar named is another key.  0, PROV_EFORMAT,
 * TLOG_EVERIFY, PROV_ELIMIT. */
PROV_HIDDEN int reg_request_parse(const uint8_t *msg, size_t len, reg_entry *e, prov_ctx *ctx);
/* The request ID of a key: its key ID (16 hex digits), so that filing
 * the same key again finds the same request. */
PROV_HIDDEN void reg_request_id(char out[17], const uint8_t pk[32]);
/* Add signer's line to the signed note msg (its other lines kept). */
PROV_HIDDEN int reg_entry_cosign(pbuf *out, const uint8_t *msg, size_t len,
                                 const tlog_signer *signer, prov_ctx *ctx);

/* A registrar's refusal of request id, a signed note by the registrar:
 *   prov-registry/v1 refusal / request <id> / reason <text> / time <unix>
 * Parsing checks the signature by registrar (the request's) and points
 * *reason into msg. */
PROV_HIDDEN int reg_refusal_build(pbuf *out, const char id[17], const char *reason, uint64_t time,
                                  const tlog_signer *registrar, prov_ctx *ctx);
PROV_HIDDEN int reg_refusal_parse(const uint8_t *msg, size_t len, const uint8_t registrar[32],
                                  char id[17], reg_str *reason, prov_ctx *ctx);

/* An approval: the register entry a registrar makes of a request (the
 * applicant's key, log, name, org and contact; the registrar's own
 * checked-by and time), signed by the registrar alone.  The applicant
 * adds its signature (reg_entry_cosign) and submits the full entry, so
 * the registrar sets what it vouches for and signs only what it saw.
 * Parsing checks the one signature is by the registrar it names. */
PROV_HIDDEN int reg_approval_parse(const uint8_t *msg, size_t len, reg_entry *e, prov_ctx *ctx);
/* Does approval ap keep every field of request req that the applicant
 * chose (key, registrar, log, name, org, contact)? */
PROV_HIDDEN bool reg_approval_matches(const reg_entry *req, const reg_entry *ap);

/* A registrar's signed read (GET /v1/requests lists applicants' names
 * and contacts, so only an accredited registrar may read it): a note
 *   prov-registry/v1 read / log <origin> / what <resource> / time <unix>
 * signed by the registrar, sent base64 in the Authorization header
 * ("Prov-Registrar <b64>").  Checking gives the signer; the time must be
 * within REG_READ_WINDOW seconds of now. */
#define REG_READ_WINDOW 300
PROV_HIDDEN int reg_readauth_build(pbuf *out, const char *what, const char *origin, uint64_t time,
                                   const tlog_signer *registrar, prov_ctx *ctx);
PROV_HIDDEN int reg_readauth_check(const uint8_t *msg, size_t len, const char *what, const char *origin,
                                   uint64_t now, uint8_t signer[32], prov_ctx *ctx);

/* ------------------------------------------------------------------ */
/* The CA and media (registry_ca.c). */

/* Issue a leaf for key k from DIR's CA (ca_key, DIR/root.pem): subject
 * "CN=<name>[,O=<org>]" (values escaped).  *pem gets leaf then root
 * (malloc'd; prov_free). */
PROV_HIDDEN int reg_ca_issue(prov_ctx *ctx, const char *dir, const prov_key *ca_key,
                             const reg_pub *k, const char *name, const char *org,
                             int days, char **pem);
/* The CA loaded once, for issuing many leaves (the server): the root from
 * DIR/root.pem and the key (which must outlive it). */
typedef struct reg_ca {
    prov_chain *root;
    char *root_pem;
    const prov_key *key;
} reg_ca;
PROV_HIDDEN int reg_ca_open(reg_ca *ca, prov_ctx *ctx, const char *dir, const prov_key *ca_key);
PROV_HIDDEN void reg_ca_close(reg_ca *ca);
/* As reg_ca_issue; safe from several threads at once. */
PROV_HIDDEN int reg_ca_issue_with(const reg_ca *ca, prov_ctx *ctx, const reg_pub *k,
                                  const char *name, const char *org, int days, char **pem);
/* SHA-256 of a whole file, and of its C2PA manifest store (JPEG and PNG;
 * *has_manifest 0 when none or another format). */
PROV_HIDDEN int reg_media_hashes(prov_ctx *ctx, const char *path, uint8_t media[32],
                                 uint8_t manifest[32], bool *has_manifest);

#endif
