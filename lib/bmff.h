/* bmff.h - ISO BMFF (MP4, MOV, HEIC, AVIF): the top-level box layout, the
 * C2PA manifest box, offset patching, and the c2pa.hash.bmff hashes.
 *
 * The manifest store lives in a top-level 'uuid' box right after 'ftyp':
 *   size 'uuid' d8fec3d6-1b0e-483c-9297-5828877ec481, version/flags 0,
 *   "manifest\0", u64 merkle offset (0), then the JUMBF store.
 * Inserting it moves every later box, so absolute offsets in stco, co64,
 * iloc, tfhd, tfra and saio are patched.  The hash (v2/v3) runs over the
 * file minus the exclusions, each top-level box that is not wholly excluded
 * preceded by its file offset as a big-endian u64 (v1: no offsets). */
#ifndef PROV_BMFF_H
#define PROV_BMFF_H

#include "cbor.h"
#include "hash.h"
#include "stream.h"

#define BMFF_MAX_TOP 1000000     /* top-level boxes in one file */
#define BMFF_MAX_META (256u << 20) /* a box read whole (moov, meta, moof) */
#define BMFF_MANIFEST_HDR 45     /* bytes before the store in the uuid box */

PROV_HIDDEN extern const uint8_t BMFF_C2PA_UUID[16];
PROV_HIDDEN extern const uint8_t BMFF_XMP_UUID[16]; /* be7acfcb-97a9-42e8-9c71-999491e3afac */

typedef struct bbox {
    uint64_t off, size; /* the whole box */
    uint32_t type;
    uint32_t hdr;       /* header bytes: 8 or 16, +16 for 'uuid' */
    uint8_t uuid[16];   /* extended type of a 'uuid' box */
    int purpose;        /* C2PA uuid: 1 manifest, 2 merkle, 0 other */
} bbox;

typedef struct bmff_file {
    bbox *top;
    size_t ntop, cap;
    uint64_t size;     /* bytes in the file */
    long ftyp, c2pa;   /* indexes into top, -1 when absent */
    uint32_t brand;    /* ftyp major brand */
} bmff_file;

/* Does this look like BMFF ('ftyp' at byte 4)? */
PROV_HIDDEN int bmff_sniff(const uint8_t *p, size_t n);
/* A MIME type for the major brand. */
PROV_HIDDEN const char *bmff_mime(uint32_t brand);
/* Walk the top-level boxes (reads headers only; needs a seekable input).
 * Every size is checked against the file; a size-0 box runs to the end. */
PROV_HIDDEN int bmff_scan(prov_ctx *ctx, rdr *r, bmff_file *f, const char *what);
PROV_HIDDEN void bmff_free(bmff_file *f);
/* Read a top-level box whole (bounded by BMFF_MAX_META). */
PROV_HIDDEN int bmff_load(prov_ctx *ctx, rdr *r, const bbox *b, pbuf *out, const char *what);
/* The XMP packet of a top-level XMP 'uuid' box (at most 1 MiB) into out;
 * nothing when there is none. */
PROV_HIDDEN void bmff_read_xmp(rdr *r, const bmff_file *f, pbuf *out);
/* Does f have a top-level XMP 'uuid' box? */
PROV_HIDDEN int bmff_has_xmp(const bmff_file *f);
/* The JUMBF store in the C2PA manifest box (f->c2pa >= 0). */
PROV_HIDDEN int bmff_read_store(prov_ctx *ctx, rdr *r, const bmff_file *f, pbuf *store, const char *what);

/* Offsets move by a piecewise map: a position at or after `at` gains
 * `add`; one at or after `cut_end` also loses `cut` (an old manifest box
 * that is dropped). */
typedef struct bmff_shift {
    uint64_t at, add, cut_start, cut_end;
} bmff_shift;
PROV_HIDDEN uint64_t bmff_shift_apply(const bmff_shift *s, uint64_t off);
/* Patch the absolute offsets inside one top-level box held in memory.
 * Returns 0, PROV_EFORMAT (malformed tables) or PROV_ELIMIT (an offset no
 * longer fits its field). */
PROV_HIDDEN int bmff_patch(uint8_t *box, size_t len, const bmff_shift *s, char *why, size_t why_cap);

/* The flat hash of a c2pa.hash.bmff[.v2|.v3] assertion over the whole
 * stream (read once from offset 0).  version: 1, 2 or 3.  *extra is set
 * when exclusions beyond /uuid (C2PA), /ftyp and /mfra are present.
 * Returns 0, or PROV_EFORMAT when the assertion is malformed, or a read
 * error. */
PROV_HIDDEN int bmff_hash(prov_ctx *ctx, rdr *r, const bmff_file *f, cval assertion, int version,
                          uint8_t *out, size_t *out_len, int *extra);

/* A fragment's C2PA 'merkle' box: which tree (uniqueId, localId), its
 * leaf's place, and the proof hashes (may be absent).  The cvals point into
 * *box, which the caller frees. */
typedef struct bmff_frag {
    uint64_t unique_id, local_id, location;
    cval proof;
    int has_proof;
} bmff_frag;
PROV_HIDDEN int bmff_fragment_info(prov_ctx *ctx, rdr *r, const bmff_file *f, pbuf *box, bmff_frag *out);
/* Does leaf, at location with proof, lead to the row of hashes stored in
 * a MerkleMap (count leaves)?  0 yes, 1 no, PROV_EFORMAT malformed. */
PROV_HIDDEN int bmff_merkle_check(cval map, const bmff_frag *fr, const uint8_t leaf[32]);

/* Box helpers shared with the fragment code. */
PROV_HIDDEN void bmff_put_manifest_box(pbuf *b, const uint8_t *store, size_t len, size_t box_size);

#endif
