/* verify_one.h - verify one file (a path or bytes in memory) into the JSON
 * line `prov verify --json` prints, plus the facts a summary counts.  The one
 * place per-file verification happens: prov verify (single, -r,
 * --files-from) and prov serve all call it, so anything added to a file's
 * verdict (detector, mirror lookups, soft bindings) is added here once. */
#ifndef PROV_CLI_VERIFY_ONE_H
#define PROV_CLI_VERIFY_ONE_H

#include "prov.h"

#include <stddef.h>
#include <stdint.h>

/* Shared by every thread; read-only once set up. */
typedef struct vo_config {
    const prov_trust *trust;  /* NULL: nothing trusted */
    const char *registry;     /* registry folder, or NULL */
    struct detect_cfg *detect; /* the AI-image detector for unsigned and
                                  invalid files (cli/detect.h), or NULL */
    /* A service's bounds on the detector: pictures over detect_max_pixels
     * (0: the library's own bound) are not scored (the report says why),
     * and the decoded picture's memory is asked of mem_reserve first (NULL:
     * not counted); not scored when refused. */
    uint64_t detect_max_pixels;
    int (*mem_reserve)(void *user, size_t n); /* 0 granted */
    void (*mem_release)(void *user, size_t n);
    void *mem_user;
} vo_config;

/* Per-call options. */
typedef struct vo_input {
    const char *path;     /* read this file, or (path NULL) ... */
    const void *buf;      /* ... these len bytes */
    size_t len;
    const char *name;     /* the "file" field (default: path) */
    int keep_report;      /* 1: hand the report over in vo_result.report */
    int thumbnails;       /* 1: add "thumbnails" (data: URIs) to the JSON */
    prov_progress_fn progress; /* may be NULL */
    void *progress_user;
    /* A sidecar manifest store (.c2pa) to verify path against, or NULL.
     * With find_sidecar and none given, a path that carries no store is
     * verified against the sidecar beside it when there is one (its name
     * with the extension replaced by .c2pa, or .c2pa added), as c2pa-rs
     * looks for it. */
    const char *manifest_path;
    int find_sidecar;
    /* 1: a file that names a remote manifest (state remote) and has no
     * sidecar is verified against the store fetched from its URL (http or
     * https through libcurl; no redirects; 10 s to connect, 60 s in all,
     * 48 MiB at most).  Never set by prov serve. */
    int fetch_remote;
} vo_input;

typedef struct vo_result {
    int state;            /* PROV_STATE_* */
    int exit_code;        /* EXIT_OKAY, EXIT_INVALID or EXIT_ERROR */
    char *json;           /* one JSON object, no newline (malloc'd) */
    size_t json_len;
    prov_report *report;  /* with keep_report; else NULL */
    char signer[256];     /* registry name, else certificate subject, else "" */
    char verdict[64];     /* detector.verdict when the JSON has one, else "" */
    char errmsg[512];     /* why, for state error */
} vo_result;

/* 0, or EXIT_ERROR when out of memory (then out->json is NULL).  ctx is the
 * caller's (one per thread). */
int verify_one(prov_ctx *ctx, const vo_config *c, const vo_input *in, vo_result *out);
void vo_result_free(vo_result *r);

/* Is this the start of a file prov can verify (JPEG, PNG, BMFF)?  n bytes
 * (at least 12 needed to say yes). */
int vo_is_media(const unsigned char *p, size_t n);

/* The sidecar name of a media file: the extension replaced by .c2pa (none:
 * .c2pa added).  malloc'd. */
char *vo_sidecar_path(const char *media);

/* Copy the string value of the first "key":"..." at or after from (which
 * may be NULL: not found), unescaped naively: the JSON is ours.  1 found. */
int vo_json_field(const char *from, const char *key, char *out, size_t cap);

#endif
