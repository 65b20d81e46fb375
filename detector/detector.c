/* detector.c - prov_detector_*: open a weights file, cut images into
 * crops, score the crops on worker threads, average the logits.
 *
 * Threads: a call's crops are spread over the detector's worker threads
 * (the calling thread is one of them).  While at least as many crops are
 * left as there are threads, each thread runs whole crops on its own
 * (no synchronisation at all); the last few crops (fewer than the threads)
 * are run by all threads together, each taking a band of rows of every
 * layer (npr_forward with a team). */
#include "detector.h"
#include "image.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPR_MAX_THREADS 64
#define NPR_MAX_CROPS_LIMIT 1024u

struct prov_detector {
    npr_net net;
    const char *backend; /* which matrix product (blas.c) */
    unsigned threads;   /* 0: default */
    unsigned max_crops; /* 0: default */
    const npr_backend *be; /* npr_cpu_backend or the CUDA one */
    void *be_state;
};

static unsigned default_threads(void)
{
    long n = 0;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (!sched_getaffinity(0, sizeof set, &set)) n = CPU_COUNT(&set);
#endif
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > NPR_MAX_THREADS) n = NPR_MAX_THREADS;
    return (unsigned)n;
}

int prov_detector_open_mem(prov_ctx *ctx, const void *buf, size_t len, prov_detector **out)
{
    if (out) *out = NULL;
    if (!buf || !out) return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    prov_detector *d = calloc(1, sizeof *d);
    if (!d) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    int rc = npr_load(ctx, buf, len, &d->net);
    if (rc) {
        free(d);
        return rc;
    }
    d->net.gemm = npr_gemm(&d->backend);
    d->be = &npr_cpu_backend;
    d->be_state = &d->net;
    *out = d;
    return 0;
}

