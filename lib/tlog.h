/* tlog.h - transparency-log formats (C2SP), byte-exact; internal.
 *
 * The identity registry (DESIGN.md, "Identity: a transparency-log
 * registry") is an append-only log published in the formats of Go's
 * checksum database, Sigstore and Certificate Transparency, so that any
 * existing client, witness or monitor can read it.  This header is the
 * foundation: the formats and the proofs, nothing about what the entries
 * mean.  The server, sequencer and SQLite mirror build on it.
 *
 *   signed-note      c2sp.org/signed-note    notes, keys, Ed25519   note.c
 *   RFC 9162         Merkle hashing, proof verification and
 *                    proof generation from any hash source          merkle.c
 *   tlog-checkpoint  c2sp.org/tlog-checkpoint                       checkpoint.c
 *   tlog-tiles       c2sp.org/tlog-tiles     paths, tiles, bundles,
 *                    hashes read from tiles through a callback      tiles.c
 *   tlog-cosignature c2sp.org/tlog-cosignature (Ed25519, type 0x04) cosig.c
 *   tlog-proof       c2sp.org/tlog-proof     offline proofs         tlogproof.c
 *
 * Conventions (as in the rest of the library):
 *  - functions return 0 or a negative PROV_E* code; a prov_ctx (may be
 *    NULL) gets the detail;
 *  - PROV_EFORMAT: the input is malformed; PROV_ELIMIT: a bound below was
 *    exceeded; TLOG_EVERIFY: well formed, but a signature or a proof does
 *    not check out (the caller was lied to, or has the wrong key);
 *  - parsed structures point into the caller's input (no copies): keep the
 *    input alive while they are used;
 *  - output goes to a pbuf (appended; on failure the pbuf's sticky error
 *    is set or the call returns an error, so check once at the end);
 *  - every length and count read from input is checked against the bytes
 *    present and the bounds below: hostile input gives an error, never a
 *    crash, and never unbounded memory or time;
 *  - everything is reentrant and thread-safe except the two stateful
 *    objects, tlog_memtree and tlog_tilesrc, which one thread uses at a
 *    time (hashing keeps one EVP context per thread, freed at its exit).
 *
 * Parsing follows the reference implementations (golang.org/x/mod
 * sumdb/note, transparency-dev/merkle) wherever they are stricter than a
 * plain reading of the specs, and is stricter than them in a few places,
 * each noted below (canonical base64 and decimals, 32-byte checkpoint
 * roots, LF-only lines).  Being strict costs nothing with well-behaved
 * peers and closes malleability: one log state has one encoding.
 */
#ifndef PROV_TLOG_H
#define PROV_TLOG_H

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Bounds and constants.                                               */

#define TLOG_HASH_LEN 32
/* Signature lines in one note: sumdb/note's limit (its Open rejects more;
 * duplicates count).  C2SP requires verifiers to accept at least 16. */
#define TLOG_MAX_SIGS 100
/* A whole signed note.  Checkpoints are ~200 bytes plus ~100 per
 * signature; registry entries are small notes too.  1 MiB leaves room for
 * 100 post-quantum signatures (~5 KB each) with margin. */
#define TLOG_NOTE_MAX (1u << 20)
/* One decoded signature (key ID + signature bytes), known key or not:
 * ML-DSA-44 cosignatures are 4 + 8 + 2420 bytes. */
#define TLOG_SIG_MAX 8192
/* Key names we can hold in a verifier or signer.  Names in signature lines
 * of unknown keys may be longer (they are only skipped). */
#define TLOG_NAME_MAX 255
/* Hashes in a proof: an inclusion proof has at most 64, a consistency
 * proof at most 65 (trees of up to 2^64 - 1 leaves). */
#define TLOG_MAX_PROOF 65
/* Tiles: height 8, so a full tile holds 256 hashes (8192 bytes). */
#define TLOG_TILE_HEIGHT 8
#define TLOG_TILE_WIDTH 256
#define TLOG_TILE_BYTES (TLOG_TILE_WIDTH * TLOG_HASH_LEN)
/* Longest tile path: "tile/entries/" + 7 groups "x123/" + ".p/255". */
#define TLOG_TILE_PATH_MAX 64

