/* sign_batch.c - prov sign FILE... -d OUTDIR: many files, one key unlock.
 *
 * The key is unlocked once by the caller; workers (one per core by
 * default) each hold their own prov_ctx and share the key, the chain and
 * the options, which signing only reads.  Each output is written by
 * prov_sign_file (temporary file, renamed into place), so a file that fails
 * leaves nothing behind, and the others go on. */
#include "sign_batch.h"
#include "audio.h"
#include "verify_one.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const sign_batch *b;
    atomic_size_t next, done, failed;
    pthread_mutex_t mu; /* stderr lines and the progress line */
    progress pg;
} run;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void *worker(void *arg)
{
    run *r = arg;
    const sign_batch *b = r->b;
    prov_ctx *ctx = NULL;
    if (prov_ctx_new(&ctx)) ctx = NULL;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= b->n) break;
        prov_sign_opts so = *b->so;
        so.progress = NULL; /* one line for the batch, not a bar per file */
        if (!so.title && !so.definition) so.title = base_name(so.sidecar ? b->in[i] : b->out[i]);
        uint32_t *afp = NULL; /* the sound's fingerprint, for audio files */
        int arc = audio_for_sign(b->in[i], &so, &afp); /* prints its error */
        int rc = arc ? PROV_EUNSUPPORTED
                 : ctx ? prov_sign_file(ctx, &so, b->signer, b->chain, b->in[i], b->out[i]) : PROV_ENOMEM;
        if (!arc && rc == PROV_ELIMIT && so.timestamp) { /* a large token: once more with room for it */
            so.timestamp_reserve = 65536;
            rc = prov_sign_file(ctx, &so, b->signer, b->chain, b->in[i], b->out[i]);
        }
        free(afp);
        pthread_mutex_lock(&r->mu);
        if (arc) {
            atomic_fetch_add(&r->failed, 1);
        } else if (rc) {
            atomic_fetch_add(&r->failed, 1);
            if (r->pg.shown) fputc('\n', stderr), r->pg.shown = 0;
            err("%s: %s", b->in[i], ctx && *prov_errmsg(ctx) ? prov_errmsg(ctx) : prov_strerror(rc));
        } else if (b->verbose) {
            printf("signed %s -> %s\n", b->in[i], b->out[i]);
        }
        size_t d = atomic_fetch_add(&r->done, 1) + 1;
        progress_files(&r->pg, d, b->n);
        pthread_mutex_unlock(&r->mu);
    }
    prov_ctx_free(ctx);
    return NULL;
}

int cmp_strp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int sign_batch_outputs(const char *dir, const char **in, size_t n, int sidecar, char ***out)
{
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return err("-d %s: not a folder", dir);
    char **o = calloc(n ? n : 1, sizeof *o);
    if (!o) return err("out of memory");
    for (size_t i = 0; i < n; i++) {
        char *side = sidecar ? vo_sidecar_path(base_name(in[i])) : NULL; /* NAME.c2pa */
        const char *name = sidecar ? side : base_name(in[i]);
        size_t len = name ? strlen(dir) + strlen(name) + 2 : 0;
        if (!name || !*base_name(in[i]) || !(o[i] = malloc(len))) { free(side); goto fail_name; }
        snprintf(o[i], len, "%s/%s", dir, name);
        free(side);
        struct stat si, so_;
        if (stat(in[i], &si) == 0 && stat(o[i], &so_) == 0 && si.st_dev == so_.st_dev && si.st_ino == so_.st_ino) {
            err("%s: its output would be the file itself; choose another -d", in[i]);
            goto fail;
        }
    }
    /* two inputs with one name would write one output twice: refuse before
     * signing anything (n log n: sort a copy of the names) */
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names) goto fail_name;
    for (size_t i = 0; i < n; i++) names[i] = o[i];
    qsort(names, n, sizeof *names, cmp_strp);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i])) {
            err("%s: two inputs have this name; sign them into different folders", names[i]);
            free(names);
            goto fail;
        }
    free(names);
    *out = o;
    return 0;
fail_name:
    err("out of memory or an input without a file name");
fail:
    for (size_t i = 0; i < n; i++) free(o[i]);
    free(o);
    return EXIT_ERROR;
}

int sign_batch_run(const sign_batch *b)
{
    run r = {.b = b};
    atomic_init(&r.next, 0);
    atomic_init(&r.done, 0);
    atomic_init(&r.failed, 0);
    pthread_mutex_init(&r.mu, NULL);
    unsigned jobs = b->jobs;
    if (!jobs) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = c > 0 ? (unsigned)c : 1;
    }
    if (jobs > 256) jobs = 256;
    if (jobs > b->n) jobs = b->n ? (unsigned)b->n : 1;
    progress_start(&r.pg, "signing");
    double t0 = now();
    pthread_t th[256];
    unsigned started = 0;
    for (unsigned i = 0; i < jobs; i++)
        if (pthread_create(&th[i], NULL, worker, &r) == 0) started++;
    if (!started) worker(&r);
    for (unsigned i = 0; i < started; i++) pthread_join(th[i], NULL);
    double secs = now() - t0;
    progress_end(&r.pg);
    pthread_mutex_destroy(&r.mu);
    size_t failed = atomic_load(&r.failed), ok = b->n - failed;
    fprintf(stderr, "prov: signed %zu of %zu file%s into %s in %.2f s (%.1f/s, %u job%s)", ok, b->n,
            b->n == 1 ? "" : "s", b->dir, secs, secs > 0 ? b->n / secs : 0.0, started ? started : 1,
            started == 1 ? "" : "s");
    if (failed) fprintf(stderr, "; %zu failed (listed above; no output written for them)", failed);
    fputc('\n', stderr);
    return failed ? EXIT_ERROR : 0;
}
