/* detect.c - the detector for the prov command: which model, scoring an
 * image or a video, and the result as JSON or text (prov scan and prov
 * verify's "detector" object).
 *
 * Model, first found: --model, $PROV_MODEL, then beside the program:
 * <dir>/../detector/model/npr.provnpr (the build tree) and
 * <dir>/../share/prov/npr.provnpr (an install), then
 * PROV_DATADIR/npr.provnpr (make install puts it there).  A model named by
 * --model or PROV_MODEL that cannot be opened is an error, not a reason to
 * look further.
 *
 * Video: frames sampled evenly (frames.c), each scored like an image; the
 * video's logit is the mean of the top quarter of the frame logits (at
 * least one frame).  Why: an AI-altered video is often altered in a part
 * of it (an inserted shot, a face swapped in some scenes); the mean of all
 * frames would dilute that part, the single highest frame would ride on
 * one noisy frame.  Those top frames are reported as the ones that drove
 * the score. */
#include "cli.h"
#include "detect.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PROV_DATADIR
#define PROV_DATADIR "/usr/local/share/prov"
#endif
#define MODEL_FILE "npr.provnpr"

void detect_init(detect_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->device = PROV_DEVICE_AUTO;
    c->frames = DETECT_DEFAULT_FRAMES;
    c->threshold = 0.5;
}

void detect_free(detect_cfg *c)
{
    prov_detector_free(c->det);
    prov_ctx_free(c->ctx);
    c->det = NULL;
    c->ctx = NULL;
}

int detect_parse_device(detect_cfg *c, const char *v)
{
    if (!strcmp(v, "cpu")) c->device = PROV_DEVICE_CPU;
    else if (!strcmp(v, "cuda")) c->device = PROV_DEVICE_CUDA;
    else if (!strcmp(v, "auto")) c->device = PROV_DEVICE_AUTO;
    else return err("--device: '%s' is not cpu, cuda or auto", v);
    return 0;
}

static int exe_dir(char *dir, size_t cap)
{
    char p[4096];
    ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
    if (n <= 0) return -1;
    p[n] = 0;
    char *s = strrchr(p, '/');
    if (!s) return -1;
    *s = 0;
    snprintf(dir, cap, "%s", p);
    return 0;
}

/* The model file to use; 0, or -1 with c->err set. */
static int find_model(detect_cfg *c)
{
    const char *named = c->model ? c->model : getenv("PROV_MODEL");
    if (named && *named) {
        snprintf(c->path, sizeof c->path, "%s", named);
        return 0;
    }
    char dir[4096], cand[3][4200];
    int k = 0;
    if (!exe_dir(dir, sizeof dir)) {
        snprintf(cand[k++], sizeof cand[0], "%s/../detector/model/" MODEL_FILE, dir);
        snprintf(cand[k++], sizeof cand[0], "%s/../share/prov/" MODEL_FILE, dir);
    }
    snprintf(cand[k++], sizeof cand[0], PROV_DATADIR "/" MODEL_FILE);
    for (int i = 0; i < k; i++)
        if (!access(cand[i], R_OK)) {
            char *r = realpath(cand[i], NULL);
            snprintf(c->path, sizeof c->path, "%.4000s", r ? r : cand[i]);
            free(r);
            return 0;
        }
    int o = snprintf(c->err, sizeof c->err,
                     "no detector model: give --model FILE or set PROV_MODEL (looked for");
    for (int i = 0; i < k && o > 0 && (size_t)o < sizeof c->err; i++)
        o += snprintf(c->err + o, sizeof c->err - (size_t)o, "%s %.200s", i ? "," : "", cand[i]);
    if (o > 0 && (size_t)o + 2 < sizeof c->err) strcat(c->err, ")");
    return -1;
}

static void detect_operating_point(detect_cfg *c);

int detect_open(detect_cfg *c)
{
    if (c->tried) return c->det ? 0 : -1;
    c->tried = 1;
    if (prov_ctx_new(&c->ctx)) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return -1;
    }
    if (find_model(c)) return -1;
    if (prov_detector_open(c->ctx, c->path, &c->det)) {
        snprintf(c->err, sizeof c->err, "model %.300s: %.250s", c->path, prov_errmsg(c->ctx));
        return -1;
    }
    prov_detector_set_threads(c->det, c->threads);
    if (prov_detector_set_device(c->ctx, c->det, c->device)) {
        snprintf(c->err, sizeof c->err, "%s", prov_errmsg(c->ctx));
        prov_detector_free(c->det);
        c->det = NULL;
        return -1;
    }
    detect_operating_point(c);
    return 0;
}

/* ---- scoring ------------------------------------------------------------- */

typedef struct vstate {
    detect_cfg *c;
    prov_ctx *ctx; /* this call's: several files may be scored at once */
    detect_result *r;
    detect_frame all[DETECT_MAX_FRAMES];
    uint32_t n;
} vstate;

