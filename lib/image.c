/* image.c - bounded JPEG/PNG decoding, box downscaling and JPEG encoding
 * (libjpeg-turbo, libpng), for claim thumbnails.
 *
 * Both libraries report errors by calling back into us; we longjmp from
 * the callback to a setjmp in a small *_run function.  Everything those
 * functions allocate hangs off a struct owned by their caller, which frees
 * it whichever way *_run returned (why: locals of a function that calls
 * setjmp are indeterminate after the longjmp unless volatile). */
#include "image.h"

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which needs FILE and size_t */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#define SRC_BUF (64u << 10)        /* stream read size */
#define JPEG_MAX_SCANS 100         /* real progressive files use ~10 */
#define JPEG_MAX_MEM (512ul << 20) /* libjpeg's whole-image buffers */
#define PNG_MAX_CHUNK (8u << 20)   /* ancillary chunk bytes libpng may hold */

/* ---- input: a memory buffer, or a stream read SRC_BUF at a time ---- */

typedef struct isrc {
    prov_stream *s;   /* NULL: memory only */
    const uint8_t *p; /* unread bytes p[0..n) */
    size_t n;
    uint8_t *buf;     /* stream buffer, SRC_BUF bytes */
    int eof, err;     /* err: PROV_EIO once a read failed */
} isrc;

/* Read into buf until it holds want bytes (at the start only, to sniff). */
static void src_peek(isrc *in, size_t want)
{
    while (in->s && in->n < want && !in->eof && !in->err) {
        long k = in->s->read(in->s->user, in->buf + in->n, SRC_BUF - in->n);
        if (k < 0 || (size_t)k > SRC_BUF - in->n) in->err = PROV_EIO;
        else if (k == 0) in->eof = 1;
        else in->n += (size_t)k;
    }
}

/* Unread bytes, reading more when none are left; 0 at end or on error. */
static size_t src_more(isrc *in)
{
    if (in->n || !in->s || in->eof || in->err) return in->n;
    long k = in->s->read(in->s->user, in->buf, SRC_BUF);
    if (k < 0 || (size_t)k > SRC_BUF) in->err = PROV_EIO;
    else if (k == 0) in->eof = 1;
    in->p = in->buf;
    in->n = in->err ? 0 : (size_t)k;
    return in->n;
}

/* w*h*bpp bytes, or 0 when the image is empty or the product overflows. */
static size_t img_bytes(uint32_t w, uint32_t h, size_t bpp)
{
    if (!w || !h || (uint64_t)w * h > SIZE_MAX / bpp) return 0;
    return (size_t)w * h * bpp;
}

static int check_dims(prov_ctx *ctx, const char *fmt, uint32_t w, uint32_t h)
{
    if (!w || !h) return prov_seterr(ctx, PROV_EFORMAT, "%s: empty image", fmt);
    if (w > PROV_IMG_MAX_SIDE || h > PROV_IMG_MAX_SIDE ||
        (uint64_t)w * h > PROV_IMG_MAX_PIXELS)
        return prov_seterr(ctx, PROV_ELIMIT,
                           "%s: %ux%u image exceeds the decode limit (%u per side, "
                           "%u pixels)",
                           fmt, w, h, (unsigned)PROV_IMG_MAX_SIDE, PROV_IMG_MAX_PIXELS);
    return 0;
}

/* ---- libjpeg glue shared by decoder and encoder ---- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int code; /* a PROV_E* chosen before the jump, else 0 */
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void j_error_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void j_output_message(j_common_ptr c) { (void)c; } /* never to stderr */

static void j_init(j_common_ptr c, jerr *e)
{
    c->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = j_error_exit;
    e->pub.output_message = j_output_message;
}

/* ---- JPEG decoding ---- */

typedef struct jdec {
    struct jpeg_decompress_struct ci;
    jerr err;
    struct jpeg_source_mgr src;
    struct jpeg_progress_mgr prog;
    isrc *in;
    int created, eof;
    uint8_t *row; /* one CMYK row */
    prov_img img;
} jdec;

static void js_init(j_decompress_ptr c) { (void)c; }
static void js_term(j_decompress_ptr c) { (void)c; }

