/* pdq.h - the PDQ perceptual hash (Meta, 2019), written from its published
 * description (ThreatExchange hashing.pdf): luminance, two passes of
 * Jarosz box filters, decimation to 64x64, a 2D DCT keeping 16x16
 * frequencies (DC excluded), one bit per coefficient above the median.
 *
 * Hash bytes: the 64-digit hex string of the reference implementation,
 * decoded (byte 0 holds bits 255..248: row 15 of the DCT, columns 15..8). */
#ifndef PROV_PDQ_H
#define PROV_PDQ_H

#include "image.h"

/* The shorter side a JPEG is decoded at, at least, for hashing (libjpeg
 * DCT scaling, 1/2 to 1/8): the filters blur a 64th of the picture anyway,
 * so this saves most of the decode.  768 keeps the hash within 4 bits of a
 * full decode's on the 421 robustness photos (512 on the longer side, as
 * before, gave up to 16: tests/bench/pdq_robust.c). */
#define PDQ_DECODE_SIDE (768u | IMG_SHORT_SIDE)

/* Pictures are hashed at most this many pixels a side: a bigger one (a
 * PNG; JPEGs decode small already) is box-filtered down first, so the
 * hash's time and memory stay bounded (a 200-megapixel PNG would take
 * 1.6 GB of floats and seconds a hash at full size). */
#define PDQ_HASH_SIDE 1024

/* Decode a JPEG or PNG from in for hashing: PDQ_DECODE_SIDE, then at most
 * PDQ_HASH_SIDE a side.  pdq_fit does the second step to any picture. */
PROV_HIDDEN int pdq_decode(prov_ctx *ctx, prov_stream *in, prov_img *out);
PROV_HIDDEN int pdq_fit(prov_img *im);

/* Hash 8-bit RGB pixels (stride bytes a row).  Scratch: 8 bytes a pixel. */
PROV_HIDDEN int pdq_rgb(const uint8_t *rgb, uint32_t w, uint32_t h, size_t stride, uint8_t hash[32],
                        int *quality);
/* Crops.  PDQ is a global transform: a crop moves every coefficient, so a
 * cropped copy is matched by cropping on both sides.  The repository
 * indexes PDQ_VARIANTS hashes of a signed picture: centred crops of 0, 5
 * and 10% of the width by 0, 5 and 10% of the height.  A lookup hashes
 * PDQ_QUERIES crops of the copy: the whole, and 5% off each edge and each
 * corner (the part the platform may have kept).  A copy cropped 5% in the
 * middle, off one edge or off a corner then meets one of the variants
 * nearly whole. */
#define PDQ_VARIANTS 9
#define PDQ_QUERIES 9
PROV_HIDDEN int pdq_variants(const prov_img *im, uint8_t out[PDQ_VARIANTS][32], int *quality);
PROV_HIDDEN int pdq_queries(const prov_img *im, uint8_t out[PDQ_QUERIES][32], int *quality);
/* Decode a JPEG or PNG from in (PDQ_DECODE_SIDE) and hash it. */
PROV_HIDDEN int pdq_stream(prov_ctx *ctx, prov_stream *in, uint8_t hash[32], int *quality);

#endif
