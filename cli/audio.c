/* audio.c - the fingerprint of a file's sound (prov.chroma.1): FFmpeg
 * decodes the best audio stream, channels are averaged to mono here, and
 * libswresample brings it to PROV_AFP_RATE.  Bounded: sound past the
 * fingerprint's length is not decoded, a fixed number of packets is read,
 * sample rates and channel counts outside sane ranges are refused. */
#include "audio.h"
#include "ffmpeg.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKETS (1L << 24)
#define MAX_CHANNELS 64
#define MAX_RATE 768000

typedef struct actx {
    AVFormatContext *fc;
    AVCodecContext *cc;
    AVPacket *pkt;
    AVFrame *fr;
    struct SwrContext *swr;
    int swr_rate;
    float *mono, *out;
    size_t mono_cap, out_cap;
    prov_afp *afp;
    uint64_t fed, want;
    char *why;
    size_t cap;
} actx;

static int averr(actx *a, const char *what, int e)
{
    char b[128] = "";
    ff.strerror(e, b, sizeof b);
    snprintf(a->why, a->cap, "%s: %s", what, b);
    return -1;
}

static int grow(float **p, size_t *cap, size_t n)
{
    if (n <= *cap) return 0;
    float *q = realloc(*p, n * sizeof *q);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* One channel's sample i of a frame, as a float in -1..1. */
static float sample(const AVFrame *f, int fmt, int planar, int ch, int nch, int i)
{
    const uint8_t *base = planar ? f->extended_data[ch] : f->extended_data[0];
    size_t k = planar ? (size_t)i : (size_t)i * (size_t)nch + (size_t)ch;
    switch (fmt) {
    case AV_SAMPLE_FMT_U8: return ((float)base[k] - 128.0f) / 128.0f;
    case AV_SAMPLE_FMT_S16: return (float)((const int16_t *)base)[k] / 32768.0f;
    case AV_SAMPLE_FMT_S32: return (float)((const int32_t *)base)[k] / 2147483648.0f;
    case AV_SAMPLE_FMT_FLT: return ((const float *)base)[k];
    case AV_SAMPLE_FMT_DBL: return (float)((const double *)base)[k];
    default: return 0;
    }
}

/* A decoded frame: to mono, resampled, into the fingerprint. */
static int take(actx *a)
{
    AVFrame *f = a->fr;
    int nch = f->ch_layout.nb_channels, n = f->nb_samples, rate = f->sample_rate;
    if (nch < 1 || nch > MAX_CHANNELS || rate < 1000 || rate > MAX_RATE || n < 0) {
        snprintf(a->why, a->cap, "audio of %d channels at %d Hz (1..%d channels, 1000..%d Hz)", nch, rate,
                 MAX_CHANNELS, MAX_RATE);
        return -1;
    }
    int fmt = f->format, planar = 1;
    switch (fmt) { /* libavutil's tables are not linked: the planar ones by name */
    case AV_SAMPLE_FMT_U8P: fmt = AV_SAMPLE_FMT_U8; break;
    case AV_SAMPLE_FMT_S16P: fmt = AV_SAMPLE_FMT_S16; break;
    case AV_SAMPLE_FMT_S32P: fmt = AV_SAMPLE_FMT_S32; break;
    case AV_SAMPLE_FMT_FLTP: fmt = AV_SAMPLE_FMT_FLT; break;
    case AV_SAMPLE_FMT_DBLP: fmt = AV_SAMPLE_FMT_DBL; break;
    default: planar = 0;
    }
    if (fmt != AV_SAMPLE_FMT_U8 && fmt != AV_SAMPLE_FMT_S16 && fmt != AV_SAMPLE_FMT_S32 &&
        fmt != AV_SAMPLE_FMT_FLT && fmt != AV_SAMPLE_FMT_DBL) {
        snprintf(a->why, a->cap, "audio sample format %d is not supported", f->format);
        return -1;
    }
    if (!a->swr || a->swr_rate != rate) {
        if (a->swr) ff.swr_free(&a->swr);
        AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
        if (ff.swr_alloc_set_opts2(&a->swr, &mono, AV_SAMPLE_FMT_FLT, PROV_AFP_RATE, &mono, AV_SAMPLE_FMT_FLT, rate,
                                   0, NULL) < 0 ||
            ff.swr_init(a->swr) < 0) {
            snprintf(a->why, a->cap, "cannot resample audio from %d Hz", rate);
            return -1;
        }
        a->swr_rate = rate;
    }
    if (grow(&a->mono, &a->mono_cap, (size_t)n + 1)) goto oom;
    for (int i = 0; i < n; i++) {
        float s = 0;
        for (int c = 0; c < nch; c++) s += sample(f, fmt, planar, c, nch, i);
        a->mono[i] = s / (float)nch;
    }
    int room = (int)((int64_t)n * PROV_AFP_RATE / rate) + 256;
    if (grow(&a->out, &a->out_cap, (size_t)room)) goto oom;
    const uint8_t *in[1] = {(const uint8_t *)a->mono};
    uint8_t *out[1] = {(uint8_t *)a->out};
    int got = ff.swr_convert(a->swr, out, room, n ? in : NULL, n);
    if (got < 0) return averr(a, "resampling", got);
    a->fed += (uint64_t)got;
    return prov_afp_feed(a->afp, a->out, (size_t)got) ? (snprintf(a->why, a->cap, "out of memory"), -1) : 0;
oom:
    snprintf(a->why, a->cap, "out of memory");
    return -1;
}

int audio_fingerprint(const char *path, int audio_only, uint32_t **words, size_t *n, char *why, size_t cap)
{
    *words = NULL;
    *n = 0;
    if (!ffmpeg_load_audio()) {
        snprintf(why, cap, "FFmpeg (libavformat, libavcodec, libswresample) is not installed");
        return -1;
    }
    actx a = {0};
    a.why = why;
    a.cap = cap;
    /* enough for every word, then no more is decoded */
    a.want = (uint64_t)(PROV_AFP_MAX_WORDS + 16) * 1365 + 4096;
    int rc = -1;
    ff.log_set_level(AV_LOG_QUIET);
    AVDictionary *o = NULL;
    ff.dict_set(&o, "probesize", "5000000", 0); /* bounded probing of hostile files */
    int r = ff.open_input(&a.fc, path, NULL, &o);
    ff.dict_free(&o);
    if (r < 0) return averr(&a, "not a file FFmpeg can read", r);
    a.fc->max_analyze_duration = 5 * AV_TIME_BASE;
    if ((r = ff.find_stream_info(a.fc, NULL)) < 0) {
        averr(&a, "reading the streams", r);
        goto out;
    }
    if (audio_only && ff.find_best_stream(a.fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0) >= 0) {
        snprintf(why, cap, "it has a video stream");
        rc = 0;
        goto out;
    }
    const AVCodec *codec = NULL;
    int as = ff.find_best_stream(a.fc, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (as < 0 || !codec) {
        snprintf(why, cap, as < 0 ? "no audio stream" : "no decoder for its audio stream");
        rc = as < 0 ? 0 : -1;
        goto out;
    }
    if (!(a.cc = ff.alloc_context3(codec)) || !(a.pkt = ff.packet_alloc()) || !(a.fr = ff.frame_alloc()) ||
        prov_afp_new(NULL, &a.afp)) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    if ((r = ff.parameters_to_context(a.cc, a.fc->streams[as]->codecpar)) < 0 ||
        (r = ff.open2(a.cc, codec, NULL)) < 0) {
        averr(&a, "opening the audio decoder", r);
        goto out;
    }
    int eof = 0;
    for (long reads = 0; a.fed < a.want;) {
        while ((r = ff.receive_frame(a.cc, a.fr)) == 0) {
            int t = take(&a);
            ff.frame_unref(a.fr);
            if (t) goto out;
        }
        if (r == AVERROR_EOF) break;
        if (r != AVERROR(EAGAIN)) {
            averr(&a, "decoding audio", r);
            goto out;
        }
        if (eof) break;
        if (++reads > MAX_PACKETS) {
            snprintf(why, cap, "over %ld packets", MAX_PACKETS);
            goto out;
        }
        r = ff.read_frame(a.fc, a.pkt);
        if (r < 0) {
            eof = 1;
            ff.send_packet(a.cc, NULL); /* drain */
            continue;
        }
        if (a.pkt->stream_index == as) {
            r = ff.send_packet(a.cc, a.pkt);
            if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_INVALIDDATA) {
                ff.packet_unref(a.pkt);
                averr(&a, "decoding an audio packet", r);
                goto out;
            }
        }
        ff.packet_unref(a.pkt);
    }
    if (a.swr) { /* what the resampler still holds */
        int room = 4096;
        if (grow(&a.out, &a.out_cap, (size_t)room)) goto out;
        uint8_t *out1[1] = {(uint8_t *)a.out};
        int got = ff.swr_convert(a.swr, out1, room, NULL, 0);
        if (got > 0 && prov_afp_feed(a.afp, a.out, (size_t)got)) goto out;
    }
    const uint32_t *w;
    size_t nw;
    if (prov_afp_finish(a.afp, &w, &nw)) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    if (nw) {
        *words = malloc(nw * sizeof **words);
        if (!*words) {
            snprintf(why, cap, "out of memory");
            goto out;
        }
        memcpy(*words, w, nw * sizeof **words);
    }
    *n = nw;
    rc = 1;
out:
    prov_afp_free(a.afp);
    if (a.swr) ff.swr_free(&a.swr);
    free(a.mono);
    free(a.out);
    ff.frame_free(&a.fr);
    ff.packet_free(&a.pkt);
    ff.free_context(&a.cc);
    ff.close_input(&a.fc);
    return rc;
}

/* Pictures (and stores alone) are fingerprinted by the library, or not at
 * all: FFmpeg is not asked about them. */
static int not_sound(const char *path)
{
    uint8_t h[12] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    size_t k = fread(h, 1, sizeof h, f);
    fclose(f);
    if (k < 12) return 1;
    /* HEIF and AVIF pictures are BMFF too */
    static const char *const still[] = {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"};
    if (!memcmp(h + 4, "ftyp", 4))
        for (size_t i = 0; i < sizeof still / sizeof still[0]; i++)
            if (!memcmp(h + 8, still[i], 4)) return 1;
    return (h[0] == 0xFF && h[1] == 0xD8) || !memcmp(h, "\x89PNG", 4) || !memcmp(h, "GIF8", 4) ||
           (!memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WEBP", 4)) || !memcmp(h, "II*\0", 4) ||
           !memcmp(h, "MM\0*", 4) || !memcmp(h, "II+\0", 4) || !memcmp(h, "MM\0+", 4) || !memcmp(h + 4, "jumb", 4);
}

int audio_for_sign(const char *in, prov_sign_opts *so, uint32_t **hold)
{
    *hold = NULL;
    if ((so->no_soft_binding && !so->publish) || not_sound(in)) return 0;
    char why[600];
    size_t n = 0;
    int r = audio_fingerprint(in, 1, hold, &n, why, sizeof why);
    if (r == 1 && n) {
        so->audio_fingerprint = *hold;
        so->audio_fingerprint_len = n;
        return 0;
    }
    free(*hold);
    *hold = NULL;
    if (r == 0) return 0; /* video, or no sound: nothing to fingerprint */
    if (r == 1) {
        if (!so->publish) return 0; /* under 2 s: too short to fingerprint, not an error */
        snprintf(why, sizeof why, "under 2 s of sound");
    }
    if (so->publish) return err("%s: cannot publish without a fingerprint: %s", in, why);
    fprintf(stderr, "prov: %s: signed without an audio fingerprint: %s\n", in, why);
    return 0;
}

int audio_for_verify(const char *path, prov_verify_opts *vo)
{
    if (not_sound(path)) return -1;
    char why[600];
    uint32_t *w = NULL;
    size_t n = 0;
    if (audio_fingerprint(path, 1, &w, &n, why, sizeof why) != 1 || !n) {
        free(w);
        return -1;
    }
    vo->audio_fingerprint = w;
    vo->audio_fingerprint_len = n;
    return 0;
}