/* Signature types (key ID algorithm bytes, C2SP signed-note). */
#define TLOG_ALG_ED25519 0x01 /* plain Ed25519 over the note text */
#define TLOG_ALG_ECDSA 0x02   /* ECDSA P-256/P-384, DER (note_ecdsa.c) */
#define TLOG_ALG_COSIG 0x04   /* timestamped Ed25519 cosignature/v1 */
/* An ECDSA key's DER SubjectPublicKeyInfo: P-384 uncompressed is 120
 * bytes; its DER signature at most 104. */
#define TLOG_SPKI_MAX 120
#define TLOG_ECDSA_SIG_MAX 104
/* The longest signature we make or check (after the key ID). */
#define TLOG_RAWSIG_MAX TLOG_ECDSA_SIG_MAX

/* Well formed, but a signature or proof does not verify.  An alias, as
 * the public error codes are prov.h's: prov_strerror() calls it a
 * "cryptographic failure". */
#define TLOG_EVERIFY PROV_ECRYPTO

/* ------------------------------------------------------------------ */
/* Base64 (RFC 4648 section 4: standard alphabet, padded).             */

PROV_HIDDEN void tlog_b64_encode(pbuf *b, const void *p, size_t n);
/* Decode s[0..n).  Only the canonical encoding is accepted (padding
 * present, unused bits zero, no whitespace) - Go's StdEncoding also
 * accepts non-zero unused bits; we do not, so every value has exactly one
 * text form.  The whole input is checked; *out_len gets the full decoded
 * length and at most cap bytes are written to out (out may be NULL when
 * cap is 0), so a caller can check a long value and keep only its head.
 * 0 or PROV_EFORMAT. */
PROV_HIDDEN int tlog_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                                size_t *out_len);

/* ------------------------------------------------------------------ */
/* Text rules (signed-note).                                           */

/* Canonical decimal: "0" or no leading zero, at most UINT64_MAX (tree
 * sizes, indexes).  0 or PROV_EFORMAT. */
PROV_HIDDEN int tlog_parse_u64(const char *s, size_t n, uint64_t *out);

/* Valid UTF-8 (no overlongs, surrogates or values past U+10FFFF) with no
 * ASCII control character other than '\n'.  Every signed note must be. */
PROV_HIDDEN bool tlog_text_valid(const char *p, size_t n);
/* Key names: non-empty valid UTF-8 with no '+' and no Unicode space
 * (Go's unicode.IsSpace: \t \n \v \f \r, space, U+0085, U+00A0, U+1680,
 * U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
PROV_HIDDEN bool tlog_name_valid(const char *name, size_t n);

/* ------------------------------------------------------------------ */
/* Keys.                                                               */

/* Key ID: the first 4 bytes, big-endian, of
 * SHA-256(name || '\n' || alg || pub). */
PROV_HIDDEN uint32_t tlog_key_id(const char *name, size_t name_len, uint8_t alg,
                                 const uint8_t *pub, size_t pub_len);

/* A public key that can check signatures: Ed25519 (alg 0x01), an
 * Ed25519 cosigner (alg 0x04; same key bytes, different ID and message)
 * or ECDSA (alg 0x02: pub is SHA-256 of spki, the ID its first 4 bytes). */
typedef struct tlog_verifier {
    char name[TLOG_NAME_MAX + 1]; /* NUL-terminated */
    size_t name_len;
    uint32_t id;
    uint8_t alg; /* TLOG_ALG_* */
    uint8_t pub[32];
    uint8_t spki_len; /* ECDSA */
    uint8_t spki[TLOG_SPKI_MAX];
} tlog_verifier;

/* Parse a verifier key "<name>+<8 hex digits>+<base64(alg || pub)>".  The
 * ID must equal tlog_key_id() of what it names (so a typo cannot pass),
 * alg must be 0x01 or 0x04 and the key 32 bytes.  Hex digits may be upper
 * or lower case, as Go accepts.  PROV_EFORMAT, PROV_EUNSUPPORTED (other
 * alg), PROV_ELIMIT (name too long). */
PROV_HIDDEN int tlog_verifier_parse(tlog_verifier *v, const char *vkey, size_t len);
/* Fill a verifier from parts (computes the ID).  PROV_EINVAL on a bad
 * name or alg. */
PROV_HIDDEN int tlog_verifier_init(tlog_verifier *v, const char *name, uint8_t alg,
                                   const uint8_t pub[32]);
/* The verifier key string (lower-case hex, as Go writes it). */
PROV_HIDDEN void tlog_verifier_format(pbuf *b, const tlog_verifier *v);
/* The cosigner verifier (alg 0x04) for the same name and key.  Witnesses
 * often publish a plain 0x01 key; transparency-dev/formats converts it
 * the same way. */
