/* frames.c - sampled frames of a video for the detector, decoded with
 * FFmpeg (libavformat, libavcodec, libswscale) opened with dlopen, as
 * media.c does: linked outright they would load on every command.
 *
 * n frames are taken at the centres of n equal spans of the video's
 * duration: seek to the key frame before each time, decode up to the first
 * frame at or after it.  When the duration is unknown, the first n frames
 * are taken.  Frames are converted to RGB at their own size (never
 * resized).  Bounded: at most DETECT_MAX_FRAMES frames, frames of at most
 * DETECT_MAX_SIDE a side, a fixed number of packets read per frame, and
 * FFmpeg's probing capped. */
#include "cli.h"
#include "detect.h"
#include "ffmpeg.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PACKETS 20000 /* read per sampled frame before giving up */

typedef struct dec {
    AVFormatContext *fc;
    AVCodecContext *cc;
    AVPacket *pkt;
    AVFrame *fr, *last;
    struct SwsContext *sws;
    int sw, sh, sfmt; /* what sws was made for */
    int vs;
    uint8_t *rgb;
    size_t rgb_cap;
    char *err;
    size_t errlen;
} dec;

static int averr(dec *d, const char *what, int e)
{
    char b[128] = "";
    ff.strerror(e, b, sizeof b);
    snprintf(d->err, d->errlen, "%s: %s", what, b);
    return -1;
}

static int64_t frame_ts(const AVFrame *f)
{
    return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

/* Decode from the current position up to the first frame with a time at
 * or after target (any frame when target is AV_NOPTS_VALUE) into d->last.
 * 1: got one; 0: the stream ended with none; -1: error. */
static int decode_until(dec *d, int64_t target)
{
    int have = 0, eof = 0;
    for (long reads = 0; reads < MAX_PACKETS;) {
        int r;
        while ((r = ff.receive_frame(d->cc, d->fr)) == 0) {
            int64_t ts = frame_ts(d->fr);
            ff.frame_unref(d->last);
            ff.frame_move_ref(d->last, d->fr);
            have = 1;
            if (target == AV_NOPTS_VALUE || ts == AV_NOPTS_VALUE || ts >= target) return 1;
        }
        if (r == AVERROR_EOF) return have; /* the last frame before the end stands in */
        if (r != AVERROR(EAGAIN)) return averr(d, "decoding a frame", r);
        if (eof) return have;
        r = ff.read_frame(d->fc, d->pkt);
        reads++;
        if (r < 0) {
            eof = 1;
            ff.send_packet(d->cc, NULL); /* drain */
            continue;
        }
        if (d->pkt->stream_index == d->vs) {
            r = ff.send_packet(d->cc, d->pkt);
            if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_INVALIDDATA) {
                ff.packet_unref(d->pkt);
                return averr(d, "decoding a packet", r);
            }
        }
        ff.packet_unref(d->pkt);
    }
    if (have) return 1;
    snprintf(d->err, d->errlen, "no frame decoded within %d packets", MAX_PACKETS);
    return -1;
}