static boolean js_fill(j_decompress_ptr c)
{
    static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
    jdec *d = c->client_data;
    if (!src_more(d->in)) {
        if (d->in->err) ERREXIT(c, JERR_FILE_READ);
        /* Out of data: a fake EOI, as libjpeg's own sources do, so a
         * truncated file decodes in part instead of failing. */
        WARNMS(c, JWRN_JPEG_EOF);
        d->eof = 1;
        d->src.next_input_byte = eoi;
        d->src.bytes_in_buffer = 2;
        return TRUE;
    }
    /* Hand libjpeg the whole chunk; it asks again only once it used it. */
    d->src.next_input_byte = d->in->p;
    d->src.bytes_in_buffer = d->in->n;
    d->in->n = 0;
    return TRUE;
}

static void js_skip(j_decompress_ptr c, long k)
{
    jdec *d = c->client_data;
    if (k <= 0) return;
    while ((size_t)k > d->src.bytes_in_buffer) {
        k -= (long)d->src.bytes_in_buffer;
        d->src.bytes_in_buffer = 0;
        js_fill(c);
        if (d->eof) return; /* leave the fake EOI to be read */
    }
    d->src.next_input_byte += k;
    d->src.bytes_in_buffer -= (size_t)k;
}

/* Called by libjpeg while it reads a multi-scan file; libjpeg-turbo 2.1
 * has no scan limit of its own, and each scan of a progressive file costs
 * a pass over every coefficient, so a small file of many tiny scans would
 * otherwise take minutes. */