PROV_HIDDEN void tlog_verifier_as_cosigner(const tlog_verifier *in, tlog_verifier *out);

/* A signing key.  Either a seed we hold (from tlog_keygen,
 * tlog_signer_parse or tlog_signer_from_seed), or an external Ed25519
 * signer (a prov_signer: a secure element, a prov_key) when ext.sign is
 * set.  Holds secrets: tlog_signer_wipe() when done. */
typedef struct tlog_signer {
    char name[TLOG_NAME_MAX + 1];
    size_t name_len;
    uint32_t id;
    uint8_t alg; /* TLOG_ALG_ED25519 signs notes; TLOG_ALG_COSIG cosigns checkpoints */
    uint8_t pub[32];
    bool has_seed;
    uint8_t seed[32];
    uint8_t sk[64];  /* libsodium secret key, from the seed */
    prov_signer ext; /* used when ext.sign != NULL (PROV_ALG_ED25519, or ES256/ES384 for alg 0x02) */
    uint8_t spki_len; /* ECDSA: pub is SHA-256 of spki */
    uint8_t spki[TLOG_SPKI_MAX];
} tlog_signer;

/* Parse "PRIVATE+KEY+<name>+<hex8>+<base64(alg || 32-byte seed)>"; the ID
 * must match the public key derived from the seed (as Go's NewSigner
 * checks).  alg 0x01 or 0x04. */
PROV_HIDDEN int tlog_signer_parse(tlog_signer *s, const char *skey, size_t len);
PROV_HIDDEN int tlog_signer_from_seed(tlog_signer *s, const char *name, uint8_t alg,
                                      const uint8_t seed[32]);
/* A fresh random key. */
PROV_HIDDEN int tlog_keygen(tlog_signer *s, const char *name, uint8_t alg);
/* An external Ed25519 signer for the public key pub; ps is copied (its
 * user pointer must stay valid). */
PROV_HIDDEN int tlog_signer_external(tlog_signer *s, const char *name, uint8_t alg,
                                     const uint8_t pub[32], const prov_signer *ps);
/* An ECDSA signer (alg 0x02) for the key whose DER SubjectPublicKeyInfo
 * is spki (P-256 or P-384, canonical: tlog_ecdsa_spki_check); ps signs
 * with that key (ES256 or ES384, r || s) and is copied. */
PROV_HIDDEN int tlog_signer_external_ecdsa(tlog_signer *s, const char *name, const uint8_t *spki,
                                           size_t spki_len, const prov_signer *ps);
/* An ECDSA verifier for spki (as above).  PROV_EINVAL on a bad name,
 * PROV_EFORMAT / PROV_EUNSUPPORTED on a bad key. */
PROV_HIDDEN int tlog_verifier_init_ecdsa(tlog_verifier *v, const char *name, const uint8_t *spki,
                                         size_t spki_len);

/* ECDSA helpers (note_ecdsa.c).  Is spki a P-256 or P-384 key in the one
 * encoding OpenSSL writes (named curve, uncompressed point)?  0 and
 * *prov_alg (may be NULL) PROV_ALG_ES256/ES384; PROV_EFORMAT;
 * PROV_EUNSUPPORTED (another curve or algorithm). */
PROV_HIDDEN int tlog_ecdsa_spki_check(const uint8_t *spki, size_t len, int *prov_alg);
/* Any EC SubjectPublicKeyInfo (compressed points too) in that one
 * encoding; out holds TLOG_SPKI_MAX bytes. */
PROV_HIDDEN int tlog_ecdsa_spki_canonical(const uint8_t *spki, size_t len, uint8_t *out,
                                          size_t *out_len);
/* r || s (64 or 96 bytes) as a DER Ecdsa-Sig-Value; out holds
 * TLOG_ECDSA_SIG_MAX bytes. */
PROV_HIDDEN int tlog_ecdsa_der_from_raw(const uint8_t *rs, size_t n, uint8_t *out, size_t *out_len);
/* Check a DER signature over text.  0 or TLOG_EVERIFY. */
PROV_HIDDEN int tlog_ecdsa_verify(const uint8_t *spki, size_t spki_len, const char *text, size_t len,
                                  const uint8_t *sig, size_t sig_len);
PROV_HIDDEN void tlog_ecdsa_key_hash(const uint8_t *spki, size_t len, uint8_t out[32]);

