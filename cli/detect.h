/* detect.h - the AI-image detector as the prov command uses it: finding
 * the model, scoring images and videos, and the JSON and text it prints
 * (prov scan, and the "detector" object of prov verify). */
#ifndef PROV_CLI_DETECT_H
#define PROV_CLI_DETECT_H

#include "prov.h"

#include <stddef.h>
#include <stdint.h>

#define DETECT_MAX_FRAMES 256   /* --frames bound */
#define DETECT_DEFAULT_FRAMES 16
#define DETECT_MAX_SIDE 8192    /* video frames: larger ones are refused */

typedef struct detect_cfg {
    const char *model; /* --model (NULL: PROV_MODEL, then the defaults) */
    int device;        /* PROV_DEVICE_* (default auto) */
    unsigned threads;  /* 0: every CPU */
    unsigned frames;   /* video frames sampled */
    double threshold;  /* verdict: likely AI-made when probability >= threshold */
    int threshold_set; /* --threshold given (else the model's operating point) */
    /* the model's measured operating point (weights metadata), when it has one */
    int have_op;
    double op_threshold, op_fpr, op_fpr_lo, op_fpr_hi, op_tpr;
    /* opened on first use */
    prov_ctx *ctx;
    prov_detector *det;
    int tried;
    char path[4096];   /* the model file used */
    char err[600];     /* why there is no detector */
} detect_cfg;

typedef struct detect_frame {
    uint32_t index; /* frame number from the start (from the time and frame rate) */
    double time_s;
    float logit;
} detect_frame;

typedef struct detect_result {
    int video;           /* 1: frames of a video were scored */
    float probability, logit;
    uint32_t crops;      /* crops scored in all */
    uint32_t frames;     /* video: frames scored */
    uint32_t ntop;       /* video: frames that drove the score (in top) */
    detect_frame top[DETECT_MAX_FRAMES];
    double duration_s;   /* video, when known */
    char err[600];       /* when scoring failed */
} detect_result;

void detect_init(detect_cfg *c);
void detect_free(detect_cfg *c);
/* Parse --device VALUE: 0, or EXIT_ERROR (message printed). */
int detect_parse_device(detect_cfg *c, const char *v);
/* Open the model (once); 0, or -1 with c->err set. */
int detect_open(detect_cfg *c);
/* Score a JPEG, PNG or video file; 0, or -1 with r->err set. */
int detect_file(detect_cfg *c, const char *path, detect_result *r);
/* The result as a JSON object's members (no braces), malloc'd. */
char *detect_json_members(const detect_cfg *c, const detect_result *r);
/* One result as a text line (two more lines a driving frame for a video). */
void detect_print(const detect_cfg *c, const char *file, const detect_result *r);
/* prov verify: append "detector":{...} (or {"error":...} when no model
 * can be had or the file cannot be scored) to the JSON object in *json
 * (malloc'd; replaced), or print a text line when json is NULL. */
void detect_verify(detect_cfg *c, const char *file, char **json);
/* Add "detector":{"error":why} instead (the detector was not run). */
void detect_verify_skip(char **json, const char *why);

/* frames.c: N evenly spaced frames of a video, decoded with FFmpeg
 * (dlopen), each handed to cb as 8-bit RGB at full size.  0, or -1 with
 * err set.  cb returns 0 to go on. */
typedef int (*frame_cb)(void *user, const uint8_t *rgb, uint32_t w, uint32_t h, size_t stride,
                        uint32_t index, double time_s);
int video_frames(const char *path, unsigned n, frame_cb cb, void *user, double *duration_s,
                 char *err, size_t errlen);

#endif
