/* sign_batch.h - signing many files after one key unlock (prov sign -d). */
#ifndef PROV_SIGN_BATCH_H
#define PROV_SIGN_BATCH_H
#include "cli.h"

typedef struct {
    const char **in;  /* n inputs */
    char **out;       /* n outputs (sign_batch_outputs) */
    size_t n;
    const char *dir;
    const prov_sign_opts *so; /* shared; title defaults to each output's name */
    const prov_signer *signer;
    const prov_chain *chain;
    unsigned jobs;    /* 0: the CPUs online */
    int verbose;      /* a "signed IN -> OUT" line per file */
} sign_batch;

/* DIR/<input's file name> for each input; refuses (message printed) a
 * missing folder, two inputs with one name, an output that is its input. */
int sign_batch_outputs(const char *dir, const char **in, size_t n, int sidecar, char ***out);
/* Sign all; one file's failure is reported and the others go on.  A summary
 * line on stderr.  0 when every file was signed, else EXIT_ERROR. */
int sign_batch_run(const sign_batch *b);
int cmp_strp(const void *a, const void *b);
#endif