/* The signer key string; PROV_EINVAL for an external signer. */
PROV_HIDDEN int tlog_signer_format(pbuf *b, const tlog_signer *s);
PROV_HIDDEN void tlog_signer_verifier(const tlog_signer *s, tlog_verifier *v);
/* Same key as a cosigner (alg 0x04, new ID). */
PROV_HIDDEN void tlog_signer_as_cosigner(const tlog_signer *in, tlog_signer *out);
PROV_HIDDEN void tlog_signer_wipe(tlog_signer *s);

/* Plain Ed25519 by s's key (seed or external signer) over any bytes. */
PROV_HIDDEN int tlog_ed25519_sign(const tlog_signer *s, const uint8_t *msg, size_t n,
                                  uint8_t sig[64]);
/* The raw signature by s over a note text: 64 bytes for alg 0x01; for
 * alg 0x04, 8-byte big-endian `now` || 64 bytes over the cosignature/v1
 * message (see cosig.c); for alg 0x02 a DER signature.  out holds at
 * least TLOG_RAWSIG_MAX bytes. */
PROV_HIDDEN int tlog_sig_make(const tlog_signer *s, uint64_t now, const char *text,
                              size_t len, uint8_t *out, size_t *out_len);
/* Check a raw signature (the bytes after the key ID) by v over text.
 * For cosignatures *time gets the timestamp (time may be NULL).
 * 0 or TLOG_EVERIFY. */
PROV_HIDDEN int tlog_sig_check(const tlog_verifier *v, const char *text, size_t len,
                               const uint8_t *sig, size_t sig_len, uint64_t *time);

/* Known keys.  A fixed list, or a lookup callback (used instead of the
 * list when set) for callers that keep keys elsewhere (a database).  The
 * callback returns 0 and *out, PROV_ENOTFOUND for an unknown key (its
 * signatures are then skipped, as the spec requires), or another error,
 * which aborts the open. */
typedef struct tlog_verifiers {
    const tlog_verifier *list;
    size_t n;
    int (*lookup)(void *user, const char *name, size_t name_len, uint32_t id,
                  const tlog_verifier **out);
    void *user;
} tlog_verifiers;

/* Find the key for (name, id).  0; PROV_ENOTFOUND ("unknown key
 * name+id"); PROV_EINVAL when the list holds it twice ("ambiguous key":
 * the configuration is broken, so nobody should guess). */
