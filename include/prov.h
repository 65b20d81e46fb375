/*
 * prov.h - sign and verify media provenance (C2PA 2.x manifests).
 *
 * The header is the documentation.  Conventions, as in libsodium and curl:
 *  - every function returns int: 0 on success, a negative PROV_E* code on
 *    failure; prov_strerror() names a code, prov_errmsg(ctx) gives detail;
 *  - handles are opaque; every allocating function names its _free;
 *  - input comes from memory, a FILE * or read/seek callbacks (prov_stream),
 *    so a camera can stream; signing goes through a callback (prov_signer),
 *    so a secure element can hold the key.
 */
#ifndef PROV_H
#define PROV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PROV_BUILDING) && defined(__GNUC__)
#define PROV_API __attribute__((visibility("default")))
#else
#define PROV_API
#endif

#define PROV_VERSION_MAJOR 0
#define PROV_VERSION_MINOR 1
#define PROV_VERSION_PATCH 0
#define PROV_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". */
PROV_API const char *prov_version(void);

/* ------------------------------------------------------------------ */
/* Errors.  Codes are only ever added at the end.                      */
enum {
    PROV_OK = 0,
    PROV_EINVAL = -1,       /* bad argument */
    PROV_ENOMEM = -2,       /* out of memory */
    PROV_EIO = -3,          /* read, write or seek failed */
    PROV_EFORMAT = -4,      /* malformed input */
    PROV_ELIMIT = -5,       /* a size, depth or count bound was exceeded */
    PROV_ENOTFOUND = -6,    /* no manifest store (or no such item) */
    PROV_EUNSUPPORTED = -7, /* format or algorithm not supported */
    PROV_ECRYPTO = -8,      /* cryptographic library failure */
    PROV_EPASSPHRASE = -9,  /* wrong passphrase or corrupt key file */
    PROV_ESIGNER = -10,     /* the signer callback failed */
    PROV_EEXIST = -11,      /* output exists and may not be replaced */
    PROV_ECERT = -12,       /* certificate could not be made or parsed */
    PROV_ETIMESTAMP = -13   /* the time-stamp authority gave no usable token */
};

/* A static English name for a code; never NULL. */
PROV_API const char *prov_strerror(int code);

/* ------------------------------------------------------------------ */
/* Context: carries the detail of the last error and the bounds.       */
typedef struct prov_ctx prov_ctx;

PROV_API int prov_ctx_new(prov_ctx **out);
PROV_API void prov_ctx_free(prov_ctx *ctx);
/* Detail of the last failure on ctx ("" if none); owned by ctx, valid until
 * the next call on ctx. */
