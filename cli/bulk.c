/* bulk.c - prov verify -r DIR / --files-from LIST: many files on N threads,
 * one JSON line per file as each finishes, a summary at the end.
 *
 * One producer (this thread) walks the folders or reads the list into a
 * bounded queue; workers verify (verify_one) and print under one lock, so
 * lines never interleave.  Each worker has its own prov_ctx; the trust store
 * and the registry folder are only read. */
#include "bulk.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_CAP 256
#define MAX_TALLY 4096 /* distinct signers / verdicts counted by name; the rest as "(other)" */
#define MAX_DEPTH 256

typedef struct item {
    char *path;
    int walked; /* found by -r: skipped quietly when not media */
} item;

typedef struct tally {
    char **name;
    size_t *count;
    size_t n, cap, other;
} tally;

typedef struct bulk {
    const bulk_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    item q[QUEUE_CAP];
    size_t head, len;
    int done_producing;
    /* results, under mu */
    size_t states[6], skipped, files;
    tally signers, verdicts;
    int worst;
    progress pg;
    double start, last_shown;
} bulk;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tally_add(tally *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->name[i], name)) { t->count[i]++; return; }
    if (t->n == MAX_TALLY) { t->other++; return; }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **nn = realloc(t->name, cap * sizeof *nn);
        if (nn) t->name = nn;
        size_t *nc = realloc(t->count, cap * sizeof *nc);
        if (nc) t->count = nc;
        if (!nn || !nc) { t->other++; return; }
        t->cap = cap;
    }
    char *d = strdup(name);
    if (!d) { t->other++; return; }
    t->name[t->n] = d;
    t->count[t->n++] = 1;
}

static void tally_free(tally *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->name[i]);
    free(t->name);
    free(t->count);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void tally_json(FILE *f, const tally *t)
{
    fputc('{', f);
    for (size_t i = 0; i < t->n; i++) {
        if (i) fputc(',', f);
        json_str(f, t->name[i]);
        fprintf(f, ":%zu", t->count[i]);
    }
    if (t->other) fprintf(f, "%s\"(other)\":%zu", t->n ? "," : "", t->other);
    fputc('}', f);
}

static void tally_text(FILE *f, const char *label, const tally *t)
{
    if (!t->n && !t->other) return;
    fprintf(f, "  %s:", label);
    for (size_t i = 0; i < t->n; i++) fprintf(f, "%s %s %zu", i ? "," : "", t->name[i], t->count[i]);
    if (t->other) fprintf(f, ", (other) %zu", t->other);
    fputc('\n', f);
}

/* ---------------------------------------------------------------- queue */
static int push(bulk *b, char *path, int walked)
{
    pthread_mutex_lock(&b->mu);
    while (b->len == QUEUE_CAP) pthread_cond_wait(&b->not_full, &b->mu);
    b->q[(b->head + b->len) % QUEUE_CAP] = (item){path, walked};
    b->len++;
    pthread_cond_signal(&b->not_empty);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static int pop(bulk *b, item *it)
{
    pthread_mutex_lock(&b->mu);
    while (!b->len && !b->done_producing) pthread_cond_wait(&b->not_empty, &b->mu);
    int got = b->len > 0;
    if (got) {
        *it = b->q[b->head];
        b->head = (b->head + 1) % QUEUE_CAP;
        b->len--;
        pthread_cond_signal(&b->not_full);
    }
    pthread_mutex_unlock(&b->mu);
    return got;
}

/* ---------------------------------------------------------------- workers */
/* A quick look at the first bytes: -r skips what is not media unread. */
static int looks_like_media(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return 1; /* let verify report why it cannot be read */
    unsigned char m[12];
    ssize_t n = read(fd, m, sizeof m);
    close(fd);
    return n < 0 || vo_is_media(m, (size_t)n);
}

static void *worker(void *arg)
{
    bulk *b = arg;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return NULL;
    item it;
    while (pop(b, &it)) {
        if (it.walked && !looks_like_media(it.path)) {
            pthread_mutex_lock(&b->mu);
            b->skipped++;
            pthread_mutex_unlock(&b->mu);
            free(it.path);
            continue;
        }
        vo_input in = {.path = it.path, .find_sidecar = 1};
        vo_result r;
        int rc = verify_one(ctx, b->o->cfg, &in, &r);
        pthread_mutex_lock(&b->mu);
        b->files++;
        if (rc) {
            err("%s: out of memory", it.path);
            b->states[PROV_STATE_ERROR]++;
            b->worst = EXIT_ERROR;
        } else {
            fwrite(r.json, 1, r.json_len, stdout);
            fputc('\n', stdout);
            fflush(stdout);
            b->states[r.state]++;
            if (r.signer[0]) tally_add(&b->signers, r.signer);
            if (r.verdict[0]) tally_add(&b->verdicts, r.verdict);
            if (r.exit_code > b->worst) b->worst = r.exit_code;
        }
        double t = now();
        if (b->pg.tty && t - b->last_shown > 0.2) {
            b->last_shown = t;
            progress_count(&b->pg, b->files, b->skipped);
        }
        pthread_mutex_unlock(&b->mu);
        vo_result_free(&r);
        free(it.path);
    }
    prov_ctx_free(ctx);
    return NULL;
}

/* ---------------------------------------------------------------- producers */
typedef struct seen {
    dev_t *dev;
    ino_t *ino;
    size_t n, cap;
} seen;

/* Has this folder been walked already (a symlink loop or a second link)? */
static int seen_add(seen *s, const struct stat *st)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->dev[i] == st->st_dev && s->ino[i] == st->st_ino) return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        dev_t *d = realloc(s->dev, cap * sizeof *d);
        if (d) s->dev = d;
        ino_t *i = realloc(s->ino, cap * sizeof *i);
        if (i) s->ino = i;
        if (!d || !i) return 1;
        s->cap = cap;
    }
    s->dev[s->n] = st->st_dev;
    s->ino[s->n++] = st->st_ino;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk(bulk *b, seen *s, const char *dir, int depth, int *errors)
{
    struct stat st;
    if (stat(dir, &st)) { err("%s: %s", dir, strerror(errno)); (*errors)++; return; }
    if (seen_add(s, &st)) return;
    if (depth > MAX_DEPTH) { err("%s: folders nested too deep", dir); (*errors)++; return; }
    DIR *d = opendir(dir);
    if (!d) { err("%s: cannot open folder: %s", dir, strerror(errno)); (*errors)++; return; }
    /* names sorted, so a run over the same tree starts files in the same order */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        size_t l = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(l);
        if (!p) break;
        snprintf(p, l, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        names[n++] = p;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *p = names[i];
        if (stat(p, &st)) { /* a dangling link: nothing to verify */
            free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            walk(b, s, p, depth + 1, errors);
            free(p);
        } else if (S_ISREG(st.st_mode)) {
            push(b, p, 1);
        } else {
            free(p); /* fifos, sockets, devices: never opened */
        }
    }
    free(names);
}

