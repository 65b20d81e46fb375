/* xmp.c - the XMP packet that points at a remote manifest (C2PA: an
 * XMP dcterms:provenance property holding the manifest's URL), wrapped for
 * JPEG (an APP1 segment) and PNG (an iTXt chunk). */
#include "xmp.h"
#include "media.h"

#include <string.h>
#include <zlib.h>

#define XMP_NS_JPEG "http://ns.adobe.com/xap/1.0/"
#define XMP_KEY_PNG "XML:com.adobe.xmp"

int xmp_url_ok(const char *url)
{
    size_t n = strlen(url);
    if (n < 9 || n > 2000 || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) return 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p >= 0x7F || strchr("\"'<>&\\`{}|^", *p)) return 0;
    return 1;
}

int xmp_has_packet(const asset *a)
{
    static const char jpeg[] = XMP_NS_JPEG, png[] = XMP_KEY_PNG;
    if (media_is(a->format)) return a->xmp.len > 0;
    if (!a->head.p) return 0;
    if (a->format == FMT_JPEG) return memmem(a->head.p, a->head.len, jpeg, sizeof jpeg) != NULL;
    if (a->format == FMT_PNG) return memmem(a->head.p, a->head.len, png, sizeof png) != NULL;
    return 0;
}

void xmp_packet(pbuf *b, const char *url)
{
    pbuf_puts(b, "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                 "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                 " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
                 "  <rdf:Description rdf:about=\"\" xmlns:dcterms=\"http://purl.org/dc/terms/\"\n"
                 "    dcterms:provenance=\"");
    pbuf_puts(b, url);
    pbuf_puts(b, "\"/>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>");
}

int xmp_wrap_reference(int format, const char *url, pbuf *out)
{
    pbuf x;
    pbuf_init(&x);
    xmp_packet(&x, url);
    if (x.err) return PROV_ENOMEM;
    if (format == FMT_JPEG) {
        size_t n = 2 + sizeof XMP_NS_JPEG + x.len;
        pbuf_be16(out, 0xFFE1);
        pbuf_be16(out, (uint16_t)n);
        pbuf_put(out, XMP_NS_JPEG, sizeof XMP_NS_JPEG);
        pbuf_put(out, x.p, x.len);
    } else if (format == FMT_PNG) {
        uint8_t h[8];
        size_t n = sizeof XMP_KEY_PNG + 4 + x.len; /* keyword NUL, flag, method, language NUL, translated NUL */
        wr32(h, (uint32_t)n);
        memcpy(h + 4, "iTXt", 4);
        size_t start = out->len;
        pbuf_put(out, h, 8);
        pbuf_put(out, XMP_KEY_PNG, sizeof XMP_KEY_PNG);
        static const uint8_t z4[4] = {0, 0, 0, 0};
        pbuf_put(out, z4, 4);
        pbuf_put(out, x.p, x.len);
        if (!out->err) pbuf_be32(out, (uint32_t)crc32_z(0, out->p + start + 4, out->len - start - 4));
    } else {
        pbuf_free(&x);
        return PROV_EUNSUPPORTED;
    }
    pbuf_free(&x);
    return out->err ? PROV_ENOMEM : 0;
}
