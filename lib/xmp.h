/* xmp.h - a remote manifest's reference (XMP dcterms:provenance). */
#ifndef PROV_XMP_H
#define PROV_XMP_H

#include "asset.h"

/* An http(s) URL of at most 2000 printable ASCII characters that need no
 * escaping in an XML attribute: 1, else 0. */
PROV_HIDDEN int xmp_url_ok(const char *url);
/* Does a already carry an XMP packet (JPEG APP1, PNG iTXt, the XMP a
 * media.h scan kept)? */
PROV_HIDDEN int xmp_has_packet(const asset *a);
/* Append the bare XMP packet naming url. */
PROV_HIDDEN void xmp_packet(pbuf *b, const char *url);
/* Append the XMP packet naming url, wrapped for format (JPEG or PNG). */
PROV_HIDDEN int xmp_wrap_reference(int format, const char *url, pbuf *out);

#endif