int prov_detector_open(prov_ctx *ctx, const char *path, prov_detector **out)
{
    if (out) *out = NULL;
    if (!path || !out) return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    FILE *f = fopen(path, "rb");
    if (!f) return prov_seterr(ctx, PROV_EIO, "detector: cannot open %s: %s", path, strerror(errno));
    /* read at most one byte past the bound, so size needs no stat */
    size_t cap = 1 << 20, n = 0;
    uint8_t *p = malloc(cap);
    int rc = 0;
    while (p) {
        if (n == cap) {
            if (cap > NPR_MAX_FILE) break;
            size_t nc = cap * 2 > (size_t)NPR_MAX_FILE + 1 ? (size_t)NPR_MAX_FILE + 1 : cap * 2;
            uint8_t *q = realloc(p, nc);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap = nc;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (!p)
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    else if (ferror(f))
        rc = prov_seterr(ctx, PROV_EIO, "detector: cannot read %s", path);
    else if (n > NPR_MAX_FILE)
        rc = prov_seterr(ctx, PROV_ELIMIT, "detector: %s is over %u bytes", path, NPR_MAX_FILE);
    fclose(f);
    if (!rc) rc = prov_detector_open_mem(ctx, p, n, out);
    free(p);
    return rc;
}

void prov_detector_free(prov_detector *d)
{
    if (!d) return;
    if (d->be && d->be->close) d->be->close(d->be_state);
    npr_free(&d->net);
    free(d);
}

int prov_detector_set_threads(prov_detector *d, unsigned threads)
{
    if (!d || threads > NPR_MAX_THREADS) return PROV_EINVAL;
    d->threads = threads;
    return 0;
}

int prov_detector_set_max_crops(prov_detector *d, unsigned max_crops)
{
    if (!d || max_crops > NPR_MAX_CROPS_LIMIT) return PROV_EINVAL;
    d->max_crops = max_crops;
    return 0;
}

const char *prov_detector_meta(const prov_detector *d) { return d ? d->net.meta : NULL; }

float prov_detector_temperature(const prov_detector *d) { return d ? d->net.temperature : 0.0f; }

const char *prov_detector_backend(const prov_detector *d)
{
    if (!d) return NULL;
    if (d->be != &npr_cpu_backend && d->be->describe) return d->be->describe(d->be_state);
    return d->backend;
}

const char *prov_detector_device(const prov_detector *d) { return d ? d->be->name : NULL; }

int prov_detector_set_device(prov_ctx *ctx, prov_detector *d, int device)
{
    if (!d || device < PROV_DEVICE_CPU || device > PROV_DEVICE_AUTO)
        return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    if (device == PROV_DEVICE_CPU || (device == PROV_DEVICE_AUTO && d->be != &npr_cpu_backend)) {
        if (device == PROV_DEVICE_CPU && d->be != &npr_cpu_backend) {
            d->be->close(d->be_state);
            d->be = &npr_cpu_backend;
            d->be_state = &d->net;
        }
        return 0;
    }
    if (d->be != &npr_cpu_backend) return 0; /* already on CUDA */
    char why[512] = "";
    const npr_backend *be = npr_cuda_backend(why, sizeof why);
    void *st = NULL;
    int rc = be ? be->open(&d->net, &st, why, sizeof why) : PROV_EUNSUPPORTED;
    if (rc) {
        if (device == PROV_DEVICE_AUTO) return 0; /* the CPU path stays */
        return prov_seterr(ctx, rc < 0 ? rc : PROV_EUNSUPPORTED, "detector: CUDA: %s", why);
    }
    d->be = be;
    d->be_state = st;
    return 0;
}

void npr_detector_use_builtin_gemm(prov_detector *d)
{
    d->net.gemm = npr_gemm_builtin;
    d->backend = "built-in C (forced)";
}

/* ------------------------------------------------------------------ */
/* Crops                                                               */

/* count origins for crops of size c along an axis of n pixels, evenly
 * spread from 0 to n - c, rounded down to even, duplicates dropped; a
 * single crop is centred. */
static unsigned axis_origins(uint32_t n, uint32_t c, unsigned count, uint32_t *o)
{
    if (n <= c || count <= 1) {
        o[0] = n <= c ? 0 : ((n - c) / 2) & ~1u; /* one crop is centred */
        return 1;
    }
    uint64_t span = n - c;
    unsigned k = 0;
    for (unsigned i = 0; i < count; i++) {
        uint32_t v = (uint32_t)(span * i / (count - 1)) & ~1u;
        if (!k || o[k - 1] != v) o[k++] = v;
    }
    return k;
}

int npr_crop_plan(uint32_t w, uint32_t h, unsigned max_crops, uint32_t *cw, uint32_t *ch,
                  uint32_t *xs, uint32_t *ys, unsigned *count)
{
    uint32_t ew = w & ~1u, eh = h & ~1u;
    *count = 0;
    if (ew < PROV_DETECTOR_MIN_SIDE || eh < PROV_DETECTOR_MIN_SIDE) return PROV_EUNSUPPORTED;
    if (max_crops < 1) max_crops = 1;
    *cw = ew < NPR_CROP ? ew : NPR_CROP;
    *ch = eh < NPR_CROP ? eh : NPR_CROP;
    unsigned nx = w / NPR_CROP + (w % NPR_CROP != 0), ny = h / NPR_CROP + (h % NPR_CROP != 0);
    if (nx > max_crops) nx = max_crops; /* the loop below would get there too */
    if (ny > max_crops) ny = max_crops;
    while ((uint64_t)nx * ny > max_crops) {
        if (nx >= ny)
            nx--;
        else
            ny--;
    }
    uint32_t ox[NPR_MAX_CROPS_LIMIT], oy[NPR_MAX_CROPS_LIMIT];
    nx = axis_origins(w, *cw, nx, ox);
    ny = axis_origins(h, *ch, ny, oy);
    unsigned k = 0;
    for (unsigned j = 0; j < ny; j++)
        for (unsigned i = 0; i < nx; i++, k++) {
            xs[k] = ox[i];
            ys[k] = oy[j];
        }
    *count = k;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */

typedef struct job {
    const npr_net *net;
    const npr_crop *crops;
    size_t ncrops, split; /* [0, split): one thread a crop; [split, n): the team */
    float *logits;
    int nthreads;
    pthread_barrier_t bar;
    atomic_size_t next;
    float *solo_ws[NPR_MAX_THREADS];
    float *team_ws;
    /* start gate: workers wait until the team size is final */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go; /* 1: run, -1: give up */
} job;

typedef struct worker {
    job *j;
    int tid;
} worker;

static void run(job *j, int tid)
{
    npr_team solo = {1, NULL}, team = {j->nthreads, &j->bar};
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->split) break;
        const npr_crop *c = &j->crops[i];
        j->logits[i] = npr_forward(j->net, c->p, c->cw, c->ch, c->stride, j->solo_ws[tid], &solo, 0);
    }
    for (size_t i = j->split; i < j->ncrops; i++) {
        const npr_crop *c = &j->crops[i];
        float v = npr_forward(j->net, c->p, c->cw, c->ch, c->stride, j->team_ws, &team, tid);
        if (!tid) j->logits[i] = v;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    job *j = w->j;
    pthread_mutex_lock(&j->mu);
    while (!j->go) pthread_cond_wait(&j->cv, &j->mu);
    int go = j->go > 0 && w->tid < j->nthreads;
    pthread_mutex_unlock(&j->mu);
    if (go) run(j, w->tid);
    return NULL;
}

static float *ws_alloc(size_t floats)
{
    return aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);
}

/* Score ncrops crops into logits[] with up to nthreads threads. */
static int score_crops(prov_ctx *ctx, const npr_net *net, const npr_crop *crops, size_t ncrops,
                       unsigned nthreads, float *logits)
{
    if (!ncrops) return 0;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > NPR_MAX_THREADS) nthreads = NPR_MAX_THREADS;
    if (nthreads > ncrops * 4) /* a team of more than 4 a crop gets bands too thin to pay */
        nthreads = (unsigned)(ncrops * 4);
    job *j = calloc(1, sizeof *j);
    worker *ws = calloc(nthreads, sizeof *ws);
    pthread_t *th = calloc(nthreads, sizeof *th);
    int rc = 0;
    if (!j || !ws || !th) {
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        goto out;
    }
    j->net = net;
    j->crops = crops;
    j->ncrops = ncrops;
    j->logits = logits;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    atomic_init(&j->next, 0);

    /* start the workers (the caller is thread 0); a failed create just
     * makes the team smaller */
    int started = 1;
    for (unsigned t = 1; t < nthreads; t++) {
        ws[t].j = j;
        ws[t].tid = (int)t;
        if (pthread_create(&th[t], NULL, worker_main, &ws[t])) break;
        started++;
    }
    int nt = started;
    j->nthreads = nt;
    j->split = nt > 1 ? ncrops - ncrops % (size_t)nt : ncrops;
    size_t mx = 0, my = 0;
    for (size_t i = 0; i < ncrops; i++) {
        if (crops[i].cw > mx) mx = crops[i].cw;
        if (crops[i].ch > my) my = crops[i].ch;
    }
    if (j->split) {
        size_t f = npr_workspace_floats((uint32_t)mx, (uint32_t)my, 1);
        for (int t = 0; t < nt && !rc; t++)
            if (!(j->solo_ws[t] = ws_alloc(f))) rc = PROV_ENOMEM;
    }
    if (!rc && j->split < ncrops) {
        if (!(j->team_ws = ws_alloc(npr_workspace_floats((uint32_t)mx, (uint32_t)my, nt))))
            rc = PROV_ENOMEM;
    }
    if (!rc && nt > 1 && pthread_barrier_init(&j->bar, NULL, (unsigned)nt)) rc = PROV_ENOMEM;
    pthread_mutex_lock(&j->mu);
    j->go = rc ? -1 : 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (!rc) run(j, 0);
    for (int t = 1; t < nt; t++) pthread_join(th[t], NULL);
    if (!rc && nt > 1) pthread_barrier_destroy(&j->bar);
    if (rc) rc = prov_seterr(ctx, rc, "detector: out of memory for the scratch buffers");
    for (int t = 0; t < nt; t++) free(j->solo_ws[t]);
    free(j->team_ws);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
out:
    free(j);
    free(ws);
    free(th);
    return rc;
}