static void j_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jerr *e = (jerr *)c->err;
        e->code = PROV_ELIMIT;
        snprintf(e->msg, sizeof e->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

/* Inverted (Adobe) or plain CMYK to RGB, without a colour profile. */
static void cmyk_to_rgb(uint8_t *dst, const uint8_t *src, uint32_t w, int inverted)
{
    for (uint32_t x = 0; x < w; x++, src += 4, dst += 3) {
        unsigned k = inverted ? src[3] : 255u - src[3];
        for (int i = 0; i < 3; i++) {
            unsigned v = inverted ? src[i] : 255u - src[i];
            dst[i] = (uint8_t)((v * k + 127) / 255);
        }
    }
}

static int jpeg_run(prov_ctx *ctx, jdec *d, uint32_t min_side, int header_only)
{
    j_decompress_ptr c = &d->ci;
    if (setjmp(d->err.jb)) {
        if (d->in->err) return prov_seterr(ctx, PROV_EIO, "JPEG: read error");
        int code = d->err.code;
        if (!code) {
            switch (d->err.pub.msg_code) {
            case JERR_OUT_OF_MEMORY: code = PROV_ENOMEM; break;
            case JERR_NO_BACKING_STORE: /* needs more than JPEG_MAX_MEM */
                snprintf(d->err.msg, sizeof d->err.msg, "needs more than %lu MB",
                         JPEG_MAX_MEM >> 20);
                /* fall through */
            case JERR_IMAGE_TOO_BIG:
            case JERR_WIDTH_OVERFLOW: code = PROV_ELIMIT; break;
            case JERR_BAD_PRECISION: /* 12-bit, lossless, ... */
            case JERR_NOT_COMPILED:
            case JERR_NOTIMPL:
            case JERR_CONVERSION_NOTIMPL:
            case JERR_FRACT_SAMPLE_NOTIMPL: code = PROV_EUNSUPPORTED; break;
            default: code = PROV_EFORMAT;
            }
        }
        return prov_seterr(ctx, code, "JPEG: %s", d->err.msg);
    }
    j_init((j_common_ptr)c, &d->err);
    jpeg_create_decompress(c);
    d->created = 1;
    c->client_data = d;
    c->mem->max_memory_to_use = JPEG_MAX_MEM;
    d->src.init_source = js_init;
    d->src.fill_input_buffer = js_fill;
    d->src.skip_input_data = js_skip;
    d->src.resync_to_restart = jpeg_resync_to_restart;
    d->src.term_source = js_term;
    c->src = &d->src;
    d->prog.progress_monitor = j_progress;
    c->progress = &d->prog;

    jpeg_read_header(c, TRUE);
    int rc = check_dims(ctx, "JPEG", c->image_width, c->image_height);
    if (rc || header_only) {
        d->img.w = c->image_width;
        d->img.h = c->image_height;
        return rc;
    }
    int cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
    c->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    if (min_side) {
        int shorter = (min_side & IMG_SHORT_SIDE) != 0;
        uint32_t want = min_side & ~IMG_SHORT_SIDE;
        uint32_t side = (c->image_width > c->image_height) != shorter ? c->image_width : c->image_height;
        for (unsigned s = 8; s >= 2; s /= 2)
            if ((side + s - 1) / s >= want) {
                c->scale_num = 1;
                c->scale_denom = s;
                break;
            }
    }
    jpeg_calc_output_dimensions(c);
    uint32_t w = c->output_width, h = c->output_height;
    size_t size = img_bytes(w, h, 3);
    if (!size || c->output_components != (cmyk ? 4 : 3))
        return prov_seterr(ctx, PROV_EFORMAT, "JPEG: unexpected output geometry");
    /* Start first: for a multi-scan file this reads every scan into
     * libjpeg's coefficient buffers, which JPEG_MAX_MEM bounds, before we
     * allocate the output. */
    jpeg_start_decompress(c);
    d->img.rgb = malloc(size);
    if (cmyk) d->row = malloc((size_t)w * 4);
    if (!d->img.rgb || (cmyk && !d->row)) return prov_seterr(ctx, PROV_ENOMEM, "JPEG: out of memory");
    d->img.w = w;
    d->img.h = h;
    /* A truncated single-scan file: libjpeg decodes the rest as mid-gray,
     * at full cost, and a few hundred bytes may claim 200M pixels.  Once
     * the data has run out, decode two more iMCU rows (libjpeg's unit,
     * read one ahead for context), then fill the rest directly.  (A
     * multi-scan file was read whole by jpeg_start_decompress.) */
    uint64_t imcu = (uint64_t)c->max_v_samp_factor * (uint64_t)c->min_DCT_scaled_size;
    uint64_t stop = jpeg_has_multiple_scans(c) || !imcu ? UINT64_MAX : 0;
    while (c->output_scanline < h) {
        size_t done = (size_t)c->output_scanline * w * 3;
        if (d->eof && !stop) stop = (c->output_scanline / imcu + 2) * imcu;
        if (stop && c->output_scanline >= stop) {
            memset(d->img.rgb + done, 128, size - done);
            break;
        }
        uint8_t *dst = d->img.rgb + done;
        JSAMPROW row = cmyk ? d->row : dst;
        if (jpeg_read_scanlines(c, &row, 1) != 1) /* our source never suspends */
            return prov_seterr(ctx, PROV_EFORMAT, "JPEG: decoder stalled");
        if (cmyk) cmyk_to_rgb(dst, d->row, w, c->saw_Adobe_marker);
    }
    /* No jpeg_finish_decompress: nothing after the image is needed. */
    return 0;
}

static int jpeg_decode(prov_ctx *ctx, isrc *in, uint32_t min_side, int header_only,
                       prov_img *out)
{
    jdec *d = calloc(1, sizeof *d);
    if (!d) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    d->in = in;
    int rc = jpeg_run(ctx, d, min_side, header_only);
    if (d->created) jpeg_destroy_decompress(&d->ci);
    free(d->row);
    if (rc) free(d->img.rgb);
    else *out = d->img;
    free(d);
    return rc;
}

/* ---- PNG decoding ---- */

typedef struct pdec {
    png_structp png;
    png_infop info;
    isrc *in;
    uint8_t *row; /* one RGBA row */
    prov_img img;
    char msg[200];
} pdec;

static void p_error(png_structp png, png_const_charp m)
{
    pdec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", m);
    png_longjmp(png, 1);
}

static void p_warning(png_structp png, png_const_charp m) { (void)png, (void)m; }

static void p_read(png_structp png, png_bytep out, size_t n)
{
    pdec *d = png_get_io_ptr(png);
    while (n) {
        if (!src_more(d->in)) png_error(png, d->in->err ? "read error" : "truncated file");
        size_t k = n < d->in->n ? n : d->in->n;
        memcpy(out, d->in->p, k);
        d->in->p += k;
        d->in->n -= k;
        out += k;
        n -= k;
    }
}

/* RGBA over white to RGB; dst may be src (it never runs ahead of src). */
static void over_white(uint8_t *dst, const uint8_t *src, size_t npx)
{
    for (size_t i = 0; i < npx; i++, src += 4, dst += 3) {
        unsigned r = src[0], g = src[1], b = src[2], a = src[3], t = 255 * (255 - a) + 127;
        dst[0] = (uint8_t)((r * a + t) / 255);
        dst[1] = (uint8_t)((g * a + t) / 255);
        dst[2] = (uint8_t)((b * a + t) / 255);
    }
}

static int png_run(prov_ctx *ctx, pdec *d, int header_only)
{
    if (setjmp(png_jmpbuf(d->png))) {
        if (d->in->err) return prov_seterr(ctx, PROV_EIO, "PNG: read error");
        return prov_seterr(ctx, PROV_EFORMAT, "PNG: %s", d->msg);
    }
    png_structp png = d->png;
    png_set_read_fn(png, d, p_read);
    /* Second line of defence behind the IHDR check in png_decode. */
    png_set_user_limits(png, PROV_IMG_MAX_SIDE, PROV_IMG_MAX_SIDE);
    png_set_chunk_malloc_max(png, PNG_MAX_CHUNK);
    png_set_chunk_cache_max(png, 128);
    /* Only IHDR, PLTE, tRNS, IDAT, IEND matter here: skip the rest (text,
     * iCCP, ...) unread rather than decompress them. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_read_info(png, d->info);

    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, d->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    int rc = check_dims(ctx, "PNG", w, h);
    if (rc || header_only) {
        d->img.w = w;
        d->img.h = h;
        return rc;
    }
    png_set_expand(png); /* palette to RGB, gray to 8 bits, tRNS to alpha */
    if (depth == 16) png_set_scale_16(png);
    if (!(ctype & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, d->info);
    size_t ch = png_get_channels(png, d->info);
    if ((ch != 3 && ch != 4) || png_get_rowbytes(png, d->info) != (size_t)w * ch)
        return prov_seterr(ctx, PROV_EFORMAT, "PNG: unexpected row format");

    /* Interlaced RGBA needs the whole RGBA image (passes fill rows in
     * part), composited in place afterwards; otherwise one row at a time. */
    int whole = ch == 4 && passes > 1;
    size_t size = img_bytes(w, h, whole ? 4 : 3);
    if (!size) return prov_seterr(ctx, PROV_EFORMAT, "PNG: empty image");
    d->img.rgb = malloc(size);
    if (ch == 4 && !whole) d->row = malloc((size_t)w * 4);
    if (!d->img.rgb || (ch == 4 && !whole && !d->row))
        return prov_seterr(ctx, PROV_ENOMEM, "PNG: out of memory");
    d->img.w = w;
    d->img.h = h;
    size_t stride = (size_t)w * (whole ? 4 : 3);
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < h; y++) {
            uint8_t *dst = d->img.rgb + y * stride;
            png_read_row(png, d->row ? d->row : dst, NULL);
            if (d->row) over_white(dst, d->row, w);
        }
    if (whole) {
        over_white(d->img.rgb, d->img.rgb, (size_t)w * h);
        uint8_t *p = realloc(d->img.rgb, (size_t)w * h * 3);
        if (p) d->img.rgb = p; /* a failed shrink only wastes memory */
    }
    /* No png_read_end: chunks after the image are not needed. */
    return 0;
}

static int png_decode(prov_ctx *ctx, isrc *in, int header_only, prov_img *out)
{
    /* Check the IHDR size first, so an absurd size is PROV_ELIMIT (libpng
     * would only say "Invalid IHDR data"). */
    if (in->n >= 24 && !memcmp(in->p + 12, "IHDR", 4)) {
        int rc = check_dims(ctx, "PNG", rd32(in->p + 16), rd32(in->p + 20));
        if (rc) return rc;
    }
    pdec *d = calloc(1, sizeof *d);
    if (!d) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    d->in = in;
    int rc = PROV_ENOMEM;
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, p_error, p_warning);
    if (d->png) d->info = png_create_info_struct(d->png);
    if (d->info) rc = png_run(ctx, d, header_only);
    else prov_seterr(ctx, rc, "PNG: out of memory");
    png_destroy_read_struct(d->png ? &d->png : NULL, d->info ? &d->info : NULL, NULL);
    free(d->row);
    if (rc) free(d->img.rgb);
    else *out = d->img;
    free(d);
    return rc;
}

