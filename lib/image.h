/* image.h - bounded JPEG/PNG decoding to 8-bit RGB, downscaling and JPEG
 * encoding, for claim thumbnails.
 *
 * Input is hostile: dimensions are checked from the header before any
 * image-sized allocation, and refused with PROV_ELIMIT past the bounds
 * below.  Decoding stays within the caller's frames: libjpeg and libpng
 * errors are caught with setjmp inside this module. */
#ifndef PROV_IMAGE_H
#define PROV_IMAGE_H

#include "internal.h"

typedef struct prov_img {
    uint32_t w, h;
    uint8_t *rgb; /* w*h*3 bytes, rows top to bottom, malloc'd */
} prov_img;

#define PROV_IMG_MAX_SIDE 30000
#define PROV_IMG_MAX_PIXELS (200u * 1000 * 1000)
#define IMG_SHORT_SIDE 0x80000000u /* min_side flag: bound the shorter side */

/* Decode a JPEG or PNG (sniffed from its first bytes) held in memory into
 * 8-bit RGB.  min_side > 0 lets a JPEG decode at 1/2, 1/4 or 1/8 size
 * (libjpeg DCT scaling): the smallest scale whose longer side (its shorter
 * side with IMG_SHORT_SIDE or'd in) is still >= min_side; 0 decodes full
 * size (PNGs always decode full size).
 * PNG: 16-bit scaled to 8, palette and gray expanded, alpha composited on
 * white.  JPEG: gray expanded, CMYK/YCCK converted to RGB.  A truncated
 * JPEG decodes in part (the rest mid-gray, as libjpeg fills it); a
 * truncated PNG is PROV_EFORMAT.  Not JPEG or PNG: PROV_EUNSUPPORTED.
 * *out is zeroed first and set only on success.
 * Peak memory: the output (3 bytes a pixel, 4 for an interlaced PNG with
 * alpha) plus, for a multi-scan (progressive) JPEG, libjpeg's coefficient
 * buffers, bounded at 512 MB (PROV_ELIMIT past that), and at most 100 scans
 * (PROV_ELIMIT: each scan is a pass over the coefficients).  Time is linear
 * in the input and output sizes. */
PROV_HIDDEN int img_decode(prov_ctx *ctx, const uint8_t *p, size_t n, uint32_t min_side,
                           prov_img *out);
/* The size of a JPEG or PNG from its header (the bytes before the image
 * data), read no further: the checks and errors of img_decode up to there
 * (PROV_ELIMIT past the bounds); no pixels decoded. */
PROV_HIDDEN int img_info(prov_ctx *ctx, const uint8_t *p, size_t n, uint32_t *w,
                         uint32_t *h);
/* The same as img_decode from a stream, read in small pieces (a 100 MB file is never
 * held in memory); read from the current position, no seeking. */
PROV_HIDDEN int img_decode_stream(prov_ctx *ctx, prov_stream *in, uint32_t min_side,
                                  prov_img *out);
/* Box-filter (area average) downscale so the longer side is max_side; a
 * plain copy when it already fits.  PROV_EINVAL for an empty image or
 * max_side 0. */
PROV_HIDDEN int img_downscale(const prov_img *in, uint32_t max_side, prov_img *out);
/* Append in as a baseline 4:2:0 JPEG of the given quality (1..100; out of
 * range is clamped) to b.  On failure b is as it was. */
PROV_HIDDEN int img_encode_jpeg(const prov_img *in, int quality, pbuf *b);
PROV_HIDDEN void img_free(prov_img *i);
/* A JPEG thumbnail, longer side max_side (0: 512; never enlarged), quality
 * (0: 80), of the JPEG or PNG read from in, appended to jpeg. */
PROV_HIDDEN int img_thumbnail(prov_ctx *ctx, prov_stream *in, uint32_t max_side,
                              int quality, pbuf *jpeg);

#endif