static int cpu_open(const npr_net *net, void **state, char *err, size_t errlen)
{
    *state = (void *)net;
    return 0;
}

static int cpu_score(void *state, const npr_crop *crops, size_t n, unsigned threads, float *logits,
                     char *err, size_t errlen)
{
    int rc = score_crops(NULL, state, crops, n, threads, logits);
    if (rc) snprintf(err, errlen, "out of memory for the scratch buffers");
    return rc;
}

static void cpu_close(void *state) {}

const npr_backend npr_cpu_backend = {NPR_BACKEND_ABI, "cpu", cpu_open, cpu_score, NULL, cpu_close};

/* ------------------------------------------------------------------ */
/* Scoring                                                             */

static int check_image(prov_ctx *ctx, const prov_detector_image *im, size_t i)
{
    if (!im->rgb || !im->width || !im->height || im->stride / 3 < im->width)
        return prov_seterr(ctx, PROV_EINVAL, "detector: image %zu: bad pixels, size or stride", i);
    if ((im->width & ~1u) < PROV_DETECTOR_MIN_SIDE || (im->height & ~1u) < PROV_DETECTOR_MIN_SIDE)
        return prov_seterr(ctx, PROV_EUNSUPPORTED,
                           "detector: image %zu is %ux%u, under the %ux%u that can be scored", i,
                           (unsigned)im->width, (unsigned)im->height, PROV_DETECTOR_MIN_SIDE,
                           PROV_DETECTOR_MIN_SIDE);
    return 0;
}