/* ---- entry points ---- */

/* header_only: stop after the size checks, with out->w, h set and no
 * pixels. */
static int decode(prov_ctx *ctx, isrc *in, uint32_t min_side, int header_only, prov_img *out)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (in->err) return prov_seterr(ctx, PROV_EIO, "image: read error");
    if (in->n >= 3 && in->p[0] == 0xFF && in->p[1] == 0xD8 && in->p[2] == 0xFF)
        return jpeg_decode(ctx, in, min_side, header_only, out);
    if (in->n >= 8 && !memcmp(in->p, png_sig, 8)) return png_decode(ctx, in, header_only, out);
    return prov_seterr(ctx, PROV_EUNSUPPORTED, "image: not a JPEG or PNG");
}

int img_decode(prov_ctx *ctx, const uint8_t *p, size_t n, uint32_t min_side, prov_img *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || (!p && n)) return prov_seterr(ctx, PROV_EINVAL, "image: bad argument");
    isrc in = {.p = p, .n = n};
    return decode(ctx, &in, min_side, 0, out);
}

int img_info(prov_ctx *ctx, const uint8_t *p, size_t n, uint32_t *w, uint32_t *h)
{
    if (w) *w = 0;
    if (h) *h = 0;
    if (!w || !h || (!p && n)) return prov_seterr(ctx, PROV_EINVAL, "image: bad argument");
    isrc in = {.p = p, .n = n};
    prov_img img = {0};
    int rc = decode(ctx, &in, 0, 1, &img);
    if (!rc) *w = img.w, *h = img.h;
    return rc;
}

