/*
 * detector_eval - the detector's accuracy on held-out images, measured
 * through libprov exactly as `prov scan` scores them.
 *
 * usage: detector_eval WEIGHTS LIST [--boot N] [--jpeg Q] [--logits OUT.tsv]
 *
 * LIST: one image a line, "PATH<TAB>LABEL<TAB>SOURCE" (LABEL 0 real, 1
 * AI-made; '#' lines skipped).  Each image is decoded (as the product
 * decodes it) and scored as it is ("as-is") and after a JPEG round trip at
 * quality Q (90; 4:2:0, libjpeg) applied to every image of both classes
 * alike ("jpegQ"), so a model that keys on the container shows it.
 *
 * Printed per condition, each with a 95% percentile bootstrap interval
 * (images resampled within each class, N = 2000 times): ROC AUC, TPR (the
 * share of AI-made images flagged) and FPR (the share of real photos
 * flagged) at the model's default threshold (its metadata's operating
 * point; 0.5 without one), then per source the share flagged, and the
 * real photos flagged.  A label of
 * 0 with no fakes (a folder of real photos alone) still gets its FPR.
 * --logits writes every image's logit per condition.  Never fails on the
 * figures: this measures, it does not judge.
 */
#include "prov.h"

#include "image.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct item {
    char *path, *source;
    int label;
    double logit[2]; /* as-is, JPEG */
    int ok;
} item;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* AUC by the rank sum (ties averaged) of pos against neg. */
static double auc(const double *neg, size_t nn, const double *pos, size_t np)
{
    if (!nn || !np) return NAN;
    size_t n = nn + np;
    struct sv { double v; int p; } *a = malloc(n * sizeof *a);
    if (!a) return NAN;
    for (size_t i = 0; i < nn; i++) a[i] = (struct sv){neg[i], 0};
    for (size_t i = 0; i < np; i++) a[nn + i] = (struct sv){pos[i], 1};
    qsort(a, n, sizeof *a, cmp_dbl); /* v is the first member */
    double rs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && a[j + 1].v == a[i].v) j++;
        double r = (double)(i + j) / 2.0 + 1;
        for (size_t k = i; k <= j; k++)
            if (a[k].p) rs += r;
        i = j + 1;
    }
    free(a);
    return (rs - (double)np * (np + 1) / 2.0) / ((double)np * nn);
}

static double share_above(const double *v, size_t n, double t)
{
    if (!n) return NAN;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += v[i] >= t;
    return (double)k / n;
}

static void ci(double *v, size_t n, double out[2])
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) v[m++] = v[i];
    if (!m) {
        out[0] = out[1] = NAN;
        return;
    }
    qsort(v, m, sizeof *v, cmp_dbl);
    out[0] = v[(size_t)floor(0.025 * (m - 1))];
    out[1] = v[(size_t)ceil(0.975 * (m - 1))];
}

static void fmt(char *o, size_t cap, double v, const double c[2])
{
    if (isnan(v)) snprintf(o, cap, "-");
    else snprintf(o, cap, "%.3f [%.3f, %.3f]", v, c[0], c[1]);
}

/* The default threshold: the weights' operating point, else 0.5. */
static double default_threshold(const prov_detector *d, double *fpr_claim)
{
    const char *meta = prov_detector_meta(d);
    json_doc doc;
    double t = 0.5;
    *fpr_claim = NAN;
    if (meta && !json_parse(meta, strlen(meta), &doc, NULL)) {
        const json_node *op = json_get(doc.root, "operating_point");
        const json_node *th = json_get(op, "threshold"), *f = json_get(op, "fpr");
        if (th && th->type == JSON_NUMBER && th->num > 0 && th->num < 1) {
            t = th->num;
            if (f && f->type == JSON_NUMBER) *fpr_claim = f->num;
        }
        json_free(&doc);
    }
    return t;
}