PROV_HIDDEN int tlog_verifiers_find(const tlog_verifiers *vs, const char *name,
                                    size_t name_len, uint32_t id,
                                    const tlog_verifier **out, prov_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Signed notes (note.c).                                              */

/* One signature line. */
typedef struct tlog_sig {
    const char *name; /* key name, in the message */
    size_t name_len;
    uint32_t id;
    const char *b64; /* base64(id || signature), in the message */
    size_t b64_len;
    const tlog_verifier *by; /* the key that verified it; NULL: unknown key */
    uint64_t time;           /* cosignature timestamp when by->alg is 0x04 */
} tlog_sig;

typedef struct tlog_note {
    const char *text; /* the signed text, ending in '\n' (in the message) */
    size_t text_len;
    size_t nsigs;      /* signature lines kept, in message order */
    size_t nverified;  /* of which verified (sig.by != NULL) */
    tlog_sig sigs[TLOG_MAX_SIGS];
} tlog_note;

/* Parse and verify a signed note: text ending in '\n', a blank line, then
 * one or more lines "— <name> <base64(4-byte key ID || signature)>\n".
 * The split is at the last blank line, so the text may contain blank
 * lines.  Rules (sumdb/note Open):
 *  - the message is valid text (tlog_text_valid) and at most
 *    TLOG_NOTE_MAX bytes; every signature line well formed, its name
 *    valid, its base64 canonical and at least 5 bytes decoded;
 *  - more than TLOG_MAX_SIGS lines: PROV_ELIMIT (Go: "malformed note");
 *  - all of that is checked before any key is looked up (Go checks line
 *    by line), so a malformed note fails the same way whatever the keys,
 *    and no signature is verified on one;
 *  - unknown keys' signatures are kept unverified (identical lines once);
 *  - a known key's signature is verified; a bad one fails the whole note
 *    with TLOG_EVERIFY ("invalid signature for key name+id"), because a
 *    known key signing something that does not verify means tampering;
 *    repeats by the same known key are dropped without checking;
 *  - a lookup that returns a key with another name or ID: PROV_EINVAL;
 *  - no verified signature: PROV_ENOTFOUND, with *out filled all the same
 *    (like Go's UnverifiedNoteError), so a caller can see who signed.
 * On other errors out->text is NULL and the counts 0. */
PROV_HIDDEN int tlog_note_open(const uint8_t *msg, size_t len, const tlog_verifiers *vs,
                               tlog_note *out, prov_ctx *ctx);
/* The same, but signature lines are only matched to keys (and their
 * length checked), not verified: for notes the caller has another
 * guarantee for (a registry entry a signed checkpoint commits to, whose
 * sequencer checked it).  Never for anything not so vouched for. */
PROV_HIDDEN int tlog_note_open_unchecked(const uint8_t *msg, size_t len, const tlog_verifiers *vs,
                                         tlog_note *out, prov_ctx *ctx);

/* Write a signed note: text (must end in '\n'), the blank line, the kept
 * signatures (e.g. a parsed note's sigs, verified or not) except those by a
 * key that also signs now, then one new line per signer, in order
 * (sumdb/note Sign).  Kept signatures are checked: valid name, base64 that
 * starts with their ID (else PROV_EFORMAT).  now is the cosignature
 * timestamp for alg 0x04 signers.  PROV_EINVAL for a signer whose name is
 * invalid, PROV_ELIMIT for too many signatures or too much text. */
PROV_HIDDEN int tlog_note_sign(pbuf *out, const char *text, size_t len,
                               const tlog_sig *keep, size_t nkeep,
                               const tlog_signer *signers, size_t nsigners, uint64_t now,
                               prov_ctx *ctx);

/* The verified signature by v in n, or NULL. */
PROV_HIDDEN const tlog_sig *tlog_note_sig_by(const tlog_note *n, const tlog_verifier *v);
/* How many of the keys in list verified a signature in n (each counted
 * once): for witness quorums. */
PROV_HIDDEN size_t tlog_note_count_by(const tlog_note *n, const tlog_verifier *list,
                                      size_t nlist);

/* ------------------------------------------------------------------ */
/* Merkle trees, RFC 9162 (merkle.c).                                  */

/* SHA-256(0x00 || data): the hash of a log entry. */
PROV_HIDDEN void tlog_leaf_hash(const void *data, size_t n, uint8_t out[32]);
/* SHA-256(0x01 || left || right).  out may alias left or right. */
PROV_HIDDEN void tlog_node_hash(const uint8_t left[32], const uint8_t right[32],
                                uint8_t out[32]);
/* Root of the empty tree: SHA-256(""). */
PROV_HIDDEN void tlog_empty_root(uint8_t out[32]);
/* The Merkle tree hash over n >= 1 consecutive subtree hashes of one
 * level, taken as leaves (RFC 9162 MTH with node hashing only).  Over a
 * full tile's 256 hashes it gives the tile's hash in the level above;
 * over a level-0 tile's W leaf hashes, the root of a W-entry tree. */
PROV_HIDDEN int tlog_hashes_root(const uint8_t *hashes, size_t n, uint8_t out[32]);

/* Proof verification, the reference verifier's rules
 * (transparency-dev/merkle proof.Verify*): index < size; the proof has
 * exactly the expected number of hashes; for consistency 0 < size1 <=
 * size2 (size1 == 0 is an error even when size2 == 0: nothing to prove),
 * size1 == size2 needs an empty proof and equal roots, otherwise an empty
 * proof is an error.  proof is n hashes of 32 bytes, leaf end first.
 * 0, PROV_EFORMAT (shape wrong) or TLOG_EVERIFY (hashes disagree). */
PROV_HIDDEN int tlog_verify_inclusion(uint64_t index, uint64_t size,
                                      const uint8_t leaf[32], const uint8_t *proof,
                                      size_t n, const uint8_t root[32]);
/* The root an inclusion proof leads to (same shape checks). */
PROV_HIDDEN int tlog_inclusion_root(uint64_t index, uint64_t size, const uint8_t leaf[32],
                                    const uint8_t *proof, size_t n, uint8_t root[32]);
PROV_HIDDEN int tlog_verify_consistency(uint64_t size1, uint64_t size2,
                                        const uint8_t *proof, size_t n,
                                        const uint8_t root1[32], const uint8_t root2[32]);
/* Expected proof lengths (0 where no proof exists). */
PROV_HIDDEN size_t tlog_inclusion_len(uint64_t index, uint64_t size);
PROV_HIDDEN size_t tlog_consistency_len(uint64_t size1, uint64_t size2);

/* Where proofs come from.  get() returns the hash of the complete subtree
 * at `level` with index `index`: MTH(D[index * 2^level, (index+1) * 2^level)),
 * so level 0 gives leaf hashes.  Any store fits: tiles (tlog_tilesrc),
 * memory (tlog_memtree), a database.  Only complete subtrees are ever
 * asked for; get() returns 0 or an error, which is passed on. */
typedef struct tlog_hashsrc {
    int (*get)(void *user, unsigned level, uint64_t index, uint8_t out[32]);
    void *user;
} tlog_hashsrc;

/* Root of the tree of `size` leaves (size 0: the empty root).  Reads one
 * hash per set bit of size. */
PROV_HIDDEN int tlog_tree_hash(const tlog_hashsrc *src, uint64_t size, uint8_t out[32]);
/* RFC 9162 PATH(index, D[0:size]) into proof (TLOG_MAX_PROOF * 32 bytes),
 * *n hashes, O(log size) reads.  PROV_EINVAL unless index < size. */
PROV_HIDDEN int tlog_prove_inclusion(const tlog_hashsrc *src, uint64_t index,
                                     uint64_t size, uint8_t *proof, size_t *n);
/* RFC 9162 PROOF(size1, D[0:size2]); needs 0 < size1 <= size2. */
PROV_HIDDEN int tlog_prove_consistency(const tlog_hashsrc *src, uint64_t size1,
                                       uint64_t size2, uint8_t *proof, size_t *n);

/* A whole tree in memory: every complete subtree hash, level by level
 * (about 64 bytes per entry).  For sequencers, tests and small logs; its
 * level 8L arrays are exactly the tiles of level L. */
typedef struct tlog_memtree {
    uint64_t size;
    uint8_t *lv[64]; /* lv[l]: (size >> l) hashes */
    size_t cap[64];  /* hashes allocated */
} tlog_memtree;

PROV_HIDDEN void tlog_memtree_init(tlog_memtree *t);
PROV_HIDDEN void tlog_memtree_free(tlog_memtree *t);
/* Append one leaf hash (not the entry: tlog_leaf_hash it first). */
PROV_HIDDEN int tlog_memtree_append(tlog_memtree *t, const uint8_t leaf[32]);
PROV_HIDDEN tlog_hashsrc tlog_memtree_hashsrc(tlog_memtree *t);

/* ------------------------------------------------------------------ */
/* Checkpoints, c2sp.org/tlog-checkpoint (checkpoint.c).               */

typedef struct tlog_checkpoint {
    const char *origin; /* first line, without '\n' */
    size_t origin_len;
    uint64_t size;
    uint8_t root[32];
    const char *ext; /* extension lines, each ending in '\n'; ext_len may be 0 */
    size_t ext_len;
} tlog_checkpoint;

/* Parse a checkpoint body (a note's text): origin (non-empty), tree size
 * (decimal, no leading zeros, fits 64 bits), root hash (base64 of exactly
 * 32 bytes), then optional non-empty extension lines; the text is valid
 * note text ending in '\n'.  Go's log.Checkpoint.Unmarshal is laxer (any
 * hash length, leading zeros); the spec says what we check. */
PROV_HIDDEN int tlog_checkpoint_parse(const char *text, size_t len, tlog_checkpoint *cp,
                                      prov_ctx *ctx);
/* Append "<origin>\n<size>\n<base64 root>\n<ext>".  ext (may be NULL) is
 * zero or more non-empty lines each ending in '\n'.  PROV_EINVAL for an
 * origin or ext that would not parse back. */
PROV_HIDDEN int tlog_checkpoint_format(pbuf *b, const char *origin, size_t origin_len,
                                       uint64_t size, const uint8_t root[32],
                                       const char *ext, size_t ext_len);
/* Format and sign a checkpoint with the log's key: a whole signed note. */
PROV_HIDDEN int tlog_checkpoint_sign(pbuf *out, const tlog_signer *log, const char *origin,
                                     uint64_t size, const uint8_t root[32],
                                     const char *ext, size_t ext_len, prov_ctx *ctx);
/* Open a signed checkpoint: the note must carry a verified signature by
 * `log` (a witness's alone is not enough) and its origin line must equal
 * `origin`.  The log key must be a plain Ed25519 key (alg 0x01, as
 * tlog-tiles requires of public logs; PROV_EINVAL otherwise), so a
 * cosignature can never pass for the log's signature.  Cosignatures by
 * the keys in witnesses (n of them; may be 0) are verified too and appear
 * in note->sigs with their times; count them with tlog_note_count_by().
 * Any other signatures are skipped.  PROV_ENOTFOUND when the log did not
 * sign, TLOG_EVERIFY on a bad signature or another origin. */
PROV_HIDDEN int tlog_checkpoint_open(const uint8_t *msg, size_t len, const char *origin,
                                     const tlog_verifier *log,
                                     const tlog_verifier *witnesses, size_t nwitnesses,
                                     tlog_note *note, tlog_checkpoint *cp, prov_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Cosignatures, c2sp.org/tlog-cosignature, Ed25519 (cosig.c).         */

/* The signed message: "cosignature/v1\ntime <t>\n" || checkpoint text.
 * t at most 2^63 - 1 (PROV_EINVAL). */
PROV_HIDDEN int tlog_cosig_message(pbuf *b, uint64_t t, const char *text, size_t len);
/* Cosign a checkpoint text at time t with an alg 0x04 signer: out gets
 * 8-byte big-endian t || 64-byte signature.  The text must parse as a
 * checkpoint: a witness vouches for tree heads, nothing else. */
PROV_HIDDEN int tlog_cosig_sign(const tlog_signer *s, uint64_t t, const char *text,
                                size_t len, uint8_t out[72]);
/* Check sig (72 bytes, after the key ID) by cosigner v over text; *t gets
 * the timestamp (may be NULL).  0 or TLOG_EVERIFY. */
PROV_HIDDEN int tlog_cosig_verify(const tlog_verifier *v, const char *text, size_t len,
                                  const uint8_t *sig, size_t sig_len, uint64_t *t);
/* A witness's reply: the one signature line "— <name> <base64(id || t ||
 * sig)>\n" cosigning the checkpoint text, ready to append to the note. */
PROV_HIDDEN int tlog_cosig_line(pbuf *b, const tlog_signer *s, uint64_t t,
                                const char *text, size_t len);

/* ------------------------------------------------------------------ */
/* Tiles, c2sp.org/tlog-tiles (tiles.c).                               */

#define TLOG_ENTRIES (-1) /* tlog_tile.level of an entry bundle */

/* A tile: level 0..63 (TLOG_ENTRIES for an entry bundle), index, and
 * width 1..256 (256 = full; less = partial, path ".p/<W>"). */
typedef struct tlog_tile {
    int level;
    uint64_t index;
    unsigned width;
} tlog_tile;

/* "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]", N in 3-digit
 * groups, all but the last prefixed 'x' (1234067 -> x001/x234/067).
 * NUL-terminated into buf (TLOG_TILE_PATH_MAX is always enough); returns
 * the length, or PROV_EINVAL for a bad tile or small buffer. */
PROV_HIDDEN int tlog_tile_path(char *buf, size_t cap, const tlog_tile *t);
/* Parse a path (relative to the log prefix).  Only the canonical form:
 * what tlog_tile_path writes.  PROV_EFORMAT otherwise. */
PROV_HIDDEN int tlog_tile_parse_path(const char *path, size_t len, tlog_tile *t);
/* Width of tile `index` at `level` in a tree of `size` leaves: 256 when
 * full, 1..255 when partial, 0 when the tree has no such tile.  Entry
 * bundles (TLOG_ENTRIES) are sized as level 0. */
PROV_HIDDEN unsigned tlog_tile_width(int level, uint64_t index, uint64_t size);
/* The tile holding the hash stored for node (level, index), level a
 * multiple of 8, in a tree of `size`: its level, index and width. */
PROV_HIDDEN int tlog_tile_for(unsigned level, uint64_t index, uint64_t size, tlog_tile *t);
/* The hash a full hash tile contributes to the level above (the root of
 * its 256 hashes), or of a partial one's W hashes.  len must be a
 * multiple of 32 between 32 and 8192. */
PROV_HIDDEN int tlog_tile_hash(const uint8_t *data, size_t len, uint8_t out[32]);

/* Entry bundles: entries, each a big-endian uint16 length then the bytes. */
PROV_HIDDEN int tlog_bundle_put(pbuf *b, const void *entry, size_t len); /* len <= 65535 */
typedef struct tlog_bundle_iter {
    const uint8_t *p;
    size_t len, off;
} tlog_bundle_iter;
PROV_HIDDEN void tlog_bundle_iter_init(tlog_bundle_iter *it, const uint8_t *p, size_t len);
/* 1 and the next entry; 0 at the end; PROV_EFORMAT if truncated. */
PROV_HIDDEN int tlog_bundle_next(tlog_bundle_iter *it, const uint8_t **entry, size_t *len);
/* Check that a bundle holds exactly `width` entries (1..256) and nothing
 * more; hashes (may be NULL) gets their leaf hashes, width * 32 bytes,
 * which must equal the level-0 tile of the same index and width. */
PROV_HIDDEN int tlog_bundle_hashes(const uint8_t *p, size_t len, unsigned width,
                                   uint8_t *hashes);

/* Fetch one file of the log: path relative to the log prefix (e.g.
 * "tile/0/x001/234.p/7", "checkpoint").  Write it to buf (cap bytes) and
 * set *len.  Return 0, PROV_ENOTFOUND (no such file), PROV_ELIMIT (larger
 * than cap), or another error.  A URL fetcher, a folder, an object store. */
typedef int (*tlog_read_fn)(void *user, const char *path, uint8_t *buf, size_t cap,
                            size_t *len);
/* tlog_read_fn over a local folder: user is the folder path (a C string). */
PROV_HIDDEN int tlog_dir_read(void *user, const char *path, uint8_t *buf, size_t cap,
                              size_t *len);

/* Hashes read from hash tiles for a tree of `size` leaves: the tiles that
 * tree implies (partial ones ".p/<W>" at the right edge; when a partial
 * tile is gone, the full tile is read instead, as the spec allows), kept
 * in a small cache.  The hashes are not trusted here: proofs built from
 * them are only worth something once verified against a checkpoint that
 * was (tlog_checkpoint_open) - a lying server gives proofs that fail. */
typedef struct tlog_tilesrc tlog_tilesrc;
PROV_HIDDEN int tlog_tilesrc_new(tlog_tilesrc **out, tlog_read_fn read, void *user,
                                 uint64_t size);
PROV_HIDDEN void tlog_tilesrc_free(tlog_tilesrc *ts);
PROV_HIDDEN tlog_hashsrc tlog_tilesrc_hashsrc(tlog_tilesrc *ts);
/* Tiles fetched so far (cache misses). */
PROV_HIDDEN uint64_t tlog_tilesrc_reads(const tlog_tilesrc *ts);

/* ------------------------------------------------------------------ */
/* Offline proofs, c2sp.org/tlog-proof (tlogproof.c).                  */

typedef struct tlog_proof {
    uint64_t index;
    bool has_extra;
    const char *extra; /* base64 text of the extra data (tlog_b64_decode it) */
    size_t extra_len;
    size_t nproof; /* inclusion proof hashes, leaf's sibling first */
    uint8_t proof[TLOG_MAX_PROOF][32];
    const uint8_t *checkpoint; /* the signed checkpoint note, verbatim */
    size_t checkpoint_len;
} tlog_proof;

/* Parse "c2sp.org/tlog-proof@v1\n[extra <b64>\n]index <N>\n<b64 hash>\n...\n\n
 * <signed checkpoint>".  Hashes must be 32 bytes, at most 64 of them;
 * index canonical decimal.  The checkpoint is not opened here. */
PROV_HIDDEN int tlog_proof_parse(const uint8_t *p, size_t len, tlog_proof *out,
                                 prov_ctx *ctx);
/* Write one.  extra is written when has_extra (even if empty). */
PROV_HIDDEN int tlog_proof_format(pbuf *b, uint64_t index, const uint8_t *proof,
                                  size_t nproof, bool has_extra, const uint8_t *extra,
                                  size_t extra_len, const uint8_t *checkpoint,
                                  size_t checkpoint_len);
/* Parse, open the checkpoint (tlog_checkpoint_open: log key, origin,
 * optional witnesses) and verify the inclusion of leaf_hash.  Everything
 * parsed is returned through pr, note and cp (each may be NULL). */
PROV_HIDDEN int tlog_proof_verify(const uint8_t *p, size_t len, const uint8_t leaf_hash[32],
                                  const char *origin, const tlog_verifier *log,
                                  const tlog_verifier *witnesses, size_t nwitnesses,
                                  tlog_proof *pr, tlog_note *note, tlog_checkpoint *cp,
                                  prov_ctx *ctx);

#endif
