/* pdq_robust.c - how well PDQ matches what platforms do to a photo, and
 * how rarely it matches unrelated photos.
 *
 * For every image named: its hash, then the hash of three copies, each
 * made with the library's own decoder and libjpeg encoder: re-encoded as
 * JPEG quality 70, resized to half (box filter, then JPEG q90), cropped by
 * 5% of each side (2.5% from every edge, then JPEG q90).  A copy is a true
 * match when it is within the threshold of its original; every pair of
 * distinct originals within the threshold is a false match.
 *
 * usage: pdq_robust [-t THRESHOLD] [-q] FILE...
 * Prints the table; exits 0 (figures are reported, not judged), 2 when no
 * image could be read. */
#include "image.h"
#include "pdq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hash_img(const prov_img *im, uint8_t h[32])
{
    return pdq_rgb(im->rgb, im->w, im->h, (size_t)im->w * 3, h, NULL);
}

/* Encode as JPEG, decode the way a verifier would (pdq_stream). */
static int via_jpeg(const prov_img *im, int q, uint8_t h[32])
{
    pbuf b;
    pbuf_init(&b);
    int rc = img_encode_jpeg(im, q, &b);
    if (!rc) {
        prov_stream s;
        prov_stream_mem(&s, b.p, b.len);
        rc = pdq_stream(NULL, &s, h, NULL);
    }
    pbuf_free(&b);
    return rc;
}

static int crop(const prov_img *in, double frac, prov_img *out)
{
    uint32_t dx = (uint32_t)(in->w * frac / 2), dy = (uint32_t)(in->h * frac / 2);
    out->w = in->w - 2 * dx;
    out->h = in->h - 2 * dy;
    out->rgb = malloc((size_t)out->w * out->h * 3);
    if (!out->rgb) return PROV_ENOMEM;
    for (uint32_t y = 0; y < out->h; y++)
        memcpy(out->rgb + (size_t)y * out->w * 3, in->rgb + ((size_t)(y + dy) * in->w + dx) * 3, (size_t)out->w * 3);
    return 0;
}

int main(int argc, char **argv)
{
    int thr = PROV_PDQ_MATCH_DISTANCE, quiet = 0, a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "-t") && a + 1 < argc) thr = atoi(argv[++a]);
        else if (!strcmp(argv[a], "-q")) quiet = 1;
    }
    int n = argc - a;
    uint8_t(*orig)[32] = calloc((size_t)n + 1, 32);
    int *ok = calloc((size_t)n + 1, sizeof *ok);
    const char *names[] = {"jpeg-q70", "half-size", "crop-5%"};
    int hits[3] = {0}, tries[3] = {0}, worst[3] = {0}, hist[3][257];
    memset(hist, 0, sizeof hist);
    int good = 0, lowq = 0;
    for (int i = 0; i < n; i++) {
        const char *path = argv[a + i];
        size_t len;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *p = malloc(len ? len : 1);
        if (!p || fread(p, 1, len, f) != len) { fclose(f); free(p); continue; }
        fclose(f);
        prov_stream s;
        prov_stream_mem(&s, p, len);
        int q;
        if (pdq_stream(NULL, &s, orig[i], &q)) { free(p); continue; }
        prov_img im, half, cr;
        if (img_decode(NULL, p, len, 0, &im)) { free(p); continue; }
        free(p);
        ok[i] = 1;
        good++;
        if (q < 50) lowq++;
        uint8_t h[32];
        int d[3] = {-1, -1, -1};
        if (via_jpeg(&im, 70, h) == 0) d[0] = prov_pdq_distance(orig[i], h);
        uint32_t longer = im.w > im.h ? im.w : im.h;
        if (longer >= 2 && img_downscale(&im, longer / 2, &half) == 0) {
            if (via_jpeg(&half, 90, h) == 0) d[1] = prov_pdq_distance(orig[i], h);
            img_free(&half);
        }
        if (crop(&im, 0.05, &cr) == 0) {
            if (via_jpeg(&cr, 90, h) == 0) d[2] = prov_pdq_distance(orig[i], h);
            img_free(&cr);
        }
        img_free(&im);
        for (int k = 0; k < 3; k++) {
            if (d[k] < 0) continue;
            tries[k]++;
            hist[k][d[k]]++;
            if (d[k] <= thr) hits[k]++;
            if (d[k] > worst[k]) worst[k] = d[k];
        }
        if (!quiet) printf("%-60s q=%3d  q70=%3d half=%3d crop=%3d\n", path, q, d[0], d[1], d[2]);
    }
    if (!good) { fprintf(stderr, "pdq_robust: no readable image\n"); return 2; }
    long pairs = 0, fm = 0;
    int mind = 256;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (!ok[i] || !ok[j]) continue;
            int d = prov_pdq_distance(orig[i], orig[j]);
            pairs++;
            if (d <= thr) fm++;
            if (d < mind) mind = d;
        }
    printf("pdq robustness: %d images (%d with quality < 50), threshold %d bits of 256\n", good, lowq, thr);
    int th = 0, tt = 0;
    for (int k = 0; k < 3; k++) {
        int p50 = 0, c = 0;
        for (int d = 0; d <= 256; d++) { c += hist[k][d]; if (c * 2 >= tries[k]) { p50 = d; break; } }
        printf("  true match  %-9s %4d / %4d = %6.2f%%  (median %d, worst %d bits)\n", names[k], hits[k], tries[k],
               tries[k] ? 100.0 * hits[k] / tries[k] : 0, p50, worst[k]);
        th += hits[k];
        tt += tries[k];
    }
    printf("  true match  all       %4d / %4d = %6.2f%%\n", th, tt, tt ? 100.0 * th / tt : 0);
    printf("  false match unrelated %ld / %ld pairs = %.4f%%  (closest pair %d bits)\n", fm, pairs,
           pairs ? 100.0 * fm / pairs : 0, mind);
    free(orig);
    free(ok);
    return 0;
}