PROV_API const char *prov_errmsg(const prov_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Streams.  A caller-held struct; fill it with one of the prov_stream_*
 * initialisers or set the callbacks yourself.
 *  read:  returns bytes read (0 at end), or -1 on error.
 *  seek:  absolute offset; may be NULL for a pipe (signing then buffers the
 *         header of the file, never the image data).
 *  write: returns 0 when all len bytes were written, -1 on error.        */
typedef struct prov_stream {
    long (*read)(void *user, void *buf, size_t len);
    int (*seek)(void *user, uint64_t offset);
    int (*write)(void *user, const void *buf, size_t len);
    void *user;
    uintptr_t priv[4]; /* do not touch */
} prov_stream;

/* Read from (and seek in) a memory buffer the caller keeps alive. */
PROV_API void prov_stream_mem(prov_stream *s, const void *buf, size_t len);
/* Read, write and seek a FILE * opened by the caller. */
PROV_API void prov_stream_file(prov_stream *s, FILE *f);

/* An output buffer in memory, grown as written: after use, data holds len
 * bytes (malloc'd; release with prov_free(data)). */
typedef struct prov_outbuf {
    uint8_t *data;
    size_t len;
    size_t cap, pos; /* do not touch */
} prov_outbuf;
PROV_API void prov_stream_outbuf(prov_stream *s, prov_outbuf *ob);

/* ------------------------------------------------------------------ */
/* Keys: Ed25519 secret keys, sealed at rest with Argon2id and
 * XChaCha20-Poly1305 (libsodium).                                       */
typedef struct prov_key prov_key;

PROV_API int prov_key_generate(prov_key **out);
/* A key for a COSE algorithm: PROV_ALG_ED25519 (what prov_key_generate
 * makes), PROV_ALG_ES256 (ECDSA P-256) or PROV_ALG_ES384 (P-384);
 * PROV_EUNSUPPORTED for others. */
PROV_API int prov_key_generate_alg(int alg, prov_key **out);
/* The key's PROV_ALG_* (what prov_signer_from_key signs with). */
PROV_API int prov_key_alg(const prov_key *key);
/* The public key as DER SubjectPublicKeyInfo (malloc'd; free with
 * prov_free). */
PROV_API int prov_key_public_der(const prov_key *key, uint8_t **der, size_t *len);
/* Load a key file.  passphrase may be NULL for a key saved unencrypted; an
 * encrypted key with a NULL or wrong passphrase gives PROV_EPASSPHRASE. */
PROV_API int prov_key_load(prov_ctx *ctx, const char *path, const char *passphrase,
                           prov_key **out);
/* Write the key with mode 0600 (temporary file + rename).  passphrase NULL
 * stores it unencrypted (devices, tests); refuses to replace a file. */
PROV_API int prov_key_save(prov_ctx *ctx, const prov_key *key, const char *path,
                           const char *passphrase);
/* Ed25519: the public key.  ECDSA: the SHA-256 of its SubjectPublicKeyInfo
 * (the handle the identity registry knows it by). */
PROV_API void prov_key_public(const prov_key *key, uint8_t pk[32]);
PROV_API void prov_key_free(prov_key *key);
/* Does this file hold an encrypted key?  1 yes, 0 no, negative on error. */
PROV_API int prov_key_file_encrypted(const char *path);

/* ------------------------------------------------------------------ */
/* Certificates (DER), made with the issuer's Ed25519 key.             */

/* A self-signed CA root.  subject is a name like "Newsroom Root CA" (used
 * as CN) or an RFC 4514 string ("CN=...,O=..."). *der is malloc'd; free it
 * with prov_free(). */
PROV_API int prov_cert_make_root(prov_ctx *ctx, const prov_key *ca_key,
                                 const char *subject, int days, uint8_t **der,
                                 size_t *der_len);
/* A leaf for any prov_key (Ed25519, ES256, ES384), issued by the CA:
 * as prov_cert_make_leaf. */
PROV_API int prov_cert_make_leaf_for(prov_ctx *ctx, const prov_key *ca_key, const uint8_t *ca_der,
                                     size_t ca_der_len, const prov_key *subject_key, const char *subject,
                                     int days, uint8_t **der, size_t *der_len);
/* A leaf for a public key given as DER SubjectPublicKeyInfo (Ed25519,
 * ECDSA P-256 or P-384: a token's key, a KEY.pub), as prov_cert_make_leaf. */
PROV_API int prov_cert_make_leaf_spki(prov_ctx *ctx, const prov_key *ca_key, const uint8_t *ca_der,
                                      size_t ca_der_len, const uint8_t *spki, size_t spki_len,
                                      const char *subject, int days, uint8_t **der, size_t *der_len);
/* A leaf for a signer's public key, issued by the CA: not self-signed,
 * key usage digitalSignature, EKU documentSigning + emailProtection. */
PROV_API int prov_cert_make_leaf(prov_ctx *ctx, const prov_key *ca_key,
                                 const uint8_t *ca_der, size_t ca_der_len,
                                 const uint8_t pk[32], const char *subject,
                                 int days, uint8_t **der, size_t *der_len);
/* PEM text of one DER certificate (malloc'd, NUL-terminated). */
PROV_API int prov_cert_to_pem(const uint8_t *der, size_t der_len, char **pem);
/* A certificate's validity period as Unix times (PROV_ECERT when it does
 * not parse or its dates are malformed). */
PROV_API int prov_cert_validity(const uint8_t *der, size_t der_len, int64_t *not_before, int64_t *not_after);

/* A chain, leaf first. */
typedef struct prov_chain prov_chain;
PROV_API int prov_chain_load_pem(prov_ctx *ctx, const char *path, prov_chain **out);
PROV_API int prov_chain_from_pem(prov_ctx *ctx, const char *pem, size_t len,
                                 prov_chain **out);
PROV_API size_t prov_chain_count(const prov_chain *c);
PROV_API const uint8_t *prov_chain_der(const prov_chain *c, size_t i, size_t *len);
PROV_API void prov_chain_free(prov_chain *c);

/* What a verifier trusts (docs/trust.md):
 * - anchors: roots (or intermediates) a signer's chain must reach;
 * - allowed: end-entity certificates trusted as they are;
 * - EKUs: the extended key usages a signer's certificate may carry
 *   (default: emailProtection, documentSigning, C2PA and Microsoft C2PA
 *   signing);
 * - time-stamp authorities: anchors an RFC 3161 token's TSA must reach
 *   before its time is believed: the TSA anchors, the signers' anchors,
 *   and the system's CA bundle unless prov_trust_system_tsa(t, 0).
 * A verifier without a prov_trust trusts no signer and believes only
 * time-stamps from TSAs that chain to the system bundle. */
typedef struct prov_trust prov_trust;
PROV_API int prov_trust_new(prov_trust **out);
PROV_API int prov_trust_add_pem_file(prov_ctx *ctx, prov_trust *t, const char *path);
PROV_API int prov_trust_add_pem(prov_ctx *ctx, prov_trust *t, const char *pem, size_t len);
PROV_API void prov_trust_free(prov_trust *t);
PROV_API int prov_trust_add_tsa_pem_file(prov_ctx *ctx, prov_trust *t, const char *path);
PROV_API int prov_trust_add_tsa_pem(prov_ctx *ctx, prov_trust *t, const char *pem, size_t len);
/* 0: do not use the system CA bundle for time-stamp authorities. */
PROV_API void prov_trust_system_tsa(prov_trust *t, int on);
PROV_API int prov_trust_add_allowed_pem(prov_ctx *ctx, prov_trust *t, const char *pem, size_t len);
/* Replace the allowed EKU list: OIDs in dotted form separated by spaces,
 * commas or newlines. */
PROV_API int prov_trust_set_ekus(prov_ctx *ctx, prov_trust *t, const char *oids);
/* Read a trust configuration file (docs/trust.md): lines `key = value`,
 * keys anchors, allowed, tsa_anchors (PEM files, relative to the file's
 * folder, repeatable), ekus (OIDs), system_tsa (yes|no); '#' comments.
 * All or nothing is not promised: on error t may hold part of the file. */
PROV_API int prov_trust_load_config(prov_ctx *ctx, prov_trust *t, const char *path);
/* Trust an identity registry's CA root: DIR/root.pem for a folder; for a
 * URL (or a .sqlite mirror file), the root its mirror pinned on the first
 * sync (the URL's mirror is synced first). */
PROV_API int prov_trust_add_registry(prov_ctx *ctx, prov_trust *t, const char *registry);

PROV_API void prov_free(void *p);

/* ------------------------------------------------------------------ */
/* Signing.                                                            */

/* COSE algorithm identifiers. */
#define PROV_ALG_ED25519 (-8)
#define PROV_ALG_ES256 (-7)
#define PROV_ALG_ES384 (-35)
#define PROV_ALG_ES512 (-36)
#define PROV_ALG_PS256 (-37)
#define PROV_ALG_PS384 (-38)
#define PROV_ALG_PS512 (-39)

/* A signer: the library hands it the bytes to sign (the COSE
 * Sig_structure) and expects exactly sig_len bytes back.  A secure element
 * implements sign(); prov_signer_from_key() fills one for a prov_key.
 * ECDSA signatures are r||s, each big-endian and padded to the curve size
 * (64 bytes for ES256, 96 for ES384), not DER.  A camera whose secure
 * element holds a P-256 key:
 *
 *     static int se_sign(void *user, const uint8_t *msg, size_t n,
 *                        uint8_t *sig, size_t sig_len)
 *     {
 *         uint8_t digest[32];
 *         sha256(msg, n, digest);               // the SE signs a digest
 *         return se_ecdsa_p256(user, digest, sig) == SE_OK ? 0 : -1;
 *     }
 *     prov_signer s = {PROV_ALG_ES256, 64, se_sign, &se_handle};
 *     prov_sign(ctx, &opts, &s, chain, &in, &out);  // chain: the SE's
 *                                                    // certificate first
 */
typedef struct prov_signer {
    int alg;        /* PROV_ALG_* */
    size_t sig_len; /* exact signature length: 64 for Ed25519 and ES256 */
    int (*sign)(void *user, const uint8_t *msg, size_t msg_len, uint8_t *sig,
                size_t sig_len);
    void *user;
} prov_signer;

/* The signer borrows key; key must outlive it. */
PROV_API void prov_signer_from_key(prov_signer *s, const prov_key *key);

/* A key that never leaves a PKCS#11 token (an HSM, a smart card, SoftHSM),
 * named by an RFC 7512 URI: "pkcs11:token=Cam;object=sign-key".  The
 * module is the URI's module-path, else $PROV_PKCS11_MODULE, else every
 * module registered with p11-kit (module-name= picks one).  The PIN is the
 * URI's pin-value or pin-source (a file), else pin; a token that wants one
 * without it gives PROV_EPASSPHRASE, as does a wrong one.  Exactly one
 * private key must match (PROV_ENOTFOUND none, PROV_EINVAL several); its
 * public key is the public object with the same CKA_ID.  ECDSA P-256
 * (ES256), P-384 (ES384) and Ed25519 (CKM_EDDSA) keys sign.  One handle
 * may sign from several threads (calls are serialised on its session). */
typedef struct prov_pkcs11_key prov_pkcs11_key;
PROV_API int prov_pkcs11_open(prov_ctx *ctx, const char *uri, const char *pin, prov_pkcs11_key **out);
/* The key's PROV_ALG_*. */
PROV_API int prov_pkcs11_alg(const prov_pkcs11_key *key);
/* The public key as DER SubjectPublicKeyInfo (malloc'd; free with
 * prov_free), for prov_cert_make_leaf_spki. */
PROV_API int prov_pkcs11_public_der(const prov_pkcs11_key *key, uint8_t **der, size_t *len);
/* Logs out, closes the session and unloads the module. */
PROV_API void prov_pkcs11_close(prov_pkcs11_key *key);
/* The signer borrows key; key must outlive it. */
PROV_API void prov_signer_from_pkcs11(prov_signer *s, prov_pkcs11_key *key);

/* IPTC digital source types (a few common ones). */
#define PROV_SOURCE_DIGITAL_CAPTURE \
    "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
#define PROV_SOURCE_TRAINED_ALGORITHMIC \
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#define PROV_SOURCE_COMPOSITE \
    "http://cv.iptc.org/newscodes/digitalsourcetype/composite"

/* A time-stamp authority (RFC 3161): given the bytes to time-stamp, put a
 * DER TimeStampToken (the response's timeStampToken, a CMS ContentInfo)
 * whose message imprint is a hash of exactly those bytes in *token
 * (malloc'd; the library frees it with free()).  Return 0, or non-zero on
 * failure.  prov_tsa_http is one for an HTTP TSA. */
typedef int (*prov_timestamp_fn)(void *user, const uint8_t *msg, size_t msg_len, uint8_t **token,
                                 size_t *token_len);
/* An RFC 3161 TSA over HTTP(S) (user: the URL, a const char *): sends a
 * TimeStampReq (SHA-256 imprint, a nonce, certReq), checks the response's
 * status, nonce and imprint, and returns the token.  libcurl is loaded on
 * first use; 10 s timeout, responses up to 1 MiB. */
PROV_API int prov_tsa_http(void *url, const uint8_t *msg, size_t msg_len, uint8_t **token, size_t *token_len);

/* Progress of long work: bytes done of total (total 0 when unknown). */
typedef void (*prov_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Options for prov_sign; zero-initialise, then set what you need. */
typedef struct prov_sign_opts {
    const char *title;        /* dc:title; default none */
    const char *action;       /* "c2pa.created" (default), "c2pa.edited", ... */
    const char *source_type;  /* digitalSourceType URI for c2pa.created */
    const char *generator;    /* claim_generator_info name; default "prov" */
    const char *generator_version;
    /* The file this one was made from (its manifest store is carried over
     * and it becomes the parentOf ingredient).  When NULL and the input
     * carries a manifest store, the input itself is the parent. */
    prov_stream *parent;
    const char *parent_title; /* ingredient title; default "parent" */
    int thumbnail;            /* 1: add a JPEG claim thumbnail (JPEG and PNG
                               * input; reads the picture once more) */
    uint64_t time;            /* reserved, set 0 */
    prov_progress_fn progress; /* called about every 8 MiB; may be NULL */
    void *progress_user;
    uint64_t size_hint;       /* input size for progress, 0 if unknown */
    /* The signer's registration in an identity registry: the tlog-proof
     * `prov register` wrote (KEY.proof), embedded so verifiers can name
     * the signer offline.  NULL: none. */
    const uint8_t *registration;
    size_t registration_len;
    /* Soft binding: a JPEG or PNG gets a c2pa.soft-binding assertion with
     * the PDQ fingerprint of its pixels (one more decoding pass, at most
     * 512 pixels a side; docs/soft-binding.md), so a copy stripped of its
     * manifest can be matched.  1: leave it out.  Other formats: none. */
    int no_soft_binding;
    /* A manifest repository (a registry folder): once signed, the manifest
     * store is written to DIR/manifests/sha256/<hex>.c2pa and its
     * fingerprint added to DIR/manifests/pdq.idx (prov_repo_publish).
     * NULL: not published. */
    const char *publish;
    /* A trusted signing time: the signature is time-stamped (C2PA sigTst2:
     * the token covers the signature) by this callback, so it stays
     * verifiable after the certificate expires.  NULL: none. */
    prov_timestamp_fn timestamp;
    void *timestamp_user;
    /* Bytes reserved in the store for the token (it is fetched after the
     * store is laid out); 0: 16384.  A larger token fails the signing with
     * PROV_ELIMIT and leaves no output. */
    size_t timestamp_reserve;
    /* A manifest definition: the JSON c2patool takes with -m (title,
     * claim_generator_info, actions, other assertions;
     * docs/manifest-definition.md), definition_len bytes (0: up to the
     * NUL).  A definition prov cannot honour fails the signing with
     * PROV_EINVAL and a message.  NULL: none. */
    const char *definition;
    size_t definition_len;
    /* Ingredients placed into this file (componentOf), each a seekable
     * stream read once and validated: its manifests are carried into the
     * store, its c2pa.ingredient.v3 records its title, format and
     * validation, and a c2pa.placed action names it.  At most 16.  A
     * definition's "ingredient_paths" must be given here, in its order
     * (prov_definition_ingredient_paths lists them). */
    const struct prov_ingredient *ingredients;
    size_t ningredients;
    /* 1: a sidecar manifest.  The input is hashed as it is (c2pa.hash.data
     * with no exclusion; BMFF: c2pa.hash.bmff.v3 at its own offsets) and
     * only the manifest store (application/c2pa, what a .c2pa file holds)
     * is written to out; the media stay untouched.  Verify it with
     * prov_verify_opts.manifest. */
    int sidecar;
    /* A remote manifest (every format; TIFF/DNG of one page): the output
     * carries no store, only
     * an XMP packet whose dcterms:provenance names this http(s) URL, and
     * the manifest store, which binds all of the output, is written to
     * manifest_out for the caller to publish at the URL.  A file that
     * already has XMP is refused (no merging yet). */
    const char *remote_url;
    prov_stream *manifest_out;
    /* Soft binding for sound: the prov.chroma.1 fingerprint of the file's
     * decoded audio (prov_afp_*: the library does not decode sound; prov
     * sign does it with FFmpeg), at most PROV_AFP_MAX_WORDS words.  Written
     * as a c2pa.soft-binding assertion (unless no_soft_binding) and, with
     * publish, indexed in DIR/manifests/afp.idx so a stripped or re-encoded
     * copy finds this manifest.  NULL: none. */
    const uint32_t *audio_fingerprint;
    size_t audio_fingerprint_len;
} prov_sign_opts;

typedef struct prov_ingredient {
    prov_stream *stream;
    const char *title; /* e.g. its file name; NULL: "ingredient" */
} prov_ingredient;

/* The "ingredient_paths" of a manifest definition (c2patool's field: files
 * placed into the signed one), as written, in order; the caller opens them
 * (relative to the definition's folder, as c2patool does) and passes them
 * as prov_sign_opts.ingredients.  *paths is malloc'd (free with
 * prov_definition_paths_free); none gives *n = 0. */
PROV_API int prov_definition_ingredient_paths(prov_ctx *ctx, const char *definition, size_t len, char ***paths,
                                              size_t *n);
PROV_API void prov_definition_paths_free(char **paths, size_t n);

/* Sign `in` and write the signed file to `out` (which must be seekable:
 * the manifest region is reserved, the image streamed once while hashing,
 * then the manifest is written into the reserved region).  The signature
 * is checked against the chain's first certificate before the manifest is
 * written: a chain for another key gives PROV_ECERT.  On failure `out`
 * holds partial bytes the caller discards (prov_sign_file does). */
PROV_API int prov_sign(prov_ctx *ctx, const prov_sign_opts *opts,
                       const prov_signer *signer, const prov_chain *chain,
                       prov_stream *in, prov_stream *out);
/* Sign a file into another: writes a temporary file beside out_path and
 * renames it into place; the input is never changed.  in_path may equal
 * out_path (in-place, atomic). */
PROV_API int prov_sign_file(prov_ctx *ctx, const prov_sign_opts *opts,
                            const prov_signer *signer, const prov_chain *chain,
                            const char *in_path, const char *out_path);

/* Sign fragmented media: an fMP4/CMAF init segment and its n media
 * fragments, as DASH and HLS serve them.  Each fragment gets a small C2PA
 * box with its place in a Merkle tree; the init segment gets the manifest,
 * which holds the init segment's own hash and the tree's leaves, so each
 * fragment can be checked alone (prov_verify_fragment).  Outputs are
 * written whole (temporary file + rename); inputs are never changed; on
 * failure the fragments written by this call are removed. */
PROV_API int prov_sign_fragments(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer,
                                 const prov_chain *chain, const char *init_in, const char *init_out,
                                 const char *const *frag_in, const char *const *frag_out, size_t n);

/* ------------------------------------------------------------------ */
/* Verification.                                                       */

enum {
    PROV_STATE_ERROR = 0,    /* could not be read */
    PROV_STATE_UNSIGNED = 1, /* no manifest store */
    PROV_STATE_INVALID = 2,  /* a failure code other than trust */
    PROV_STATE_VALID = 3,    /* intact, signer not trusted */
    PROV_STATE_TRUSTED = 4,  /* intact and signer chains to a trust anchor */
    PROV_STATE_REMOTE = 5    /* no manifest in the file, but a reference to a
                              * remote one (prov_report_remote_url) */
};
PROV_API const char *prov_state_name(int state); /* "trusted", ... */

typedef struct prov_verify_opts {
    const prov_trust *trust; /* NULL: nothing is trusted */
    int flags;               /* reserved, set 0 */
    prov_progress_fn progress; /* called about every 8 MiB; may be NULL */
    void *progress_user;
    uint64_t size_hint;      /* input size for progress, 0 if unknown */
    /* An identity registry (a local folder, or an http(s) URL read through
     * its SQLite mirror, see docs/registry.md): the report gains an identity
     * (name, org, status, revocation, flags); a key revoked before the
     * signature can be shown to be older makes the file invalid. */
    const char *registry;
    /* Soft-binding lookup: a JPEG or PNG with no manifest store is
     * fingerprinted (PDQ) and looked up in the registry's manifest
     * repository (DIR/manifests); the report lists the candidates within
     * this many bits as derived_from, never as a signature: the state stays
     * unsigned.  0: PROV_PDQ_MATCH_DISTANCE; negative: no lookup.  Needs a
     * seekable input (the file is read again to decode it). */
    int match_distance;
    /* A manifest store from outside the file (a sidecar .c2pa, a fetched
     * remote manifest): the file is verified against it, not against any
     * store it carries.  Its data hash may exclude no byte (nothing of the
     * file is left unbound; an empty exclusion is allowed).  NULL: the
     * file's own store. */
    const uint8_t *manifest;
    size_t manifest_len;
    /* Soft-binding lookup for sound: a file with no manifest store whose
     * decoded audio has this prov.chroma.1 fingerprint (prov_afp_*) is
     * looked up in the registry's manifest repository as pictures are (a
     * registry and match_distance >= 0 needed); candidates are sound whose
     * fingerprint lines up within PROV_AFP_MATCH_BER over at least half of
     * the shorter.  NULL: none. */
    const uint32_t *audio_fingerprint;
    size_t audio_fingerprint_len;
} prov_verify_opts;

typedef struct prov_report prov_report;

/* Verify the manifest store of a file.  A file that is unsigned or invalid
 * is not an error: the report says so; the return value is negative only
 * when the stream cannot be read, or its store cannot be validated at all
 * (PROV_EFORMAT: a pre-release draft, a claim naming no hash algorithm).  The report is returned even then (state
 * PROV_STATE_ERROR) when *out is set. */
PROV_API int prov_verify(prov_ctx *ctx, const prov_verify_opts *opts,
                         prov_stream *in, prov_report **out);
PROV_API int prov_verify_file(prov_ctx *ctx, const prov_verify_opts *opts,
                              const char *path, prov_report **out);

/* Verify one media fragment against its init segment: the init
 * segment's manifest as prov_verify checks it, the init segment's own hash,
 * and the fragment's hash against the Merkle tree in the manifest. */
PROV_API int prov_verify_fragment(prov_ctx *ctx, const prov_verify_opts *opts, const char *init_path,
                                  const char *fragment_path, prov_report **out);

PROV_API int prov_report_state(const prov_report *r);
/* The URL of the remote manifest a file points to (state
 * PROV_STATE_REMOTE), or NULL. */
PROV_API const char *prov_report_remote_url(const prov_report *r);
/* Status codes by kind: 0 success, 1 failure, 2 informational. */
#define PROV_CODE_SUCCESS 0
#define PROV_CODE_FAILURE 1
#define PROV_CODE_INFO 2
PROV_API size_t prov_report_code_count(const prov_report *r, int kind);
PROV_API const char *prov_report_code(const prov_report *r, int kind, size_t i);
/* Every failure and informational status, in the order found, with the
 * manifest it is about ("" the file itself) and a short explanation (may
 * be ""): the JSON's "status" list.  Strings live as long as r. */
PROV_API size_t prov_report_status_count(const prov_report *r);
PROV_API int prov_report_status(const prov_report *r, size_t i, const char **code, int *kind,
                                const char **manifest, const char **explanation);
/* Is this code present (any kind)?  1 or 0. */
PROV_API int prov_report_has_code(const prov_report *r, const char *code);
/* The report as one line of JSON (no newline): file, state, codes, signer,
 * actions, ingredients.  Returns the length; with buf NULL or cap too small
 * it writes nothing (size query).  file may be NULL. */
PROV_API size_t prov_report_json(const prov_report *r, const char *file, char *buf,
                                 size_t cap);
PROV_API void prov_report_free(prov_report *r);

/* ------------------------------------------------------------------ */
/* Inspection: the whole manifest store as JSON (malloc'd; prov_free). */
PROV_API int prov_inspect(prov_ctx *ctx, prov_stream *in, char **json);
/* The claim thumbnail (assertion c2pa.thumbnail.claim*) of every manifest
 * in the store, as data: URIs for viewers: a JSON object
 *   {"active":"<active manifest label>",
 *    "claims":{"<manifest label>":"data:image/jpeg;base64,...", ...}}
 * (malloc'd; prov_free).  A report's ingredients name their manifest, so an
 * edit history can show each ingredient's picture.  Thumbnails over
 * max_bytes (0: 1 MiB) or not of an image/ type are left out.
 * PROV_ENOTFOUND when the file has no manifest store. */
PROV_API int prov_thumbnails_json(prov_ctx *ctx, prov_stream *in, size_t max_bytes, char **json);

/* ------------------------------------------------------------------ */
/* Detector: how likely an image is AI-made or AI-altered.             *
 *
 * The classifier is a small CNN of the NPR family (Tan et al., CVPR 2024):
 * about 1.44M parameters, run on the CPU in plain C (im2col + sgemm),
 * multithreaded.  The sgemm is OpenBLAS's, loaded at run time (dlopen) the
 * first time a detector is opened, so programs that never score do not
 * pay its start-up; without OpenBLAS a built-in C product is used.  The image is never resized: it is cut into
 * even-aligned crops of 256x256 (smaller images: one crop of the whole
 * image, cropped to even width and height), each crop is scored, and the
 * crop logits are averaged (detector/README.md gives the exact rule).
 *
 * A score is a probability with a measured error rate, never a verdict:
 * probability = sigmoid(logit / T), with the temperature T stored in the
 * weights file by the calibration step.
 *
 * Threads: a prov_detector is read-only once opened, so any number of
 * threads may score with the same one at the same time (each call uses its
 * own scratch memory, about 30 MB per worker thread).  The setters below
 * must not run concurrently with scoring.  Each call spreads its work over
 * the detector's worker threads (default: the CPUs this process may run
 * on).  The detector does its own threading, so it sets the OpenBLAS it
 * loads to one thread (openblas_set_num_threads(1)); a program that also
 * links OpenBLAS itself shares that setting.
 */
typedef struct prov_detector prov_detector;

typedef struct prov_detector_result {
    float probability; /* sigmoid(logit / temperature), in [0, 1] */
    float logit;       /* mean of the crop logits (> 0 leans AI-made) */
    uint32_t crops;    /* how many crops were scored */
} prov_detector_result;

/* One decoded image: 8-bit RGB, 3 bytes a pixel, rows top to bottom,
 * stride bytes from one row to the next (>= 3 * width). */
typedef struct prov_detector_image {
    const uint8_t *rgb;
    uint32_t width, height;
    size_t stride;
} prov_detector_image;

/* Smallest width and height that can be scored (after rounding down to
 * even); smaller images give PROV_EUNSUPPORTED. */
#define PROV_DETECTOR_MIN_SIDE 32
/* Crops per image by default (prov_detector_set_max_crops). */
#define PROV_DETECTOR_MAX_CROPS 16

/* Load a weights file (detector/README.md: "PROVNPR1" tensor file, at most
 * 64 MB).  The file is checked in full (CRC-32, every count, size and
 * shape, finite values) before use: a damaged or hostile file gives
 * PROV_EFORMAT / PROV_ELIMIT / PROV_EUNSUPPORTED, never a crash.  Batch
 * norm is folded into the convolutions here.  *out is NULL on failure. */
PROV_API int prov_detector_open(prov_ctx *ctx, const char *weights_path, prov_detector **out);
/* The same from a weights file held in memory (copied; buf may be freed
 * after the call). */
PROV_API int prov_detector_open_mem(prov_ctx *ctx, const void *buf, size_t len,
                                    prov_detector **out);
PROV_API void prov_detector_free(prov_detector *d);

/* Worker threads per scoring call; 0 restores the default (the CPUs this
 * process may run on).  At most 64. */
PROV_API int prov_detector_set_threads(prov_detector *d, unsigned threads);
/* Most crops scored per image (1 to 1024; 0 restores the default, 16).  A
 * larger image gets a coarser, still evenly spread, grid of crops. */
PROV_API int prov_detector_set_max_crops(prov_detector *d, unsigned max_crops);
/* The weights file's metadata: a NUL-terminated JSON object (model name
 * and version, training record, ...); owned by d. */
PROV_API const char *prov_detector_meta(const prov_detector *d);
/* The calibration temperature from the weights file. */
PROV_API float prov_detector_temperature(const prov_detector *d);
/* Which matrix product runs the convolutions, e.g. "libopenblas.so.0:
 * OpenBLAS 0.3.21 ... SkylakeX", or "built-in C (no CBLAS library found)";
 * static, for logs and reports. */
PROV_API const char *prov_detector_backend(const prov_detector *d);

/* Score one decoded RGB image (see prov_detector_image). */
PROV_API int prov_detector_score_rgb(prov_ctx *ctx, const prov_detector *d, const uint8_t *rgb,
                                     uint32_t width, uint32_t height, size_t stride,
                                     prov_detector_result *out);
/* Score n images in one call (their crops share the worker threads);
 * out[i] is the result for imgs[i].  If any image is invalid (NULL pixels,
 * stride < 3 * width, too small) nothing is scored and the call fails. */
PROV_API int prov_detector_score_batch(prov_ctx *ctx, const prov_detector *d,
                                       const prov_detector_image *imgs, size_t n,
                                       prov_detector_result *out);
/* Decode a JPEG or PNG (full size; the same bounded decoder as the rest of
 * libprov) and score it. */
PROV_API int prov_detector_score_stream(prov_ctx *ctx, const prov_detector *d,
                                        prov_stream *in, prov_detector_result *out);
PROV_API int prov_detector_score_file(prov_ctx *ctx, const prov_detector *d, const char *path,
                                      prov_detector_result *out);

/* Where a detector runs.  PROV_DEVICE_CPU (the default after open) is
 * always there.  PROV_DEVICE_CUDA loads the CUDA back end, libprov_cuda.so
 * (built when nvcc is found; libprov itself never links CUDA), with
 * dlopen: from $PROV_CUDA_LIB when set, else beside the library or program
 * that holds libprov, then its ../lib, then the install libdir, then the
 * loader's path; it needs a CUDA driver and a device, and copies the
 * weights there.  Without one it fails (PROV_EUNSUPPORTED, prov_errmsg says
 * why) and d stays on the CPU.  PROV_DEVICE_AUTO is CUDA when that works,
 * else the CPU, and never fails for want of a GPU.  Logits on CUDA match the
 * CPU path's within 1e-3 (detector/README.md).  Not concurrently with
 * scoring. */
enum { PROV_DEVICE_CPU = 0, PROV_DEVICE_CUDA = 1, PROV_DEVICE_AUTO = 2 };
PROV_API int prov_detector_set_device(prov_ctx *ctx, prov_detector *d, int device);
/* "cpu" or "cuda": where d runs now. */
PROV_API const char *prov_detector_device(const prov_detector *d);
/* ------------------------------------------------------------------ */
/* Perceptual fingerprints and the manifest repository (soft binding).  *
 *
 * PDQ (Meta's 256-bit perceptual hash, written here from its published
 * description): near-identical pictures (re-encoded, resized, slightly
 * cropped) hash a few bits apart, unrelated ones about 128.  Hash bytes are
 * the reference implementation's 64-digit hex string, decoded.            */
#define PROV_PDQ_BYTES 32
/* Default match threshold: at most this many of the 256 bits differ. */
#define PROV_PDQ_MATCH_DISTANCE 31

/* Hash 8-bit RGB pixels (rows top to bottom, stride bytes apart).  quality
 * (may be NULL) gets 0..100: below ~50 the picture is too flat for the hash
 * to mean much. */
PROV_API int prov_pdq_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, size_t stride,
                          uint8_t hash[PROV_PDQ_BYTES], int *quality);
/* Decode a JPEG or PNG (the bounded decoder; JPEGs at 1/2..1/8 scale down
 * to 512 pixels a side; anything over 1024 a side box-filtered to 1024)
 * and hash it. */
PROV_API int prov_pdq_stream(prov_ctx *ctx, prov_stream *in, uint8_t hash[PROV_PDQ_BYTES], int *quality);
PROV_API int prov_pdq_file(prov_ctx *ctx, const char *path, uint8_t hash[PROV_PDQ_BYTES], int *quality);
/* Hamming distance, 0..256. */
PROV_API int prov_pdq_distance(const uint8_t a[PROV_PDQ_BYTES], const uint8_t b[PROV_PDQ_BYTES]);
/* 64 lowercase hex digits and a NUL. */
PROV_API void prov_pdq_hex(const uint8_t hash[PROV_PDQ_BYTES], char out[2 * PROV_PDQ_BYTES + 1]);

/* Audio fingerprints (soft binding for sound): prov.chroma.1, a chroma
 * fingerprint written here from its published description (lib/afp.h,
 * docs/soft-binding.md).  One 32-bit word for every 1365 samples of mono
 * audio at PROV_AFP_RATE (about 8 a second); re-encoded copies (MP3, AAC,
 * Opus, resampled, louder or quieter) line up a few bits in a word apart,
 * unrelated sound about 16.  Word 0 means "no sound" and never matches. */
#define PROV_AFP_RATE 11025        /* mono samples a second it reads */
#define PROV_AFP_MAX_WORDS 65536u  /* about 2 h 15 min; sound past it is not fingerprinted */
#define PROV_AFP_MIN_WORDS 24      /* about 3 s: the least sound that is matched */
#define PROV_AFP_MATCH_BER 0.25    /* match threshold: bit error rate (docs/soft-binding.md) */
typedef struct prov_afp prov_afp;
PROV_API int prov_afp_new(prov_ctx *ctx, prov_afp **out);
/* Mono samples at PROV_AFP_RATE, -1..1 (NaN and larger are clipped). */
PROV_API int prov_afp_feed(prov_afp *a, const float *pcm, size_t n);
/* The words (owned by a, valid until prov_afp_free); nothing more can be
 * fed.  Under about 1.8 s of sound: no words. */
PROV_API int prov_afp_finish(prov_afp *a, const uint32_t **words, size_t *n);
PROV_API void prov_afp_free(prov_afp *a);
typedef struct prov_afp_match {
    long offset;    /* b[i + offset] lines up with a[i] (words) */
    size_t overlap; /* pairs of words compared (neither 0) */
    double ber;     /* share of their bits that differ, 0..1 */
} prov_afp_match;
/* Where a lines up best in b: 0, or PROV_ENOTFOUND when no offset has two
 * matching half-words (unrelated, or too short). */
PROV_API int prov_afp_compare(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, prov_afp_match *m);

/* A manifest repository: DIR/manifests/ of a registry folder
 * (docs/soft-binding.md): manifest stores as content-addressed files and a
 * fingerprint index of fixed records {PDQ, SHA-256 of the store}.  A signed
 * picture is indexed under npdq hashes (prov sign: the whole picture and
 * three centred crops), so a cropped copy still finds it. */
typedef struct prov_repo prov_repo;

/* Add a manifest store (its JUMBF bytes) and its fingerprint to DIR: the
 * store is written first (temporary file, fsync, rename), then one record
 * is appended to the index under an exclusive lock and synced, so a record
 * never names a missing store and a torn append is ignored by readers.
 * digest (may be NULL) gets the store's SHA-256. */
PROV_API int prov_repo_publish(prov_ctx *ctx, const char *dir, const uint8_t *store, size_t len,
                               const uint8_t (*pdq)[PROV_PDQ_BYTES], size_t npdq, uint8_t digest[32]);
/* Open DIR's index (mapped read-only; checked: magic, version, record
 * size; a partial last record is ignored).  A missing index is an empty
 * repository. */
PROV_API int prov_repo_open(prov_ctx *ctx, const char *dir, prov_repo **out);
/* Build the in-memory multi-index (16 tables of 16-bit keys, ~4 bytes a
 * record each): searches then touch a few thousand records instead of all.
 * Worth it for a process that searches many times (a service). */
PROV_API int prov_repo_index(prov_repo *r);
PROV_API size_t prov_repo_count(const prov_repo *r);
typedef struct prov_repo_match {
    uint8_t manifest[32]; /* SHA-256 of the manifest store */
    int distance;         /* PDQ bits apart */
} prov_repo_match;
/* Records within max_distance bits of pdq, nearest first, each manifest
 * once; up to cap in out, *n the number written. */
PROV_API int prov_repo_search(const prov_repo *r, const uint8_t pdq[PROV_PDQ_BYTES], int max_distance,
                              prov_repo_match *out, size_t cap, size_t *n);
/* The same for several fingerprints of one picture (its crops, at most
 * 64): each manifest once, at its nearest; a scan reads the index once. */
PROV_API int prov_repo_search_many(const prov_repo *r, const uint8_t (*pdq)[PROV_PDQ_BYTES], size_t npdq,
                                   int max_distance, prov_repo_match *out, size_t cap, size_t *n);
/* Read a manifest store by its SHA-256 (checked), at most 48 MiB
 * (malloc'd; prov_free). */
PROV_API int prov_repo_load(prov_ctx *ctx, const char *dir, const uint8_t digest[32], uint8_t **store,
                            size_t *len);
PROV_API void prov_repo_free(prov_repo *r);
/* Add a manifest store and the fingerprint of its sound (prov.chroma.1,
 * n words) to DIR: the store as prov_repo_publish writes it, then one
 * record appended to DIR/manifests/afp.idx under an exclusive lock. */
PROV_API int prov_repo_publish_audio(prov_ctx *ctx, const char *dir, const uint8_t *store, size_t len,
                                     const uint32_t *words, size_t n, uint8_t digest[32]);
typedef struct prov_repo_audio_match {
    uint8_t manifest[32]; /* SHA-256 of the manifest store */
    double ber;           /* share of bits that differ where they line up */
    long offset;          /* the query's first word is the original's word offset */
    size_t overlap;       /* words compared */
} prov_repo_audio_match;
/* Sound in DIR's audio index that lines up with words within max_ber
 * (0: PROV_AFP_MATCH_BER), best first, each manifest once; up to cap in
 * out, *n the number written.  The index is read through once (no
 * multi-index: about 60 ms a query per 100 hours of sound indexed, on one
 * core; make bench). */
PROV_API int prov_repo_search_audio(prov_ctx *ctx, const char *dir, const uint32_t *words, size_t nwords,
                                    double max_ber, prov_repo_audio_match *out, size_t cap, size_t *n);
/* Rebuild DIR/manifests/pdq.mih, the multi-index persisted beside the index
 * (temporary file, fsync, rename), so that prov_repo_open's searches probe
 * it instead of scanning.  Publishing does this by itself once records past
 * the sidecar are over max(4096, a sixteenth of it); readers scan those. */
PROV_API int prov_repo_reindex(prov_ctx *ctx, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