static int read_list(bulk *b, const char *list)
{
    FILE *f = strcmp(list, "-") ? fopen(list, "r") : stdin;
    if (!f) return err("%s: cannot open: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        char *p = strdup(line);
        if (p) push(b, p, 0);
    }
    int bad = ferror(f);
    free(line);
    if (f != stdin) fclose(f);
    return bad ? err("%s: read error", list) : 0;
}

/* ---------------------------------------------------------------- summary */
static void summary(bulk *b, double secs, unsigned jobs)
{
    static const char *const names[6] = {"error", "unsigned", "invalid", "valid", "trusted", "remote"};
    static const int order[6] = {4, 3, 2, 1, 0, 5}; /* remote last: it came after the others */
    if (b->o->summary_json) {
        printf("{\"summary\":{\"files\":%zu,\"skipped\":%zu,\"seconds\":%.3f,\"jobs\":%u,\"states\":{", b->files,
               b->skipped, secs, jobs);
        for (int k = 0; k < 6; k++) printf("\"%s\":%zu%s", names[order[k]], b->states[order[k]], k < 5 ? "," : "");
        fputs("},\"signers\":", stdout);
        tally_json(stdout, &b->signers);
        fputs(",\"detector\":", stdout);
        tally_json(stdout, &b->verdicts);
        fputs("}}\n", stdout);
        fflush(stdout);
        return;
    }
    fprintf(stderr, "prov: %zu files in %.2f s (%.1f/s, %u jobs):", b->files, secs,
            secs > 0 ? (double)b->files / secs : 0.0, jobs);
    for (int k = 0; k < 6; k++)
        if (order[k] != PROV_STATE_REMOTE || b->states[order[k]])
            fprintf(stderr, "%s %zu %s", k ? "," : "", b->states[order[k]], names[order[k]]);
    if (b->skipped) fprintf(stderr, "; %zu skipped (not media)", b->skipped);
    fputc('\n', stderr);
    tally_text(stderr, "by signer", &b->signers);
    tally_text(stderr, "by detector verdict", &b->verdicts);
}

int verify_bulk(const bulk_opts *o)
{
    bulk *b = calloc(1, sizeof *b);
    if (!b) return err("out of memory");
    b->o = o;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->not_empty, NULL);
    pthread_cond_init(&b->not_full, NULL);
    unsigned jobs = o->jobs;
    if (!jobs) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (unsigned)n : 1;
    }
    if (jobs > BULK_MAX_JOBS) jobs = BULK_MAX_JOBS;
    progress_start(&b->pg, "verify");
    b->start = now();
    pthread_t th[BULK_MAX_JOBS];
    unsigned started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker, b)) break;
    int errors = 0;
    if (!started) {
        errors++;
        err("cannot start threads");
    } else {
        for (size_t i = 0; i < o->nfiles; i++) {
            char *p = strdup(o->files[i]);
            if (p) push(b, p, 0);
        }
        seen s = {0};
        for (size_t i = 0; i < o->ndirs; i++) walk(b, &s, o->dirs[i], 0, &errors);
        free(s.dev);
        free(s.ino);
        if (o->files_from && read_list(b, o->files_from)) errors++;
    }
    pthread_mutex_lock(&b->mu);
    b->done_producing = 1;
    pthread_cond_broadcast(&b->not_empty);
    pthread_mutex_unlock(&b->mu);
    for (unsigned i = 0; i < started; i++) pthread_join(th[i], NULL);
    progress_end(&b->pg);
    summary(b, now() - b->start, started);
    int worst = errors ? EXIT_ERROR : b->worst;
    tally_free(&b->signers);
    tally_free(&b->verdicts);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->not_empty);
    pthread_cond_destroy(&b->not_full);
    free(b);
    return worst;
}
