/* pdq_robust.c - how well PDQ matches what platforms do to a photo, and
 * how rarely it matches unrelated photos.
 *
 * For every image named: the hashes a repository indexes for it (the whole
 * picture and its centred crops, pdq_variants, decoded as at signing), then
 * the lookup hashes (pdq_queries: the copy and its edge and corner crops)
 * of four copies, each made with the library's own decoder and
 * libjpeg encoder: re-encoded as JPEG quality 70, resized to half (box
 * filter, then JPEG q90), cropped by 5% (2.5% off every edge, then JPEG
 * q90), and cropped by 5% from two edges only (right and bottom).  A copy
 * is a true match when any of its lookup hashes is within the threshold of
 * any of its original's indexed hashes (what a lookup sees); a pair of
 * distinct photos is a false match when any lookup hash of one (made from
 * the photo itself) is within the threshold of any indexed hash of the
 * other, either way round.
 *
 * usage: pdq_robust [-t THRESHOLD] [-q] FILE...
 * Prints the table; exits 0 (figures are reported, not judged), 2 when no
 * image could be read. */
#include "image.h"
#include "pdq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Encode as JPEG, decode the way a verifier does, and make the lookup
 * hashes. */
static int via_jpeg(const prov_img *im, int q, uint8_t h[PDQ_QUERIES][32])
{
    pbuf b;
    pbuf_init(&b);
    int rc = img_encode_jpeg(im, q, &b);
    prov_img d;
    if (!rc && !(rc = img_decode(NULL, b.p, b.len, PDQ_DECODE_SIDE, &d))) {
        rc = pdq_fit(&d);
        if (!rc) rc = pdq_queries(&d, h, NULL);
        img_free(&d);
    }
    pbuf_free(&b);
    return rc;
}

/* Crop frac of each dimension, the share lead of it off the left and top
 * edges (0.5: centred; 0: all off the right and bottom). */
static int crop(const prov_img *in, double frac, double lead, prov_img *out)
{
    uint32_t cw = (uint32_t)(in->w * frac), ch = (uint32_t)(in->h * frac);
    uint32_t dx = (uint32_t)(cw * lead), dy = (uint32_t)(ch * lead);
    out->w = in->w - cw;
    out->h = in->h - ch;
    out->rgb = malloc((size_t)out->w * out->h * 3);
    if (!out->rgb) return PROV_ENOMEM;
    for (uint32_t y = 0; y < out->h; y++)
        memcpy(out->rgb + (size_t)y * out->w * 3, in->rgb + ((size_t)(y + dy) * in->w + dx) * 3, (size_t)out->w * 3);
    return 0;
}

/* Nearest pair of an original's indexed hashes and a copy's lookup hashes. */
static int best(const uint8_t v[PDQ_VARIANTS][32], const uint8_t h[PDQ_QUERIES][32])
{
    int b = 256;
    for (int k = 0; k < PDQ_VARIANTS; k++)
        for (int j = 0; j < PDQ_QUERIES; j++) {
            int d = prov_pdq_distance(v[k], h[j]);
            if (d < b) b = d;
        }
    return b;
}