static int on_frame(void *user, const uint8_t *rgb, uint32_t w, uint32_t h, size_t stride,
                    uint32_t index, double time_s)
{
    vstate *v = user;
    prov_detector_result one;
    if (v->n >= DETECT_MAX_FRAMES) return 0;
    if (prov_detector_score_rgb(v->ctx, v->c->det, rgb, w, h, stride, &one)) {
        snprintf(v->r->err, sizeof v->r->err, "frame %u: %s", index, prov_errmsg(v->ctx));
        return -1;
    }
    v->all[v->n++] = (detect_frame){index, time_s, one.logit};
    v->r->crops += one.crops;
    return 0;
}

static int by_logit_desc(const void *a, const void *b)
{
    float x = ((const detect_frame *)a)->logit, y = ((const detect_frame *)b)->logit;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int sniff_image(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    if (n >= 3 && m[0] == 0xff && m[1] == 0xd8 && m[2] == 0xff) return 1;
    if (n >= 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8)) return 1;
    return 0;
}

int detect_file(detect_cfg *c, const char *path, detect_result *r)
{
    memset(r, 0, sizeof *r);
    if (detect_open(c)) {
        snprintf(r->err, sizeof r->err, "%s", c->err);
        return -1;
    }
    int img = sniff_image(path, r->err, sizeof r->err);
    if (img < 0) return -1;
    if (img) {
        prov_detector_result one;
        prov_ctx *ctx = NULL;
        if (prov_ctx_new(&ctx)) {
            snprintf(r->err, sizeof r->err, "out of memory");
            return -1;
        }
        int rc = prov_detector_score_file(ctx, c->det, path, &one);
        if (rc) snprintf(r->err, sizeof r->err, "%s", prov_errmsg(ctx));
        prov_ctx_free(ctx);
        if (rc) return -1;
        r->probability = one.probability;
        r->logit = one.logit;
        r->crops = one.crops;
        return 0;
    }
    vstate *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    v->c = c;
    v->r = r;
    if (prov_ctx_new(&v->ctx)) {
        snprintf(r->err, sizeof r->err, "out of memory");
        free(v);
        return -1;
    }
    char e[sizeof r->err] = "";
    int vrc = video_frames(path, c->frames, on_frame, v, &r->duration_s, e, sizeof e);
    prov_ctx_free(v->ctx);
    if (vrc) {
        if (!*r->err) snprintf(r->err, sizeof r->err, "%s", e);
        free(v);
        return -1;
    }
    r->video = 1;
    r->frames = v->n;
    qsort(v->all, v->n, sizeof v->all[0], by_logit_desc);
    uint32_t k = (v->n + 3) / 4; /* the top quarter, at least one */
    double s = 0;
    for (uint32_t i = 0; i < k; i++) {
        s += v->all[i].logit;
        r->top[i] = v->all[i];
    }
    r->ntop = k;
    r->logit = (float)(s / k);
    r->probability = (float)(1.0 / (1.0 + exp(-r->logit / prov_detector_temperature(c->det))));
    free(v);
    return 0;
}

/* ---- output -------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int bad;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->bad = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)k + 256;
        char *q = realloc(b->p, nc);
        if (!q) {
            b->bad = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
}

static void sb_str(sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\') sb_printf(b, "\\%c", *p);
        else if (*p < 0x20) sb_printf(b, "\\u%04x", *p);
        else sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

/* A string member of the model's metadata (JSON), or "" (copied plainly:
 * the metadata is checked UTF-8 without control bytes at load). */
static void meta_str(const char *meta, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = meta ? strstr(meta, pat) : NULL;
    *out = 0;
    if (!p) return;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != '"') return;
    p++;
    size_t k = 0;
    for (; *p && *p != '"' && k + 1 < cap; p++)
        if (*p != '\\') out[k++] = *p;
    out[k] = 0;
}

static const char *verdict(const detect_cfg *c, const detect_result *r)
{
    return r->probability >= c->threshold ? "likely-ai-made" : "no-finding";
}

/* The model's operating point (metadata "operating_point": threshold on
 * the probability, the false-positive rate measured at it on held-out real
 * photos with its 95% interval, the true-positive rate on held-out
 * generators), which becomes the default threshold. */
static void detect_operating_point(detect_cfg *c)
{
    const char *meta = c->det ? prov_detector_meta(c->det) : NULL;
    json_doc d;
    if (!meta || json_parse(meta, strlen(meta), &d, NULL)) return;
    const json_node *op = json_get(d.root, "operating_point");
    const json_node *t = json_get(op, "threshold"), *f = json_get(op, "fpr"), *ci = json_get(op, "fpr_ci"),
                    *tp = json_get(op, "tpr");
    if (t && t->type == JSON_NUMBER && t->num > 0 && t->num < 1 && f && f->type == JSON_NUMBER) {
        c->have_op = 1;
        c->op_threshold = t->num;
        c->op_fpr = f->num;
        c->op_fpr_lo = c->op_fpr_hi = f->num;
        if (ci && ci->type == JSON_ARRAY && ci->len == 2 && ci->child->type == JSON_NUMBER &&
            ci->child->next->type == JSON_NUMBER) {
            c->op_fpr_lo = ci->child->num;
            c->op_fpr_hi = ci->child->next->num;
        }
        c->op_tpr = tp && tp->type == JSON_NUMBER ? tp->num : -1;
        if (!c->threshold_set) c->threshold = c->op_threshold;
    }
    json_free(&d);
}

