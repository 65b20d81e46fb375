/* mkregistry.c - a bench-only generator: a registry folder of N register
 * entries written straight to tiles (mf_write_raw: no sequencer, no
 * journal), each entry a real one (signed by its key and the registrar, as
 * the state rules want), made on all CPUs.  Keys come from seeds
 * (mirror_fixture.h), so bench_lookup can find user i again.
 * usage: mkregistry DIR N */
#include "../unit/mirror_fixture.h"

#include <pthread.h>
#include <unistd.h>

static pbuf *ents;
static mf_log g;

typedef struct job { uint64_t from, to; int rc; } job;

static void *make(void *arg)
{
    job *j = arg;
    for (uint64_t i = j->from; i < j->to && !j->rc; i++) j->rc = mf_register_entry(&g, i, &ents[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: mkregistry DIR N\n"); return 2; }
    const char *dir = argv[1];
    uint64_t total = strtoull(argv[2], NULL, 10);
    /* the log key, registrar and policy as the tests make them */
    if (mf_open(&g, dir, 1, true)) { fprintf(stderr, "%s: cannot make\n", dir); return 1; }
    mf_close(&g);
    ents = calloc(total ? total : 1, sizeof *ents);
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = nc < 1 ? 1 : nc > 16 ? 16 : (size_t)nc;
    pthread_t th[16];
    job jobs[16];
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (job){total * t / nt, total * (t + 1) / nt, 0};
        pthread_create(&th[t], NULL, make, &jobs[t]);
    }
    for (size_t t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        if (jobs[t].rc) { fprintf(stderr, "entry build failed\n"); return 1; }
    }
    if (mf_write_raw(&g, ents, total)) { fprintf(stderr, "%s: cannot write\n", dir); return 1; }
    printf("%s: %llu entries\n", dir, (unsigned long long)total);
    return 0;
}