static int score(prov_ctx *ctx, prov_detector *d, const prov_img *im, double *logit)
{
    prov_detector_result r;
    int rc = prov_detector_score_rgb(ctx, d, im->rgb, im->w, im->h, (size_t)im->w * 3, &r);
    if (!rc) *logit = r.logit;
    return rc;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *p = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            if (cap > (256u << 20)) break; /* no held-out image is that large */
            size_t nc = cap ? cap * 2 : 1 << 20;
            uint8_t *q = realloc(p, nc);
            if (!q) break;
            p = q, cap = nc;
        }
        size_t k = fread(p + len, 1, cap - len, f);
        len += k;
        if (!k) break;
    }
    fclose(f);
    *n = len;
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: detector_eval WEIGHTS LIST [--boot N] [--jpeg Q] [--logits OUT.tsv]\n");
        return 2;
    }
    int boot = 2000, q = 90;
    const char *logits_out = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--boot") && i + 1 < argc) boot = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--jpeg") && i + 1 < argc) q = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--logits") && i + 1 < argc) logits_out = argv[++i];
        else {
            fprintf(stderr, "detector_eval: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (boot < 10 || boot > 100000 || q < 1 || q > 100) {
        fprintf(stderr, "detector_eval: --boot 10..100000, --jpeg 1..100\n");
        return 2;
    }
    prov_ctx *ctx;
    prov_detector *d;
    if (prov_ctx_new(&ctx)) return 2;
    if (prov_detector_open(ctx, argv[1], &d)) {
        fprintf(stderr, "detector_eval: %s: %s\n", argv[1], prov_errmsg(ctx));
        return 2;
    }
    prov_detector_set_threads(d, 0);
    double fpr_claim, thr = default_threshold(d, &fpr_claim);
    double T = prov_detector_temperature(d);
    double tl = T * log(thr / (1 - thr)); /* the threshold as a logit */

    FILE *lf = fopen(argv[2], "r");
    if (!lf) {
        fprintf(stderr, "detector_eval: cannot read %s\n", argv[2]);
        return 2;
    }
    item *it = NULL;
    size_t n = 0, cap = 0, failed = 0;
    char line[4096];
    while (fgets(line, sizeof line, lf)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2) continue;
        *t1 = *t2 = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            item *ni = realloc(it, cap * sizeof *it);
            if (!ni) return 2;
            it = ni;
        }
        it[n] = (item){strdup(line), strdup(t2 + 1), atoi(t1 + 1) ? 1 : 0, {0, 0}, 0};
        n++;
    }
    fclose(lf);
    fprintf(stderr, "scoring %zu images (as-is and JPEG q%d) on %s\n", n, q, prov_detector_backend(d));
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint8_t *buf = slurp(it[i].path, &len);
        prov_img im = {0}, back = {0};
        pbuf jb = {0};
        int rc = buf ? img_decode(ctx, buf, len, 0, &im) : PROV_EIO;
        if (!rc) rc = score(ctx, d, &im, &it[i].logit[0]);
        if (!rc) rc = img_encode_jpeg(&im, q, &jb);
        if (!rc) rc = img_decode(ctx, jb.p, jb.len, 0, &back);
        if (!rc) rc = score(ctx, d, &back, &it[i].logit[1]);
        if (rc) {
            fprintf(stderr, "  %s: %s (left out)\n", it[i].path, prov_errmsg(ctx));
            failed++;
        }
        it[i].ok = !rc;
        img_free(&im);
        img_free(&back);
        free(jb.p);
        free(buf);
        if (isatty(2)) fprintf(stderr, "\r  %zu/%zu", i + 1, n);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    if (logits_out) {
        FILE *o = fopen(logits_out, "w");
        if (o) {
            fprintf(o, "path\tsource\tlabel\tlogit_asis\tlogit_jpeg%d\n", q);
            for (size_t i = 0; i < n; i++)
                if (it[i].ok)
                    fprintf(o, "%s\t%s\t%d\t%.6f\t%.6f\n", it[i].path, it[i].source, it[i].label, it[i].logit[0],
                            it[i].logit[1]);
            fclose(o);
        }
    }

    double *neg = malloc(n * sizeof *neg), *pos = malloc(n * sizeof *pos), *bn = malloc(n * sizeof *bn),
           *bp = malloc(n * sizeof *bp), *va = malloc((size_t)boot * sizeof *va),
           *vt = malloc((size_t)boot * sizeof *vt), *vf = malloc((size_t)boot * sizeof *vf);
    if (!neg || !pos || !bn || !bp || !va || !vt || !vf) return 2;
    size_t nreal = 0, nfake = 0;
    for (size_t i = 0; i < n; i++)
        if (it[i].ok) it[i].label ? nfake++ : nreal++;
    char version[200] = "unknown";
    {
        const char *meta = prov_detector_meta(d);
        json_doc doc;
        if (meta && !json_parse(meta, strlen(meta), &doc, NULL)) {
            const json_node *v = json_get(doc.root, "model_version");
            if (v && v->type == JSON_STRING) snprintf(version, sizeof version, "%s", v->str);
            json_free(&doc);
        }
    }
    printf("Images: %zu real photos, %zu AI-made (%zu could not be scored); model version %s\n", nreal, nfake,
           failed, version);
    printf("Default threshold: probability %.4f (logit %.3f, temperature %.3f)", thr, tl, T);
    if (!isnan(fpr_claim)) printf("; the model's metadata claims FPR %.3f there", fpr_claim);
    printf("\n95%% bootstrap intervals, %d resamples within each class\n\n", boot);
    printf("%-10s %-26s %-26s %-26s\n", "condition", "AUC", "TPR at the threshold", "FPR on real photos");
    for (int c = 0; c < 2; c++) {
        size_t nn = 0, np = 0;
        for (size_t i = 0; i < n; i++)
            if (it[i].ok) {
                if (it[i].label) pos[np++] = it[i].logit[c];
                else neg[nn++] = it[i].logit[c];
            }
        double a = auc(neg, nn, pos, np), tp = share_above(pos, np, tl), fp = share_above(neg, nn, tl);
        for (int b = 0; b < boot; b++) {
            for (size_t i = 0; i < nn; i++) bn[i] = neg[rnd((uint32_t)nn)];
            for (size_t i = 0; i < np; i++) bp[i] = pos[rnd((uint32_t)np)];
            va[b] = auc(bn, nn, bp, np);
            vt[b] = share_above(bp, np, tl);
            vf[b] = share_above(bn, nn, tl);
        }
        double ca[2], ct[2], cf[2];
        ci(va, boot, ca);
        ci(vt, boot, ct);
        ci(vf, boot, cf);
        char s1[64], s2[64], s3[64], name[16];
        fmt(s1, sizeof s1, a, ca);
        fmt(s2, sizeof s2, tp, ct);
        fmt(s3, sizeof s3, fp, cf);
        snprintf(name, sizeof name, c ? "jpeg%d" : "as-is", q);
        printf("%-10s %-26s %-26s %-26s\n", name, s1, s2, s3);
    }
    printf("\nPer source: images, share flagged at the threshold (as-is, jpeg%d)\n", q);
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        /* a source is a class and a name: a real and a fake source may
         * share a name (one repository's photographs and AI pictures) */
        for (size_t j = 0; j < i; j++)
            if (it[j].label == it[i].label && !strcmp(it[j].source, it[i].source)) first = 0;
        if (!first) continue;
        size_t k = 0, f0 = 0, f1 = 0;
        for (size_t j = i; j < n; j++)
            if (it[j].ok && it[j].label == it[i].label && !strcmp(it[j].source, it[i].source)) {
                k++;
                f0 += it[j].logit[0] >= tl;
                f1 += it[j].logit[1] >= tl;
            }
        if (k)
            printf("  %-4s %-28s %4zu  %.3f  %.3f\n", it[i].label ? "fake" : "real", it[i].source, k,
                   (double)f0 / k, (double)f1 / k);
    }
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!it[i].ok || it[i].label || (it[i].logit[0] < tl && it[i].logit[1] < tl)) continue;
        if (!shown++) printf("\nReal photos flagged (probability as-is, jpeg%d):\n", q);
        if (shown <= 40)
            printf("  %.3f  %.3f  %s\n", 1 / (1 + exp(-it[i].logit[0] / T)), 1 / (1 + exp(-it[i].logit[1] / T)),
                   it[i].path);
    }
    if (shown > 40) printf("  ... and %zu more\n", shown - 40);
    for (size_t i = 0; i < n; i++) {
        free(it[i].path);
        free(it[i].source);
    }
    free(it);
    free(neg), free(pos), free(bn), free(bp), free(va), free(vt), free(vf);
    prov_detector_free(d);
    prov_ctx_free(ctx);
    return 0;
}