char *detect_json_members(const detect_cfg *c, const detect_result *r)
{
    sbuf b = {0};
    char name[128], version[128];
    const char *meta = prov_detector_meta(c->det);
    meta_str(meta, "model", name, sizeof name);
    meta_str(meta, "model_version", version, sizeof version);
    sb_printf(&b, "\"kind\":\"%s\",\"probability\":%.6f,\"logit\":%.6f,\"crops\":%u",
              r->video ? "video" : "image", r->probability, r->logit, r->crops);
    if (r->video) {
        sb_printf(&b, ",\"frames\":{\"sampled\":%u", r->frames);
        if (r->duration_s > 0) sb_printf(&b, ",\"duration_s\":%.3f", r->duration_s);
        sb_printf(&b, ",\"aggregate\":\"mean of the top %u frame logits\",\"top\":[", r->ntop);
        for (uint32_t i = 0; i < r->ntop; i++)
            sb_printf(&b, "%s{\"index\":%u,\"time_s\":%.3f,\"logit\":%.6f}", i ? "," : "",
                      r->top[i].index, r->top[i].time_s, r->top[i].logit);
        sb_printf(&b, "]}");
    }
    sb_printf(&b, ",\"device\":");
    sb_str(&b, prov_detector_device(c->det));
    sb_printf(&b, ",\"backend\":");
    sb_str(&b, prov_detector_backend(c->det));
    sb_printf(&b, ",\"model\":");
    sb_str(&b, *name ? name : "unknown");
    sb_printf(&b, ",\"model_version\":");
    if (*version) sb_str(&b, version);
    else sb_printf(&b, "null");
    sb_printf(&b, ",\"threshold\":%g,\"verdict\":\"%s\"", c->threshold, verdict(c, r));
    if (c->have_op && c->threshold == c->op_threshold) /* what the threshold costs, as measured */
        sb_printf(&b, ",\"false_positive_rate\":%.4f,\"false_positive_rate_ci\":[%.4f,%.4f]", c->op_fpr,
                  c->op_fpr_lo, c->op_fpr_hi);
    if (b.bad) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* One line for people. */
static void print_line(const detect_cfg *c, const detect_result *r, const char *lead)
{
    char name[128], version[128];
    const char *meta = prov_detector_meta(c->det);
    meta_str(meta, "model", name, sizeof name);
    meta_str(meta, "model_version", version, sizeof version);
    int hit = r->probability >= c->threshold;
    printf("%s%s: probability %.3f %s the threshold %g", lead, hit ? "likely AI-made" : "no finding",
           r->probability, hit ? "at or above" : "below", c->threshold);
    if (c->have_op && c->threshold == c->op_threshold)
        printf(" (at which the model flags %.0f%% of real photos, 95%% CI %.0f-%.0f%%)", 100 * c->op_fpr,
               100 * c->op_fpr_lo, 100 * c->op_fpr_hi);
    printf("\n    logit %.3f", r->logit);
    if (r->video)
        printf(", %u frames, top %u averaged", r->frames, r->ntop);
    printf(", %u crops, %s, model %s%s%s; a hint for review, not proof\n", r->crops, prov_detector_device(c->det),
           *name ? name : "unknown", *version ? " " : "", version);
    for (uint32_t i = 0; r->video && i < r->ntop; i++)
        printf("    frame %u at %.2fs: logit %.3f\n", r->top[i].index, r->top[i].time_s,
               r->top[i].logit);
}

void detect_print(const detect_cfg *c, const char *file, const detect_result *r)
{
    printf("%s: ", file);
    print_line(c, r, "");
}

void detect_verify_skip(char **json, const char *why)
{
    sbuf b = {0};
    char *end = json && *json ? strrchr(*json, '}') : NULL;
    if (!end) return;
    sb_printf(&b, "%.*s,\"detector\":{\"error\":", (int)(end - *json), *json);
    sb_str(&b, why);
    sb_printf(&b, "}%s", end);
    if (!b.bad) {
        free(*json);
        *json = b.p;
        b.p = NULL;
    }
    free(b.p);
}

void detect_verify(detect_cfg *c, const char *file, char **json)
{
    detect_result *r = calloc(1, sizeof *r);
    if (!r) return;
    int ok = detect_file(c, file, r) == 0;
    if (!json) {
        if (ok) print_line(c, r, "  detector: ");
        else printf("  detector: not run: %s\n", r->err);
        free(r);
        return;
    }
    sbuf b = {0};
    char *m = ok ? detect_json_members(c, r) : NULL;
    char *end = strrchr(*json, '}');
    if (end) {
        sb_printf(&b, "%.*s,\"detector\":{", (int)(end - *json), *json);
        if (m) sb_printf(&b, "%s", m);
        else {
            sb_printf(&b, "\"error\":");
            sb_str(&b, ok ? "out of memory" : r->err);
        }
        sb_printf(&b, "}%s", end);
        if (!b.bad) {
            free(*json);
            *json = b.p;
            b.p = NULL;
        }
    }
    free(b.p);
    free(m);
    free(r);
}
