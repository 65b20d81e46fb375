/* jumbf.h - JUMBF boxes (ISO/IEC 19566-5): a bounded reader and a writer. */
#ifndef PROV_JUMBF_H
#define PROV_JUMBF_H

#include "internal.h"

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define BOX_JUMB FOURCC('j', 'u', 'm', 'b')
#define BOX_JUMD FOURCC('j', 'u', 'm', 'd')
#define BOX_CBOR FOURCC('c', 'b', 'o', 'r')
#define BOX_JSON FOURCC('j', 's', 'o', 'n')
#define BOX_BFDB FOURCC('b', 'f', 'd', 'b')
#define BOX_BIDB FOURCC('b', 'i', 'd', 'b')

/* C2PA content types: 4 characters then 0011-0010-8000-00AA00389B71. */
PROV_HIDDEN extern const uint8_t JUMBF_UUID_TAIL[12];
#define C2PA_STORE FOURCC('c', '2', 'p', 'a')
#define C2PA_MANIFEST FOURCC('c', '2', 'm', 'a')
#define C2PA_UPDATE FOURCC('c', '2', 'u', 'm')
#define C2PA_ASSERTIONS FOURCC('c', '2', 'a', 's')
#define C2PA_CLAIM FOURCC('c', '2', 'c', 'l')
#define C2PA_SIGNATURE FOURCC('c', '2', 'c', 's')
#define C2PA_CBOR FOURCC('c', 'b', 'o', 'r')
#define C2PA_JSON FOURCC('j', 's', 'o', 'n')
PROV_HIDDEN extern const uint8_t JUMBF_UUID_EMBEDDED_FILE[16];

/* One box inside a buffer. */
typedef struct jbox {
    uint32_t type;
    const uint8_t *p;    /* the whole box */
    size_t len;
    const uint8_t *data; /* the payload after the header */
    size_t data_len;
} jbox;

/* Read the box at *p (not past end) and advance *p past it.  Returns 0, or
 * PROV_EFORMAT when the length runs past end or is below its header. */
PROV_HIDDEN int jbox_next(const uint8_t **p, const uint8_t *end, jbox *out);

/* A superbox ('jumb') split into its description and content boxes. */
typedef struct jsuper {
    jbox box;
    uint8_t uuid[16];
    uint8_t toggles;
    const char *label; /* NUL-terminated inside the box; "" if none */
    const uint8_t *content; /* the boxes after 'jumd' */
    size_t content_len;
    uint8_t hash[32]; /* SHA-256 of the box without its header, once known */
    uint8_t hashed;
} jsuper;

PROV_HIDDEN int jsuper_parse(const jbox *b, jsuper *out);
/* C2PA type of a superbox: the first four UUID bytes when the rest is the
 * C2PA tail, else 0. */
PROV_HIDDEN uint32_t jsuper_c2pa_type(const jsuper *s);
/* First content box (0 or PROV_ENOTFOUND). */
PROV_HIDDEN int jsuper_first(const jsuper *s, jbox *out);

/* Writer: jumbf_open writes a box header with a placeholder length and
 * returns where it starts; jumbf_close patches the length. */
PROV_HIDDEN size_t jumbf_open(pbuf *b, uint32_t type);
PROV_HIDDEN void jumbf_close(pbuf *b, size_t start);
/* A 'jumd' box: requestable, labelled. */
PROV_HIDDEN void jumbf_desc(pbuf *b, const uint8_t uuid[16], const char *label);
PROV_HIDDEN void jumbf_c2pa_uuid(uint8_t uuid[16], uint32_t type);
/* Open a superbox with its description; close with jumbf_close. */
PROV_HIDDEN size_t jumbf_open_super(pbuf *b, uint32_t c2pa_type, const char *label);

#endif
