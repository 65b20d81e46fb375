/* asset.h - where a manifest store lives in a JPEG or PNG file.
 *
 * The head of the file (everything before the image data: JPEG up to SOS,
 * PNG up to the first IDAT) is read into memory, bounded; the image data
 * that follows is only ever streamed. */
#ifndef PROV_ASSET_H
#define PROV_ASSET_H

#include "hash.h"
#include "stream.h"

enum {
    FMT_UNKNOWN = 0, FMT_JPEG, FMT_PNG, FMT_BMFF,
    /* media.h: the store anywhere in the file, found with seeks */
    FMT_WAV, FMT_WEBP, FMT_AVI, FMT_GIF, FMT_MP3, FMT_FLAC, FMT_TIFF, FMT_DNG,
    FMT_C2PA /* a manifest store alone (a .c2pa sidecar): inspected, not bound */
};

#define ASSET_MAX_RANGES 1100 /* a 64 MiB store in 64 KB segments */

typedef struct asset {
    int format;
    const char *mime;
    pbuf head;         /* file bytes [0, head.len) */
    pbuf store;        /* the manifest store's JUMBF bytes, reassembled */
    int has_store;
    xrange ranges[ASSET_MAX_RANGES]; /* file ranges holding the store */
    size_t nranges;
    uint64_t insert_at; /* where a new store is put when signing */
    /* media.h formats: what the writer keeps and drops */
    xrange drop;        /* the old store's whole container (chunk, block, frame) */
    uint64_t body, end; /* RIFF: the chunks [12, end); GIF: the insert point;
                         * ID3: the frames [body, end) */
    uint64_t tail;      /* ID3: where the tag ends and the audio begins; RIFF: its end */
    int ver;            /* ID3 major version (0: none); GIF: 1 for 87a;
                         * TIFF: 1 big-endian | 2 BigTIFF */
    pbuf aux;           /* TIFF: the first IFD's entries */
    pbuf xmp;           /* media.h formats: their XMP packet, if any (a remote
                         * manifest's reference is looked for there) */
} asset;

/* Sniff the format from the first bytes and read the head from r (which is
 * left at the first byte after the head).  what names the file in errors. */
PROV_HIDDEN int asset_read_head(prov_ctx *ctx, rdr *r, asset *a, const char *what);
PROV_HIDDEN void asset_free(asset *a);
/* Bytes the store takes once wrapped for the format (segments, chunk). */
PROV_HIDDEN uint64_t asset_wrapped_len(int format, size_t store_len);
/* Append the wrapped store to out. */
PROV_HIDDEN int asset_wrap_store(int format, const uint8_t *store, size_t len, pbuf *out);
PROV_HIDDEN const char *asset_format_mime(int format);
/* A remote manifest reference (C2PA: XMP dcterms:provenance) in the head:
 * its URL into url (NUL-terminated, truncated to cap) and 1, else 0. */
PROV_HIDDEN int asset_remote_url(const asset *a, char *url, size_t cap);

#endif
