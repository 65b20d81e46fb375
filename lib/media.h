/* media.h - formats whose manifest store may sit anywhere in the file:
 * RIFF (WAV, WebP, AVI: a top-level 'C2PA' chunk), GIF (a 'C2PA_GIF'
 * application extension), ID3v2 (a GEOB frame, in front of MP3 and FLAC)
 * and TIFF/DNG (the 0xCD41 tag), laid out as c2pa-rs writes them.
 *
 * Reading walks the file's structure with seeks (every length bounded by
 * the file and PROV_MAX_STORE) and leaves the reader at offset 0 with an
 * empty head, so the data hash streams the whole file.  Writing follows a
 * plan: pieces copied from the input, literal bytes, and the wrapped store,
 * whose exclusion the c2pa.hash.data assertion names. */
#ifndef PROV_MEDIA_H
#define PROV_MEDIA_H

#include "asset.h"

#define MEDIA_MAX_CHUNKS 100000 /* RIFF chunks, GIF blocks, ID3 frames walked */

/* The format of a file starting with p (FMT_WAV ... FMT_FLAC), else 0. */
PROV_HIDDEN int media_sniff(const uint8_t *p, size_t n);
PROV_HIDDEN int media_is(int format);
/* Find the store: a->store, a->ranges (its exclusion), a->drop and the
 * writer's fields.  Needs a seekable input; r is left at 0. */
PROV_HIDDEN int media_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what);
PROV_HIDDEN int riff_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what);
PROV_HIDDEN int gif_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what);
PROV_HIDDEN int id3_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what);
PROV_HIDDEN int tiff_scan(prov_ctx *ctx, rdr *r, asset *a, const char *what);

enum { MP_LIT, MP_COPY, MP_STORE };
#define MP_TO_END UINT64_MAX
#define MEDIA_MAX_PIECES 12

typedef struct mpiece {
    int kind;
    uint64_t off, len; /* LIT: bytes in plan.lit; COPY: input range (len MP_TO_END: to the end) */
} mpiece;

typedef struct mplan {
    mpiece p[MEDIA_MAX_PIECES];
    size_t n;
    pbuf lit;
    uint64_t ex_off, ex_len; /* the exclusion, from the wrapped store's start */
    uint64_t wrapped;        /* the wrapped store's length */
} mplan;

/* The output's plan for a store of n bytes. */
PROV_HIDDEN int media_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl);
PROV_HIDDEN void media_plan_free(mplan *pl);
/* The store wrapped for a's format (store NULL: n zero bytes). */
PROV_HIDDEN int media_wrap(const asset *a, const uint8_t *store, size_t n, pbuf *out);

PROV_HIDDEN int riff_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl);
PROV_HIDDEN int riff_wrap(const uint8_t *store, size_t n, pbuf *out);
PROV_HIDDEN int gif_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl);
PROV_HIDDEN int gif_wrap(const uint8_t *store, size_t n, pbuf *out);
PROV_HIDDEN int id3_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl);
PROV_HIDDEN int id3_wrap(int ver, const uint8_t *store, size_t n, pbuf *out);
PROV_HIDDEN int tiff_plan(prov_ctx *ctx, const asset *a, size_t n, mplan *pl);
PROV_HIDDEN int tiff_wrap(const asset *a, const uint8_t *store, size_t n, pbuf *out);
/* The XMP packet as tag 700 (BYTE) in the new IFD, where c2pa-rs reads it:
 * the first IFD, so a single page only (tiff_single_page). */
PROV_HIDDEN int tiff_wrap_xmp(const asset *a, const uint8_t *packet, size_t n, pbuf *out);
PROV_HIDDEN int tiff_single_page(const asset *a);

/* A remote manifest's reference (media_xmp.c): the plan of an output that
 * carries the XMP packet (n bytes) where the store would go, in the
 * format's own place for XMP (no store, nothing excluded), and the
 * packet wrapped.  TIFF/DNG: a single page only. */
PROV_HIDDEN int media_plan_xmp(prov_ctx *ctx, const asset *a, size_t n, mplan *pl);
PROV_HIDDEN int media_wrap_xmp(const asset *a, const uint8_t *packet, size_t n, pbuf *out);
#define ID3_GEOB_HEAD 53 /* id3.c: a GEOB frame's bytes before the store */

/* Plan building (media.c). */
PROV_HIDDEN void mp_lit(mplan *pl, const void *p, size_t n);
PROV_HIDDEN void mp_copy(mplan *pl, uint64_t off, uint64_t len);
PROV_HIDDEN void mp_store(mplan *pl);

/* out += the store, or n zero bytes when store is NULL. */
PROV_HIDDEN void media_put_store(pbuf *out, const uint8_t *store, size_t n);
/* n bytes at off: 0, PROV_EFORMAT (the file ends first) or PROV_EIO. */
PROV_HIDDEN int media_at(rdr *r, uint64_t off, void *buf, size_t n);
/* Keep the first XMP packet (n bytes at off; at most MEDIA_MAX_XMP) in
 * a->xmp, where a remote manifest's reference is looked for.  A packet
 * that cannot be read is only not kept. */
#define MEDIA_MAX_XMP (1u << 20)
PROV_HIDDEN void media_read_xmp(rdr *r, asset *a, uint64_t off, uint64_t n);
/* Read the store's n bytes at off into a (one store only; bounded). */
PROV_HIDDEN int media_read_store(prov_ctx *ctx, rdr *r, asset *a, uint64_t off, uint64_t n, const char *what);

/* Little-endian helpers (RIFF). */
static inline uint32_t rdle32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void wrle32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
