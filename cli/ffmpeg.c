/* ffmpeg.c - FFmpeg's libraries opened with dlopen, their functions in
 * one table (ffmpeg.h).  The sonames are the majors of the headers built
 * against, so a mismatched install is "not installed", never a crash. */
#include "ffmpeg.h"

#include <dlfcn.h>
#include <pthread.h>

ffmpeg_api ff;

#define SONAME(lib, major) "lib" lib ".so." AV_STRINGIFY(major)

#define SYM(h, field, name)                                                                        \
    do {                                                                                           \
        *(void **)&ff.field = dlsym(h, name);                                                      \
        if (!ff.field) return 0;                                                                   \
    } while (0)

static int state_av, state_audio; /* 1 loaded, -1 unavailable */

static int load_av(void)
{
    void *f = dlopen(SONAME("avformat", LIBAVFORMAT_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    void *c = dlopen(SONAME("avcodec", LIBAVCODEC_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    void *u = dlopen(SONAME("avutil", LIBAVUTIL_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    void *s = dlopen(SONAME("swscale", LIBSWSCALE_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!f || !c || !u || !s) return 0;
    SYM(f, open_input, "avformat_open_input");
    SYM(f, find_stream_info, "avformat_find_stream_info");
    SYM(f, close_input, "avformat_close_input");
    SYM(f, find_best_stream, "av_find_best_stream");
    SYM(f, seek_frame, "av_seek_frame");
    SYM(f, read_frame, "av_read_frame");
    SYM(c, packet_alloc, "av_packet_alloc");
    SYM(c, packet_free, "av_packet_free");
    SYM(c, packet_unref, "av_packet_unref");
    SYM(c, find_decoder, "avcodec_find_decoder");
    SYM(c, alloc_context3, "avcodec_alloc_context3");
    SYM(c, parameters_to_context, "avcodec_parameters_to_context");
    SYM(c, open2, "avcodec_open2");
    SYM(c, send_packet, "avcodec_send_packet");
    SYM(c, receive_frame, "avcodec_receive_frame");
    SYM(c, flush_buffers, "avcodec_flush_buffers");
    SYM(c, free_context, "avcodec_free_context");
    SYM(u, frame_alloc, "av_frame_alloc");
    SYM(u, frame_free, "av_frame_free");
    SYM(u, frame_unref, "av_frame_unref");
    SYM(u, frame_move_ref, "av_frame_move_ref");
    SYM(u, log_set_level, "av_log_set_level");
    SYM(u, dict_set, "av_dict_set");
    SYM(u, dict_free, "av_dict_free");
    SYM(u, strerror, "av_strerror");
    SYM(s, sws_get, "sws_getContext");
    SYM(s, sws_scale, "sws_scale");
    SYM(s, sws_free, "sws_freeContext");
    return 1;
}

static int load_audio(void)
{
    if (!ffmpeg_load()) return 0;
    void *r = dlopen(SONAME("swresample", LIBSWRESAMPLE_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!r) return 0;
    SYM(r, swr_alloc_set_opts2, "swr_alloc_set_opts2");
    SYM(r, swr_init, "swr_init");
    SYM(r, swr_convert, "swr_convert");
    SYM(r, swr_free, "swr_free");
    return 1;
}

/* once per process, whichever thread asks first (prov sign -j) */
static void once_av(void) { state_av = load_av() ? 1 : -1; }
static void once_audio(void) { state_audio = load_audio() ? 1 : -1; }

int ffmpeg_load(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, once_av);
    return state_av > 0;
}

int ffmpeg_load_audio(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, once_audio);
    return state_audio > 0;
}
