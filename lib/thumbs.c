/* thumbs.c - the claim thumbnails of a manifest store, as data: URIs, for
 * viewers (prov serve's page shows the file's and each ingredient's). */
#include "asset.h"
#include "bmff.h"
#include "store.h"

#include <sodium.h>
#include <string.h>

#define THUMBS_MAX_DEFAULT (1u << 20)

/* The media type and bytes of an embedded-file superbox (bfdb + bidb). */
static int embedded_file(const jsuper *s, char *mime, size_t cap, const uint8_t **data, size_t *len)
{
    const uint8_t *p = s->content, *end = s->content + s->content_len;
    jbox b;
    int have = 0;
    mime[0] = 0;
    while (p < end && jbox_next(&p, end, &b) == 0) {
        if (b.type == BOX_BFDB && b.data_len >= 2) {
            size_t n = strnlen((const char *)b.data + 1, b.data_len - 1);
            if (n >= cap) return -1;
            memcpy(mime, b.data + 1, n);
            mime[n] = 0;
        } else if (b.type == BOX_BIDB) {
            *data = b.data;
            *len = b.data_len;
            have = 1;
        }
    }
    /* only image types a browser shows, and no quote can break out of the URI */
    if (!have || strncmp(mime, "image/", 6) || strpbrk(mime, "\"\\;, <>")) return -1;
    return 0;
}

static void put_data_uri(pbuf *b, const char *mime, const uint8_t *d, size_t n)
{
    size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    pbuf_printf(b, "\"data:%s;base64,", mime);
    if (pbuf_reserve(b, b64 + 2)) return;
    sodium_bin2base64((char *)b->p + b->len, b64, d, n, sodium_base64_VARIANT_ORIGINAL);
    b->len += b64 - 1; /* without its NUL */
    pbuf_putc(b, '"');
}

/* The head and store of a JPEG, PNG or BMFF file, as prov_inspect reads it. */
static int load_store(prov_ctx *ctx, prov_stream *in, asset *a)
{
    rdr rd;
    int rc = rdr_init(&rd, in);
    if (rc) return rc;
    memset(a, 0, sizeof *a);
    if ((rc = rdr_fill(&rd, 12)) == 0 && bmff_sniff(rd.buf + rd.pos, rd.end - rd.pos)) {
        bmff_file bf;
        if ((rc = bmff_scan(ctx, &rd, &bf, "input")) == 0) {
            a->format = FMT_BMFF;
            if (bf.c2pa >= 0 && (rc = bmff_read_store(ctx, &rd, &bf, &a->store, "input")) == 0) a->has_store = 1;
            bmff_free(&bf);
        }
        if (rc) asset_free(a);
    } else if (!rc) {
        rc = asset_read_head(ctx, &rd, a, "input");
    }
    rdr_free(&rd);
    return rc;
}

int prov_thumbnails_json(prov_ctx *ctx, prov_stream *in, size_t max_bytes, char **json)
{
    if (!in || !json) return PROV_EINVAL;
    *json = NULL;
    if (!max_bytes) max_bytes = THUMBS_MAX_DEFAULT;
    asset a;
    c2pa_store st;
    int rc = load_store(ctx, in, &a);
    if (rc) return rc;
    if (!a.has_store) {
        asset_free(&a);
        return prov_seterr(ctx, PROV_ENOTFOUND, "no manifest store");
    }
    if ((rc = store_parse(ctx, a.store.p, a.store.len, &st))) {
        asset_free(&a);
        return rc;
    }
    pbuf b;
    pbuf_init(&b);
    pbuf_puts(&b, "{\"active\":");
    pbuf_json_str(&b, st.m[st.n - 1].label, strlen(st.m[st.n - 1].label));
    pbuf_puts(&b, ",\"claims\":{");
    int first = 1;
    for (size_t i = 0; i < st.n; i++) {
        c2pa_manifest *m = &st.m[i];
        for (size_t k = 0; k < m->n_assertions; k++) {
            const char *l = m->assertions[k].label;
            char mime[64];
            const uint8_t *d = NULL;
            size_t n = 0;
            if (strncmp(l, "c2pa.thumbnail.claim", 20) ||
                embedded_file(&m->assertions[k].sb, mime, sizeof mime, &d, &n) || n > max_bytes)
                continue;
            if (!first) pbuf_putc(&b, ',');
            first = 0;
            pbuf_json_str(&b, m->label, strlen(m->label));
            pbuf_putc(&b, ':');
            put_data_uri(&b, mime, d, n);
            break; /* one per manifest */
        }
    }
    pbuf_puts(&b, "}}");
    store_free(&st);
    asset_free(&a);
    if (b.err) {
        pbuf_free(&b);
        return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    }
    *json = (char *)pbuf_take(&b, NULL);
    return *json ? 0 : PROV_ENOMEM;
}
