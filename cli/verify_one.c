/* verify_one.c - one file's verification, as every command does it. */
#include "verify_one.h"
#include "audio.h"
#include "cli.h"
#include "detect.h"
#include "http_client.h"
#include "image.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

int vo_is_media(const unsigned char *p, size_t n)
{
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return 1;                /* JPEG */
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return 1;                             /* PNG */
    if (n >= 12 && !memcmp(p + 4, "ftyp", 4)) return 1;                                      /* BMFF */
    if (n >= 12 && !memcmp(p, "RIFF", 4) &&
        (!memcmp(p + 8, "WAVE", 4) || !memcmp(p + 8, "WEBP", 4) || !memcmp(p + 8, "AVI ", 4)))
        return 1;                                                                              /* RIFF */
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6))) return 1;            /* GIF */
    if (n >= 4 && (!memcmp(p, "ID3", 3) || !memcmp(p, "fLaC", 4))) return 1;                 /* MP3, FLAC */
    if (n >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4) || !memcmp(p, "II+\0", 4) ||
                   !memcmp(p, "MM\0+", 4)))
        return 1;                                                                              /* TIFF, DNG */
    if (n >= 2 && p[0] == 0xFF && (p[1] & 0xE0) == 0xE0 && ((p[1] >> 1) & 3)) return 1;     /* MPEG audio */
    return 0;
}

int vo_json_field(const char *from, const char *key, char *out, size_t cap)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = from ? strstr(from, pat) : NULL;
    if (!p || !cap) return 0;
    p += strlen(pat);
    size_t k = 0;
    for (; *p && *p != '"' && k + 1 < cap; p++) {
        if (*p == '\\' && p[1]) p++;
        out[k++] = *p;
    }
    out[k] = 0;
    return 1;
}

/* The model opens once, under this lock.  On the CPU a detector is
 * read-only once open, so pictures are scored side by side (one hostile
 * upload does not hold up the others); the CUDA back end's scratch memory
 * and FFmpeg's first load are not shared safely, so those go one at a
 * time. */
static pthread_mutex_t detect_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_picture(const unsigned char *p, size_t n)
{
    return (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) ||
           (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8));
}

/* Append "detector":{...} to out->json.  Bytes in memory (prov serve) are
 * scored from a private temporary file: FFmpeg and the image loaders read
 * files. */
/* Bytes in memory as a private temporary file named in tmp: 0, or -1
 * (nothing left behind). */
