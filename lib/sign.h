/* sign.h - what the signing modules share: the signing context, the
 * manifest builder and the BMFF signer. */
#ifndef PROV_SIGN_H
#define PROV_SIGN_H

#include "asset.h"
#include "report.h"
#include "store.h"

#include "json.h"

#define DEF_MAX_ASSERTIONS 16
#define DEF_MAX_ACTIONS 64
#define SIGN_MAX_INGREDIENTS 16

/* An ingredient placed into the file (prov_sign_opts.ingredients). */
typedef struct comp_ing {
    asset a;           /* its head and store */
    c2pa_store st;     /* its parsed store (may be empty) */
    prov_report *rep;  /* its validation */
    pbuf ing;          /* its c2pa.ingredient.v3 */
    char label[48];    /* c2pa.ingredient.v3[__k] */
    int loaded;
} comp_ing;

/* An ingredient the definition describes without a file (c2patool's
 * "ingredients"): a c2pa.ingredient.v3 of its title, format and
 * relationship, with no manifest and no validation. */
typedef struct meta_ing {
    pbuf ing;
    char label[48];
    int placed; /* componentOf: a c2pa.placed action names it */
} meta_ing;

/* An assertion from a manifest definition, ready to write. */
typedef struct def_extra {
    const char *label; /* in the definition's JSON */
    int json;          /* 1: a JSON box, 0: CBOR */
    pbuf body;
} def_extra;

typedef struct sctx {
    prov_ctx *ctx;
    const prov_sign_opts *o;
    const prov_signer *signer;
    const prov_chain *chain;
    int format;
    char label[64];
    char instance[64];
    /* parent */
    int has_parent;
    asset parent;          /* head and store of the parent file */
    c2pa_store pstore;     /* parsed parent store (may be empty) */
    prov_report *preport;  /* the parent's validation */
    comp_ing comp[SIGN_MAX_INGREDIENTS];
    size_t ncomp;
    size_t def_npaths; /* the definition's ingredient_paths */
    /* assertions other than the hash, built once */
    pbuf actions, ingredient;
    pbuf thumb; /* a JPEG claim thumbnail, or empty */
    pbuf soft;  /* c2pa.soft-binding (PDQ or audio), or empty */
    pbuf final; /* the signed store, kept for publishing */
    uint8_t pdq[9][32]; /* the picture's PDQ and its centred crops (pdq.h) */
    int has_pdq;
    /* a manifest definition (sign_def.c) */
    int has_def;
    json_doc def;
    const char *def_title, *def_gen_name, *def_gen_version;
    const json_node *def_actions[DEF_MAX_ACTIONS];
    size_t ndef_actions;
    def_extra extra[DEF_MAX_ASSERTIONS];
    size_t nextra;
    meta_ing meta[SIGN_MAX_INGREDIENTS];
    size_t nmeta;
    /* fragmented media: the leaves of the Merkle tree over the fragments */
    const uint8_t (*leaves)[32];
    size_t nleaves;
} sctx;

/* Make the label and instance ID, and zero the rest. */
PROV_HIDDEN void sctx_init(sctx *s, prov_ctx *ctx, const prov_sign_opts *o, const prov_signer *signer,
                           const prov_chain *chain);
PROV_HIDDEN void sctx_free(sctx *s);
/* Read and validate the parent (a separate stream, or the input itself). */
PROV_HIDDEN int load_parent(sctx *s, prov_stream *ps);
/* Read and validate o->ingredients. */
PROV_HIDDEN int load_components(sctx *s);
/* The assertions that do not depend on the file's bytes. */
PROV_HIDDEN int build_fixed(sctx *s);
/* The whole store: parent manifests, then ours.  sign=0 lays it out with a
 * zero signature of the final length.  start/len: the data hash exclusion. */
PROV_HIDDEN int build_store(sctx *s, const uint8_t hash[32], uint64_t start, uint64_t len, int sign, pbuf *out);
/* Decode the picture in (JPEG or PNG; seekable, left at 0) and build the
 * c2pa.soft-binding assertion (sign_soft.c).  Not a picture it can read
 * (BMFF, over the decode limits, a pipe): nothing, and 0. */
PROV_HIDDEN int build_soft_binding(sctx *s, prov_stream *in);
/* BMFF signing (sign_bmff.c). */
PROV_HIDDEN int sign_bmff(sctx *s, rdr *rd, prov_stream *in, prov_stream *out);
/* Signing the formats of media.h (sign_media.c): a is the input's scan,
 * rd its reader. */
PROV_HIDDEN int sign_media(sctx *s, rdr *rd, asset *a, prov_stream *out);
/* The output of a remote manifest in those formats: the XMP packet (n
 * bytes) in the format's place for it (media_xmp.c), everything hashed
 * into hash. */
PROV_HIDDEN int sign_media_xmp(sctx *s, rdr *rd, asset *a, prov_stream *out, const uint8_t *packet, size_t n,
                               uint8_t hash[32]);
/* A sidecar (prov_sign_opts.sidecar): the input hashed whole, the store
 * alone written to out and left in *store (sign_sidecar.c). */
PROV_HIDDEN int sign_sidecar(sctx *s, rdr *rd, asset *a, prov_stream *out, pbuf *store);
/* The same for BMFF (bf: its bmff_file). */
PROV_HIDDEN int sign_sidecar_bmff(sctx *s, rdr *rd, const void *bf, prov_stream *out);
/* A media fragment: a C2PA 'merkle' box before its first moof naming its
 * place (location) in the init segment's tree; *leaf gets its hash. */
PROV_HIDDEN int sign_fragment(prov_ctx *ctx, rdr *rd, prov_stream *out, uint64_t location, uint8_t leaf[32]);
PROV_HIDDEN void md_update(void *md, const uint8_t *p, size_t n);
/* Parse o->definition into s (sign_def.c); nothing when there is none. */
PROV_HIDDEN int def_load(sctx *s);
PROV_HIDDEN void def_json_to_cbor(pbuf *b, const json_node *n);
/* prov_sign, with the leaves of fragments when signing an init segment. */
PROV_HIDDEN int sign_stream(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer,
                            const prov_chain *chain, prov_stream *in, prov_stream *out, const uint8_t (*leaves)[32],
                            size_t nleaves);

/* Tests only: see sign_build.c. */
PROV_HIDDEN extern int prov_test_legacy_ingredient;

#endif
