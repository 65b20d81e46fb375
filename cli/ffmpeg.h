/* ffmpeg.h - FFmpeg for the prov command (video frames for the detector,
 * audio for fingerprints), opened with dlopen: linked outright its
 * libraries would load on every command. */
#ifndef PROV_CLI_FFMPEG_H
#define PROV_CLI_FFMPEG_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

typedef struct ffmpeg_api {
    int (*open_input)(AVFormatContext **, const char *, const AVInputFormat *, AVDictionary **);
    int (*find_stream_info)(AVFormatContext *, AVDictionary **);
    void (*close_input)(AVFormatContext **);
    int (*find_best_stream)(AVFormatContext *, enum AVMediaType, int, int, const AVCodec **, int);
    int (*seek_frame)(AVFormatContext *, int, int64_t, int);
    int (*read_frame)(AVFormatContext *, AVPacket *);
    AVPacket *(*packet_alloc)(void);
    void (*packet_free)(AVPacket **);
    void (*packet_unref)(AVPacket *);
    const AVCodec *(*find_decoder)(enum AVCodecID);
    AVCodecContext *(*alloc_context3)(const AVCodec *);
    int (*parameters_to_context)(AVCodecContext *, const AVCodecParameters *);
    int (*open2)(AVCodecContext *, const AVCodec *, AVDictionary **);
    int (*send_packet)(AVCodecContext *, const AVPacket *);
    int (*receive_frame)(AVCodecContext *, AVFrame *);
    void (*flush_buffers)(AVCodecContext *);
    void (*free_context)(AVCodecContext **);
    AVFrame *(*frame_alloc)(void);
    void (*frame_free)(AVFrame **);
    void (*frame_unref)(AVFrame *);
    void (*frame_move_ref)(AVFrame *, AVFrame *);
    void (*log_set_level)(int);
    int (*dict_set)(AVDictionary **, const char *, const char *, int);
    void (*dict_free)(AVDictionary **);
    int (*strerror)(int, char *, size_t);
    struct SwsContext *(*sws_get)(int, int, enum AVPixelFormat, int, int, enum AVPixelFormat, int,
                                  SwsFilter *, SwsFilter *, const double *);
    int (*sws_scale)(struct SwsContext *, const uint8_t *const[], const int[], int, int,
                     uint8_t *const[], const int[]);
    void (*sws_free)(struct SwsContext *);
    /* libswresample (ffmpeg_load_audio) */
    int (*swr_alloc_set_opts2)(struct SwrContext **, const AVChannelLayout *, enum AVSampleFormat, int,
                               const AVChannelLayout *, enum AVSampleFormat, int, int, void *);
    int (*swr_init)(struct SwrContext *);
    int (*swr_convert)(struct SwrContext *, uint8_t **, int, const uint8_t **, int);
    void (*swr_free)(struct SwrContext **);
} ffmpeg_api;


extern ffmpeg_api ff;

/* 1 when libavformat, libavcodec, libavutil and libswscale are loaded
 * (once); 0 when they are not installed. */
int ffmpeg_load(void);
/* The same, with libswresample too. */
int ffmpeg_load_audio(void);

#endif