/* d->last as 8-bit RGB at its own size, into d->rgb. */
static int to_rgb(dec *d)
{
    AVFrame *f = d->last;
    if (f->width < 2 || f->height < 2 || f->width > DETECT_MAX_SIDE || f->height > DETECT_MAX_SIDE) {
        snprintf(d->err, d->errlen, "a %dx%d frame (at most %dx%d)", f->width, f->height,
                 DETECT_MAX_SIDE, DETECT_MAX_SIDE);
        return -1;
    }
    if (!d->sws || d->sw != f->width || d->sh != f->height || d->sfmt != f->format) {
        if (d->sws) ff.sws_free(d->sws);
        /* same size: no scaling, only the colour conversion, chroma
         * upsampled accurately */
        d->sws = ff.sws_get(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGB24,
                            SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
        if (!d->sws) {
            snprintf(d->err, d->errlen, "cannot convert frames of pixel format %d to RGB", f->format);
            return -1;
        }
        d->sw = f->width;
        d->sh = f->height;
        d->sfmt = f->format;
    }
    size_t need = (size_t)f->width * f->height * 3;
    if (need > d->rgb_cap) {
        uint8_t *p = realloc(d->rgb, need);
        if (!p) {
            snprintf(d->err, d->errlen, "out of memory");
            return -1;
        }
        d->rgb = p;
        d->rgb_cap = need;
    }
    uint8_t *dst[4] = {d->rgb, NULL, NULL, NULL};
    int ls[4] = {f->width * 3, 0, 0, 0};
    if (ff.sws_scale(d->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, ls) !=
        f->height) {
        snprintf(d->err, d->errlen, "colour conversion failed");
        return -1;
    }
    return 0;
}

int video_frames(const char *path, unsigned n, frame_cb cb, void *user, double *duration_s,
                 char *err, size_t errlen)
{
    *duration_s = 0;
    if (!ffmpeg_load()) {
        snprintf(err, errlen, "FFmpeg (libavformat, libavcodec, libswscale) is not installed");
        return -1;
    }
    if (n < 1) n = 1;
    if (n > DETECT_MAX_FRAMES) n = DETECT_MAX_FRAMES;
    dec d = {0};
    d.err = err;
    d.errlen = errlen;
    int rc = -1;
    ff.log_set_level(AV_LOG_QUIET);
    AVDictionary *o = NULL;
    ff.dict_set(&o, "probesize", "5000000", 0); /* bounded probing of hostile files */
    int r = ff.open_input(&d.fc, path, NULL, &o);
    ff.dict_free(&o);
    if (r < 0) {
        averr(&d, "not an image or a video FFmpeg can read", r);
        return -1;
    }
    d.fc->max_analyze_duration = 5 * AV_TIME_BASE;
    if ((r = ff.find_stream_info(d.fc, NULL)) < 0) {
        averr(&d, "reading the streams", r);
        goto out;
    }
    const AVCodec *codec = NULL;
    d.vs = ff.find_best_stream(d.fc, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (d.vs < 0 || !codec) {
        if (d.vs < 0 && ff.find_best_stream(d.fc, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0)
            snprintf(err, errlen, "audio: the detector judges pictures and video, not sound (no finding)");
        else
            snprintf(err, errlen, d.vs < 0 ? "no video stream" : "no decoder for its video stream");
        goto out;
    }
    AVStream *st = d.fc->streams[d.vs];
    AVCodecParameters *par = st->codecpar;
    if (par->width > DETECT_MAX_SIDE || par->height > DETECT_MAX_SIDE) {
        snprintf(err, errlen, "video is %dx%d (at most %dx%d)", par->width, par->height,
                 DETECT_MAX_SIDE, DETECT_MAX_SIDE);
        goto out;
    }
    if (!(d.cc = ff.alloc_context3(codec)) || !(d.pkt = ff.packet_alloc()) ||
        !(d.fr = ff.frame_alloc()) || !(d.last = ff.frame_alloc())) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if ((r = ff.parameters_to_context(d.cc, par)) < 0 || (r = ff.open2(d.cc, codec, NULL)) < 0) {
        averr(&d, "opening the decoder", r);
        goto out;
    }
    double tb = st->time_base.num > 0 && st->time_base.den > 0 ? av_q2d(st->time_base) : 0;
    double fps = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? av_q2d(st->avg_frame_rate)
                 : st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0 ? av_q2d(st->r_frame_rate)
                                                                        : 0;
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    int64_t dur = st->duration > 0 ? st->duration : 0;
    if (!dur && d.fc->duration > 0 && tb > 0) dur = (int64_t)(d.fc->duration / (double)AV_TIME_BASE / tb);
    if (dur > 0 && tb > 0) *duration_s = dur * tb;
    int seek = dur > 0 && tb > 0;
    int64_t prev = AV_NOPTS_VALUE;
    unsigned got = 0;
    for (unsigned i = 0; i < n; i++) {
        int64_t target = AV_NOPTS_VALUE;
        if (seek) {
            target = start + (int64_t)((double)dur * (2.0 * i + 1) / (2.0 * n));
            /* a failed seek leaves the position where it was: decoding
             * on from there still reaches the target */
            if (ff.seek_frame(d.fc, d.vs, target, AVSEEK_FLAG_BACKWARD) >= 0) ff.flush_buffers(d.cc);
        }
        r = decode_until(&d, target);
        if (r < 0) goto out;
        if (r == 0) break; /* the stream ended */
        int64_t ts = frame_ts(d.last);
        if (ts != AV_NOPTS_VALUE && ts == prev) continue; /* a short video: the same frame again */
        prev = ts;
        double t = ts != AV_NOPTS_VALUE && tb > 0 ? (ts - start) * tb : (fps > 0 ? got / fps : 0);
        if (t < 0) t = 0;
        uint32_t index = fps > 0 ? (uint32_t)(t * fps + 0.5) : got;
        if (to_rgb(&d)) goto out;
        if (cb(user, d.rgb, (uint32_t)d.last->width, (uint32_t)d.last->height,
               (size_t)d.last->width * 3, index, t))
            goto out; /* the callback set err */
        got++;
    }
    if (!got) {
        snprintf(err, errlen, "no frame could be decoded");
        goto out;
    }
    rc = 0;
out:
    if (d.sws) ff.sws_free(d.sws);
    free(d.rgb);
    ff.frame_free(&d.fr);
    ff.frame_free(&d.last);
    ff.packet_free(&d.pkt);
    ff.free_context(&d.cc);
    ff.close_input(&d.fc);
    return rc;
}
