/* media.c - what a media file holds (container, duration, streams), read
 * with FFmpeg's libavformat for `prov inspect`.
 *
 * FFmpeg is opened with dlopen when inspect needs it: linked outright, its
 * hundred-odd libraries would load (and cost ~20 ms and ~20 MB) on every
 * run of every command.  The headers fix the ABI, so the library of the
 * same major version is loaded. */
#include "cli.h"

#include <dlfcn.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <stdlib.h>
#include <string.h>

#define SONAME(lib, major) "lib" lib ".so." AV_STRINGIFY(major)

static struct {
    int (*open_input)(AVFormatContext **, const char *, const AVInputFormat *, AVDictionary **);
    int (*find_stream_info)(AVFormatContext *, AVDictionary **);
    void (*close_input)(AVFormatContext **);
    int (*dict_set)(AVDictionary **, const char *, const char *, int);
    void (*dict_free)(AVDictionary **);
    void (*log_set_level)(int);
    const char *(*media_type_string)(enum AVMediaType);
    const char *(*codec_name)(enum AVCodecID);
} av;

static int load_ffmpeg(void)
{
    static int state; /* 0 untried, 1 loaded, -1 unavailable */
    if (state) return state > 0;
    state = -1;
    void *f = dlopen(SONAME("avformat", LIBAVFORMAT_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    void *c = dlopen(SONAME("avcodec", LIBAVCODEC_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    void *u = dlopen(SONAME("avutil", LIBAVUTIL_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!f || !c || !u) return 0;
    *(void **)&av.open_input = dlsym(f, "avformat_open_input");
    *(void **)&av.find_stream_info = dlsym(f, "avformat_find_stream_info");
    *(void **)&av.close_input = dlsym(f, "avformat_close_input");
    *(void **)&av.dict_set = dlsym(u, "av_dict_set");
    *(void **)&av.dict_free = dlsym(u, "av_dict_free");
    *(void **)&av.log_set_level = dlsym(u, "av_log_set_level");
    *(void **)&av.media_type_string = dlsym(u, "av_get_media_type_string");
    *(void **)&av.codec_name = dlsym(c, "avcodec_get_name");
    if (!av.open_input || !av.find_stream_info || !av.close_input || !av.dict_set || !av.dict_free ||
        !av.log_set_level || !av.media_type_string || !av.codec_name)
        return 0;
    state = 1;
    return 1;
}

static void put_str(char **b, size_t *n, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(*b ? *b + *n : NULL, *b ? *cap - *n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (*b && *n + (size_t)k < *cap) { *n += (size_t)k; return; }
        size_t nc = (*cap ? *cap * 2 : 512) + (size_t)k;
        char *p = realloc(*b, nc);
        if (!p) return;
        *b = p;
        *cap = nc;
    }
}

/* A JSON-safe copy of a short name from FFmpeg (codec and format names are
 * plain ASCII; anything else becomes '?'). */
static const char *safe(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++) out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
    out[i] = 0;
    return out;
}

char *media_json(const char *path)
{
    if (!load_ffmpeg()) return NULL;
    AVFormatContext *fc = NULL;
    av.log_set_level(AV_LOG_QUIET);
    AVDictionary *o = NULL;
    av.dict_set(&o, "probesize", "5000000", 0); /* bounded probing of hostile files */
    if (av.open_input(&fc, path, NULL, &o) < 0) {
        av.dict_free(&o);
        return NULL;
    }
    av.dict_free(&o);
    fc->max_analyze_duration = 5 * AV_TIME_BASE;
    if (av.find_stream_info(fc, NULL) < 0) {
        av.close_input(&fc);
        return NULL;
    }
    char *b = NULL, t[128], t2[128];
    size_t n = 0, cap = 0;
    put_str(&b, &n, &cap, "{\"container\":\"%s\"", safe(fc->iformat->name, t, sizeof t));
    if (fc->duration > 0) put_str(&b, &n, &cap, ",\"duration_s\":%.3f", fc->duration / (double)AV_TIME_BASE);
    if (fc->bit_rate > 0) put_str(&b, &n, &cap, ",\"bit_rate\":%lld", (long long)fc->bit_rate);
    put_str(&b, &n, &cap, ",\"streams\":[");
    for (unsigned i = 0; i < fc->nb_streams && i < 64; i++) {
        AVStream *st = fc->streams[i];
        AVCodecParameters *cp = st->codecpar;
        const char *type = av.media_type_string(cp->codec_type);
        put_str(&b, &n, &cap, "%s{\"type\":\"%s\",\"codec\":\"%s\"", i ? "," : "", safe(type ? type : "unknown", t, 32),
                safe(av.codec_name(cp->codec_id), t2, sizeof t2));
        if (cp->codec_type == AVMEDIA_TYPE_VIDEO) {
            put_str(&b, &n, &cap, ",\"width\":%d,\"height\":%d", cp->width, cp->height);
            if (st->avg_frame_rate.den && st->avg_frame_rate.num)
                put_str(&b, &n, &cap, ",\"fps\":%.3f", av_q2d(st->avg_frame_rate));
        } else if (cp->codec_type == AVMEDIA_TYPE_AUDIO) {
            put_str(&b, &n, &cap, ",\"sample_rate\":%d,\"channels\":%d", cp->sample_rate, cp->ch_layout.nb_channels);
        }
        put_str(&b, &n, &cap, "}");
    }
    put_str(&b, &n, &cap, "]}");
    av.close_input(&fc);
    return b;
}
