/*
 * jpegdecode - decode a JPEG with libjpeg at 1/DENOM scale and discard the
 * pixels: the benchmark's measure of what any fingerprint of a baseline
 * JPEG must pay at least (every Huffman code is decoded whatever the
 * scale; scaling saves only the inverse DCT and colour work).
 *
 * usage: jpegdecode FILE [DENOM]   (DENOM 1, 2, 4 or 8; default 8)
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* needs stddef.h and stdio.h first */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: jpegdecode FILE [DENOM]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    d.scale_num = 1;
    d.scale_denom = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
    jpeg_start_decompress(&d);
    JSAMPROW row = malloc((size_t)d.output_width * (size_t)d.output_components);
    if (!row) return 2;
    while (d.output_scanline < d.output_height) jpeg_read_scanlines(&d, &row, 1);
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(row);
    fclose(f);
    return 0;
}