int img_decode_stream(prov_ctx *ctx, prov_stream *s, uint32_t min_side, prov_img *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || !s || !s->read) return prov_seterr(ctx, PROV_EINVAL, "image: bad argument");
    isrc in = {.s = s, .buf = malloc(SRC_BUF)};
    if (!in.buf) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    in.p = in.buf;
    src_peek(&in, 24); /* enough to sniff and to read the PNG IHDR size */
    int rc = decode(ctx, &in, min_side, 0, out);
    free(in.buf);
    return rc;
}

void img_free(prov_img *i)
{
    if (!i) return;
    free(i->rgb);
    memset(i, 0, sizeof *i);
}

int img_downscale(const prov_img *in, uint32_t max_side, prov_img *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!in || !out || !in->rgb || !max_side || !img_bytes(in->w, in->h, 3))
        return PROV_EINVAL;
    uint32_t w = in->w, h = in->h, side = w > h ? w : h, ow = w, oh = h;
    if (side > max_side) { /* longer side becomes max_side, the other rounds */
        ow = (uint32_t)(((uint64_t)w * max_side + side / 2) / side);
        oh = (uint32_t)(((uint64_t)h * max_side + side / 2) / side);
        if (!ow) ow = 1;
        if (!oh) oh = 1;
    }
    out->rgb = malloc(img_bytes(ow, oh, 3));
    if (!out->rgb) return PROV_ENOMEM;
    out->w = ow;
    out->h = oh;
    if (ow == w && oh == h) {
        memcpy(out->rgb, in->rgb, img_bytes(w, h, 3));
        return 0;
    }
    /* Source pixel x lands in output column x*ow/w (row likewise), so every
     * source pixel counts once and every output pixel averages >= 1. */
    uint64_t *acc = malloc((size_t)ow * 3 * sizeof *acc);
    uint32_t *col = malloc((size_t)w * sizeof *col), *cnt = calloc(ow, sizeof *cnt);
    if (!acc || !col || !cnt) {
        free(acc), free(col), free(cnt);
        img_free(out);
        return PROV_ENOMEM;
    }
    for (uint32_t x = 0; x < w; x++) cnt[col[x] = (uint32_t)((uint64_t)x * ow / w)]++;
    uint32_t y = 0;
    for (uint32_t oy = 0; oy < oh; oy++) {
        uint32_t y0 = y, y1 = (uint32_t)(((uint64_t)(oy + 1) * h + oh - 1) / oh);
        memset(acc, 0, (size_t)ow * 3 * sizeof *acc);
        for (; y < y1; y++) {
            const uint8_t *s = in->rgb + (size_t)y * w * 3;
            for (uint32_t x = 0; x < w; x++, s += 3) {
                uint64_t *a = acc + (size_t)col[x] * 3;
                a[0] += s[0], a[1] += s[1], a[2] += s[2];
            }
        }
        uint8_t *o = out->rgb + (size_t)oy * ow * 3;
        for (uint32_t ox = 0; ox < ow; ox++) {
            uint64_t n = (uint64_t)cnt[ox] * (y1 - y0);
            for (int i = 0; i < 3; i++) o[ox * 3 + i] = (uint8_t)((acc[ox * 3 + i] + n / 2) / n);
        }
    }
    free(acc), free(col), free(cnt);
    return 0;
}

