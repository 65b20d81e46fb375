/* jumbf.c - JUMBF box reader (bounded) and writer. */
#include "jumbf.h"

#include <string.h>

const uint8_t JUMBF_UUID_TAIL[12] = {0x00, 0x11, 0x00, 0x10, 0x80, 0x00,
                                     0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
const uint8_t JUMBF_UUID_EMBEDDED_FILE[16] = {0x40, 0xCB, 0x0C, 0x32, 0xBB, 0x8A,
                                              0x48, 0x9D, 0xA7, 0x0B, 0x2A, 0xD6,
                                              0xF4, 0x7F, 0x43, 0x69};

int jbox_next(const uint8_t **pp, const uint8_t *end, jbox *out)
{
    const uint8_t *p = *pp;
    size_t avail = (size_t)(end - p);
    if (avail < 8) return PROV_EFORMAT;
    uint64_t len = rd32(p);
    size_t hdr = 8;
    if (len == 1) { /* 64-bit XLBox follows the type */
        if (avail < 16) return PROV_EFORMAT;
        len = rd64(p + 8);
        hdr = 16;
    } else if (len == 0) { /* to the end of the enclosing data */
        len = avail;
    }
    if (len < hdr || len > avail) return PROV_EFORMAT;
    out->type = rd32(p + 4);
    out->p = p;
    out->len = (size_t)len;
    out->data = p + hdr;
    out->data_len = (size_t)len - hdr;
    *pp = p + len;
    return 0;
}

int jsuper_parse(const jbox *b, jsuper *out)
{
    memset(out, 0, sizeof *out);
    if (b->type != BOX_JUMB) return PROV_EFORMAT;
    out->box = *b;
    const uint8_t *p = b->data, *end = b->data + b->data_len;
    jbox d;
    if (jbox_next(&p, end, &d) || d.type != BOX_JUMD || d.data_len < 17) return PROV_EFORMAT;
    memcpy(out->uuid, d.data, 16);
    out->toggles = d.data[16];
    out->label = "";
    if (out->toggles & 0x02) { /* label present: NUL-terminated UTF-8 */
        const uint8_t *l = d.data + 17, *de = d.data + d.data_len;
        const uint8_t *nul = memchr(l, 0, (size_t)(de - l));
        if (!nul) return PROV_EFORMAT;
        out->label = (const char *)l;
    }
    out->content = p;
    out->content_len = (size_t)(end - p);
    return 0;
}

uint32_t jsuper_c2pa_type(const jsuper *s)
{
    if (memcmp(s->uuid + 4, JUMBF_UUID_TAIL, 12)) return 0;
    return rd32(s->uuid);
}

int jsuper_first(const jsuper *s, jbox *out)
{
    const uint8_t *p = s->content;
    if (s->content_len == 0) return PROV_ENOTFOUND;
    return jbox_next(&p, s->content + s->content_len, out) ? PROV_EFORMAT : 0;
}

size_t jumbf_open(pbuf *b, uint32_t type)
{
    size_t start = b->len;
    pbuf_be32(b, 0);
    pbuf_be32(b, type);
    return start;
}

void jumbf_close(pbuf *b, size_t start)
{
    if (b->err) return;
    size_t len = b->len - start;
    if (len > UINT32_MAX) { b->err = PROV_ELIMIT; return; }
    wr32(b->p + start, (uint32_t)len);
}

void jumbf_c2pa_uuid(uint8_t uuid[16], uint32_t type)
{
    wr32(uuid, type);
    memcpy(uuid + 4, JUMBF_UUID_TAIL, 12);
}

void jumbf_desc(pbuf *b, const uint8_t uuid[16], const char *label)
{
    size_t d = jumbf_open(b, BOX_JUMD);
    pbuf_put(b, uuid, 16);
    pbuf_putc(b, 0x03); /* requestable | label present */
    pbuf_put(b, label, strlen(label) + 1);
    jumbf_close(b, d);
}

size_t jumbf_open_super(pbuf *b, uint32_t c2pa_type, const char *label)
{
    uint8_t uuid[16];
    jumbf_c2pa_uuid(uuid, c2pa_type);
    size_t s = jumbf_open(b, BOX_JUMB);
    jumbf_desc(b, uuid, label);
    return s;
}