static int mem_tmpfile(const void *buf, size_t len, char tmp[64])
{
    const char *dir = getenv("TMPDIR");
    snprintf(tmp, 64, "%s/prov-detect-XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) return -1;
    const unsigned char *p = buf;
    size_t left = len;
    while (left) {
        ssize_t k = write(fd, p, left);
        if (k <= 0) break;
        p += k;
        left -= (size_t)k;
    }
    close(fd);
    if (left) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void add_detector(const vo_config *c, const vo_input *in, vo_result *out)
{
    char tmp[64] = "";
    const char *path = in->path;
    if (!path) {
        if (mem_tmpfile(in->buf, in->len, tmp)) return;
        path = tmp;
    }
    unsigned char head[8] = {0};
    size_t hn = 0;
    if (in->path) {
        FILE *f = fopen(in->path, "rb");
        if (f) {
            hn = fread(head, 1, sizeof head, f);
            fclose(f);
        }
    } else {
        hn = in->len < sizeof head ? in->len : sizeof head;
        memcpy(head, in->buf, hn);
    }
    /* a picture's decoded size, from its header, bounded and counted
     * before anything is decoded */
    size_t held = 0;
    if (is_picture(head, hn) && (c->detect_max_pixels || c->mem_reserve)) {
        uint32_t w = 0, h = 0;
        prov_ctx ictx = {{0}};
        int irc = in->path ? -1 : img_info(&ictx, in->buf, in->len, &w, &h);
        if (in->path) { /* read the header part of the file */
            FILE *f = fopen(in->path, "rb");
            unsigned char *hb = f ? malloc(1 << 20) : NULL;
            size_t n = hb ? fread(hb, 1, 1 << 20, f) : 0;
            if (hb) irc = img_info(&ictx, hb, n, &w, &h);
            free(hb);
            if (f) fclose(f);
        }
        uint64_t px = (uint64_t)w * h;
        char why[200] = "";
        if (irc == 0 && c->detect_max_pixels && px > c->detect_max_pixels)
            snprintf(why, sizeof why, "the picture is %ux%u (%.1f MP); this service scores pictures up to %.1f MP",
                     w, h, px / 1e6, c->detect_max_pixels / 1e6);
        else if (irc == 0 && c->mem_reserve) {
            held = (size_t)px * 3 + (64u << 20); /* the decoded picture and the crops */
            if (c->mem_reserve(c->mem_user, held)) {
                held = 0;
                snprintf(why, sizeof why, "busy: not enough memory to score this picture now; retry");
            }
        }
        if (*why) {
            detect_verify_skip(&out->json, why);
            if (*tmp) unlink(tmp);
            out->json_len = strlen(out->json);
            return;
        }
    }
    pthread_mutex_lock(&detect_lock);
    int serial = detect_open(c->detect) != 0 || !is_picture(head, hn) ||
                 strcmp(prov_detector_device(c->detect->det), "cpu") != 0;
    if (!serial) pthread_mutex_unlock(&detect_lock);
    detect_verify(c->detect, path, &out->json);
    if (serial) pthread_mutex_unlock(&detect_lock);
    if (held) c->mem_release(c->mem_user, held);
    if (*tmp) unlink(tmp);
    out->json_len = strlen(out->json);
}

/* Splice `,"key":value` before the closing brace of obj (len bytes). */
static char *splice(char *obj, size_t *len, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    char *n = realloc(obj, *len + kl + vl + 8);
    if (!n) return NULL;
    size_t at = *len - 1; /* the final '}' */
    at += (size_t)sprintf(n + at, ",\"%s\":", key);
    memcpy(n + at, value, vl);
    at += vl;
    n[at++] = '}';
    n[at] = 0;
    *len = at;
    return n;
}

char *vo_sidecar_path(const char *media)
{
    const char *slash = strrchr(media, '/'), *dot = strrchr(media, '.');
    size_t keep = dot && dot > (slash ? slash : media) && dot[1] ? (size_t)(dot - media) : strlen(media);
    char *p = malloc(keep + 6);
    if (p) {
        memcpy(p, media, keep);
        memcpy(p + keep, ".c2pa", 6);
    }
    return p;
}

#define SIDECAR_MAX (48u << 20) /* the library's bound on a manifest store */

/* A sidecar's bytes, or NULL with why. */
static uint8_t *read_sidecar(const char *path, size_t *n, char *why, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, cap, "%s: cannot open the manifest: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *b = malloc(SIDECAR_MAX + 1);
    size_t k = b ? fread(b, 1, SIDECAR_MAX + 1, f) : 0;
    int bad = !b || ferror(f) || k > SIDECAR_MAX;
    fclose(f);
    if (bad) {
        snprintf(why, cap, "%s: %s", path, b ? "unreadable, or over 48 MiB" : "out of memory");
        free(b);
        return NULL;
    }
    *n = k;
    return b;
}

int verify_one(prov_ctx *ctx, const vo_config *c, const vo_input *in, vo_result *out)
{
    memset(out, 0, sizeof *out);
    prov_verify_opts vo = {0};
    vo.trust = c->trust;
    vo.registry = c->registry;
    vo.progress = in->progress;
    vo.progress_user = in->progress_user;
    prov_report *r = NULL;
    const char *name = in->name ? in->name : in->path;
    int rc;
    uint8_t *side = NULL;
    char *found = NULL;
    const char *side_path = in->manifest_path;
    if (in->path) {
        if (side_path) {
            char why[700];
            if (!(side = read_sidecar(side_path, &vo.manifest_len, why, sizeof why))) {
                snprintf(out->errmsg, sizeof out->errmsg, "%.500s", why);
                out->state = PROV_STATE_ERROR;
                out->exit_code = EXIT_ERROR;
                char *qf = json_quote(name), *qw = json_quote(why);
                size_t jn = (qf ? strlen(qf) : 0) + (qw ? strlen(qw) : 0) + 40;
                out->json = qf && qw ? malloc(jn) : NULL;
                if (out->json) out->json_len = (size_t)snprintf(out->json, jn, "{\"file\":%s,\"state\":\"error\",\"error\":%s}", qf, qw);
                free(qf);
                free(qw);
                return out->json ? 0 : EXIT_ERROR;
            }
            vo.manifest = side;
        }
        rc = prov_verify_file(ctx, &vo, in->path, &r);
        int st = r ? prov_report_state(r) : PROV_STATE_ERROR;
        if (!side && in->find_sidecar && r && (st == PROV_STATE_UNSIGNED || st == PROV_STATE_REMOTE)) {
            /* no store in the file: a sidecar beside it, as c2pa-rs looks */
            char *cand[2] = {vo_sidecar_path(in->path), malloc(strlen(in->path) + 6)};
            if (cand[1]) sprintf(cand[1], "%s.c2pa", in->path);
            for (int i = 0; i < 2 && !side; i++) {
                char why[700];
                if (cand[i] && access(cand[i], F_OK) == 0 && (side = read_sidecar(cand[i], &vo.manifest_len, why, sizeof why))) {
                    found = cand[i];
                    cand[i] = NULL;
                }
            }
            free(cand[0]);
            free(cand[1]);
            if (side) {
                prov_report_free(r);
                r = NULL;
                vo.manifest = side;
                side_path = found;
                rc = prov_verify_file(ctx, &vo, in->path, &r);
            }
        }
        int st0 = r ? prov_report_state(r) : PROV_STATE_ERROR;
        if (r && !side && c->registry && (st0 == PROV_STATE_UNSIGNED || st0 == PROV_STATE_ERROR) &&
            !audio_for_verify(in->path, &vo)) {
            /* sound with no manifest: looked up by its fingerprint */
            prov_report_free(r);
            r = NULL;
            rc = prov_verify_file(ctx, &vo, in->path, &r);
            free((void *)vo.audio_fingerprint);
            vo.audio_fingerprint = NULL;
        }
        const char *url = r && !side && in->fetch_remote && prov_report_state(r) == PROV_STATE_REMOTE
                              ? prov_report_remote_url(r) : NULL;
        if (url && (found = strdup(url))) { /* the manifest the file names, fetched */
            pbuf body;
            pbuf_init(&body);
            long status = 0;
            if (http_call("GET", found, NULL, 0, &status, &body, SIDECAR_MAX) == 0 && status == 200 && body.len) {
                size_t bl;
                side = pbuf_take(&body, &bl);
                prov_report_free(r);
                r = NULL;
                vo.manifest = side;
                vo.manifest_len = bl;
                side_path = found;
                rc = prov_verify_file(ctx, &vo, in->path, &r);
            } else if (status && status != 200) {
                err("%s: the remote manifest could not be fetched (HTTP %ld)", found, status);
            } else if (status == 200) {
                err("%s: the remote manifest is empty", found);
            }
            pbuf_free(&body);
        }
    } else {
        prov_stream s;
        prov_stream_mem(&s, in->buf, in->len);
        vo.size_hint = in->len;
        /* the soft-binding fingerprint decodes the picture too: not one
         * over the service's bound */
        uint32_t w = 0, h = 0;
        prov_ctx ictx = {{0}};
        if (c->detect_max_pixels && is_picture(in->buf, in->len) && !img_info(&ictx, in->buf, in->len, &w, &h) &&
            (uint64_t)w * h > c->detect_max_pixels)
            vo.match_distance = -1;
        rc = prov_verify(ctx, &vo, &s, &r);
        int st0 = r ? prov_report_state(r) : PROV_STATE_ERROR;
        char tmp[64];
        if (r && c->registry && (st0 == PROV_STATE_UNSIGNED || st0 == PROV_STATE_ERROR) && !is_picture(in->buf, in->len) &&
            !mem_tmpfile(in->buf, in->len, tmp)) {
            /* uploaded sound with no manifest: looked up by its fingerprint
             * (FFmpeg reads files: a private temporary copy) */
            int got = !audio_for_verify(tmp, &vo);
            unlink(tmp);
            if (got) {
                prov_report_free(r);
                r = NULL;
                prov_stream_mem(&s, in->buf, in->len);
                rc = prov_verify(ctx, &vo, &s, &r);
                free((void *)vo.audio_fingerprint);
                vo.audio_fingerprint = NULL;
            }
        }
    }
    if (!r) { /* out of memory before a report existed */
        snprintf(out->errmsg, sizeof out->errmsg, "%s", prov_strerror(rc));
        return EXIT_ERROR;
    }
    out->state = prov_report_state(r);
    if (out->state == PROV_STATE_ERROR) snprintf(out->errmsg, sizeof out->errmsg, "%s", prov_errmsg(ctx));
    size_t n = prov_report_json(r, name, NULL, 0);
    out->json = n ? malloc(n + 1) : NULL;
    if (!out->json || prov_report_json(r, name, out->json, n + 1) != n) {
        prov_report_free(r);
        free(out->json);
        out->json = NULL;
        return EXIT_ERROR;
    }
    out->json_len = n;
    if (side) { /* where the manifest came from */
        char *q = json_quote(side_path);
        char *j = q ? splice(out->json, &out->json_len, "manifest_source", q) : NULL;
        if (j) out->json = j;
        free(q);
    }
    free(side);
    free(found);
    side = NULL;
    if (in->thumbnails && out->state >= PROV_STATE_INVALID && out->state <= PROV_STATE_TRUSTED) {
        prov_stream s;
        FILE *f = NULL;
        if (in->path) {
            f = fopen(in->path, "rb");
            if (f) prov_stream_file(&s, f);
        } else {
            prov_stream_mem(&s, in->buf, in->len);
        }
        char *th = NULL;
        if ((f || !in->path) && prov_thumbnails_json(ctx, &s, 0, &th) == 0) {
            char *j = splice(out->json, &out->json_len, "thumbnails", th);
            if (j) out->json = j;
        }
        prov_free(th);
        if (f) fclose(f);
    }
    if (c->detect && (out->state == PROV_STATE_UNSIGNED || out->state == PROV_STATE_INVALID ||
                      out->state == PROV_STATE_REMOTE))
        add_detector(c, in, out);
    /* summary facts, from the JSON (what any later step added is in it) */
    const char *id = strstr(out->json, "\"identity\":{");
    const char *sg = strstr(out->json, "\"signer\":{"), *acts = strstr(out->json, "\"actions\":");
    const char *df = strstr(out->json, ",\"derived_from\":[");
    if (sg && acts && sg > acts) sg = NULL; /* an ingredient's signer, not this file's */
    if (df && sg > df) sg = NULL;           /* a fingerprint candidate's, not this file's */
    if (df && id > df) id = NULL;
    if (!vo_json_field(id, "name", out->signer, sizeof out->signer))
        vo_json_field(sg, "subject", out->signer, sizeof out->signer);
    vo_json_field(strstr(out->json, "\"detector\":{"), "verdict", out->verdict, sizeof out->verdict);
    out->exit_code = out->state == PROV_STATE_ERROR                                   ? EXIT_ERROR
                     : out->state == PROV_STATE_VALID || out->state == PROV_STATE_TRUSTED ? EXIT_OKAY
                                                                                        : EXIT_INVALID;
    if (in->keep_report) out->report = r;
    else prov_report_free(r);
    return 0;
}

void vo_result_free(vo_result *r)
{
    if (!r) return;
    free(r->json);
    prov_report_free(r->report);
    r->json = NULL;
    r->report = NULL;
}