/* ---- JPEG encoding, straight into the pbuf ---- */

typedef struct jenc {
    struct jpeg_compress_struct ci;
    jerr err;
    struct jpeg_destination_mgr dst;
    pbuf *b;
    int created;
} jenc;

#define ENC_CHUNK (64u << 10)

/* Offer libjpeg the pbuf's free space (less the byte pbuf keeps for a NUL). */
static void jd_offer(j_compress_ptr c)
{
    jenc *e = c->client_data;
    if (pbuf_reserve(e->b, ENC_CHUNK)) ERREXIT(c, JERR_OUT_OF_MEMORY);
    e->dst.next_output_byte = e->b->p + e->b->len;
    e->dst.free_in_buffer = e->b->cap - e->b->len - 1;
}

static void jd_init(j_compress_ptr c) { jd_offer(c); }

static boolean jd_empty(j_compress_ptr c)
{
    jenc *e = c->client_data;
    e->b->len = e->b->cap - 1; /* libjpeg filled all it was offered */
    jd_offer(c);
    return TRUE;
}

static void jd_term(j_compress_ptr c)
{
    jenc *e = c->client_data;
    e->b->len = (size_t)(e->dst.next_output_byte - e->b->p);
    e->b->p[e->b->len] = 0;
}

static int jpeg_enc_run(jenc *e, const prov_img *in, int quality)
{
    j_compress_ptr c = &e->ci;
    if (setjmp(e->err.jb))
        return e->err.pub.msg_code == JERR_OUT_OF_MEMORY ? PROV_ENOMEM : PROV_EINVAL;
    j_init((j_common_ptr)c, &e->err);
    jpeg_create_compress(c);
    e->created = 1;
    c->client_data = e;
    e->dst.init_destination = jd_init;
    e->dst.empty_output_buffer = jd_empty;
    e->dst.term_destination = jd_term;
    c->dest = &e->dst;
    c->image_width = in->w;
    c->image_height = in->h;
    c->input_components = 3;
    c->in_color_space = JCS_RGB;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, quality, TRUE); /* TRUE: baseline tables */
    c->comp_info[0].h_samp_factor = c->comp_info[0].v_samp_factor = 2; /* 4:2:0 */
    for (int i = 1; i < 3; i++) c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
    c->optimize_coding = TRUE; /* smaller thumbnails for little work */
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < in->h) {
        JSAMPROW row = in->rgb + (size_t)c->next_scanline * in->w * 3;
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    return 0;
}

int img_encode_jpeg(const prov_img *in, int quality, pbuf *b)
{
    if (!in || !b || !in->rgb || !img_bytes(in->w, in->h, 3) ||
        in->w > PROV_IMG_MAX_SIDE || in->h > PROV_IMG_MAX_SIDE)
        return PROV_EINVAL;
    if (b->err) return b->err;
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    jenc *e = calloc(1, sizeof *e);
    if (!e) return PROV_ENOMEM;
    e->b = b;
    size_t len = b->len;
    int rc = jpeg_enc_run(e, in, quality);
    if (e->created) jpeg_destroy_compress(&e->ci);
    free(e);
    if (rc) {
        b->len = len;
        if (b->p) b->p[len] = 0;
    }
    return rc;
}

int img_thumbnail(prov_ctx *ctx, prov_stream *in, uint32_t max_side, int quality, pbuf *jpeg)
{
    if (!in || !jpeg) return prov_seterr(ctx, PROV_EINVAL, "thumbnail: bad argument");
    if (!max_side) max_side = 512;
    if (quality <= 0) quality = 80;
    prov_img full, small;
    int rc = img_decode_stream(ctx, in, max_side, &full);
    if (rc) return rc;
    rc = img_downscale(&full, max_side, &small);
    img_free(&full);
    if (rc) return prov_seterr(ctx, rc, "thumbnail: cannot scale the image");
    rc = img_encode_jpeg(&small, quality, jpeg);
    img_free(&small);
    if (rc) return prov_seterr(ctx, rc, "thumbnail: cannot encode JPEG");
    return 0;
}
