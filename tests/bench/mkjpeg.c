/*
 * mkjpeg - write a synthetic photo-like JPEG for the benchmark.
 *
 * usage: mkjpeg OUT WIDTH HEIGHT QUALITY NOISE [SEED]
 *
 * The picture is a smooth scene (gradients and soft bands) with per-pixel
 * uniform noise of +-NOISE on each channel, which stands in for sensor
 * noise and fine texture and sets how well the file compresses.  Rows are
 * generated and compressed one at a time (libjpeg, 4:2:0 sampling, baseline
 * Huffman tables), so memory stays small however large the image.  The
 * output is the same for the same arguments and libjpeg.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* needs stddef.h and stdio.h first */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static unsigned char clamp(int v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: mkjpeg OUT WIDTH HEIGHT QUALITY NOISE [SEED]\n");
        return 2;
    }
    const char *out = argv[1];
    long w = atol(argv[2]), h = atol(argv[3]);
    int quality = atoi(argv[4]), noise = atoi(argv[5]);
    if (argc == 7)
        rng_state ^= strtoull(argv[6], NULL, 0) * 0xbf58476d1ce4e5b9ull;
    if (w < 16 || h < 16 || w > 65500 || h > 65500 || quality < 1 || quality > 100 ||
        noise < 0 || noise > 255) {
        fprintf(stderr, "mkjpeg: bad arguments\n");
        return 2;
    }
    FILE *f = fopen(out, "wb");
    if (!f) {
        perror(out);
        return 1;
    }
    /* Per-column and per-row parts of the scene, so the inner loop is cheap. */
    int *cx = malloc((size_t)w * 3 * sizeof *cx);
    unsigned char *row = malloc((size_t)w * 3);
    if (!cx || !row) {
        fprintf(stderr, "mkjpeg: out of memory\n");
        return 1;
    }
    for (long x = 0; x < w; x++) {
        double u = (double)x / (double)w;
        cx[3 * x + 0] = (int)(70.0 * u + 30.0 * sin(u * 9.0));
        cx[3 * x + 1] = (int)(40.0 * sin(u * 5.0 + 1.0) + 20.0 * cos(u * 23.0));
        cx[3 * x + 2] = (int)(60.0 * (1.0 - u) + 25.0 * sin(u * 13.0 + 2.0));
    }

    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_compress(&cinfo, TRUE);

    for (long y = 0; y < h; y++) {
        double v = (double)y / (double)h;
        int ry = (int)(60.0 + 50.0 * v + 20.0 * sin(v * 7.0));
        int gy = (int)(110.0 + 40.0 * cos(v * 4.0));
        int by = (int)(80.0 + 60.0 * v * v);
        for (long x = 0; x < w; x++) {
            int n0 = 0, n1 = 0, n2 = 0;
            if (noise) {
                uint32_t r = rng();
                int span = 2 * noise + 1;
                n0 = (int)((r & 0x3ff) % (unsigned)span) - noise;
                n1 = (int)(((r >> 10) & 0x3ff) % (unsigned)span) - noise;
                n2 = (int)(((r >> 20) & 0x3ff) % (unsigned)span) - noise;
            }
            row[3 * x + 0] = clamp(ry + cx[3 * x + 0] + n0);
            row[3 * x + 1] = clamp(gy + cx[3 * x + 1] + n1);
            row[3 * x + 2] = clamp(by + cx[3 * x + 2] + n2);
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&cinfo, &rp, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    free(cx);
    if (fclose(f)) {
        perror(out);
        return 1;
    }
    return 0;
}