int main(int argc, char **argv)
{
    int thr = PROV_PDQ_MATCH_DISTANCE, quiet = 0, a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "-t") && a + 1 < argc) thr = atoi(argv[++a]);
        else if (!strcmp(argv[a], "-q")) quiet = 1;
    }
    int n = argc - a;
    uint8_t(*orig)[PDQ_QUERIES][32] = calloc((size_t)n + 1, sizeof *orig);
    uint8_t(*var)[PDQ_VARIANTS][32] = calloc((size_t)n + 1, sizeof *var);
    int *ok = calloc((size_t)n + 1, sizeof *ok);
    const char *names[] = {"jpeg-q70", "half-size", "crop-5%", "crop-edge"};
    int hits[4] = {0}, tries[4] = {0}, worst[4] = {0}, hist[4][257];
    memset(hist, 0, sizeof hist);
    int scaled_n = 0, scaled_worst = 0, scaled_over = 0, scaled_hist[257] = {0};
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
        int q;
        prov_img im, half, cr;
        if (img_decode(NULL, p, len, PDQ_DECODE_SIDE, &im)) { free(p); continue; }
        if (pdq_fit(&im)) { img_free(&im); free(p); continue; }
        if (pdq_variants(&im, var[i], &q) || pdq_queries(&im, orig[i], NULL)) { img_free(&im); free(p); continue; }
        img_free(&im);
        if (img_decode(NULL, p, len, 0, &im)) { free(p); continue; }
        free(p);
        /* the fingerprint from a full decode against the DCT-scaled one
         * signing uses (issue 12: at most 8 bits apart) */
        uint32_t side = im.w > im.h ? im.w : im.h;
        prov_img full;
        if (img_downscale(&im, side, &full) == 0) {
            uint8_t hf[32];
            if (pdq_fit(&full) == 0 && pdq_rgb(full.rgb, full.w, full.h, (size_t)full.w * 3, hf, NULL) == 0) {
                int dd = 0;
                for (int b = 0; b < 32; b++) dd += __builtin_popcount((unsigned)(hf[b] ^ var[i][0][b]));
                scaled_n++;
                scaled_hist[dd]++;
                if (dd > scaled_worst) scaled_worst = dd;
                if (dd > 8) scaled_over++;
            }
            img_free(&full);
        }
        ok[i] = 1;
        good++;
        if (q < 50) lowq++;
        uint8_t h[PDQ_QUERIES][32];
        int d[4] = {-1, -1, -1, -1};
        if (via_jpeg(&im, 70, h) == 0) d[0] = best(var[i], h);
        uint32_t longer = im.w > im.h ? im.w : im.h;
        if (longer >= 2 && img_downscale(&im, longer / 2, &half) == 0) {
            if (via_jpeg(&half, 90, h) == 0) d[1] = best(var[i], h);
            img_free(&half);
        }
        if (crop(&im, 0.05, 0.5, &cr) == 0) {
            if (via_jpeg(&cr, 90, h) == 0) d[2] = best(var[i], h);
            img_free(&cr);
        }
        if (crop(&im, 0.05, 0, &cr) == 0) {
            if (via_jpeg(&cr, 90, h) == 0) d[3] = best(var[i], h);
            img_free(&cr);
        }
        img_free(&im);
        for (int k = 0; k < 4; k++) {
            if (d[k] < 0) continue;
            tries[k]++;
            hist[k][d[k]]++;
            if (d[k] <= thr) hits[k]++;
            if (d[k] > worst[k]) worst[k] = d[k];
        }
        if (!quiet) printf("%-60s q=%3d  q70=%3d half=%3d crop=%3d edge=%3d\n", path, q, d[0], d[1], d[2], d[3]);
    }
    if (!good) { fprintf(stderr, "pdq_robust: no readable image\n"); return 2; }
    long pairs = 0, fm = 0, same = 0;
    int mind = 256;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (!ok[i] || !ok[j]) continue;
            int d = best(var[j], orig[i]), d2 = best(var[i], orig[j]);
            if (d2 < d) d = d2;
            if (prov_pdq_distance(orig[i][0], orig[j][0]) == 0) {
                /* the same picture under two names (a sample that is also
                 * in the photo set): not a pair of unrelated photos */
                printf("  same picture: %s = %s\n", argv[a + i], argv[a + j]);
                same++;
                continue;
            }
            pairs++;
            if (d <= thr) {
                fm++;
                printf("  false match (%d bits): %s %s\n", d, argv[a + i], argv[a + j]);
            }
            if (d < mind) mind = d;
        }
    printf("pdq robustness: %d images (%d with quality < 50), threshold %d bits of 256\n", good, lowq, thr);
    int th = 0, tt = 0;
    for (int k = 0; k < 4; k++) {
        int p50 = 0, c = 0;
        for (int d = 0; d <= 256; d++) { c += hist[k][d]; if (c * 2 >= tries[k]) { p50 = d; break; } }
        printf("  true match  %-9s %4d / %4d = %6.2f%%  (median %d, worst %d bits)\n", names[k], hits[k], tries[k],
               tries[k] ? 100.0 * hits[k] / tries[k] : 0, p50, worst[k]);
        if (k < 3) { /* the three the issue names */
            th += hits[k];
            tt += tries[k];
        }
    }
    {
        int p50 = 0, c = 0;
        for (int d = 0; d <= 256; d++) { c += scaled_hist[d]; if (c * 2 >= scaled_n) { p50 = d; break; } }
        printf("  scaled vs full decode: %d images, median %d bits, worst %d, %d over 8 bits\n", scaled_n, p50,
               scaled_worst, scaled_over);
    }
    printf("  true match  q70+half+crop %4d / %4d = %6.2f%%\n", th, tt, tt ? 100.0 * th / tt : 0);
    printf("  false match unrelated %ld / %ld pairs = %.4f%%  (closest pair %d bits; %ld pairs were one picture twice)\n",
           fm, pairs, pairs ? 100.0 * fm / pairs : 0, mind, same);
    free(orig);
    free(var);
    free(ok);
    return 0;
}