int prov_detector_score_batch(prov_ctx *ctx, const prov_detector *d,
                              const prov_detector_image *imgs, size_t n,
                              prov_detector_result *out)
{
    if (!d || (!imgs && n) || (!out && n))
        return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    if (!n) return 0;
    memset(out, 0, n * sizeof *out);
    unsigned maxc = d->max_crops ? d->max_crops : PROV_DETECTOR_MAX_CROPS;
    if (n > SIZE_MAX / sizeof(npr_crop) / maxc)
        return prov_seterr(ctx, PROV_ELIMIT, "detector: too many images");
    for (size_t i = 0; i < n; i++) {
        int rc = check_image(ctx, &imgs[i], i);
        if (rc) return rc;
    }
    npr_crop *crops = malloc(n * maxc * sizeof *crops);
    float *logits = malloc(n * maxc * sizeof *logits);
    uint32_t *xs = malloc(2 * (size_t)maxc * sizeof *xs);
    int rc = 0;
    if (!crops || !logits || !xs) {
        rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        goto out;
    }
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        const prov_detector_image *im = &imgs[i];
        uint32_t cw, ch, *ys = xs + maxc;
        unsigned k;
        npr_crop_plan(im->width, im->height, maxc, &cw, &ch, xs, ys, &k);
        out[i].crops = k;
        for (unsigned c = 0; c < k; c++, nc++) {
            crops[nc].p = im->rgb + (size_t)ys[c] * im->stride + 3 * (size_t)xs[c];
            crops[nc].cw = cw;
            crops[nc].ch = ch;
            crops[nc].stride = im->stride;
        }
    }
    char why[512] = "";
    rc = d->be->score(d->be_state, crops, nc, d->threads ? d->threads : default_threads(), logits,
                      why, sizeof why);
    if (rc) rc = prov_seterr(ctx, rc, "detector (%s): %s", d->be->name, why);
    if (!rc) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (uint32_t k = 0; k < out[i].crops; k++) s += logits[c++];
            double logit = s / out[i].crops;
            out[i].logit = (float)logit;
            out[i].probability = (float)(1.0 / (1.0 + exp(-logit / d->net.temperature)));
        }
    } else {
        memset(out, 0, n * sizeof *out);
    }
out:
    free(crops);
    free(logits);
    free(xs);
    return rc;
}

int prov_detector_score_rgb(prov_ctx *ctx, const prov_detector *d, const uint8_t *rgb,
                            uint32_t width, uint32_t height, size_t stride,
                            prov_detector_result *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out) return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    prov_detector_image im = {rgb, width, height, stride};
    return prov_detector_score_batch(ctx, d, &im, 1, out);
}

int prov_detector_score_stream(prov_ctx *ctx, const prov_detector *d, prov_stream *in,
                               prov_detector_result *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!d || !in || !out) return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    prov_img img;
    int rc = img_decode_stream(ctx, in, 0, &img); /* full size: never resized */
    if (rc) return rc;
    rc = prov_detector_score_rgb(ctx, d, img.rgb, img.w, img.h, (size_t)img.w * 3, out);
    img_free(&img);
    return rc;
}

int prov_detector_score_file(prov_ctx *ctx, const prov_detector *d, const char *path,
                             prov_detector_result *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!d || !path || !out) return prov_seterr(ctx, PROV_EINVAL, "detector: bad argument");
    FILE *f = fopen(path, "rb");
    if (!f) return prov_seterr(ctx, PROV_EIO, "detector: cannot open %s: %s", path, strerror(errno));
    prov_stream s;
    prov_stream_file(&s, f);
    int rc = prov_detector_score_stream(ctx, d, &s, out);
    fclose(f);
    return rc;
}
