/* bulk.h - verify many files on many threads (prov verify -r / --files-from). */
#ifndef PROV_CLI_BULK_H
#define PROV_CLI_BULK_H

#include "verify_one.h"

#define BULK_MAX_JOBS 256

typedef struct bulk_opts {
    const vo_config *cfg;
    unsigned jobs;            /* 0: the CPUs online */
    int summary_json;         /* 1: the summary as a last {"summary":...} line on stdout */
    char **files;             /* named on the command line */
    size_t nfiles;
    char **dirs;              /* -r: walked recursively, non-media skipped */
    size_t ndirs;
    const char *files_from;   /* a list, one path a line; "-" is stdin */
} bulk_opts;

/* Exit code: 0 every file valid or trusted, 1 any invalid or unsigned, 2
 * any error (unreadable file, unreadable folder or list). */
int verify_bulk(const bulk_opts *o);

#endif
