/* internal.h - shared by the library's modules; not installed. */
#ifndef PROV_INTERNAL_H
#define PROV_INTERNAL_H

#define PROV_BUILDING 1
#include "prov.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROV_HIDDEN __attribute__((visibility("hidden")))

/* Bounds on everything read from a file (why: hostile input must never
 * drive memory or time without limit). */
#define PROV_MAX_STORE (48u << 20)      /* manifest store bytes */
#define PROV_MAX_HEADER (64u << 20)     /* JPEG/PNG bytes before image data */
#define PROV_MAX_CBOR_DEPTH 32
#define PROV_MAX_BOXES 10000     /* assertions in one manifest */
#define PROV_MAX_REFS 10000      /* hashed URIs in one claim */
#define PROV_MAX_MANIFESTS 1000
#define PROV_MAX_EXCLUSIONS 1000
#define PROV_MAX_CHAIN 16

struct prov_ctx {
    char msg[512];
};

/* Record an error on ctx (ctx may be NULL) and return code. */
PROV_HIDDEN int prov_seterr(prov_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growable byte buffer.  Errors are sticky: after a failed append, err
 * is set and later appends do nothing, so builders check once at the end. */
typedef struct pbuf {
    uint8_t *p;
    size_t len, cap;
    int err;
} pbuf;

PROV_HIDDEN void pbuf_init(pbuf *b);
PROV_HIDDEN void pbuf_free(pbuf *b);
PROV_HIDDEN int pbuf_reserve(pbuf *b, size_t extra);
PROV_HIDDEN void pbuf_put(pbuf *b, const void *p, size_t n);
PROV_HIDDEN void pbuf_putc(pbuf *b, uint8_t c);
PROV_HIDDEN void pbuf_puts(pbuf *b, const char *s);
PROV_HIDDEN void pbuf_printf(pbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
PROV_HIDDEN void pbuf_be16(pbuf *b, uint16_t v);
PROV_HIDDEN void pbuf_be32(pbuf *b, uint32_t v);
/* Append s as a JSON string literal with quotes and escapes. */
PROV_HIDDEN void pbuf_json_str(pbuf *b, const char *s, size_t n);
/* Hand the bytes to the caller (NUL-terminated) and reset b. */
PROV_HIDDEN uint8_t *pbuf_take(pbuf *b, size_t *len);

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

#endif
