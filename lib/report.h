/* report.h - the verification report built by verify.c. */
#ifndef PROV_REPORT_H
#define PROV_REPORT_H

#include "internal.h"

typedef struct rcode {
    const char *code; /* a static string */
    int kind;         /* PROV_CODE_* */
    int ingredient;   /* 1: from an ingredient's manifest */
    char manifest[128]; /* the manifest it is about ("" the file) */
    char why[192];      /* a short explanation, or "" */
} rcode;

struct prov_report {
    int state;
    char error[512];
    rcode *codes;
    size_t ncodes, cap;
    int oom;
    const char *format;
    char manifest[256];
    char remote[2048]; /* remote manifest URL (state remote) */
    char title[256];
    char generator[256];
    char signer_cn[256], signer_org[256], issuer[256];
    const char *alg;
    int claim_version;
    size_t manifests;
    pbuf actions;     /* JSON array */
    pbuf ingredients; /* JSON array */
    pbuf identity;    /* JSON object, or empty */
    /* soft-binding lookup of an unsigned file (verify_soft.c) */
    int looked_up;
    pbuf derived;     /* JSON objects, comma-separated */
    char lookup_error[256];
};

PROV_HIDDEN prov_report *report_new(void);
PROV_HIDDEN void report_add(prov_report *r, int kind, const char *code, int ingredient);
/* The same, saying which manifest (may be NULL) and why (may be NULL). */
PROV_HIDDEN void report_addw(prov_report *r, int kind, const char *code, int ingredient, const char *manifest,
                             const char *why);
PROV_HIDDEN int report_count_failures(const prov_report *r, int ignore_trust);
/* Set state from the codes (never called for unsigned or error). */
PROV_HIDDEN void report_settle(prov_report *r);

struct asset;
/* Verify in into r.  With keep, the file's head and store are handed over
 * (asset_free them) when the call succeeds.  With fragment, in is an init
 * segment and the fragment is checked against its Merkle tree. */
PROV_HIDDEN int verify_stream(prov_ctx *ctx, const prov_verify_opts *opts, prov_stream *in, prov_report *r,
                              struct asset *keep, prov_stream *fragment);

/* A manifest store on its own (from a manifest repository): its active
 * manifest's signature, assertions, ingredients and, with opts->registry,
 * its signer's identity, into r.  The hard binding is not checked (there
 * is no asset); the state says whether the manifest itself holds. */
PROV_HIDDEN int verify_store(prov_ctx *ctx, const prov_verify_opts *opts, const uint8_t *p, size_t n,
                             prov_report *r);
/* An unsigned JPEG or PNG: fingerprint it (in is read again from 0) and
 * list the repository's candidates in r->derived. */
PROV_HIDDEN void soft_lookup(prov_ctx *ctx, const prov_verify_opts *opts, prov_stream *in, prov_report *r);
/* The same for sound, by opts->audio_fingerprint. */
PROV_HIDDEN void soft_lookup_audio(prov_ctx *ctx, const prov_verify_opts *opts, prov_report *r);

#endif
