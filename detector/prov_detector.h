/*
 * prov_detector.h - score how likely an image is AI-made or AI-altered.
 * (Proposed public API; to be moved into include/prov.h.)
 *
 * The classifier is a small CNN of the NPR family (Tan et al., CVPR 2024):
 * about 1.44M parameters, run on the CPU in plain C (im2col + OpenBLAS
 * sgemm), multithreaded.  The image is never resized: it is cut into
 * even-aligned crops of 256x256 (smaller images: one crop of the whole
 * image, cropped to even width and height), each crop is scored, and the
 * crop logits are averaged (detector/README.md gives the exact rule).
 *
 * A score is a probability with a measured error rate, never a verdict:
 * probability = sigmoid(logit / T), with the temperature T stored in the
 * weights file by the calibration step.
 *
 * Threads: a prov_detector is read-only once opened, so any number of
 * threads may score with the same one at the same time (each call uses its
 * own scratch memory, about 30 MB per worker thread).  The setters below
 * must not run concurrently with scoring.  Each call spreads its work over
 * the detector's worker threads (default: the CPUs this process may run
 * on).  The detector does its own threading, so prov_detector_open sets
 * OpenBLAS to one thread per call (openblas_set_num_threads(1)), which
 * affects the whole process.
 */
#ifndef PROV_DETECTOR_H
#define PROV_DETECTOR_H

#include "prov.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prov_detector prov_detector;

typedef struct prov_detector_result {
    float probability; /* sigmoid(logit / temperature), in [0, 1] */
    float logit;       /* mean of the crop logits (> 0 leans AI-made) */
    uint32_t crops;    /* how many crops were scored */
} prov_detector_result;

/* One decoded image: 8-bit RGB, 3 bytes a pixel, rows top to bottom,
 * stride bytes from one row to the next (>= 3 * width). */
typedef struct prov_detector_image {
    const uint8_t *rgb;
    uint32_t width, height;
    size_t stride;
} prov_detector_image;

/* Smallest width and height that can be scored (after rounding down to
 * even); smaller images give PROV_EUNSUPPORTED. */
#define PROV_DETECTOR_MIN_SIDE 32
/* Crops per image by default (prov_detector_set_max_crops). */
#define PROV_DETECTOR_MAX_CROPS 16

/* Load a weights file (detector/README.md: "PROVNPR1" tensor file, at most
 * 64 MB).  The file is checked in full (CRC-32, every count, size and
 * shape, finite values) before use: a damaged or hostile file gives
 * PROV_EFORMAT / PROV_ELIMIT / PROV_EUNSUPPORTED, never a crash.  Batch
 * norm is folded into the convolutions here.  *out is NULL on failure. */
PROV_API int prov_detector_open(prov_ctx *ctx, const char *weights_path, prov_detector **out);
/* The same from a weights file held in memory (copied; buf may be freed
 * after the call). */
PROV_API int prov_detector_open_mem(prov_ctx *ctx, const void *buf, size_t len,
                                    prov_detector **out);
PROV_API void prov_detector_free(prov_detector *d);

/* Worker threads per scoring call; 0 restores the default (the CPUs this
 * process may run on).  At most 64. */
PROV_API int prov_detector_set_threads(prov_detector *d, unsigned threads);
/* Most crops scored per image (1 to 1024; 0 restores the default, 16).  A
 * larger image gets a coarser, still evenly spread, grid of crops. */
PROV_API int prov_detector_set_max_crops(prov_detector *d, unsigned max_crops);
/* The weights file's metadata: a NUL-terminated JSON object (model name
 * and version, training record, ...); owned by d. */
PROV_API const char *prov_detector_meta(const prov_detector *d);
/* The calibration temperature from the weights file. */
PROV_API float prov_detector_temperature(const prov_detector *d);

/* Score one decoded RGB image (see prov_detector_image). */
PROV_API int prov_detector_score_rgb(prov_ctx *ctx, const prov_detector *d, const uint8_t *rgb,
                                     uint32_t width, uint32_t height, size_t stride,
                                     prov_detector_result *out);
/* Score n images in one call (their crops share the worker threads);
 * out[i] is the result for imgs[i].  If any image is invalid (NULL pixels,
 * stride < 3 * width, too small) nothing is scored and the call fails. */
PROV_API int prov_detector_score_batch(prov_ctx *ctx, const prov_detector *d,
                                       const prov_detector_image *imgs, size_t n,
                                       prov_detector_result *out);
/* Decode a JPEG or PNG (full size; the same bounded decoder as the rest of
 * libprov) and score it. */
PROV_API int prov_detector_score_stream(prov_ctx *ctx, const prov_detector *d,
                                        prov_stream *in, prov_detector_result *out);
PROV_API int prov_detector_score_file(prov_ctx *ctx, const prov_detector *d, const char *path,
                                      prov_detector_result *out);

#ifdef __cplusplus
}
#endif
#endif
